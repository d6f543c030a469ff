"""The portal in Tatar and in English, in a real browser: a whole ESIA login and the diary in
each language the browser asks for (its Accept-Language), and the language switch with
JavaScript off, remembered from page to page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_scenarios import walk  # noqa: F401  (the fixture)

LANGUAGES = {
    "tt": {
        "locale": "tt-RU",
        "button": "Госуслуги",
        "title": "Минем мәктәбем — Татарстан Республикасы",
        "heading": "«Минем мәктәбем» платформасына керү",
        "diary": "Көндәлек",
        "week": "16 ноябрь — 20 ноябрь 2026",
        "next": "Киләсе атна →",
        "next_week": "23 ноябрь — 27 ноябрь 2026",
        "sign_out": "Чыгу",
    },
    "en": {
        "locale": "en-GB",
        "button": "Gosuslugi",
        "title": "My School — Republic of Tatarstan",
        "heading": "Sign in to “My School”",
        "diary": "Diary",
        "week": "16 November — 20 November 2026",
        "next": "Next week →",
        "next_week": "23 November — 27 November 2026",
        "sign_out": "Sign out",
    },
}

RUSSIAN_UI = ("Вход", "Дневник", "Выйти", "Следующая неделя", "Уведомления", "Служба поддержки")


@pytest.mark.scenario("P1", region="tatarstan")
@pytest.mark.parametrize("language", ["tt", "en"])
def test_a_whole_esia_login_and_the_diary(walk, language):  # noqa: F811
    words = LANGUAGES[language]
    w = walk("tatarstan", "P1", locale=words["locale"])
    w.open()
    expect(w.page.locator("html")).to_have_attribute("lang", language)
    expect(w.page.locator("#login-title")).to_have_text(words["heading"])
    expect(w.page.locator(".brand-name")).to_have_text(words["title"])
    w.esia_login("P1", button=words["button"])
    assert w.page.url.endswith("/diary/")
    expect(w.page.locator("html")).to_have_attribute("lang", language)
    menu = w.page.locator("nav.user-nav")
    expect(menu.get_by_role("link", name=words["diary"], exact=True)).to_be_visible()
    expect(menu.get_by_role("button", name=words["sign_out"])).to_be_attached()
    # the children are the registry's (their names are data), the page around them is not
    assert "Образцов Михаил Андреевич" in w.text() and "Образцова Дарья Андреевна" in w.text()

    w.open("/diary/?week=2026-W47")
    expect(w.page.locator(".week-label")).to_contain_text(words["week"])
    w.page.get_by_role("link", name=words["next"]).click()
    w.page.wait_for_url(re.compile(r"week=2026-W48"))
    expect(w.page.locator(".week-label")).to_contain_text(words["next_week"])
    w.shot(f"diary-{language}")
    chrome = w.page.locator("header.site-header, footer.site-footer, .week-nav, main h1, main h2")
    shown = " ".join(chrome.all_inner_texts())
    assert not [word for word in RUSSIAN_UI if word in shown], shown


def switch_to(w, link) -> None:
    """Follow a language link: it leads back to the same address, so wait for the load."""
    with w.page.expect_navigation():
        link.click()


@pytest.mark.scenario("P1", region="tatarstan")
def test_the_switch_without_javascript_is_remembered(walk):  # noqa: F811
    w = walk("tatarstan", "P1", javascript=False)
    w.open()
    expect(w.page.locator("html")).to_have_attribute("lang", "ru")
    switch = w.page.get_by_role("navigation", name="Язык")
    expect(switch.locator("[aria-current=true]")).to_have_text("Русский")
    switch_to(w, switch.get_by_role("link", name="English"))
    assert w.page.url.endswith("/login")  # back on the page it was clicked on
    expect(w.page.locator("html")).to_have_attribute("lang", "en")
    expect(w.page.locator("#login-title")).to_have_text(LANGUAGES["en"]["heading"])
    w.open("/")  # another page, still in English
    expect(w.page.locator("html")).to_have_attribute("lang", "en")
    switch_to(
        w, w.page.get_by_role("navigation", name="Language").get_by_role("link", name="Татарча")
    )
    expect(w.page.locator("html")).to_have_attribute("lang", "tt")
    w.esia_login("P1", button=LANGUAGES["tt"]["button"])
    expect(w.page.locator("html")).to_have_attribute("lang", "tt")
    expect(w.page.locator("nav.user-nav").get_by_role("link", name="Көндәлек")).to_be_attached()
