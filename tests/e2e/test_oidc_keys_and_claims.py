"""The relying party's time claims and keys (issue: identity protocol hardening): tokens
issued in the future are refused, fractional NumericDates accepted, a present ``azp`` must be
us; the provider's keys are cached for a bounded time, refetched once when a kid is unknown or
a signature fails, and not more often than that however many forged tokens arrive."""

from __future__ import annotations

import time

from joserfc.jwk import RSAKey

from app.identity.oidc import keys_lifetime
from tests.e2e import test_oidc_relying_party as relying_party
from tests.e2e.test_oidc_relying_party import CLIENT_ID, last_failure, login, signed_in

# The stub provider and its region, as the relying-party tests have them.
stub = relying_party.stub
stubland = relying_party.stubland


def _new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, private=True, parameters={"kid": kid})


def test_a_token_issued_in_the_future_is_refused(stubland, stub):
    stub.behaviour = {"iat_ahead": 600}
    _, client = login(stubland)
    assert not signed_in(client)
    assert last_failure(stubland)["detail"] == "id_token: issued in the future"


def test_a_token_issued_within_the_leeway_is_accepted(stubland, stub):
    stub.behaviour = {"iat_ahead": 30}
    assert login(stubland)[0].location == "/access/"


def test_fractional_times_are_accepted(stubland, stub):
    stub.behaviour = {"fractional_times": True}
    assert login(stubland)[0].location == "/access/"


def test_times_as_strings_are_refused(stubland, stub):
    stub.behaviour = {"claims": {"iat": str(int(time.time()))}}
    login(stubland)
    assert last_failure(stubland)["detail"] == "id_token: no iat"


def test_an_azp_naming_another_client_is_refused_even_with_one_audience(stubland, stub):
    stub.behaviour = {"claims": {"aud": CLIENT_ID, "azp": "another-client"}}
    _, client = login(stubland)
    assert not signed_in(client)
    assert last_failure(stubland)["detail"] == "id_token: azp is not us"


def test_an_azp_naming_us_is_accepted(stubland, stub):
    stub.behaviour = {"claims": {"aud": CLIENT_ID, "azp": CLIENT_ID}}
    assert login(stubland)[0].location == "/access/"


def test_a_key_rotated_under_the_same_kid_is_picked_up(stubland, stub):
    assert login(stubland)[0].location == "/access/"
    old = stub.keys
    stub.keys = [_new_key("k1")]  # the same kid, another key
    try:
        assert login(stubland)[0].location == "/access/"
    finally:
        stub.keys = old


def test_a_withdrawn_key_stops_validating_within_the_keys_lifetime(stubland, stub):
    withdrawn = stub.keys[-1]
    stub.behaviour = {"jwks_cache_control": "public, max-age=1"}
    assert login(stubland)[0].location == "/access/"
    old = stub.keys
    stub.keys = [_new_key("k2")]  # the provider withdraws k1; a thief still signs with it
    try:
        stub.behaviour = {"jwks_cache_control": "public, max-age=1", "signing_key": withdrawn}
        assert login(stubland)[0].location == "/access/"  # still within the keys' lifetime
        time.sleep(1.2)
        _, client = login(stubland)
        assert not signed_in(client)
        assert last_failure(stubland)["reason"] == "invalid_token"
    finally:
        stub.keys = old


def test_keys_are_reused_within_their_lifetime(stubland, stub):
    stub.behaviour = {"jwks_cache_control": "max-age=86400"}
    login(stubland)
    fetched = stub.jwks_fetches
    login(stubland)
    assert stub.jwks_fetches == fetched


def test_the_keys_lifetime_honours_cache_control_up_to_the_ceiling():
    assert keys_lifetime("public, max-age=120", 600) == 120
    assert keys_lifetime("max-age=86400", 600) == 600
    assert keys_lifetime("s-maxage=5", 600) == 600  # not max-age: the ceiling
    assert keys_lifetime(None, 600) == 600
    assert keys_lifetime("no-store", 600) == 0
    assert keys_lifetime("no-cache, max-age=300", 600) == 0


def test_forged_tokens_cannot_make_us_hammer_the_provider(stubland, stub):
    assert login(stubland)[0].location == "/access/"
    before = stub.jwks_fetches
    stub.behaviour = {"signing_key": _new_key("forged-kid")}
    for _ in range(5):
        _, client = login(stubland)
        assert not signed_in(client)
    assert stub.jwks_fetches - before == 1  # one out-of-turn fetch, then the limit holds
    stub.behaviour = {"signing_key": _new_key("k1")}  # a forged key under a known kid
    login(stubland)
    assert stub.jwks_fetches - before == 1
