"""Trusted persons in a real browser: an invitation left open past its expiry is refused with a
sentence and reads «истекло» on both sides; the other parent sees the first one's grant and
revokes it (the question in place with JavaScript, a page without), and the inviting parent
and the trusted person find it in their notifications."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_scenarios import mosru_login, walk  # noqa: F401  (walk: the fixture)
from tests.browser.test_trusted import walk_wizard
from tests.trusted_family import (
    FATHER,
    FATHER_NAME,
    LEV,
    MOTHER_NAME,
    NINA_NAME,
    add_second_parent,
    move_clock,
)


@pytest.fixture
def clock(monkeypatch):
    return move_clock(monkeypatch)


def invited(walk, scenario: str):  # noqa: F811
    """M1 invites M5 for Лев through the wizard; her walk."""
    mother = walk("moscow", scenario)
    mosru_login(mother, "M1")
    walk_wizard(mother, by="phone", contact="8 916 000-05-05", surname="Бабушкина")
    mother.page.get_by_role("button", name="Отправить").click()
    expect(mother.page.locator(".flash")).to_contain_text("Приглашение отправлено")
    return mother


def notifications(w):
    w.page.get_by_role("link", name=re.compile("Уведомления")).click()
    expect(w.page.get_by_role("heading", name="Уведомления", level=1)).to_be_visible()


def test_an_invitation_open_past_its_expiry_is_refused(walk, clock):  # noqa: F811
    mother = invited(walk, "trusted-expiry")
    nina = walk("moscow", "trusted-expiry")
    mosru_login(nina, "M5")
    notifications(nina)
    accept = nina.page.get_by_role("button", name="Принять")
    expect(accept).to_be_visible()
    nina.shot("invitation")

    clock(hours=7 * 24 + 1)  # a week and an hour later, the same page still open
    accept.click()
    expect(nina.page.locator(".flash-error")).to_contain_text("Срок действия приглашения истёк")
    expect(nina.main).to_contain_text("Состояние: истекло.")
    expect(nina.page.get_by_role("button", name="Принять")).to_have_count(0)
    nina.shot("refused")
    nina.open("/trusted/")
    expect(nina.page.locator(".grants-received .grant-state")).to_have_text("истекло")
    nina.open("/diary/")
    expect(nina.main).to_contain_text("истекло")
    assert LEV not in nina.text()

    mother.page.reload()
    expect(mother.page.locator(".grants-given .grant-state")).to_have_text("истекло")
    expect(mother.page.locator(".grants-given .grant-dates")).to_contain_text("Истекло")
    expect(mother.page.get_by_role("button", name="Отозвать")).to_have_count(0)
    mother.shot("expired")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_other_parent_revokes(walk, live, monkeypatch, clock, javascript):  # noqa: F811
    add_second_parent(live, monkeypatch)
    mother = invited(walk, "trusted-both-parents")
    nina = walk("moscow", "trusted-both-parents")
    mosru_login(nina, "M5")
    notifications(nina)
    nina.page.get_by_role("button", name="Принять").click()
    expect(nina.page.locator(".flash")).to_contain_text("Приглашение принято")
    clock(hours=25)

    father = walk("moscow", "trusted-both-parents", javascript=javascript)
    mosru_login(father, FATHER)
    notifications(father)
    expect(father.main).to_contain_text(f"Родитель ({MOTHER_NAME}) пригласил доверенное лицо")
    father.page.get_by_role("link", name="Доверенные лица").first.click()
    row = father.page.locator(".grants-given tbody tr").first
    expect(row.locator(".grant-by")).to_have_text(MOTHER_NAME)
    expect(row.locator(".grant-state")).to_have_text("активно")
    expect(row).to_contain_text(NINA_NAME)
    father.shot("sees-mothers-grant")
    if javascript:
        father.page.evaluate("window.samePage = true")
    row.get_by_role("button", name="Отозвать").click()
    who_invited = f"Приглашение отправлял другой родитель ({MOTHER_NAME})"
    expect(father.page.get_by_text(who_invited)).to_be_visible()
    assert father.page.evaluate("window.samePage === true") is javascript
    father.shot("asks")
    father.page.get_by_role("button", name="Да, отозвать доступ").click()
    expect(father.page.locator(".flash")).to_contain_text("Доступ отозван.")
    expect(father.page.locator(".grants-given .grant-state")).to_have_text("отозвано")
    expect(father.page.locator(".grants-given .grant-dates")).to_contain_text("(вами)")
    father.shot("revoked")

    mother.page.reload()
    expect(mother.page.locator(".grants-given .grant-state")).to_have_text("отозвано")
    expect(mother.page.locator(".grants-given .grant-dates")).to_contain_text(FATHER_NAME)
    badge = mother.page.get_by_role("link", name=re.compile("Уведомления")).locator(".badge")
    expect(badge).to_be_visible()
    notifications(mother)
    expect(mother.main).to_contain_text(
        f"Родитель ({FATHER_NAME}) отозвал доступ доверенного лица ({NINA_NAME}), которое вы "
        f"пригласили, к электронному дневнику: {LEV}."
    )
    mother.shot("told")

    nina.page.reload()
    expect(nina.main).to_contain_text(f"Родитель ({FATHER_NAME}) отозвал ваш доступ")
    nina.open("/diary/")
    expect(nina.main).to_contain_text(f"Доступ к дневнику отозван родителем ({FATHER_NAME}")
    assert LEV not in nina.text()
