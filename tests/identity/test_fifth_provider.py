"""A fifth kind of identity provider is one new class: registered, it is configurable in
regions.yaml, passes the region check and signs a person in, with no edit anywhere else.

The class below is a school smart-card service of a made-up region («Карта школьника»): its
own configuration block, its own HTTP protocol (a redirect, then a code exchanged for the
person), its own probe. The tiny server stands in for the service.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Mapping
from datetime import date
from typing import Literal
from urllib.parse import urlencode

import pytest
from flask import Flask, jsonify, redirect, request, url_for
from sqlalchemy import select
from werkzeug.serving import make_server

from app import create_app, qa
from app.extensions import db
from app.identity import base as identity_base
from app.identity.base import IdentityProvider, LoginFailed, register
from app.identity.types import ExternalIdentity, FullName, ProviderTraits
from app.models import AuditEvent
from app.schools.registry import import_text
from app.tenants import current_registry, schema
from app.tenants.schema import ProviderConfig, Url
from tests.conftest import empty_tables, regions_file, test_environ

BASE = "http://school.cardland.example/"
CARDHOLDER = {"id": "card-0042", "last": "Карточкина", "first": "Ольга", "middle": "Игоревна",
              "birth_date": "2007-03-14", "snils": "52810749484"}  # fmt: skip


class CardConfig(ProviderConfig):
    kind: Literal["card"]
    base_url: Url


class SchoolCardProvider(IdentityProvider):
    kind = "card"
    config_model = CardConfig
    default_label = "Карта школьника"
    traits = ProviderTraits()

    def start_login(self):
        state = secrets.token_urlsafe(16)
        self.remember_pending(state)
        back = url_for("auth.callback", kind=self.kind, _external=True)
        query = urlencode({"state": state, "redirect_uri": back})
        return redirect(f"{self.config.base_url}/authorize?{query}")

    def finish_login(self, args: Mapping[str, str]) -> ExternalIdentity:
        self.take_pending(args)
        answer = self.call("post", f"{self.config.base_url}/token",
                           data={"code": args.get("code", "")}, down_on_5xx=True)  # fmt: skip
        if answer.status_code != 200:
            raise LoginFailed("provider_error", f"token: HTTP {answer.status_code}")
        person = answer.json()
        return ExternalIdentity(
            issuer=self.config.base_url,
            subject=person["id"],
            full_name=FullName(person["last"], person["first"], person["middle"]),
            birth_date=date.fromisoformat(person["birth_date"]),
            snils=person["snils"],
            confirmed=True,
        )

    @classmethod
    def probe(cls, config: CardConfig) -> tuple[str, bool]:
        return f"{config.base_url}/health", True

    @classmethod
    def issuer_of(cls, config: CardConfig) -> str:
        return config.base_url


class CardService:
    """The smart-card service: hands out one-time codes and exchanges them for the person."""

    def __init__(self):
        self.codes: dict[str, dict] = {}
        app = Flask(__name__)
        app.add_url_rule("/health", view_func=lambda: "ok")
        app.add_url_rule("/authorize", view_func=self.authorize)
        app.add_url_rule("/token", view_func=self.token, methods=["POST"])
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def authorize(self):
        code = secrets.token_urlsafe(12)
        self.codes[code] = CARDHOLDER
        query = urlencode({"code": code, "state": request.args["state"]})
        return redirect(f"{request.args['redirect_uri']}?{query}")

    def token(self):
        person = self.codes.pop(request.form.get("code", ""), None)
        if person is None:
            return jsonify(error="invalid_grant"), 400
        answer = jsonify(person)
        answer.set_cookie("card-session", person["id"])  # the next login must not send it
        return answer


@pytest.fixture
def fifth_kind():
    """Register the class for one test; the registries are as before afterwards."""
    providers, kinds = dict(identity_base._PROVIDERS), dict(schema.PROVIDER_KINDS)
    register(SchoolCardProvider)
    yield SchoolCardProvider
    identity_base._PROVIDERS.clear()
    identity_base._PROVIDERS.update(providers)
    schema.PROVIDER_KINDS.clear()
    schema.PROVIDER_KINDS.update(kinds)


@pytest.fixture
def service():
    running = CardService()
    yield running
    running.server.shutdown()


@pytest.fixture
def cardland(fifth_kind, service, database_uri, tmp_path):
    def add_cardland(raw):
        raw["regions"]["cardland"] = {
            "name": "Карточная область", "hosts": ["school.cardland.example"],
            "identity_provider": {"kind": "card", "base_url": service.url},
            "login_methods": ["card"],
            "branding": raw["regions"]["kaluga"]["branding"],
            "policy": {"match_fields": ["full_name", "snils", "birth_date"],
                       "require_email": False},
        }  # fmt: skip

    regions = regions_file(tmp_path, add_cardland)
    app = create_app(test_environ(database_uri, REGIONS_FILE=str(regions)))
    c = CARDHOLDER
    with app.app_context():
        import_text("cardland", "\n".join([
            '{"type": "school", "key": "s", "full_name": "Лицей № 1", "short_name": "Лицей 1"}',
            '{"type": "class", "school": "s", "name": "11А"}',
            f'{{"type": "person", "key": "o", "last_name": "{c["last"]}", "first_name": "{c["first"]}", '
            f'"middle_name": "{c["middle"]}", "birth_date": "{c["birth_date"]}", "snils": "{c["snils"]}"}}',
            '{"type": "enrolment", "person": "o", "school": "s", "class": "11А"}',
        ]), "jsonl")  # fmt: skip
    yield app
    empty_tables(app)


def test_the_new_kind_is_configurable_and_unknown_kinds_are_still_refused(cardland):
    tenant = cardland.extensions["tenants"].get("cardland")
    assert isinstance(tenant.config.identity_provider, CardConfig)
    assert [m.label for m in tenant.config.login_methods] == ["Карта школьника"]
    with pytest.raises(ValueError, match="must be one of: card, esia, oidc or password"):
        schema.LoginMethod.model_validate({"kind": "saml"})


def test_the_region_check_passes_and_sees_the_service_go(cardland, service):
    with cardland.app_context():
        tenant = current_registry().get("cardland")
        check = qa.check_region(current_registry(), tenant, {})
        assert check.ok, qa.summary_line(check)
        assert check.methods == ("Карта школьника",)
        service.server.shutdown()
        assert not qa.check_region(current_registry(), tenant, {}).ok


def test_a_person_signs_in_through_the_new_kind(cardland):
    client = cardland.test_client()
    page = client.get("/login", base_url=BASE).get_data(as_text=True)
    assert 'class="button method method-card"' in page and "Карта школьника" in page
    start = client.get("/login/card", base_url=BASE)
    assert start.status_code == 302
    import requests  # the browser's leg: the service answers with a redirect to our callback

    back = requests.get(start.location, allow_redirects=False, timeout=5).headers["Location"]
    arrived = client.get(back.replace("http://school.cardland.example", ""), base_url=BASE)
    assert arrived.location == "/access/"
    consent = client.get("/access/", base_url=BASE).get_data(as_text=True)
    assert "Согласие на обработку персональных данных" in consent
    token = re.search(r'name="csrf_token" value="([^"]+)"', consent)[1]
    assert client.post("/access/consent", data={"csrf_token": token}, base_url=BASE).location
    diary = client.get("/diary/", base_url=BASE)
    assert diary.status_code == 200
    assert "Карточкина Ольга Игоревна" in diary.get_data(as_text=True)
    with cardland.app_context():
        kinds = db.session.scalars(select(AuditEvent.kind).filter_by(tenant="cardland")).all()
        assert "login_stopped" in kinds and "login_succeeded" in kinds
    # The region's pooled HTTP session kept nothing of this person's for the next login.
    pooled = [value for key, value in cardland.extensions["identity_providers"].items()
              if key[0] == "card" and key[3] == "http"]  # fmt: skip
    assert len(pooled) == 1 and len(pooled[0].cookies) == 0
