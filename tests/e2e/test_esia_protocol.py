"""The ESIA protocol's bad days: every wrong request refused, by the emulator and by us."""

from __future__ import annotations

import base64
import json
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import yaml
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from joserfc.jws import JWSRegistry
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.identity import LoginFailed, pending
from app.identity.esia import protocol
from app.identity.esia.gost import OpenSSLSigner, certificate_hash, make_test_certificate
from app.identity.esia.provider import EsiaProvider
from app.models import AuditEvent
from app.settings import PROJECT_ROOT
from tests.conftest import test_environ

CLIENT_ID = "MSHMO001"


# --- the emulator refuses what ESIA refuses --------------------------------------------------


def signed_params(live, esia_env, *, key=None, cert_hash=None, when=None, redirect=None, **extra):
    redirect = redirect or f"{live.portal('mosreg')}/login/esia/callback"
    params = {
        "client_id": CLIENT_ID,
        "scope": "openid fullname",
        "scope_org": "",
        "timestamp": protocol.format_timestamp(when or datetime.now(UTC)),
        "state": str(uuid.uuid4()),
        "redirect_uri": redirect,
        "response_type": "code",
        "client_certificate_hash": cert_hash
        or certificate_hash(Path(esia_env["MOSREG_ESIA_CERT_FILE"]).read_bytes()),
        **extra,
    }
    signer = OpenSSLSigner((key or Path(esia_env["MOSREG_ESIA_KEY_FILE"])).read_bytes())
    params["client_secret"] = protocol.b64url(signer.sign(protocol.authorize_message(params)))
    return params


def authorize(live, params):
    response = requests.get(
        f"{live.emulator_url}/aas/oauth2/v2/ac", params=params, allow_redirects=False, timeout=5
    )
    query = parse_qs(urlsplit(response.headers.get("Location", "")).query)
    return response, {k: v[0] for k, v in query.items()}


def test_a_well_signed_request_reaches_the_persona_picker(live, esia_env):
    response, _ = authorize(live, signed_params(live, esia_env))
    assert response.status_code == 302
    assert "/login/" in response.headers["Location"]


def test_signature_by_another_key_is_007053(live, esia_env, tmp_path):
    other_key, _ = make_test_certificate(tmp_path, "Чужая система")
    _, answer = authorize(live, signed_params(live, esia_env, key=other_key))
    assert answer["error_description"].startswith("ESIA-007053")


def test_wrong_certificate_hash_is_007002(live, esia_env):
    _, answer = authorize(live, signed_params(live, esia_env, cert_hash="A" * 64))
    assert answer["error_description"].startswith("ESIA-007002")


def test_sha1_thumbprint_is_007053(live, esia_env):
    _, answer = authorize(live, signed_params(live, esia_env, cert_hash="B" * 40))
    assert answer["error_description"].startswith("ESIA-007053")


@pytest.mark.parametrize("skew", [timedelta(minutes=-10), timedelta(minutes=10)])
def test_skewed_timestamp_is_007015(live, esia_env, skew):
    params = signed_params(live, esia_env, when=datetime.now(UTC) + skew)
    _, answer = authorize(live, params)
    assert answer["error_description"].startswith("ESIA-007015")
    assert answer["state"] == params["state"]


def test_unregistered_redirect_uri_is_007023_and_not_followed(live, esia_env):
    params = signed_params(live, esia_env, redirect="https://evil.example/callback")
    response, _ = authorize(live, params)
    assert response.status_code == 400
    assert "ESIA-007023" in response.text
    assert "Location" not in response.headers


def test_missing_parameter_is_007014(live, esia_env):
    params = signed_params(live, esia_env)
    del params["timestamp"]
    response, _ = authorize(live, params)
    assert response.status_code == 400
    assert "ESIA-007014" in response.text


def _code_for(browser_http, live, persona="P1"):
    """Walk a login up to the callback and return its code and state, without delivering it."""
    start = browser_http.get(f"{live.portal('mosreg')}/login/esia", allow_redirects=True, timeout=5)
    page = browser_http.post(start.url, data={"persona": persona}, allow_redirects=False, timeout=5)
    location = page.headers["Location"]
    if "/rights/" in location:
        rights_url = live.emulator_url + location if location.startswith("/") else location
        page = browser_http.post(
            rights_url, data={"decision": "grant"}, allow_redirects=False, timeout=5
        )
        location = page.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    return location, query["code"][0], query["state"][0]


