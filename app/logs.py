"""Logs an operator can search at 3 a.m.: one JSON object per line, with a request id.

``LOG_FORMAT=json`` (the default in production) writes each record as one line of JSON:
``time`` (UTC), ``level``, ``event`` (the message), ``logger``, and, inside a request, its
``request_id``, ``region`` and ``user_id``, plus whatever fields the caller passed as
``extra``. ``LOG_FORMAT=text`` (development) writes the same as a readable line, and leaves
the access log to gunicorn (whose lines carry the request id too).

Personal data never goes into a log: records name people by account id only, and an
exception is logged by its type and where it was raised, never by its message (a database
error's message carries the row's values).

Every request gets an id, returned in ``X-Request-ID``: the proxy's, when the portal stands
behind trusted proxies (``TRUSTED_PROXY_HOPS`` > 0) and the value is well formed, else a new
one; a client cannot choose the id its own requests are logged under.
"""

from __future__ import annotations

import logging
import re
import secrets
import sys
import time

from flask import Flask, Response, g, has_request_context, request, session

from log_lines import JsonFormatter, TextFormatter

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

_HANDLER_NAME = "portal"


class RequestContext(logging.Filter):
    """Adds the request's id, region and signed-in account to every record made in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id")
            tenant = g.get("tenant")
            record.region = tenant.slug if tenant is not None else None
            record.user_id = _account_id()
        return True


def _account_id() -> int | None:
    try:
        user_id = session.get("_user_id")
    except AssertionError:  # a record made while the session is being opened
        return None
    return int(user_id) if user_id and str(user_id).isdigit() else None


def configure(log_format: str, stream=None) -> logging.Handler:
    """One handler on the root logger for the whole process (idempotent: the last call's
    format wins), so Flask's, gunicorn's and the libraries' records look alike."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.get_name() == _HANDLER_NAME), None)
    if handler is None:
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.set_name(_HANDLER_NAME)
        handler.addFilter(RequestContext())
        root.addHandler(handler)
    elif stream is not None:
        handler.setStream(stream)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return handler


def _start(trusted_proxy: bool):
    def start() -> None:
        offered = request.headers.get("X-Request-ID", "") if trusted_proxy else ""
        g.request_id = offered if REQUEST_ID.fullmatch(offered) else secrets.token_hex(16)
        g.started = time.perf_counter()

    return start


access = logging.getLogger("portal.access")


def _finish(access_records: bool):
    def finish(response: Response) -> Response:
        """The request's id on the response and, in JSON mode (where gunicorn's access log is
        off), one access record: the path without its query (callbacks carry codes), the
        answer and how long it took."""
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        if request_id and access_records:
            elapsed = (time.perf_counter() - g.started) * 1000
            access.info("request", extra={"method": request.method, "path": request.path,
                                          "status": response.status_code,
                                          "ms": round(elapsed, 1),
                                          "endpoint": request.endpoint})  # fmt: skip
        return response

    return finish


def init_app(app: Flask) -> None:
    configure(app.config["LOG_FORMAT"])
    # First of all before-request functions: even a refused request has its id.
    app.before_request_funcs.setdefault(None, []).insert(
        0, _start(app.config["TRUSTED_PROXY_HOPS"] > 0)
    )
    app.after_request(_finish(app.config["LOG_FORMAT"] == "json"))
