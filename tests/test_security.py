"""The security baseline: headers on every response, CSRF, cookies, secrets, proxies."""

from __future__ import annotations

import re

import pytest
from flask import Response, abort, g, jsonify, request, session
from flask_wtf.csrf import generate_csrf
from itsdangerous import TimestampSigner
from sqlalchemy import select
from werkzeug.datastructures import Headers

from app import create_app, security
from app.extensions import db
from app.headers import vary
from app.models import AuditEvent
from app.security import csrf_token
from app.settings import SettingsError
from tests.conftest import test_environ

CSP_MUST = ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'self'"]


@pytest.fixture
def app_with_probes(app):
    """Test-only routes that fail on purpose or accept a POST, to exercise the app-wide hooks."""

    @app.get("/_probe/boom")
    def boom():
        raise RuntimeError("a bug")

    @app.get("/_probe/unavailable")
    def unavailable():
        abort(503)

    @app.post("/_probe/echo")
    def echo():
        return jsonify(ok=True, remote_addr=request.remote_addr)

    @app.get("/_probe/remote")
    def remote():
        return jsonify(remote_addr=request.remote_addr, scheme=request.scheme)

    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def assert_strict_headers(response, *, https=False):
    csp = response.headers["Content-Security-Policy"]
    for directive in CSP_MUST:
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert ("Strict-Transport-Security" in response.headers) is https


@pytest.mark.parametrize(
    ("path", "status"),
    [("/login", 200), ("/no-such-page", 404), ("/_probe/boom", 500), ("/_probe/unavailable", 503)],
)
def test_headers_on_every_response(app_with_probes, region_client, path, status):
    response = region_client("tatarstan").get(path)
    assert response.status_code == status
    assert_strict_headers(response)


def test_headers_on_the_chooser_and_unknown_hosts(app, client, region_client):
    assert_strict_headers(client.get("/"))
    assert_strict_headers(region_client("x", host="evil.example").get("/"))


