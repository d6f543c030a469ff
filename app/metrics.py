"""Prometheus metrics, counted in every gunicorn worker and served together by the master.

With ``METRICS_PORT`` set, ``gunicorn.conf.py`` points prometheus_client at a directory shared
by the workers (its multiprocess mode) and serves ``/metrics`` on ``127.0.0.1:METRICS_PORT``:
a management port, never the public hosts. Without it (tests, ``flask`` commands) the same
metrics count in the process itself. docs/operations.md says what each one means.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, g, has_request_context, request
from prometheus_client import Counter, Gauge, Histogram

LOGINS = Counter(
    "portal_logins",
    "Logins by region, method (esia, oidc, password, consent), outcome "
    "(succeeded, stopped, failed) and the reason of a stop or a failure",
    ["region", "method", "outcome", "reason"],
)
PROVIDER_CALLS = Histogram(
    "portal_provider_call_seconds",
    "Calls to the region's identity provider by endpoint (ids in paths as :id)",
    ["region", "endpoint"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
REQUESTS = Histogram(
    "portal_request_seconds",
    "Requests by Flask endpoint, from the first before-request function to the response",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
CONFIG_VERSION = Gauge(
    "portal_region_config_version",
    "The configuration version each worker serves for each region (0 is regions.yaml)",
    ["region"],
    multiprocess_mode="liveall",
)
UNAVAILABLE = Counter(
    "portal_unavailable",
    "The branded 503 page, by cause (provider, misconfigured, database, session_store)",
    ["cause"],
)

OUTCOMES = {"login_succeeded": "succeeded", "login_stopped": "stopped", "login_failed": "failed"}
_IDS = re.compile(r"/\d+(?=/|$)")


def login_recorded(kind: str, region: str | None, detail: Mapping[str, Any]) -> None:
    """Called for every audited event: the login outcomes are counted."""
    outcome = OUTCOMES.get(kind)
    if outcome is None:
        return
    reason = "" if outcome == "succeeded" else str(detail.get("reason") or detail.get("outcome"))
    LOGINS.labels(region or "", str(detail.get("method", "")), outcome, reason).inc()


def provider_call(url: str, seconds: float) -> None:
    region = ""
    if has_request_context() and g.get("tenant") is not None:
        region = g.tenant.slug
    PROVIDER_CALLS.labels(region, _IDS.sub("/:id", urlsplit(url).path)).observe(seconds)


def _observe(response: Response) -> Response:
    started = g.get("started")
    if started is not None:
        REQUESTS.labels(request.endpoint or "none").observe(time.perf_counter() - started)
    return response


def init_app(app: Flask) -> None:
    app.after_request(_observe)
