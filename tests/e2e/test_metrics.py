"""Prometheus metrics: counted in the worker that served the request, summed across gunicorn's
workers on the management port, and never on the public hosts."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import requests
from prometheus_client import REGISTRY

from app import create_app
from app.demo import seed
from app.extensions import db
from tests.conftest import test_environ
from tests.live import CSRF_RE, free_port, gunicorn_portal, stop

KALUGA = {"Host": "kaluga.localhost"}


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _wrong_password(base: str) -> None:
    browser = requests.Session()
    page = browser.get(f"{base}/login/password", headers=KALUGA, timeout=10)
    token = CSRF_RE.search(page.text).group(1)
    answer = browser.post(f"{base}/login/password", headers=KALUGA, timeout=10,
                          data={"csrf_token": token, "login": "parolev.demo",
                                "password": "not-the-password"})  # fmt: skip
    assert answer.status_code == 200


def test_a_failed_login_and_the_request_are_counted(app, region_client):
    failed = {"region": "kaluga", "method": "password", "outcome": "failed",
              "reason": "wrong_credentials"}  # fmt: skip
    before = _sample("portal_logins_total", **failed)
    timed = _sample("portal_request_seconds_count", endpoint="auth.password_submit")
    client = region_client("kaluga")
    page = client.get("/login/password").get_data(as_text=True)
    client.post("/login/password", data={"csrf_token": CSRF_RE.search(page).group(1),
                                         "login": "nobody.here", "password": "x" * 12})  # fmt: skip
    assert _sample("portal_logins_total", **failed) == before + 1
    assert _sample("portal_request_seconds_count", endpoint="auth.password_submit") == timed + 1


def test_metrics_are_summed_across_workers_on_the_management_port(database_uri, tmp_path):
    app = create_app(test_environ(database_uri))
    with app.app_context():
        seed(app.extensions["tenants"].get("kaluga"))
        db.session.remove()
    metrics_port = free_port()
    directory = tmp_path / "metrics"
    directory.mkdir()
    server, port = gunicorn_portal(
        database_uri, "-c", "gunicorn.conf.py", workers=2, LOG_FORMAT="json",
        METRICS_PORT=str(metrics_port), PROMETHEUS_MULTIPROC_DIR=str(directory),
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        attempts = [threading.Thread(target=_wrong_password, args=(base,)) for _ in range(8)]
        for attempt in attempts:
            attempt.start()
        for attempt in attempts:
            attempt.join()
        text = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
        failed = re.findall(
            r'portal_logins_total\{[^}]*method="password"[^}]*outcome="failed"[^}]*\} (\S+)', text
        )
        assert sum(float(value) for value in failed) == 8
        writers = {path.name.rsplit("_", 1)[-1] for path in Path(directory).glob("counter_*.db")}
        assert len(writers) == 2  # both workers counted, and the sum is of both
        assert 'portal_request_seconds_count{endpoint="auth.password_submit"}' in text
        assert 'portal_region_config_version{pid="' in text
        # Not on the public port, whatever the host.
        public = requests.get(f"{base}/metrics", headers=KALUGA, timeout=5)
        assert public.status_code == 404 and "portal_logins" not in public.text
    finally:
        stop(server)