def test_server_error_page_is_branded_and_hides_the_bug(app_with_probes, region_client):
    response = region_client("kaluga").get("/_probe/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Внутренняя ошибка" in body
    assert "Моя школа — Калуга и Калужская область" in body
    assert "+7 (800) 000-00-40" in body
    assert "a bug" not in body and "Traceback" not in body


def test_unavailable_page_is_branded(app_with_probes, region_client):
    response = region_client("moscow").get("/_probe/unavailable")
    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "Сервис временно недоступен" in body
    assert "Моя школа — Москва" in body


def test_hsts_when_served_over_https(database_uri):
    app = create_app(test_environ(database_uri, PORTAL_HTTPS="true"))
    response = app.test_client().get("/login/password", base_url="https://mosreg.localhost/")
    assert_strict_headers(response, https=True)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_post_without_csrf_token_is_refused_and_audited(app_with_probes, region_client):
    client = region_client("mosreg")
    response = client.post("/_probe/echo", data={"anything": "1"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Форма устарела" in body
    assert "Моя школа — Московская область" in body
    assert_strict_headers(response)
    with app_with_probes.app_context():
        event = db.session.scalars(select(AuditEvent)).one()
    assert (event.kind, event.tenant, event.detail["path"]) == (
        "csrf_refused",
        "mosreg",
        "/_probe/echo",
    )


def test_post_with_a_forged_token_is_refused(app_with_probes, region_client):
    client = region_client("mosreg")
    client.get("/login")
    response = client.post("/_probe/echo", headers={"X-CSRFToken": "forged"})
    assert response.status_code == 400


def _page_of_a_kept_session(client) -> str:
    """A page seen by someone the portal keeps a session for (an anonymous first view of the
    login page keeps none; the password form's page starts one)."""
    client.get("/login/password")
    return client.get("/login").get_data(as_text=True)


def test_htmx_sends_the_token_from_the_page_header(app_with_probes, region_client):
    client = region_client("kaluga")
    page = _page_of_a_kept_session(client)
    token = page.split('hx-headers=\'{"X-CSRFToken": "', 1)[1].split('"', 1)[0]
    response = client.post("/_probe/echo", headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 200
    assert response.json["ok"] is True


def test_a_token_from_another_region_is_refused(app_with_probes, region_client):
    kaluga, mosreg = region_client("kaluga"), region_client("mosreg")
    page = _page_of_a_kept_session(kaluga)
    token = page.split('hx-headers=\'{"X-CSRFToken": "', 1)[1].split('"', 1)[0]
    _page_of_a_kept_session(mosreg)
    assert mosreg.post("/_probe/echo", headers={"X-CSRFToken": token}).status_code == 400


def _header_token(page: str) -> str:
    return page.split('hx-headers=\'{"X-CSRFToken": "', 1)[1].split('"', 1)[0]


class Clock:
    """itsdangerous's clock: a second later at every reading, so that a token signed anew
    differs; moved on by hand to age the tokens signed before."""

    def __init__(self) -> None:
        self.now = 1_800_000_000

    def read(self) -> int:
        self.now += 1
        return self.now


@pytest.fixture
def ticking_signer(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: clock.read())
    return clock


def test_a_session_s_token_is_signed_once_per_worker_and_still_accepted(
    app_with_probes, region_client, ticking_signer
):
    client = region_client("kaluga")
    first = _header_token(_page_of_a_kept_session(client))
    assert _header_token(client.get("/login").get_data(as_text=True)) == first
    ticking_signer.now += 2 * 24 * 3600  # no time limit: a kept token two days old still opens
    assert client.post("/_probe/echo", headers={"X-CSRFToken": first}).status_code == 200
    # Another session's secret is signed for it, and its token is no key to the first.
    other = region_client("kaluga")
    theirs = _header_token(_page_of_a_kept_session(other))
    assert theirs != first
    assert client.post("/_probe/echo", headers={"X-CSRFToken": theirs}).status_code == 400
    # Another signing key signs again; the token it gives is the one accepted.
    app_with_probes.config["WTF_CSRF_SECRET_KEY"] = "another-csrf-key-" + "k" * 32
    again = _header_token(client.get("/login").get_data(as_text=True))
    assert again != first
    assert client.post("/_probe/echo", headers={"X-CSRFToken": again}).status_code == 200
    assert client.post("/_probe/echo", headers={"X-CSRFToken": first}).status_code == 400


def test_with_a_time_limit_every_page_signs_its_own_token(
    app_with_probes, region_client, ticking_signer
):
    app_with_probes.config["WTF_CSRF_TIME_LIMIT"] = 3600
    client = region_client("kaluga")
    first = _header_token(_page_of_a_kept_session(client))
    assert _header_token(client.get("/login").get_data(as_text=True)) != first
    assert not app_with_probes.extensions["csrf_signed"]


def test_a_kept_token_is_the_request_s_token_for_flask_wtf_too(app, ticking_signer):
    """The token given is the one Flask-WTF's forms and the kept frame find for the request,
    whether it was signed now, kept from before, or made first by a form."""
    secret = {"csrf_token": "b" * 40}
    with app.test_request_context("/", headers={"Host": "kaluga.localhost"}):
        session.update(secret)
        signed = csrf_token()
        assert g.csrf_token == signed == generate_csrf()
    with app.test_request_context("/", headers={"Host": "kaluga.localhost"}):
        session.update(secret)
        assert csrf_token() == signed and g.csrf_token == signed == generate_csrf()
    with app.test_request_context("/", headers={"Host": "kaluga.localhost"}):
        session.update(secret)
        made = generate_csrf()  # a form's, signed first in this request
        assert made != signed and csrf_token() == made


def test_the_kept_tokens_are_bounded(app):
    kept = app.extensions["csrf_signed"]
    assert kept.size == security.SIGNED_TOKENS_KEPT
    kept.size = 1
    for secret in ("c" * 40, "d" * 40):
        with app.test_request_context("/", headers={"Host": "kaluga.localhost"}):
            session["csrf_token"] = secret
            csrf_token()
    assert [key[1] for key in kept._items] == ["d" * 40]


def test_session_cookie_is_hardened_over_https(database_uri):
    app = create_app(test_environ(database_uri, PORTAL_HTTPS="true"))
    response = app.test_client().get("/login/password", base_url="https://mosreg.localhost/")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/" in cookie and "Domain" not in cookie
    assert app.config["REMEMBER_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_HTTPONLY"]
    assert app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 12 * 3600


def test_session_cookie_is_host_only_in_development(region_client):
    response = region_client("mosreg").get("/login/password")
    cookie = response.headers["Set-Cookie"]
    assert "Domain" not in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secret_key_is_required_outside_development(tmp_path):
    with pytest.raises(SettingsError, match="SECRET_KEY must be set"):
        create_app({"PORTAL_ENV": "production", "DATABASE_URL": "sqlite://"})


def test_short_secret_key_is_refused():
    with pytest.raises(SettingsError, match="at least 32"):
        create_app({"PORTAL_ENV": "production", "SECRET_KEY": "short", "DATABASE_URL": "sqlite://"})


def test_production_defaults_fail_closed():
    app = create_app(
        {"PORTAL_ENV": "production", "SECRET_KEY": "p" * 40, "DATABASE_URL": "sqlite://"}
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_NAME"] == "__Host-session"
    assert app.config["DEV_HOSTS"] is False
    client = app.test_client()
    assert client.get("/login", base_url="https://mosreg.localhost").status_code == 404
    assert client.get("/login", base_url="https://myschool.mosreg.ru").status_code == 200


def test_proxy_headers_are_ignored_without_trusted_hops(app_with_probes, region_client):
    response = region_client("mosreg").get(
        "/_probe/remote", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    )
    assert response.json == {"remote_addr": "127.0.0.1", "scheme": "http"}


def test_proxy_headers_are_read_for_the_configured_hops(database_uri):
    app = create_app(test_environ(database_uri, TRUSTED_PROXY_HOPS="1"))

    @app.get("/_probe/remote")
    def remote():
        return jsonify(remote_addr=request.remote_addr, scheme=request.scheme)

    forwarded = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9", "X-Forwarded-Proto": "https"}
    client = app.test_client()
    response = client.get("/_probe/remote", base_url="http://10.0.0.2/",
                          headers={**forwarded, "X-Forwarded-Host": "Kaluga.Localhost."})  # fmt: skip
    # One hop trusted: the scheme and the host it was asked for (sent to its one spelling)…
    assert response.status_code == 308
    assert response.headers["Location"] == "https://kaluga.localhost/_probe/remote"
    response = client.get("/_probe/remote", base_url="http://10.0.0.2/",
                          headers={**forwarded, "X-Forwarded-Host": "kaluga.localhost"})  # fmt: skip
    # …and the last address the proxy appended.
    assert response.json == {"remote_addr": "203.0.113.9", "scheme": "https"}


def test_a_data_encryption_key_that_is_no_key_is_refused_at_start():
    with pytest.raises(SettingsError, match="DATA_ENCRYPTION_KEY must be a Fernet key"):
        create_app({"PORTAL_ENV": "testing", "DATABASE_URL": "sqlite://",
                    "DATA_ENCRYPTION_KEY": "not-a-key"})  # fmt: skip


def test_bad_setting_is_named():
    with pytest.raises(SettingsError, match="TRUSTED_PROXY_HOPS must be a whole number"):
        create_app(
            {"PORTAL_ENV": "testing", "TRUSTED_PROXY_HOPS": "two", "DATABASE_URL": "sqlite://"}
        )


def test_nul_bytes_in_input_are_a_clear_400(region_client):
    client = region_client("kaluga")
    assert client.get("/login", query_string={"q": "a\x00b"}).status_code == 400
    page = client.get("/login/password").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/login/password", data={"csrf_token": token, "login": "x\x00", "password": "y"}
    )
    assert response.status_code == 400
    assert "Моя школа — Калуга и Калужская область" in response.get_data(as_text=True)


def test_no_route_takes_an_id_a_row_cannot_have(app):
    """Every ``<int:…>`` route refuses numbers above 2³¹−1 (and below 1, or 0 for version
    numbers) at routing: PostgreSQL would fail such a query with a 500."""
    from werkzeug.exceptions import MethodNotAllowed, NotFound

    from app.models.base import MAX_ID

    adapter = app.url_map.bind("mosreg.localhost")
    checked = 0
    for rule in app.url_map.iter_rules():
        converters = {
            n: c for n, c in rule._converters.items() if type(c).__name__ == "RowIdConverter"
        }
        if not converters:
            continue
        method = next(iter(rule.methods - {"HEAD", "OPTIONS"}))
        lowest = min(c.min for c in converters.values())
        for value, found in (
            (MAX_ID, True),
            (MAX_ID + 1, False),
            (lowest, True),
            (lowest - 1, False),
        ):
            path = re.sub(r"<int(?:\([^)]*\))?:\w+>", str(value), rule.rule)
            path = re.sub(r"<(?:\w+:)?\w+>", "join", path)
            try:
                adapter.match(path, method=method)
                assert found, path
            except (NotFound, MethodNotAllowed):
                assert not found, path
        checked += 1
    assert checked >= 15


def test_vary_names_each_header_once_whatever_its_case():
    headers = Headers()
    vary(headers, "Accept-Language", "Cookie", "Cookie")
    assert headers["Vary"] == "Accept-Language, Cookie"
    vary(headers, "cookie", "HX-Request")
    assert headers["Vary"] == "Accept-Language, Cookie, HX-Request"
    vary(headers, "hx-request")
    assert headers.getlist("Vary") == ["Accept-Language, Cookie, HX-Request"]


def test_a_signed_in_page_is_never_stored_and_says_what_it_varies_by(region_client):
    client = region_client("mosreg")
    page = client.get("/login")
    assert page.headers["Vary"] == "Accept-Language, Cookie"
    assert "no-store" not in page.headers.get("Cache-Control", "")
    # A view's own Cache-Control is kept, and made no-store, for a signed-in person.
    app = client.application
    with app.test_request_context("/", headers={"Host": "mosreg.localhost"}):
        session["_user_id"] = "1"
        own = Response("x", mimetype="text/html", headers={"Cache-Control": "max-age=60"})
        plain = Response("x", mimetype="text/html")
        for response in (own, plain):
            app.process_response(response)
        assert own.cache_control.no_store and own.cache_control.max_age == 60
        assert plain.headers["Cache-Control"] == "no-store"
