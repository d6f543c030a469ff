"""Upgrading a running portal (docs/operations.md): the migrations, then a HUP to gunicorn,
whose new workers must run the code now on disk, and whose metrics go on counting."""

from __future__ import annotations

import re
import shutil
import signal
import time

import pytest
import requests

from app.settings import PROJECT_ROOT
from tests.live import free_port, gunicorn_portal, stop

TOP_LEVEL = ("wsgi.py", "gunicorn.conf.py", "gunicorn_access.py", "log_lines.py")


def _health(port: int) -> dict:
    return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()


def _login_pages_counted(metrics_port: int) -> float:
    text = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    found = re.findall(r'portal_request_seconds_count\{endpoint="auth.login"\} (\S+)', text)
    return sum(float(value) for value in found)


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_a_hup_starts_workers_on_the_code_on_disk(database_uri, tmp_path, log_format):
    """The workers a HUP starts are forked from gunicorn's master: when the master had
    imported the portal's package (its settings check did at its start; with JSON logs, so
    did its log formatter), they ran the code as it was then, whatever the upgrade had put on
    disk. And the HUP reads gunicorn.conf.py again, which once cleared the metrics' files of
    the workers still running."""
    root = tmp_path / "portal"
    for part in ("app", "config"):
        shutil.copytree(PROJECT_ROOT / part, root / part,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    for name in TOP_LEVEL:
        shutil.copy2(PROJECT_ROOT / name, root / name)
    (tmp_path / "metrics").mkdir()
    metrics_port = free_port()
    server, port = gunicorn_portal(
        database_uri, "-c", "gunicorn.conf.py", root=root, LOG_FORMAT=log_format,
        METRICS_PORT=str(metrics_port), PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
    )  # fmt: skip
    try:
        assert _health(port) == {"status": "ok"}
        for _ in range(3):
            page = requests.get(f"http://127.0.0.1:{port}/login", timeout=5,
                                headers={"Host": f"mosreg.localhost:{port}"})  # fmt: skip
            assert page.status_code == 200
        assert _login_pages_counted(metrics_port) == 3
        health = root / "app" / "health.py"
        before = '{"status": "ok"}'
        assert before in health.read_text()
        health.write_text(health.read_text().replace(before, '{"status": "ok", "code": "new"}'))
        server.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while _health(port) != {"status": "ok", "code": "new"} and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _health(port) == {"status": "ok", "code": "new"}
        assert _login_pages_counted(metrics_port) == 3
    finally:
        stop(server)
