"""A login on its way to the provider (app/identity/pending.py): kept sealed in a cookie of
its own, so that starting a login writes nothing on the server, and spent by the callback,
whatever the callback brings."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event, func, select

from app import create_app
from app.extensions import db
from app.identity import pending
from app.models import AuditEvent, ServerSession
from app.sealing import unseal
from tests.conftest import test_environ

MOSREG = "http://mosreg.localhost/"


def _state(response) -> str:
    return parse_qs(urlsplit(response.headers["Location"]).query)["state"][0]


def _set_cookies(response) -> dict[str, str]:
    """Each cookie the answer sets or removes: its name → the whole header."""
    return {line.split("=", 1)[0]: line for line in response.headers.getlist("Set-Cookie")}


def _rows() -> dict[str, int]:
    """How many rows each table holds (the prepared statements, the session store's among
    them, bypass SQLAlchemy's statement events: the rows say what they wrote)."""
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables}  # fmt: skip


def test_starting_a_login_writes_nothing_on_the_server(live):
    app = live.portal_app
    writes: list[str] = []

    def note(_connection, _cursor, statement, *_):
        if statement.split()[0] in ("INSERT", "UPDATE", "DELETE"):
            writes.append(statement)

    with app.app_context():
        engine, before = db.engine, _rows()
        assert before[ServerSession.__tablename__] == 0
    event.listen(engine, "before_cursor_execute", note)
    try:
        for _ in range(3):
            response = app.test_client().get("/login/esia", base_url=MOSREG)
            assert response.status_code == 302
    finally:
        event.remove(engine, "before_cursor_execute", note)
    with app.app_context():
        assert _rows() == before
    assert writes == []
    cookies = _set_cookies(response)
    assert list(cookies) == ["login-esia"]  # and no session cookie
    cookie = cookies["login-esia"]
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=600"):
        assert attribute in cookie
    assert "Domain" not in cookie  # host-only: one region's login is not another's


def test_the_cookie_keeps_the_logins_secrets_unreadable(live):
    app = live.portal_app
    response = app.test_client().get("/login/oidc", base_url="http://moscow.localhost/")
    value = _set_cookies(response)["login-oidc"].split("=", 1)[1].split(";", 1)[0]
    with app.app_context():
        kept = unseal(value)
    assert kept["state"] == _state(response) and kept["tenant"] == "moscow"
    assert kept["verifier"] and kept["nonce"]  # the PKCE verifier and the OIDC nonce
    for secret in (kept["state"], kept["verifier"], kept["nonce"]):
        assert secret not in value


