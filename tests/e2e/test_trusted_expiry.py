"""Trusted-person invitations expire: the region's ``invitation_days`` after they were sent,
fixed then. An expired invitation cannot be accepted or declined (a sentence, not an error
page), reads «истекло» to the parent and to the invitee, and gives no access, also when the
answer comes at the very moment of expiry or twice at once."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app import trusted
from app.extensions import db
from app.models import User
from app.tenants import versions
from app.tenants.schema import TrustedPersonsPolicy
from tests.e2e.test_trusted import invite, state_on_parents_list
from tests.trusted_family import (
    LEV,
    audit_kinds,
    expiry_of,
    grants,
    move_clock,
    person_id,
)

WEEK = timedelta(days=7)


@pytest.fixture
def clock(monkeypatch):
    return move_clock(monkeypatch)


@pytest.fixture
def mother(browser):
    b = browser("moscow")
    assert b.mosru_login("M1").url.endswith("/diary/")
    return b


@pytest.fixture
def sent(mother, live):
    """M1 has invited M5 for Лев; the invitation's id."""
    invite(mother, live)
    assert "Приглашение отправлено" in mother.post("/trusted/new/send").text
    return grants(live)[0].id


@pytest.fixture
def nina(browser):
    b = browser("moscow")
    b.mosru_login("M5")
    return b


def received_state(b) -> str:
    page = b.get("/trusted/").text
    table = page[page.index("grants-received") :]
    return re.search(r'<td class="grant-state">([^<(]+)', table)[1].strip()


def test_the_parent_is_told_how_long_the_invitation_waits(mother, live):
    review = invite(mother, live)
    assert "Принять приглашение можно в течение 7 дней" in review.text


@pytest.mark.parametrize(
    ("days", "words"),
    [(1, "1 дня"), (7, "7 дней"), (11, "11 дней"), (21, "21 дня"), (30, "30 дней")],
)
def test_the_days_are_counted_in_russian_as_russian_counts(app, days, words):
    policy = SimpleNamespace(trusted_persons=SimpleNamespace(invitation_days=days))
    with app.test_request_context("/"):
        phrase = trusted.invitation_phrase(SimpleNamespace(policy=policy))
    assert phrase.startswith(f"Принять приглашение можно в течение {words};")


def test_an_invitation_expires_after_the_regions_days_from_when_it_was_sent(sent, live):
    grant = grants(live)[0]
    assert trusted._aware(grant.expires_at) - trusted._aware(grant.created_at) == WEEK


def test_an_expired_invitation_is_refused_shows_as_expired_and_gives_no_access(
    sent, mother, nina, live, clock
):
    nina.get("/notifications/")  # the invitation, with its buttons, still open on her screen
    assert f'action="/trusted/{sent}/accept"' in nina.page.text
    assert "Действует до" in mother.get("/trusted/").text
    clock(hours=7 * 24 + 1)

    page = nina.post(f"/trusted/{sent}/accept", {"back": "notifications"})
    assert page.status_code == 200 and page.url.endswith("/notifications/")
    assert "Срок действия приглашения истёк" in page.text
    assert "принять или отклонить его уже нельзя" in page.text
    assert "Приглашение принято" not in page.text
    assert "Состояние: истекло." in page.text  # and no buttons any more
    assert f'action="/trusted/{sent}/accept"' not in page.text
    assert grants(live)[0].status == "sent"
    assert [kind for kind, _ in audit_kinds(live)] == ["trusted_invited"]

    nina.get("/trusted/")
    page = nina.post(f"/trusted/{sent}/decline")
    assert "Срок действия приглашения истёк" in page.text and grants(live)[0].status == "sent"
    assert received_state(nina) == "истекло"
    assert "Истекло" in nina.get("/trusted/").text

    assert state_on_parents_list(mother) == "истекло"
    page = mother.get("/trusted/")
    assert f'action="/trusted/{sent}/revoke"' not in page.text  # nothing left to revoke
    assert mother.post(f"/trusted/{sent}/revoke", {"confirm": "yes"}).url.endswith("/trusted/")
    assert "Отзывать уже нечего" in mother.page.text

    clock(hours=30 * 24)  # whatever the activation delay, nothing opens
    page = nina.get("/diary/")
    assert LEV not in page.text and "истекло" in page.text
    assert "Родитель может отправить новое приглашение" in page.text
    lev = nina.get("/diary/", params={"child": person_id(live, "moskvin_lev")})
    assert lev.status_code == 403 and LEV not in lev.text


