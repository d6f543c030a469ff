"""A person whose sessions were ended by someone or something else is told why on their next
visit, not met by a bare sign-in page (a withdrawn consent, a disabled account…)."""

from __future__ import annotations

import re

from sqlalchemy import select

from app import consent
from app.extensions import db
from app.models import Consent, Person, User
from app.sessions import ENDED, ENDED_NOTICES, current_store, end_sessions
from app.settings import PROJECT_ROOT


def _user(live, tenant: str, person_key: str) -> User:
    person = db.session.scalar(select(Person.id).filter_by(tenant=tenant, key=person_key))
    return db.session.scalar(select(User).filter_by(tenant=tenant, person_id=person))


def test_every_reason_that_ends_sessions_has_words_for_the_person():
    code = "\n".join(path.read_text() for path in (PROJECT_ROOT / "app").rglob("*.py"))
    reasons = set(re.findall(r"end_sessions(?:_of)?\([^)]*reason=\"(\w+)\"", code, re.S))
    assert {"consent_revoked", "account_disabled", "password_changed"} <= reasons
    assert reasons <= set(ENDED_NOTICES), reasons - set(ENDED_NOTICES)


def test_a_child_whose_consent_was_withdrawn_is_told_why(browser, live):
    child = browser("tatarstan")
    assert child.esia_login("P5").url.endswith("/diary/")
    browser("tatarstan").esia_login("P4")  # her mother, who gave the consent
    app = live.portal_app
    with app.app_context():
        parent = _user(live, "tatarstan", "demova_elena")
        given = db.session.scalar(
            select(Consent).filter_by(kind="parental", user_id=parent.id, revoked_at=None)
        )
        for person in consent.revoke(parent, given.id):  # what the account page does
            end_sessions(person, reason="consent_revoked")

    page = child.get("/diary/")
    assert "/login?next=" in page.url
    assert ENDED_NOTICES["consent_revoked"] in page.text
    assert child.get("/login").text.count(ENDED_NOTICES["consent_revoked"]) == 1


def test_the_marker_holds_only_the_reason_and_is_no_active_session(browser, live):
    person = browser("mosreg")
    person.esia_login("P1")
    app = live.portal_app
    with app.app_context():
        user = _user(live, "mosreg", "obraztsova_anna")
        store = current_store(app)
        (key,) = store.of_user("mosreg", user.id)
        assert end_sessions(user, reason="account_disabled") == 1
        assert store.of_user("mosreg", user.id) == {}  # not listed, not counted
        marker = store.load(key)
        assert marker.data == {ENDED: "account_disabled"} and marker.user_id is None
    page = person.get("/diary/")
    assert "/login?next=" in page.url and "обратитесь в школу" in page.text


def test_signing_out_oneself_is_not_called_an_ended_session(browser):
    person = browser("kaluga")
    person.esia_login("P1")
    person.get("/diary/")
    assert person.post("/logout").url.endswith("/login")
    page = person.get("/login")
    assert not any(notice in page.text for notice in ENDED_NOTICES.values())
