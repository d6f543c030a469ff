"""SECURITY.md "Relying party": a small stub provider that signs bad tokens on purpose. Every
dishonest answer is refused with no session and an audit row; honest ones (and a key rotated
between two logins) are accepted."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask import Flask, jsonify, redirect, request
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from joserfc.jws import JWSRegistry
from sqlalchemy import select
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from app.models import AuditEvent
from app.schools.registry import import_text
from tests.conftest import empty_tables, regions_file, test_environ

CLIENT_ID, SECRET = "stub-client", "secret-of-the-stub-client"
ANY_ALG = JWSRegistry(algorithms=["RS256", "HS256"])


class StubProvider:
    """An OpenID provider whose every answer the test can bend."""

    def __init__(self):
        self.keys = [RSAKey.generate_key(2048, private=True, parameters={"kid": "k1"})]
        self.behaviour: dict = {}
        self.codes: dict[str, dict] = {}
        self.jwks_fetches = 0
        self.app = self._build()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def id_token(self, nonce: str) -> str:
        b, now = self.behaviour, int(time.time())
        claims = {"iss": self.issuer, "sub": "parent-7", "aud": CLIENT_ID, "iat": now,
                  "exp": now + 300, "nonce": nonce}  # fmt: skip
        if b.get("iat_ahead"):
            claims["iat"] = now + b["iat_ahead"]
        if b.get("fractional_times"):  # RFC 7519 NumericDate allows fractions
            claims.update(iat=now + 0.25, exp=now + 300.5, nbf=now - 0.75)
        claims.update(b.get("claims", {}))
        claims = {k: v for k, v in claims.items() if v is not None}
        key = b.get("signing_key") or self.keys[-1]
        header = {"alg": "RS256", "kid": key.kid}
        if b.get("alg") == "none":
            part = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
            return f"{part({'alg': 'none'})}.{part(claims)}."
        if b.get("alg") == "HS256":
            return jwt.encode(
                {"alg": "HS256"}, claims, OctKey.import_key(SECRET.encode()), registry=ANY_ALG
            )
        if b.get("no_kid"):
            header.pop("kid")
        token = jwt.encode(header, claims, key)
        if b.get("bad_signature"):
            head, body, signature = token.split(".")
            token = f"{head}.{body}.{signature[:-4]}AAAA"
        return token

    def _build(self) -> Flask:
        app = Flask(__name__)

        @app.get("/.well-known/openid-configuration")
        def discovery():
            time.sleep(self.behaviour.get("discovery_delay", 0))
            if self.behaviour.get("discovery_status"):
                return "provider trouble", self.behaviour["discovery_status"]
            issuer = self.behaviour.get("metadata_issuer", self.issuer)
            return jsonify(issuer=issuer, authorization_endpoint=f"{self.issuer}/authorize",
                           token_endpoint=f"{self.issuer}/token", jwks_uri=f"{self.issuer}/jwks",
                           userinfo_endpoint=f"{self.issuer}/userinfo",
                           authorization_response_iss_parameter_supported=True,
                           id_token_signing_alg_values_supported=["RS256", "none"])  # fmt: skip

        @app.get("/jwks")
        def jwks():
            self.jwks_fetches += 1
            response = jsonify(keys=[k.as_dict(private=False) for k in self.keys])
            if self.behaviour.get("jwks_cache_control"):
                response.headers["Cache-Control"] = self.behaviour["jwks_cache_control"]
            return response

        @app.get("/authorize")
        def authorize():
            args = request.args
            assert args["code_challenge_method"] == "S256" and args["code_challenge"]
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"nonce": args["nonce"], "challenge": args["code_challenge"]}
            iss = self.behaviour.get("callback_iss", self.issuer)
            return redirect(
                f"{args['redirect_uri']}?{urlencode({'code': code, 'state': args['state'], 'iss': iss})}"
            )

        @app.post("/token")
        def token():
            grant = self.codes.get(request.form["code"])
            if grant is None or grant.get("used"):
                return jsonify(error="invalid_grant"), 400
            grant["used"] = True
            verifier = request.form.get("code_verifier", "").encode()
            digest = (
                base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
            )
            if digest != grant["challenge"]:
                return jsonify(error="invalid_grant", error_description="PKCE"), 400
            nonce = self.behaviour.get("nonce", grant["nonce"])
            return jsonify(access_token="at-" + secrets.token_hex(8), token_type="Bearer",
                           id_token=self.id_token(nonce), expires_in=300)  # fmt: skip

        @app.get("/userinfo")
        def userinfo():
            return jsonify(sub=self.behaviour.get("userinfo_sub", "parent-7"), family_name="Заглушкина",
                           given_name="Вера", email="vera.stub@example.test", phone_number="+79170000707")  # fmt: skip

        return app


@pytest.fixture(scope="module")
def stub():
    provider = StubProvider()
    yield provider
    provider.server.shutdown()


@pytest.fixture
def stubland(stub, database_uri, tmp_path, monkeypatch):
    def add_stubland(raw):
        raw["regions"]["stubland"] = {
            "name": "Регион-заглушка", "hosts": ["school.stubland.example"],
            "identity_provider": {"kind": "oidc", "issuer": stub.issuer,
                                  "discovery_url": f"{stub.issuer}/.well-known/openid-configuration",
                                  "client_id": CLIENT_ID, "client_secret_env": "STUB_OIDC_SECRET",
                                  "scopes": ["openid", "email", "phone"]},
            "login_methods": [{"kind": "oidc", "label": "Вход"}],
            "branding": raw["regions"]["moscow"]["branding"],
            "policy": {"match_fields": ["email", "phone"]},
        }  # fmt: skip

    regions = regions_file(tmp_path, add_stubland)
    monkeypatch.setenv("STUB_OIDC_SECRET", SECRET)
    stub.behaviour = {}
    app = create_app(test_environ(database_uri, REGIONS_FILE=str(regions)))
    with app.app_context():
        import_text("stubland", "\n".join([
            '{"type": "school", "key": "s", "full_name": "Школа-заглушка № 7", "short_name": "Ш7"}',
            '{"type": "class", "school": "s", "name": "1А"}',
            '{"type": "person", "key": "p", "last_name": "Заглушкина", "first_name": "Вера", "email": "vera.stub@example.test", "phone": "+79170000707"}',
            '{"type": "person", "key": "k", "last_name": "Заглушкин", "first_name": "Петя", "birth_date": "2017-01-01"}',
            '{"type": "enrolment", "person": "k", "school": "s", "class": "1А"}',
            '{"type": "guardian", "guardian": "p", "student": "k"}',
        ]), "jsonl")  # fmt: skip
    yield app
    empty_tables(app)


BASE = "http://school.stubland.example/"


def login(app, client=None, *, tamper=None):
    """Start at the portal, let the stub answer, deliver its callback (maybe tampered)."""
    client = client or app.test_client()
    start = client.get("/login/oidc", base_url=BASE)
    if start.status_code != 302:  # refused before leaving the portal (bad metadata)
        return start, client
    answer = requests.get(start.location, allow_redirects=False, timeout=5).headers["Location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(answer).query).items()}
    if tamper:
        query = tamper(query)
    return client.get("/login/oidc/callback", query_string=query, base_url=BASE), client


def signed_in(client) -> bool:
    return client.get("/diary/", base_url=BASE).status_code == 200


def last_failure(app) -> dict:
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).filter_by(kind="login_failed").order_by(AuditEvent.id.desc())
        ).first()
    return event.detail if event else {}


def test_honest_login_is_accepted(stubland):
    response, client = login(stubland)
    assert response.location == "/access/"
    page = client.get("/access/", base_url=BASE).get_data(as_text=True)
    assert "Согласие на обработку персональных данных" in page


@pytest.mark.parametrize(
    ("behaviour", "reason", "detail"),
    [
        ({"claims": {"iss": "https://evil.example"}}, "invalid_token", "iss is not our provider"),
        ({"metadata_issuer": "https://evil.example"}, "invalid_metadata", "discovery names issuer"),
        ({"claims": {"sub": None}}, "invalid_token", "no sub"),
        ({"claims": {"aud": "someone-else"}}, "invalid_token", "aud does not name us"),
        (
            {"claims": {"aud": "someone-else", "azp": CLIENT_ID}},
            "invalid_token",
            "aud does not name us",
        ),
        (
            {"claims": {"aud": [CLIENT_ID, "other"], "azp": "other"}},
            "invalid_token",
            "azp is not us",
        ),
        ({"claims": {"iat": None}}, "invalid_token", "no iat"),
        ({"claims": {"exp": int(time.time()) - 3600}}, "invalid_token", "expired"),
        ({"claims": {"nbf": int(time.time()) + 3600}}, "invalid_token", "not yet valid"),
        ({"alg": "none"}, "invalid_token", "not allowed"),
        ({"bad_signature": True}, "invalid_token", "id_token"),
        ({"alg": "HS256"}, "invalid_token", "not allowed"),
        ({"nonce": "another-nonce"}, "invalid_token", "nonce does not match"),
        ({"userinfo_sub": "someone-else"}, "invalid_token", "userinfo sub"),
        ({"callback_iss": "https://other-region-provider.example"}, "mix_up", "callback iss"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_dishonest_answers_are_refused(stubland, stub, behaviour, reason, detail):
    stub.behaviour = behaviour
    stubland.extensions.pop("identity_providers", None)  # metadata rows need a fresh discovery
    response, client = login(stubland)
    assert response.status_code in (302, 503)
    assert not signed_in(client)
    failure = last_failure(stubland)
    assert failure["reason"] == reason
    assert detail in failure["detail"]


def test_no_kid_with_several_keys_is_refused(stubland, stub):
    stub.keys.append(RSAKey.generate_key(2048, private=True, parameters={"kid": "k-extra"}))
    try:
        stub.behaviour = {"no_kid": True}
        _, client = login(stubland)
        assert not signed_in(client)
        assert "no kid and several keys" in last_failure(stubland)["detail"]
    finally:
        stub.keys.pop()


def test_callback_without_iss_is_refused_when_the_provider_sends_it(stubland):
    _, client = login(stubland, tamper=lambda q: {k: v for k, v in q.items() if k != "iss"})
    assert not signed_in(client)
    assert last_failure(stubland) == {
        "method": "oidc",
        "reason": "mix_up",
        "detail": "callback without iss",
    }


def test_unknown_state_and_replayed_code_are_refused(stubland):
    _, client = login(stubland, tamper=lambda q: {**q, "state": "forged"})
    assert not signed_in(client)
    assert last_failure(stubland)["reason"] == "bad_state"
    captured = {}

    def keep(query):
        captured.update(query)
        return query

    login(stubland, tamper=keep)  # an honest login, whose code we keep
    _, client = login(stubland, tamper=lambda q: {**q, "code": captured["code"]})
    assert not signed_in(client)
    assert last_failure(stubland)["reason"] == "provider_error"


def test_key_rotated_between_two_logins_is_accepted(stubland, stub):
    assert login(stubland)[0].location == "/access/"
    stub.keys = [RSAKey.generate_key(2048, private=True, parameters={"kid": "k2"})]
    assert login(stubland)[0].location == "/access/"


def test_same_subject_from_another_provider_is_another_person(stubland):
    from app.models import User

    login(stubland)
    with stubland.app_context():
        user = db.session.scalars(select(User).filter_by(tenant="stubland")).one()
    assert (user.issuer, user.subject) != ("http://esia.gosuslugi.ru/", "parent-7")
    assert user.issuer.startswith("http://127.0.0.1:")
