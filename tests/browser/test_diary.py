"""Week navigation and child switching in a real browser, with JavaScript on (htmx swaps
the diary in place and pushes the address) and off (plain links load whole pages)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_scenarios import walk  # noqa: F401  (the fixture)


def student(w) -> str:
    return w.page.locator("h2.student").inner_text()


def week_label(w) -> str:
    return w.page.locator(".week-label").inner_text()


@pytest.mark.scenario("P1", region="mosreg")
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_week_navigation_and_child_switching(walk, javascript):  # noqa: F811
    w = walk("mosreg", "P1", javascript=javascript)
    w.esia_login("P1")
    w.open("/diary/?week=2026-W47")
    if javascript:  # a marker that survives only if the page is never reloaded
        w.page.evaluate("window.stillThisPage = true")
    assert student(w).startswith("Образцов Михаил Андреевич")
    assert week_label(w).startswith("16 ноября — 20 ноября 2026")

    w.page.get_by_role("link", name="Следующая неделя →").click()
    w.page.wait_for_url(re.compile(r"week=2026-W48"))
    w.page.wait_for_function(
        "document.querySelector('.week-label').textContent.includes('23 ноября')"
    )
    w.shot("next-week-js" if javascript else "next-week-no-js")

    w.page.get_by_role("link", name="Образцова Дарья Андреевна").click()
    w.page.wait_for_url(re.compile(r"child=\d+"))
    expect(w.page.locator("h2.student")).to_contain_text("Дарья")
    w.shot("other-child-js" if javascript else "other-child-no-js")
    assert week_label(w).startswith("23 ноября — 27 ноября 2026")  # the week is kept
    assert w.page.locator(".child-switcher a.current").inner_text() == "Образцова Дарья Андреевна"
    assert w.page.locator("svg.spark").count() > 0

    w.page.get_by_role("link", name="← Предыдущая неделя").click()
    w.page.wait_for_url(re.compile(r"week=2026-W47"))
    w.page.wait_for_function(
        "document.querySelector('.week-label').textContent.includes('16 ноября')"
    )
    assert student(w).startswith("Образцова Дарья Андреевна")
    if javascript:
        assert w.page.evaluate("window.stillThisPage") is True  # swapped in place by htmx
        w.page.go_back()  # the pushed address restores the previous state
        w.page.wait_for_url(re.compile(r"week=2026-W48"))


@pytest.mark.scenario("P1", region="kaluga")
def test_an_error_during_an_htmx_swap_shows_the_branded_page(walk):  # noqa: F811
    w = walk("kaluga", "P1")
    w.esia_login("P1")
    w.open("/diary/?week=2026-W47")
    # A child the parent is not linked to, asked for the way the switcher asks (htmx).
    w.page.evaluate(
        "htmx.ajax('GET', '/diary/?child=999999', {target: '#diary', swap: 'outerHTML'})"
    )
    expect(w.page.locator("main h1")).to_have_text("Страница не найдена")
    w.shot("htmx-404")
    assert w.page.locator("main header, main footer").count() == 0  # not a page in a page
    assert w.page.locator("header.site-header").count() == 1