def test_over_https_the_cookie_is_secure_and_host_prefixed(live, database_uri):
    app = create_app(
        test_environ(database_uri, PORTAL_HTTPS="true", IDP_EMULATOR_URL=live.emulator_url)
    )
    client = app.test_client()
    start = client.get("/login/esia", base_url="https://mosreg.localhost/")
    assert start.status_code == 302
    cookie = _set_cookies(start)["__Host-login-esia"]
    for attribute in ("Secure", "HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in cookie
    assert "Domain" not in cookie
    assert "no-store" in start.headers["Cache-Control"]
    # Removed as it was set: a browser ignores the removal of a __Host- cookie without Secure.
    spent = client.get(
        f"/login/esia/callback?code=x&state={_state(start)}x", base_url="https://mosreg.localhost/"
    )
    removal = _set_cookies(spent)["__Host-login-esia"]
    for attribute in ("Secure", "Path=/", "Max-Age=0"):
        assert attribute in removal
    assert "no-store" in spent.headers["Cache-Control"]


def test_a_login_spends_its_cookie_and_a_replay_of_it_signs_nobody_in(live, browser):
    b = browser("mosreg")
    start = b.http.get(b.base + "/login/esia", allow_redirects=False)
    kept = b.http.cookies.get("login-esia")
    assert kept
    picker = b.http.get(start.headers["Location"], timeout=10)
    entered = b.http.post(picker.url, data={"persona": "P1"}, timeout=10)
    if "Предоставление прав доступа" in entered.text:  # the first login: rights to grant
        entered = b.http.post(entered.url, data={"decision": "grant"}, timeout=10)
    callback = next(r.headers["Location"] for r in entered.history if "code=" in r.headers.get(
        "Location", ""))  # fmt: skip
    assert b.get("/diary/", allow_redirects=False).status_code == 200
    assert b.http.cookies.get("login-esia") is None  # spent

    replay = browser("mosreg")  # the cookie and the callback, taken and sent again
    replay.http.cookies.set("login-esia", kept, domain="mosreg.localhost")
    replay.get(callback)
    assert replay.get("/diary/", allow_redirects=False).status_code == 302
    assert replay.http.cookies.get("login-esia") is None
    # The cookie cannot say it was spent: the provider, which takes each code once, refuses.
    failure = _last_failure(live.portal_app)
    assert failure["reason"] == "provider_error" and "ESIA-007011" in failure["detail"]


def test_two_cookies_of_one_name_are_refused(live):
    """One planted beside ours (from a sibling host, with a longer Path) is sent first."""
    app = live.portal_app
    client = app.test_client()
    client.set_cookie("login-esia", _sealed(app), domain="mosreg.localhost")
    client.set_cookie("login-esia", _sealed(app), domain="mosreg.localhost", path="/login/esia")
    response = client.get("/login/esia/callback?code=abc&state=s-1", base_url=MOSREG)
    assert response.request.headers["Cookie"].count("login-esia=") == 2
    assert response.headers["Location"].endswith("/login")
    assert _last_failure(app)["reason"] == "bad_state"


def _last_failure(app) -> dict:
    with app.app_context():
        failure = db.session.scalars(
            select(AuditEvent).filter_by(tenant="mosreg", kind="login_failed")
            .order_by(AuditEvent.id.desc())
        ).first()  # fmt: skip
        return failure.detail


def _callback_with(app, value: str | None, *, state: str = "") -> tuple:
    client = app.test_client()
    if value is not None:
        client.set_cookie("login-esia", value, domain="mosreg.localhost")
    response = client.get(f"/login/esia/callback?code=abc&state={state}", base_url=MOSREG)
    return response, client


def _sealed(app, kind="esia", tenant="mosreg", ttl=60, state="s-1") -> str:
    with app.test_request_context(base_url=MOSREG):
        return pending.sealed(kind, {"state": state, "tenant": tenant}, ttl)


@pytest.mark.parametrize(
    "planted",
    [
        lambda app: None,  # no login was started in this browser
        lambda app: "not-a-sealed-value",
        lambda app: _sealed(app)[:-6] + "AAAAAA",  # altered
        lambda app: _sealed(app, ttl=-1),  # expired
        lambda app: _sealed(app, kind="oidc"),  # another kind's, under this kind's name
        lambda app: _sealed(app, tenant="kaluga"),  # another region's
        lambda app: _sealed(app, state="another-state"),
    ],
    ids=["none", "garbage", "altered", "expired", "other-kind", "other-region", "other-state"],
)
def test_a_callback_without_its_own_pending_login_signs_nobody_in(live, planted):
    app = live.portal_app
    response, client = _callback_with(app, planted(app), state="s-1")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert client.get_cookie("login-esia", domain="mosreg.localhost") is None
    with client.session_transaction(base_url=MOSREG) as session:
        assert "_user_id" not in session
    assert _last_failure(app)["reason"] == "bad_state"


def test_a_pending_login_is_in_time_for_its_ttl_only(live, monkeypatch):
    app = live.portal_app
    value = _sealed(app, ttl=600)
    with app.test_request_context(base_url=MOSREG, headers={"Cookie": f"login-esia={value}"}):
        assert pending.take("esia")["state"] == "s-1"
    later = time.time() + 601
    monkeypatch.setattr(pending.time, "time", lambda: later)
    with app.test_request_context(base_url=MOSREG, headers={"Cookie": f"login-esia={value}"}):
        assert pending.take("esia") is None
