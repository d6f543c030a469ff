"""When logins, a press of its button or the region check find the region's identity
provider down, the login page says so above its button; the button still leads to the
provider once it answers, and the notice goes once the provider completes a login again or
after a minute. A view of the page calls neither the provider nor the database."""

from __future__ import annotations

import re
import threading

import pytest
import requests
from sqlalchemy import event
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from app.identity import LoginFailed, provider_class
from app.identity import availability as provider_state
from app.identity.deadline import DeadlineAdapter, ProviderClient
from tests.conftest import test_environ
from tests.live import free_port

NOTICE = "Сервис входа через {name} сейчас может не отвечать"
REGIONS = {"kaluga": ("Госуслуги", "esia", "P1"), "moscow": ("mos.ru", "oidc", "M1")}


def sign_in(b, persona: str):
    return b.mosru_login(persona) if b.slug == "moscow" else b.esia_login(persona)


def on_every_call(monkeypatch, action) -> None:
    """``action(request)`` instead of every call to a provider: a provider's own calls
    (``ProviderClient``) and those of Authlib's client (through ``DeadlineAdapter``)."""
    monkeypatch.setattr(DeadlineAdapter, "_send", lambda self, request, **kw: action(request))
    monkeypatch.setattr(ProviderClient, "_send", lambda self, request, *a: action(request))


@pytest.fixture
def provider_down(live, monkeypatch):
    """The provider stops answering the portal's calls (the connection is refused); calling
    the fixture's value brings it back. What the portal noted is forgotten afterwards: the
    servers outlive the test."""

    def refuse(request):
        raise requests.ConnectionError(f"{request.url}: connection refused")

    on_every_call(monkeypatch, refuse)
    yield monkeypatch.undo
    live.portal_app.extensions.pop("provider_down_since", None)
    live.portal_app.extensions.pop("provider_probes", None)


def notice_and_button(page: str, kind: str) -> tuple[int, int]:
    notice = page.find('class="notice notice-warning"')
    button = re.search(rf'class="button method method-{kind}" href="/login/{kind}"', page)
    assert button, "the provider's button is on the page"
    return notice, button.start()


@pytest.mark.parametrize("slug", list(REGIONS))
def test_a_provider_down_is_said_above_its_button_until_it_answers(
    browser, live, provider_down, slug
):
    name, kind, persona = REGIONS[slug]
    assert NOTICE.format(name=name) not in browser(slug).get("/login").text

    failed = sign_in(browser(slug), persona)
    assert failed.status_code == 503

    page = browser(slug).get("/login").text  # someone else, later
    assert NOTICE.format(name=name) in page
    notice, button = notice_and_button(page, kind)
    assert 0 <= notice < button  # above the button it is about
    assert 'aria-describedby="down-' in page
    other = "mosreg" if slug != "mosreg" else "kaluga"
    assert "сейчас может не отвечать" not in browser(other).get("/login").text

    provider_down()  # the provider is back: its button works, the notice goes
    entered = sign_in(browser(slug), persona)
    assert entered.status_code == 200 and entered.url.endswith("/diary/")
    assert NOTICE.format(name=name) not in browser(slug).get("/login").text


def test_the_notice_lapses_after_a_minute(browser, live, provider_down, monkeypatch):
    assert browser("tatarstan").esia_login("P1").status_code == 503
    assert "сейчас может не отвечать" in browser("tatarstan").get("/login").text
    later = provider_state.monotonic() + provider_state.DOWN_SECONDS + 1
    monkeypatch.setattr(provider_state, "monotonic", lambda: later)
    assert "сейчас может не отвечать" not in browser("tatarstan").get("/login").text


def test_our_own_keys_failing_is_not_blamed_on_the_provider(browser, live, monkeypatch):
    def misconfigured(self):
        raise LoginFailed("misconfigured", "the region's key does not load")

    monkeypatch.setattr(provider_class("esia"), "start_login", misconfigured)
    assert browser("kaluga").get("/login/esia").status_code == 503
    assert "сейчас может не отвечать" not in browser("kaluga").get("/login").text


def test_the_login_page_asks_neither_the_provider_nor_the_database(
    browser, live, provider_down, monkeypatch
):
    assert browser("mosreg").esia_login("P1").status_code == 503
    calls, statements = [], []
    on_every_call(monkeypatch, calls.append)
    with live.portal_app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        page = browser("mosreg").get("/login")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert page.status_code == 200 and "сейчас может не отвечать" in page.text
    assert calls == [] and statements == []


def test_pressing_the_button_while_the_provider_is_down_says_so_on_our_page(
    live, database_uri, monkeypatch
):
    """Nobody has failed a login yet: the press itself asks the provider (its probe) and,
    with the provider gone, answers with our page rather than the browser's connection
    error; the login page then says so too. Back again, the next press leads to it."""
    port = free_port()
    app = create_app(test_environ(database_uri, IDP_EMULATOR_URL=f"http://127.0.0.1:{port}"))
    client, host = app.test_client(), {"Host": "kaluga.localhost"}
    client.set_cookie("login-esia", "another-tabs-login", domain="kaluga.localhost")
    press = client.get("/login/esia", headers=host)
    assert press.status_code == 503 and "не отвечает" in press.get_data(as_text=True)
    # No pending login kept for a login that cannot go on; another tab's stays as it was.
    assert not [c for c in press.headers.getlist("Set-Cookie") if c.startswith("login-esia=")]
    assert client.get_cookie("login-esia", domain="kaluga.localhost").value == "another-tabs-login"
    assert NOTICE.format(name="Госуслуги") in client.get("/login", headers=host).get_data(True)

    server = make_server("127.0.0.1", port, live.emulator_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert client.get("/login/esia", headers=host).status_code == 503  # asked moments ago
        later = provider_state.monotonic() + provider_state.RECHECK_SECONDS
        monkeypatch.setattr(provider_state, "monotonic", lambda: later)
        press = client.get("/login/esia", headers=host)
        assert press.status_code == 302
        assert press.location.startswith(f"http://127.0.0.1:{port}/aas/oauth2/v2/ac?")
        assert "может не отвечать" not in client.get("/login", headers=host).get_data(True)
    finally:
        server.shutdown()
