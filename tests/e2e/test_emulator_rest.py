"""The emulator's REST API answers only for the token's person and its granted scopes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import RSAKey
from joserfc.jws import JWSRegistry

JWS = JWSRegistry(strict_check_header=False, algorithms=["RS256"])


@pytest.fixture
def access_token(esia_env):
    key = RSAKey.import_key(Path(esia_env["EMULATOR_SIGNING_KEY_FILE"]).read_bytes())

    def make(oid: int, scopes: str) -> str:
        now = int(time.time())
        claims = {"iss": "http://esia.gosuslugi.ru/", "iat": now, "nbf": now, "exp": now + 60,
                  "urn:esia:sbj_id": oid,
                  "scope": " ".join(f"{s}?oid={oid}" for s in scopes.split())}  # fmt: skip
        header = {"alg": "RS256", "typ": "JWT", "sbt": "access", "ver": 1}
        return jwt.encode(header, claims, key, registry=JWS)

    return make


def get(live, path, token=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(
        f"{live.emulator_url}/rs/prns/{path}", headers=headers, params=params, timeout=5
    )


def test_person_fields_follow_the_scopes(live, access_token):
    full = get(live, "1000001", access_token(1000001, "openid fullname snils birthdate")).json()
    assert (full["lastName"], full["snils"], full["birthDate"][-4:].isdigit()) == (
        "Образцова",
        "547-712-782 18",
        True,
    )
    bare = get(live, "1000001", access_token(1000001, "openid")).json()
    assert "snils" not in bare and "lastName" not in bare


def test_collections_embed_or_link(live, access_token):
    token = access_token(1000004, "openid kid_fullname kid_birthdate kid_birth_cert_doc")
    linked = get(live, "1000004/kids", token).json()
    assert linked["size"] == 2 and linked["elements"][0].startswith("http")
    embedded = get(live, "1000004/kids", token, embed="(elements)").json()
    statuses = [kid["documents"]["elements"][0]["vrfStu"] for kid in embedded["elements"]]
    assert statuses == ["VERIFIED", "NOT_VERIFIED"]


def test_no_token_another_person_or_missing_scope(live, access_token):
    assert get(live, "1000001").status_code == 401
    assert get(live, "1000002", access_token(1000001, "openid fullname")).status_code == 403
    assert get(live, "1000001/kids", access_token(1000001, "openid fullname")).status_code == 403


def test_person_without_email_has_no_eml_contact(live, access_token):
    contacts = get(live, "1000002/ctts", access_token(1000002, "openid email mobile"),
                   embed="(elements)").json()  # fmt: skip
    assert [c["type"] for c in contacts["elements"]] == ["MBT"]


def test_own_documents(live, access_token):
    adult = get(live, "1000001/docs", access_token(1000001, "openid id_doc"), embed="(elements)")
    assert [d["type"] for d in adult.json()["elements"]] == ["RF_PASSPORT"]
    child = get(live, "1000005/docs", access_token(1000005, "openid birth_cert_doc"),
                embed="(elements)")  # fmt: skip
    assert [d["type"] for d in child.json()["elements"]] == ["RF_BRTH_CERT"]
    assert get(live, "1000001/docs", access_token(1000001, "openid")).status_code == 403
