"""How failed logins end (issue: identity protocol hardening, items 2, 6 and 7): a provider
that fails at the start of a login gives the branded 503 and an audit row; a failed or forged
callback ends only the pending login, never a signed-in session; refusal and error texts name
the provider the person used."""

from __future__ import annotations

import socket
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.identity import provider_names
from app.models import AuditEvent
from tests.conftest import regions_file, test_environ
from tests.e2e import test_oidc_relying_party as relying_party

stub = relying_party.stub
stubland = relying_party.stubland
UNAVAILABLE = "Сервис входа сейчас не отвечает"


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def _last_failure(app, slug: str) -> dict:
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).filter_by(tenant=slug, kind="login_failed")
            .order_by(AuditEvent.id.desc())
        ).first()  # fmt: skip
    return event.detail if event else {}


# --- the start of a login ------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503])
def test_discovery_answering_an_error_at_login_start_is_a_branded_503(stubland, stub, status):
    stub.behaviour = {"discovery_status": status}
    response = stubland.test_client().get("/login/oidc", base_url=relying_party.BASE)
    assert response.status_code == 503
    assert UNAVAILABLE in response.get_data(as_text=True)
    failure = _last_failure(stubland, "stubland")
    assert failure["reason"] == "provider_unavailable"
    assert f"HTTP {status}" in failure["detail"]


def test_discovery_too_slow_at_login_start_is_a_branded_503_within_the_deadline(stubland, stub):
    stub.behaviour = {"discovery_delay": 5}
    stubland.config["LOGIN_DEADLINE_SECONDS"] = 1.0
    started = time.monotonic()
    response = stubland.test_client().get("/login/oidc", base_url=relying_party.BASE)
    assert response.status_code == 503 and time.monotonic() - started < 2.0
    assert UNAVAILABLE in response.get_data(as_text=True)
    assert _last_failure(stubland, "stubland")["reason"] == "provider_unavailable"


def test_discovery_down_at_login_start_is_a_branded_503(database_uri, tmp_path, monkeypatch):
    monkeypatch.setenv("MOSCOW_OIDC_CLIENT_SECRET", "a-secret-for-this-test")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]

    def discovery_on_a_closed_port(raw):
        provider = raw["regions"]["moscow"]["identity_provider"]
        provider["discovery_url"] = f"http://127.0.0.1:{closed}/.well-known/openid-configuration"

    regions = regions_file(tmp_path, discovery_on_a_closed_port)
    app = create_app(test_environ(database_uri, REGIONS_FILE=str(regions)))
    response = app.test_client().get("/login/oidc", base_url="http://moscow.localhost/")
    assert response.status_code == 503
    assert "Моя школа — Москва" in response.get_data(as_text=True)
    assert _last_failure(app, "moscow")["reason"] == "provider_unavailable"


# --- a failed callback keeps a signed-in session -------------------------------------------


def test_a_forged_callback_does_not_sign_the_person_out(live, browser):
    b = browser("mosreg")
    b.esia_login("P1")
    assert b.get("/diary/", allow_redirects=False).status_code == 200
    page = b.get("/login/esia/callback?code=stolen&state=forged-by-another-site")
    assert "Страница входа устарела" in page.text or page.url.endswith("/diary/")
    assert b.get("/diary/", allow_redirects=False).status_code == 200
    assert _last_failure(live.portal_app, "mosreg")["reason"] == "bad_state"


def test_a_failed_callback_ends_the_pending_login(live, browser):
    b = browser("mosreg")
    to_esia = b.http.get(b.base + "/login/esia", allow_redirects=False)
    state = _query(to_esia.headers["Location"])["state"]
    b.get(f"/login/esia/callback?error=server_error&state={state}")
    again = b.get(f"/login/esia/callback?code=x&state={state}")
    assert "Страница входа устарела" in again.text  # the pending login is gone


# --- words per provider --------------------------------------------------------------------


def test_a_refusal_at_mos_ru_names_mos_ru(live, browser):
    b = browser("moscow")
    to_provider = b.http.get(b.base + "/login/oidc", allow_redirects=False)
    state = _query(to_provider.headers["Location"])["state"]
    page = b.get(f"/login/oidc/callback?error=access_denied&state={state}")
    assert "Вы не разрешили mos.ru передать ваши данные" in page.text
    assert "нажмите «mos.ru» ещё раз" in page.text
    assert "Госуслуг" not in page.text


def test_moscow_pages_never_say_gosuslugi(live, browser):
    for persona in ("M1", "M2", "M3", "M4"):
        page = browser("moscow").mosru_login(persona)
        assert "Госуслуг" not in page.text, persona


def test_provider_names_decline_for_esia_and_follow_the_configuration_otherwise(live):
    registry = live.portal_app.extensions["tenants"]
    with live.portal_app.app_context():
        esia = provider_names(registry.get("kaluga"))
        assert (esia.genitive, esia.prepositional) == ("Госуслуг", "Госуслугах")
        moscow = provider_names(registry.get("moscow"))
        assert {moscow.nominative, moscow.genitive, moscow.prepositional} == {"mos.ru"}
