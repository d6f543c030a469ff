"""Code injection on ESIA (issue: identity protocol hardening, item 5): an authorization code
obtained elsewhere, sent with the attacker's own pending state, signs nobody in. PKCE (S256)
binds each code to the login that asked for it; the emulator refuses a wrong verifier with
ESIA's error code, as ESIA does."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def _victims_code(browser) -> str:
    """P1's login, stopped where ESIA sends the code back (a leaked referrer, a log, a
    malicious app on the phone would see it there)."""
    victim = browser("mosreg")
    victim.esia_login("P1")  # grants the rights once
    victim.post("/logout")
    to_esia = victim.http.get(victim.base + "/login/esia", allow_redirects=False)
    authorize = _query(to_esia.headers["Location"])
    assert authorize["code_challenge_method"] == "S256" and authorize["code_challenge"]
    picker = victim.http.get(to_esia.headers["Location"], timeout=10)
    back = victim.http.post(picker.url, data={"persona": "P1"}, allow_redirects=False, timeout=10)
    return _query(back.headers["Location"])["code"]


def test_a_code_obtained_elsewhere_signs_nobody_in(live, browser):
    code = _victims_code(browser)
    attacker = browser("mosreg")
    to_esia = attacker.http.get(attacker.base + "/login/esia", allow_redirects=False)
    own_state = _query(to_esia.headers["Location"])["state"]
    landed = attacker.get(f"/login/esia/callback?code={code}&state={own_state}")
    assert attacker.get("/diary/", allow_redirects=False).status_code == 302
    assert "Образцова" not in landed.text
    with live.portal_app.app_context():
        failure = db.session.scalars(
            select(AuditEvent).filter_by(tenant="mosreg", kind="login_failed")
            .order_by(AuditEvent.id.desc())
        ).first()  # fmt: skip
    assert failure.detail["reason"] == "provider_error"
    assert "ESIA-007011" in failure.detail["detail"]


def test_the_honest_login_still_signs_in_with_pkce(live, browser):
    b = browser("mosreg")
    b.esia_login("P1")
    assert b.get("/diary/", allow_redirects=False).status_code == 200