def test_the_day_before_expiry_the_invitation_is_still_accepted(sent, nina, live, clock):
    clock(hours=7 * 24 - 1)
    nina.get("/trusted/")
    assert "Действует до" in nina.page.text
    assert "Приглашение принято." in nina.post(f"/trusted/{sent}/accept").text
    clock(hours=7 * 24 + 24)  # accepted in time: access opens after the delay, past expiry
    assert LEV in nina.get("/diary/").text


def test_an_answer_at_the_very_moment_of_expiry_is_too_late(sent, nina, live, clock):
    expires = expiry_of(live, sent)
    nina.get("/trusted/")
    clock(to=expires)
    page = nina.post(f"/trusted/{sent}/accept")
    assert "Срок действия приглашения истёк" in page.text
    assert grants(live)[0].status == "sent"
    clock(to=expires + timedelta(days=2))
    assert LEV not in nina.get("/diary/").text
    assert [kind for kind, _ in audit_kinds(live)] == ["trusted_invited"]


def test_two_acceptances_at_once_accept_once(sent, browser, live):
    tabs = [browser("moscow") for _ in range(2)]
    for tab in tabs:
        tab.mosru_login("M5")
        tab.get("/trusted/")
    start, pages = threading.Barrier(2), []

    def press(tab):
        start.wait()
        pages.append(tab.post(f"/trusted/{sent}/accept", allow_redirects=False))

    threads = [threading.Thread(target=press, args=(tab,)) for tab in tabs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(page.status_code for page in pages) == [302, 409]
    assert [kind for kind, _ in audit_kinds(live)] == ["trusted_invited", "trusted_accepted"]
    assert grants(live)[0].status == "accepted"


def test_a_later_change_of_the_setting_does_not_revive_an_expired_invitation(
    sent, mother, nina, live, clock
):
    app = live.portal_app
    with app.app_context():
        admin = db.session.scalar(select(User).filter_by(tenant="moscow", subject="mos-0100"))
        config = versions.source_config(app, "moscow")
        policy = config.policy
        longer = policy.trusted_persons.model_copy(update={"invitation_days": 30})
        config = config.model_copy(
            update={"policy": policy.model_copy(update={"trusted_persons": longer})}
        )
        versions.save("moscow", config, base=versions.latest_number("moscow"), author=admin,
                      comment="Приглашения действуют 30 дней")  # fmt: skip
    clock(hours=8 * 24)
    nina.get("/trusted/")
    assert "Срок действия приглашения истёк" in nina.post(f"/trusted/{sent}/accept").text
    assert state_on_parents_list(mother) == "истекло"

    # A new invitation takes the new setting.
    invite(mother, live, contact="+7 916 000-05-05")
    mother.post("/trusted/new/send")
    newer = grants(live)[-1]
    assert newer.id != sent
    assert trusted._aware(newer.expires_at) - trusted._aware(newer.created_at) == timedelta(days=30)


def test_the_setting_has_a_default_and_bounds():
    assert TrustedPersonsPolicy().invitation_days == 7
    for wrong in (0, 91, "неделя"):
        with pytest.raises(ValueError):
            TrustedPersonsPolicy(invitation_days=wrong)
    assert TrustedPersonsPolicy(invitation_days=30).invitation_days == 30


def test_the_invitee_is_told_until_when_to_answer(sent, nina, live):
    page = nina.get("/diary/")
    assert "ждёт вашего ответа в разделе «Уведомления» до" in page.text
