"""Live servers for end-to-end and browser tests: the portal and the identity-provider
emulator, each a real HTTP server on loopback, and a small browser (requests) that follows
both through a login.

``*.localhost`` resolves to loopback here as it does in browsers (RFC 6761), so the portal is
reached on each region's development host, exactly as QA opens it.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
import requests
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

import idp_emulator
from app import audit_spool, create_app
from app.demo import seed
from app.extensions import db, limiter
from app.identity.esia.gost import make_test_certificate
from app.settings import PROJECT_ROOT
from app.tenants.versions import refresh
from idp_emulator.keys import make_signing_key
from tests.conftest import require_gost_engine, test_environ

ESIA_REGIONS = ("mosreg", "kaluga", "tatarstan")
_getaddrinfo = socket.getaddrinfo


def _resolve_localhost(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".localhost"):
        host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


@pytest.fixture(scope="session", autouse=True)
def localhost_subdomains():
    with mock.patch("socket.getaddrinfo", _resolve_localhost):
        yield


@pytest.fixture(scope="session")
def esia_env(tmp_path_factory) -> Iterator[dict[str, str]]:
    """Key files for every ESIA region and the emulator, and Moscow's client secret, named
    as regions.yaml expects."""
    require_gost_engine()
    root = tmp_path_factory.mktemp("keys")
    emulator_key, emulator_cert = make_signing_key(root / "emulator")
    env = {
        "EMULATOR_SIGNING_KEY_FILE": str(emulator_key),
        "ESIA_TOKEN_CERT_FILE": str(emulator_cert),
        "MOSCOW_OIDC_CLIENT_SECRET": "test-client-secret-of-moscow",
    }
    for slug in ESIA_REGIONS:
        key, cert = make_test_certificate(root / slug, f"Тест {slug}")
        env[f"{slug.upper()}_ESIA_KEY_FILE"] = str(key)
        env[f"{slug.upper()}_ESIA_CERT_FILE"] = str(cert)
    with mock.patch.dict(os.environ, env):
        yield env


@dataclass
class Servers:
    portal_app: object
    emulator_app: object
    portal_port: int
    emulator_url: str

    def portal(self, slug: str) -> str:
        return f"http://{slug}.localhost:{self.portal_port}"


def _serve(app, server=None):
    server = server or make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture(scope="session")
def servers(database_uri, esia_env) -> Iterator[Servers]:
    portal_server = make_server("127.0.0.1", 0, None, threaded=True)
    port = portal_server.server_port
    regions = PROJECT_ROOT / "config" / "regions.yaml"
    emulator_app = idp_emulator.create_app(
        {
            "clients": idp_emulator.clients_from_regions(regions, esia_env, port),
            "oidc_clients": idp_emulator.oidc_clients_from_regions(regions, esia_env, port),
            "signing_key": RSAKey.import_key(
                Path(esia_env["EMULATOR_SIGNING_KEY_FILE"]).read_bytes()
            ),
        }
    )
    emulator_server, _ = _serve(emulator_app)
    emulator_url = f"http://127.0.0.1:{emulator_server.server_port}"
    portal_app = create_app(test_environ(database_uri, IDP_EMULATOR_URL=emulator_url))
    portal_server.app = portal_app
    _serve(portal_app, portal_server)
    yield Servers(portal_app, emulator_app, port, emulator_url)
    portal_server.shutdown()
    emulator_server.shutdown()


@pytest.fixture
def live(servers) -> Iterator[Servers]:
    """The servers, with the demo registry loaded fresh for this test and removed after it."""
    app = servers.portal_app
    with app.app_context():
        for tenant in app.extensions["tenants"]:
            seed(tenant)
    yield servers
    with app.app_context():
        limiter.reset()
        audit_spool.settle()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        refresh(app, force=True)  # regions' saved versions are gone: serve regions.yaml again


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


class Browser:
    """A person at a browser: follows redirects across the portal and the emulator."""

    def __init__(self, servers: Servers, slug: str):
        self.servers, self.slug = servers, slug
        self.http = requests.Session()
        self.page: requests.Response | None = None

    @property
    def base(self) -> str:
        return self.servers.portal(self.slug)

    def get(self, path: str, **kwargs) -> requests.Response:
        url = path if path.startswith("http") else self.base + path
        self.page = self.http.get(url, timeout=10, **kwargs)
        return self.page

    def post(self, path: str, data: dict | None = None, **kwargs) -> requests.Response:
        """A form post from the current page, with its CSRF token."""
        match = CSRF_RE.search(self.page.text if self.page is not None else "")
        token = (match.group(1) or match.group(2)) if match else ""
        url = path if path.startswith("http") else self.base + path
        self.page = self.http.post(
            url, data={"csrf_token": token, **(data or {})}, timeout=10, **kwargs
        )
        return self.page

    def mosru_login(self, persona: str) -> requests.Response:
        page = self.get("/login/oidc")
        self.page = self.http.post(page.url, data={"persona": persona}, timeout=10)
        return self.page

    def esia_login(self, persona: str, *, grant: bool = True) -> requests.Response:
        page = self.get("/login/esia")
        if 'name="persona"' in page.text:
            page = self.http.post(page.url, data={"persona": persona}, timeout=10)
        if "Предоставление прав доступа" in page.text:
            decision = "grant" if grant else "deny"
            page = self.http.post(page.url, data={"decision": decision}, timeout=10)
        self.page = page
        return page


@pytest.fixture
def browser(live):
    """``browser("kaluga")``: a fresh browser on that region's portal."""
    return lambda slug: Browser(live, slug)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(server: subprocess.Popen, seconds: float = 30) -> None:
    """A server started for a test stopped as gunicorn is (TERM: it finishes what it has),
    and killed if it has not within ``seconds``."""
    server.terminate()
    try:
        server.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def gunicorn_portal(
    database_uri: str, *config: str, workers: int = 1, root: Path = PROJECT_ROOT, **env: str
):
    """The portal under gunicorn in a process of its own (sessions in ``database_uri``),
    run from ``root`` (a copy of the project, say): ``(process, port)``; the caller
    stops it (:func:`stop`)."""
    port = free_port()
    environ = {
        **os.environ, "PORTAL_ENV": "testing", "DATABASE_URL": database_uri,
        "SECRET_KEY": "g" * 40, "MOSCOW_OIDC_CLIENT_SECRET": "secret-for-this-test",
        "PORT": str(port), "WORKERS": str(workers), "REDIS_URL": "", **env,
    }  # fmt: skip
    command = [sys.executable, "-m", "gunicorn", *config, "--bind", f"127.0.0.1:{port}",
               "wsgi:app"]  # fmt: skip
    server = subprocess.Popen(command, cwd=root, env=environ,  # noqa: S603
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return server, port
        except requests.RequestException:  # not listening yet, or the worker still importing
            time.sleep(0.2)
    server.kill()
    pytest.fail("gunicorn did not start")
