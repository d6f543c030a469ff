"""One deadline per login across every call to the provider (issue: identity protocol
hardening, item 1): answers held back, bodies trickled a byte at a time, and several calls
each just under their own timeout all end at the region's branded 503 within the deadline,
with an audit row and no session. The emulator misbehaves on request."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent

DEADLINE = 2.0
UNAVAILABLE = "Сервис входа сейчас не отвечает"


@pytest.fixture
def misbehaving(live):
    """The emulator's misbehaviour switch and a portal whose logins get DEADLINE seconds."""
    misbehaviour = live.emulator_app.extensions["misbehaviour"]
    config = live.portal_app.config
    saved = config["LOGIN_DEADLINE_SECONDS"]
    config["LOGIN_DEADLINE_SECONDS"] = DEADLINE
    yield misbehaviour
    misbehaviour.reset()
    config["LOGIN_DEADLINE_SECONDS"] = saved


def _last_failure(live, slug: str) -> dict:
    with live.portal_app.app_context():
        event = db.session.scalars(
            select(AuditEvent).filter_by(tenant=slug, kind="login_failed")
            .order_by(AuditEvent.id.desc())
        ).first()  # fmt: skip
    return event.detail if event else {}


def _login_timed(browser, misbehaviour, **switches):
    """P1 logs in to the picker untroubled, then the emulator misbehaves on its answers."""
    b = browser("mosreg")
    b.esia_login("P1")  # a first login grants the rights, so the next one goes straight back
    b.post("/logout")
    for name, value in switches.items():
        setattr(misbehaviour, name, value)
    started = time.monotonic()
    page = b.esia_login("P1")
    return b, page, time.monotonic() - started


@pytest.mark.parametrize(
    "switches",
    [
        pytest.param({"paths": ("/aas/oauth2/v3/te",), "delay": 30.0}, id="headers-held-back"),
        pytest.param({"paths": ("/aas/oauth2/v3/te",), "trickle": 0.05}, id="body-trickled"),
        # Each REST call answers in 0.8 s, within the region's 5 s timeout; three of them
        # after the token exchange are over the deadline.
        pytest.param({"paths": ("/aas/oauth2/v3/te", "/rs/"), "delay": 0.8}, id="several-calls"),
    ],
)
def test_a_slow_provider_ends_in_the_branded_503_within_the_deadline(
    live, browser, misbehaving, switches
):
    b, page, elapsed = _login_timed(browser, misbehaving, **switches)
    assert page.status_code == 503
    assert UNAVAILABLE in page.text and "Моя школа — Московская область" in page.text
    assert elapsed < DEADLINE + 1.0
    assert b.get("/diary/", allow_redirects=False).status_code == 302  # no session
    failure = _last_failure(live, "mosreg")
    assert failure["reason"] == "provider_unavailable"


def test_a_provider_just_slower_than_usual_still_signs_in(live, browser, misbehaving):
    b, page, _ = _login_timed(browser, misbehaving, paths=("/rs/",), delay=0.2)
    assert page.status_code == 200 and UNAVAILABLE not in page.text
    assert b.get("/diary/", allow_redirects=False).status_code == 200


def test_an_answer_over_a_megabyte_is_not_read_on(live, browser, misbehaving):
    """A provider's answer is a few kilobytes; one swollen past the limit (whitespace, so it
    would still parse) ends the login at the branded 503, without reading it all."""
    from app.identity.deadline import MAX_ANSWER

    b, page, _ = _login_timed(browser, misbehaving, paths=("/rs/",), swell=MAX_ANSWER)
    assert page.status_code == 503 and UNAVAILABLE in page.text
    assert b.get("/diary/", allow_redirects=False).status_code == 302  # no session
    failure = _last_failure(live, "mosreg")
    assert failure["reason"] == "provider_unavailable"


def test_a_redirected_answer_is_not_followed(live, browser, misbehaving):
    """An API's answer is the answer: the portal does not follow a redirect with the person's
    token (followed, the emulator would answer and the login would go through)."""
    b, page, _ = _login_timed(browser, misbehaving, paths=("/rs/prns/",), redirect=True)
    assert page.url.endswith("/login") and "сервис входа вернул ошибку" in page.text
    assert b.get("/diary/", allow_redirects=False).status_code == 302  # no session
    failure = _last_failure(live, "mosreg")
    assert failure["reason"] == "provider_error" and "307" in failure["detail"]


@pytest.mark.parametrize("path", ["/sps/oauth/te", "/sps/oauth/me"])
def test_mos_ru_redirecting_its_token_or_profile_is_not_followed(live, browser, misbehaving, path):
    """Followed, a 307 from the token endpoint would carry the code, its verifier and the
    client's secret wherever it pointed (here the emulator again, which would answer)."""
    misbehaving.paths, misbehaving.redirect = (path,), True
    b = browser("moscow")
    b.mosru_login("M1")
    assert b.get("/diary/", allow_redirects=False).status_code == 302  # no session
    assert _last_failure(live, "moscow")["reason"] == "provider_error"


# --- the emulator's other misbehaviours: tokens from the future, keys rotated ---------------


@pytest.fixture
def fresh_provider_state(live):
    """The portal forgets the providers' metadata and keys before and after: key tests do
    not depend on what earlier tests fetched."""
    live.portal_app.extensions.pop("identity_providers", None)
    yield
    live.portal_app.extensions.pop("identity_providers", None)


@pytest.mark.parametrize(("slug", "login"), [("mosreg", "esia_login"), ("moscow", "mosru_login")])
def test_tokens_issued_in_the_future_are_refused(live, browser, misbehaving, slug, login):
    misbehaving.iat_ahead = 600
    b = browser(slug)
    getattr(b, login)("P1" if slug == "mosreg" else "M1")
    assert b.get("/diary/", allow_redirects=False).status_code == 302
    failure = _last_failure(live, slug)
    assert failure["reason"] == "invalid_token"
    assert "iat" in failure["detail"] or "future" in failure["detail"]


def test_mos_ru_rotating_its_key_is_followed(live, browser, misbehaving, fresh_provider_state):
    from joserfc.jwk import RSAKey

    b = browser("moscow")
    b.mosru_login("M1")
    assert b.get("/diary/", allow_redirects=False).status_code == 200
    rotated = RSAKey.generate_key(2048, private=True, parameters={"kid": "mosru-rotated"})
    misbehaving.signing_key, misbehaving.published_keys = rotated, [rotated]
    b = browser("moscow")
    b.mosru_login("M1")
    assert b.get("/diary/", allow_redirects=False).status_code == 200
