"""Upgrading a running portal (docs/operations.md): the migrations, then a HUP to gunicorn,
whose new workers must run the code now on disk."""

from __future__ import annotations

import shutil
import signal
import time

import requests

from app.settings import PROJECT_ROOT
from tests.live import gunicorn_portal


def _health(port: int) -> dict:
    return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()


def test_a_hup_starts_workers_on_the_code_on_disk(database_uri, tmp_path):
    """The workers a HUP starts are forked from gunicorn's master: when the master had
    imported the portal's package (its settings check did, at its start), they ran the
    code as it was then, whatever the upgrade had put on disk."""
    root = tmp_path / "portal"
    for part in ("app", "config"):
        shutil.copytree(PROJECT_ROOT / part, root / part,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    for name in ("wsgi.py", "gunicorn.conf.py", "gunicorn_access.py"):
        shutil.copy2(PROJECT_ROOT / name, root / name)
    server, port = gunicorn_portal(database_uri, "-c", "gunicorn.conf.py", root=root)
    try:
        assert _health(port) == {"status": "ok"}
        health = root / "app" / "health.py"
        before = '{"status": "ok"}'
        assert before in health.read_text()
        health.write_text(health.read_text().replace(before, '{"status": "ok", "code": "new"}'))
        server.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while _health(port) != {"status": "ok", "code": "new"} and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _health(port) == {"status": "ok", "code": "new"}
    finally:
        server.terminate()
        server.wait(timeout=30)
