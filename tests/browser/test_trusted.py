"""T1–T4 in a real browser: the invitation wizard with JavaScript on (htmx steps) and off
(whole pages), the invitee's answer in the notification centre, and the read-only diary."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app import trusted
from tests.browser.test_scenarios import mosru_login, walk  # noqa: F401  (walk: the fixture)

LEV, ALISA = "Москвин Лев Артёмович", "Москвина Алиса Артёмовна"


@pytest.fixture
def later(monkeypatch):
    real = trusted.now
    return lambda hours: monkeypatch.setattr(
        trusted, "now", lambda: real() + timedelta(hours=hours)
    )


def walk_wizard(w, *, by: str, contact: str, surname: str, children=(LEV,)) -> None:
    w.page.get_by_role("link", name="Доверенные лица").click()
    w.page.get_by_role("link", name="Добавить доверенное лицо").click()
    expect(w.page.get_by_role("heading", name="Шаг 1. Выбрать услугу")).to_be_visible()
    w.shot("step-1")
    if w.javascript:
        w.page.evaluate("window.wizardPage = true")
    w.page.get_by_role("button", name="Далее").click()
    expect(w.page.get_by_role("heading", name="Шаг 2. Выбрать ребенка")).to_be_visible()
    for name in children:
        w.page.get_by_label(name).check()
    w.shot("step-2")
    w.page.get_by_role("button", name="Далее").click()
    expect(w.page.get_by_role("heading", name="Шаг 3. Пригласить доверенное лицо")).to_be_visible()
    w.page.get_by_label("СНИЛС", exact=True).check() if by == "snils" else None
    w.page.fill("#contact", contact)
    w.page.fill("#surname", surname)
    w.shot("step-3")
    w.page.get_by_role("button", name="Далее").click()


def answer_invitation(walk, button: str) -> object:  # noqa: F811
    nina = walk("moscow", "T1")
    mosru_login(nina, "M5")
    nina.page.get_by_role("link", name=re.compile("Уведомления")).click()
    nina.shot("invitation")
    nina.page.get_by_role("button", name=button).click()
    expect(nina.page.locator(".flash")).to_contain_text("Приглашение")
    nina.shot("answered")
    return nina


@pytest.mark.scenario("T1", region="moscow")
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_t1_wizard_invitation_and_read_only_access(walk, later, javascript):  # noqa: F811
    w = walk("moscow", "T1", javascript=javascript)
    mosru_login(w, "M1")
    walk_wizard(w, by="phone", contact="8 916 000-05-05", surname="Бабушкина")
    expect(w.page.get_by_role("heading", name="Шаг 4. Проверка данных")).to_be_visible()
    w.shot("step-4")
    # With JavaScript, steps 2–4 were swapped into the page of step 1, never reloaded.
    if javascript:
        assert w.page.evaluate("window.wizardPage") is True
    review = w.page.locator(".review").inner_text()
    assert "Электронный дневник" in review and "Бабушкина Нина Степановна" in review
    assert LEV in review and ALISA not in review
    assert w.page.url.endswith("/trusted/new/review")

    w.page.get_by_role("link", name="← Назад").click()  # what was typed is still there
    expect(w.page.locator("#contact")).to_have_value("8 916 000-05-05")
    expect(w.page.locator("#surname")).to_have_value("Бабушкина")
    w.page.get_by_role("button", name="Далее").click()
    w.page.get_by_role("button", name="Отправить").click()
    w.shot("sent")
    expect(w.page.locator(".grants-given .grant-state")).to_have_text("отправлено")

    nina = answer_invitation(walk, "Принять")
    later(24)
    nina.page.get_by_role("link", name="Дневник").click()
    expect(nina.main).to_contain_text("Только просмотр")
    nina.shot("trusted-diary")
    assert LEV in nina.text() and ALISA not in nina.text()

    w.page.reload()
    w.page.evaluate("window.samePage = true")
    w.page.get_by_role("button", name="Отозвать").click()
    question = w.page.get_by_text("Отозвать доступ доверенного лица (Бабушкина Нина Степановна)")
    expect(question).to_be_visible()
    w.shot("revoke-asks")
    # With JavaScript the server's question is swapped in place; without, it is a page.
    assert w.page.evaluate("window.samePage === true") is javascript
    w.page.get_by_role("button", name="Да, отозвать доступ").click()
    w.shot("revoked")
    expect(w.page.locator(".grants-given .grant-state")).to_have_text("отозвано")
    nina.page.reload()
    assert LEV not in nina.text()


@pytest.mark.scenario("T2", region="moscow")
def test_t2_by_snils(walk, later):  # noqa: F811
    w = walk("moscow", "T2")
    mosru_login(w, "M1")
    walk_wizard(w, by="snils", contact="186-503-778 99", surname="бабушкина", children=(LEV, ALISA))
    w.shot("step-4")
    w.page.get_by_role("button", name="Отправить").click()
    expect(w.page.locator(".flash")).to_contain_text("Приглашение отправлено")
    nina = answer_invitation(walk, "Принять")
    later(24)
    nina.page.get_by_role("link", name="Дневник").click()
    expect(nina.main).to_contain_text(LEV)
    nina.shot("trusted-diary")
    nina.page.get_by_role("link", name=ALISA).click()
    expect(nina.page.locator("h2.student")).to_contain_text(ALISA)


@pytest.mark.scenario("T3", region="moscow")
def test_t3_unknown_number(walk):  # noqa: F811
    w = walk("moscow", "T3")
    mosru_login(w, "M1")
    walk_wizard(w, by="phone", contact="+7 916 123-45-67", surname="Бабушкина")
    expect(w.page.locator(".field-error")).to_contain_text("Не удалось найти доверенное лицо")
    w.shot("refused")
    assert w.page.url.endswith("/trusted/new/invite")


@pytest.mark.scenario("T4", region="moscow")
def test_t4_declined(walk):  # noqa: F811
    w = walk("moscow", "T4")
    mosru_login(w, "M1")
    walk_wizard(w, by="phone", contact="+7 916 000 05 05", surname="Бабушкина")
    w.page.get_by_role("button", name="Отправить").click()
    expect(w.page.locator(".flash")).to_contain_text("Приглашение отправлено")
    answer_invitation(walk, "Отклонить")
    w.page.reload()
    w.shot("declined")
    expect(w.page.locator(".grants-given .grant-state")).to_have_text("отклонено")