def test_replayed_code_is_refused_and_makes_no_session(live):
    person = requests.Session()
    callback, code, _ = _code_for(person, live)
    assert person.get(callback, timeout=5).url.endswith("/diary/")

    attacker = requests.Session()
    _, _, fresh_state = _code_for(attacker, live, persona="P4")
    replay = f"{live.portal('mosreg')}/login/esia/callback?" + urlencode(
        {"code": code, "state": fresh_state}
    )
    page = attacker.get(replay, timeout=5)
    assert page.url.endswith("/login")
    assert "сервис входа вернул ошибку" in page.text
    assert "/login?next=" in attacker.get(f"{live.portal('mosreg')}/diary/", timeout=5).url
    with live.portal_app.app_context():
        failure = db.session.scalars(select(AuditEvent).filter_by(kind="login_failed")).one()
    assert failure.detail["reason"] == "provider_error"
    assert "ESIA-007011" in failure.detail["detail"]


@pytest.mark.parametrize("state", ["unknown", "reused"])
def test_unknown_or_reused_state_is_refused(live, state):
    person = requests.Session()
    callback, _, _ = _code_for(person, live)
    if state == "reused":
        assert person.get(callback, timeout=5).url.endswith("/diary/")
        # Refused, and the person signed in by the first use stays signed in: a failed
        # callback ends only the pending login.
        assert person.get(callback, timeout=5).url.endswith("/diary/")
        assert person.get(f"{live.portal('mosreg')}/diary/", timeout=5).url.endswith("/diary/")
    else:
        callback = callback.replace("state=", "state=x")
        page = person.get(callback, timeout=5)
        assert page.url.endswith("/login")
        assert "Страница входа устарела" in page.text
        assert "/login?next=" in person.get(f"{live.portal('mosreg')}/diary/", timeout=5).url
    with live.portal_app.app_context():
        kinds = [
            e.detail.get("reason")
            for e in db.session.scalars(select(AuditEvent).filter_by(kind="login_failed"))
        ]
    assert kinds == ["bad_state"]


def test_session_is_rotated_at_login(live):
    person = requests.Session()
    person.get(f"{live.portal('mosreg')}/login/password", timeout=5)  # a session before login
    before = person.cookies.get("session")
    callback, _, _ = _code_for(person, live)
    person.get(callback, timeout=5)
    after = person.cookies.get("session")
    assert before and after and before != after
    replayed = requests.Session()
    replayed.cookies.set("session", before, domain="mosreg.localhost")
    assert "/login?next=" in replayed.get(f"{live.portal('mosreg')}/diary/", timeout=5).url


def test_logout_ends_the_portal_and_the_esia_session(browser, live):
    b = browser("mosreg")
    assert b.esia_login("P1").url.endswith("/diary/")
    page = b.post("/logout")
    assert page.url.endswith("/login")
    assert "/login?next=" in b.get("/diary/").url
    # ESIA forgot the person too: the next login asks who it is again.
    again = b.get("/login/esia")
    assert 'name="persona"' in again.text


# --- tokens: our own checks ----------------------------------------------------------------

JWS = JWSRegistry(strict_check_header=False, algorithms=["RS256", "HS256"])


@pytest.fixture
def provider(live):
    with live.portal_app.test_request_context(base_url=live.portal("mosreg")):
        tenant = live.portal_app.extensions["tenants"].get("mosreg")
        yield EsiaProvider(tenant)


def token(key, sbt="id", **overrides):
    now = int(time.time())
    claims = {
        "iss": "http://esia.gosuslugi.ru/", "aud": CLIENT_ID, "sub": 1000001, "iat": now,
        "nbf": now, "exp": now + 3600, "client_id": CLIENT_ID, "urn:esia:sbj_id": 1000001,
        "scope": "openid?oid=1000001", "urn:esia:sbj": {"urn:esia:sbj:oid": 1000001},
    }  # fmt: skip
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    alg = "HS256" if isinstance(key, bytes) else "RS256"
    header = {"alg": alg, "typ": "JWT", "sbt": sbt, "ver": 1}
    signing_key = OctKey.import_key(key) if isinstance(key, bytes) else key
    return jwt.encode(header, claims, signing_key, registry=JWS)


@pytest.fixture
def emulator_key(esia_env):
    return RSAKey.import_key(Path(esia_env["EMULATOR_SIGNING_KEY_FILE"]).read_bytes())


