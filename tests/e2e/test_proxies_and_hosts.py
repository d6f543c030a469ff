"""Proxies and hosts (issue: identity protocol hardening, item 8). With no trusted proxy hop,
no forwarded header of any kind changes the scheme, host or redirect URI — gunicorn's own
scheme headers from a loopback peer included, which only the project's gunicorn.conf.py turns
off; a served host written another way is sent to its one spelling, so a login started there
completes."""

from __future__ import annotations

import runpy
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from app.settings import PROJECT_ROOT
from tests.live import gunicorn_portal, stop

FORWARDED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Protocol": "ssl",
    "X-Forwarded-Ssl": "on",
    "X-Forwarded-Host": "evil.example",
    "X-Forwarded-Port": "443",
    "X-Forwarded-For": "203.0.113.9",
    "Forwarded": "for=203.0.113.9;proto=https;host=evil.example",
}


def _redirect_uri(location: str) -> str:
    return parse_qs(urlsplit(location).query)["redirect_uri"][0]


@pytest.fixture(scope="module")
def answering_provider():
    """An address where something answers (200) whatever is asked: the login's press asks
    the provider first, and these tests are about the redirect it then builds."""

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def _gunicorn(database_uri: str, provider: str, *config: str):
    return gunicorn_portal(database_uri, *config, TRUSTED_PROXY_HOPS="0",
                           IDP_EMULATOR_URL=provider)  # fmt: skip


def _login_start(port: int) -> str:
    response = requests.get(
        f"http://127.0.0.1:{port}/login/oidc",
        headers={"Host": f"moscow.localhost:{port}", **FORWARDED},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:200]
    return _redirect_uri(response.headers["Location"])


def test_no_forwarded_header_changes_the_redirect_uri_under_the_projects_gunicorn(
    database_uri, answering_provider
):
    server, port = _gunicorn(database_uri, answering_provider, "-c", "gunicorn.conf.py")
    try:
        assert _login_start(port) == f"http://moscow.localhost:{port}/login/oidc/callback"
    finally:
        stop(server)


def test_gunicorns_defaults_would_believe_the_scheme_header(
    database_uri, tmp_path, answering_provider
):
    """Why the setting matters: left to its defaults (an empty configuration file, since
    gunicorn reads ./gunicorn.conf.py by itself), gunicorn takes the scheme from a loopback
    peer's X-Forwarded-Proto."""
    empty = tmp_path / "defaults.conf.py"
    empty.write_text("")
    server, port = _gunicorn(database_uri, answering_provider, "-c", str(empty))
    try:
        assert _login_start(port).startswith("https://")
    finally:
        stop(server)


def test_the_worker_timeout_stays_above_the_login_deadline(monkeypatch):
    for deadline, hops in (("10", "0"), ("25", "2")):
        monkeypatch.setenv("LOGIN_DEADLINE_SECONDS", deadline)
        monkeypatch.setenv("TRUSTED_PROXY_HOPS", hops)
        settings = runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))
        assert settings["timeout"] >= 3 * float(deadline)
        assert (settings["forwarded_allow_ips"] == "") == (hops == "0")
        assert (
            "%(U)s" in settings["access_log_format"]
            and "%(r)s" not in settings["access_log_format"]
        )  # the path, never the query string (callbacks carry codes)


@pytest.mark.parametrize(
    "host", ["MOSREG.localhost", "mosreg.localhost.", "Mosreg.Localhost.:8080"]
)
def test_a_host_written_another_way_goes_to_its_one_spelling(region_client, host):
    client = region_client("mosreg")
    response = client.get("/login?from=here", headers={"Host": host})
    port = ":8080" if host.endswith(":8080") else ""
    assert response.status_code == 308
    assert response.headers["Location"] == f"http://mosreg.localhost{port}/login?from=here"


def test_an_unknown_host_written_another_way_is_still_unknown(region_client):
    response = region_client("mosreg").get("/login", headers={"Host": "Elsewhere.Example."})
    assert response.status_code == 404


def test_a_login_started_on_another_spelling_completes(live, browser):
    b = browser("mosreg")
    port = live.portal_port
    first = b.http.get(
        f"http://127.0.0.1:{port}/login/esia",
        headers={"Host": f"MOSREG.localhost.:{port}"},
        allow_redirects=False,
        timeout=10,
    )
    assert first.status_code == 308
    page = b.http.get(first.headers["Location"], timeout=10)  # as the browser follows it
    if 'name="persona"' in page.text:
        page = b.http.post(page.url, data={"persona": "P1"}, timeout=10)
    if "Предоставление прав доступа" in page.text:
        page = b.http.post(page.url, data={"decision": "grant"}, timeout=10)
    assert "Страница входа устарела" not in page.text
    assert page.url == f"http://mosreg.localhost:{port}/diary/"
