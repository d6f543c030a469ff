"""Accounts of the region in a real browser: the administrator finds a person, disables the
account through the confirmation (with JavaScript the question replaces the «Доступ» block in
place and «Отмена» puts it back; without, it is a page of its own), the person's open page
then meets the sign-in page saying why, and once enabled again they are let in. The pages
pass the layout and accessibility checks of every page at both sizes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.sessions import ENDED_NOTICES
from tests.browser.test_layout import axe_script, layout, sign_in, verdict  # noqa: F401
from tests.browser.test_scenarios import admin_login, walk  # noqa: F401  (walk: the fixture)

ANNA = "Образцова Анна Петровна"  # P1, a synthetic demo parent


def open_account(w, name: str) -> None:
    w.open("/admin/accounts")
    w.page.get_by_label("Кого найти").fill(name)
    w.page.get_by_role("button", name="Найти").click()
    expect(w.page.locator("#accounts-found")).to_contain_text("Найдено учётных записей: 1.")
    w.shot("found")
    w.click_away(w.page.get_by_role("link", name=name))
    expect(w.page.locator("h1")).to_have_text(name)


def ask(w, field: str, reason: str, button: str):
    """Type the reason and press the button: the question, on screen and focused."""
    w.page.get_by_label(field).fill(reason)
    if w.javascript:
        w.page.evaluate("window.samePage = true")
    w.page.get_by_role("button", name=button).click()
    question = w.page.locator(".confirm")
    expect(question).to_be_visible()
    expect(question).to_contain_text(f"«{reason}»")
    assert w.page.evaluate("window.samePage === true") is w.javascript
    if w.javascript:  # the question has the keyboard focus, where the form was
        assert w.page.evaluate("document.activeElement.classList.contains('confirm')")
    w.shot("asks")
    return question


def confirm(w, yes: str) -> None:
    with w.page.expect_navigation():  # a plain form: the account's page comes back
        w.page.get_by_role("button", name=yes).click()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_disabling_and_enabling_an_account_through_the_confirmation(walk, javascript):  # noqa: F811
    person = walk("mosreg", "accounts")
    person.esia_login("P1")
    assert person.page.url.endswith("/diary/")
    w = walk("mosreg", "accounts", javascript=javascript)
    admin_login(w)
    open_account(w, ANNA)
    expect(w.page.locator("table.sessions tbody tr")).to_have_count(1)

    question = ask(w, "Причина отключения", "обращение № 5", "Отключить учётную запись")
    w.page.get_by_role("link", name="Отмена").click()
    expect(w.page.get_by_role("button", name="Отключить учётную запись")).to_be_visible()
    expect(question).to_have_count(0)
    person.page.reload()  # cancelled: nothing happened
    assert person.page.url.endswith("/diary/")
    ask(w, "Причина отключения", "обращение № 5", "Отключить учётную запись")
    confirm(w, "Да, отключить")
    expect(w.page.locator(".flash-success")).to_contain_text(
        "Учётная запись отключена. Завершено сеансов: 1."
    )
    expect(w.page.locator("#account-state")).to_contain_text("Причина: обращение № 5")
    expect(w.page.locator("table.sessions")).to_contain_text("Активных сеансов нет.")
    w.shot("disabled")

    person.page.reload()  # her open page, on her next request: signed out, told why
    assert "/login?next=" in person.page.url
    expect(person.page.locator("main")).to_contain_text(ENDED_NOTICES["account_disabled"])
    person.shot("signed-out")
    person.click_away(person.page.get_by_role("link", name="Госуслуги"))
    person.page.wait_for_url(re.compile(r".*/login$"))
    expect(person.page.locator(".flash-error")).to_contain_text("обратитесь в свою школу")
    person.shot("refused")

    ask(w, "Причина включения", "ошибка исправлена", "Включить учётную запись")
    confirm(w, "Да, включить")
    expect(w.page.locator(".flash-success")).to_contain_text("снова включена")
    history = w.page.locator("table.account-history tbody tr")
    expect(history).to_have_count(2)
    expect(history.first).to_contain_text("ошибка исправлена")
    w.shot("enabled")

    person.esia_login("P1")
    assert person.page.url.endswith("/diary/")


def test_the_accounts_pages_pass_the_layout_checks(layout):  # noqa: F811
    parent = layout("kaluga")
    sign_in(parent, "P1")
    w = layout("kaluga")
    sign_in(w, "ADM")
    w.visit("/admin/accounts")
    w.page.get_by_label("Кого найти").fill("а")
    w.page.get_by_role("button", name="Найти").click()
    expect(w.page.locator("#q-error")).to_be_visible()
    w.check("accounts-problem")
    w.page.get_by_label("Кого найти").fill("Образцова")
    w.page.get_by_role("button", name="Найти").click()
    expect(w.page.locator("#accounts-found")).to_be_visible()
    w.check("accounts-found")
    w.click_away(w.page.get_by_role("link", name=ANNA))
    w.check("account")
    w.page.get_by_role("button", name="Отключить учётную запись").click()
    expect(w.page.locator("#reason-error")).to_be_visible()
    w.check("account-no-reason")
    w.page.get_by_label("Причина отключения").fill("проверка вёрстки")
    w.page.get_by_role("button", name="Отключить учётную запись").click()
    expect(w.page.locator(".confirm")).to_be_visible()
    w.check("account-question")
    w.page.get_by_role("button", name="Да, отключить").click()
    expect(w.page.locator(".flash-success")).to_be_visible()
    w.check("account-disabled")
    verdict(w)