def test_honest_tokens_pass(provider, emulator_key):
    subject, scopes, *_ = provider._verify(
        {"id_token": token(emulator_key), "access_token": token(emulator_key, "access")}
    )
    assert (subject, scopes) == ("1000001", {"openid"})


@pytest.mark.parametrize(
    ("which", "overrides", "message"),
    [
        ("id", {"iss": "https://evil.example/"}, "another issuer"),
        ("id", {"aud": "SOMEONE_ELSE"}, "another system"),
        ("access", {"client_id": "SOMEONE_ELSE"}, "another system"),
        ("id", {"exp": int(time.time()) - 3600}, "expired"),
        ("id", {"nbf": int(time.time()) + 3600}, "not yet valid"),
        ("id", {"iat": None}, "iat"),
        ("access", {"urn:esia:sbj_id": 999}, "different subjects"),
    ],
)
def test_bad_claims_are_refused(provider, emulator_key, which, overrides, message):
    tokens = {"id_token": token(emulator_key), "access_token": token(emulator_key, "access")}
    tokens[f"{which}_token"] = token(emulator_key, which, **overrides)
    with pytest.raises(LoginFailed, match=message) as caught:
        provider._verify(tokens)
    assert caught.value.reason == "invalid_token"


def test_token_signed_by_another_key_is_refused(provider, emulator_key):
    stranger = RSAKey.generate_key(2048, private=True)
    with pytest.raises(LoginFailed, match="id token"):
        provider._verify(
            {"id_token": token(stranger), "access_token": token(emulator_key, "access")}
        )


def test_hs256_token_is_refused_when_rs256_is_pinned(provider, emulator_key):
    forged = token(b"k" * 32)
    with pytest.raises(LoginFailed):
        provider._verify({"id_token": forged, "access_token": token(emulator_key, "access")})


def test_unsigned_token_is_refused(provider, emulator_key):
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    unsigned = (
        part({"alg": "none", "sbt": "id"})
        + "."
        + part(
            {
                "iss": "http://esia.gosuslugi.ru/",
                "aud": CLIENT_ID,
                "sub": 1,
                "iat": now,
                "exp": now + 60,
            }
        )
        + "."
    )
    with pytest.raises(LoginFailed):
        provider._verify({"id_token": unsigned, "access_token": token(emulator_key, "access")})


# --- provider down or slow -------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _callback_with_pending_state(app):
    client = app.test_client()
    state = str(uuid.uuid4())
    with app.test_request_context(base_url="http://mosreg.localhost/"):
        name = pending.cookie_name("esia")
        kept = pending.sealed("esia", {"state": state, "tenant": "mosreg"}, 60)
    client.set_cookie(name, kept, domain="mosreg.localhost")
    started = time.monotonic()
    response = client.get(
        f"/login/esia/callback?code=abc&state={state}", base_url="http://mosreg.localhost/"
    )
    return response, time.monotonic() - started, client


def test_provider_down_gives_a_branded_503_fast(database_uri, esia_env):
    app = create_app(
        test_environ(database_uri, IDP_EMULATOR_URL=f"http://127.0.0.1:{_closed_port()}")
    )
    response, elapsed, client = _callback_with_pending_state(app)
    assert response.status_code == 503
    assert elapsed < 1.0
    body = response.get_data(as_text=True)
    assert "Сервис входа сейчас не отвечает" in body
    assert "Моя школа — Московская область" in body
    with client.session_transaction(base_url="http://mosreg.localhost/") as session:
        assert "_user_id" not in session
    assert client.get_cookie("login-esia", domain="mosreg.localhost") is None  # spent


def test_provider_slow_gives_503_within_its_timeout(database_uri, esia_env, tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections, never answers
    raw = yaml.safe_load((PROJECT_ROOT / "config" / "regions.yaml").read_text(encoding="utf-8"))
    raw["regions"]["mosreg"]["identity_provider"]["timeout_seconds"] = 1
    regions = tmp_path / "regions.yaml"
    regions.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    app = create_app(test_environ(
        database_uri, REGIONS_FILE=str(regions),
        IDP_EMULATOR_URL=f"http://127.0.0.1:{listener.getsockname()[1]}",
    ))  # fmt: skip
    try:
        response, elapsed, _ = _callback_with_pending_state(app)
    finally:
        listener.close()
    assert response.status_code == 503
    assert 0.9 < elapsed < 3.0
