"""«Отозвать» on the account page asks first in a real browser: with JavaScript the server's
question is swapped in place and «Отмена» puts the line back; without, it is a page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_scenarios import walk  # noqa: F401  (walk: the fixture)

CHILD = "Согласие за ребёнка: Демова Софья Ивановна"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_revoking_a_consent_asks_and_can_be_cancelled(walk, javascript):  # noqa: F811
    w = walk("tatarstan", "confirmations", javascript=javascript)
    w.esia_login("P4")
    w.open("/account/")
    line = w.page.locator(".consent", has_text=CHILD)
    if javascript:
        w.page.evaluate("window.samePage = true")
    line.get_by_role("button", name="Отозвать").click()
    question = w.page.get_by_text("Отозвать согласие за ребёнка: Демова Софья Ивановна?")
    expect(question).to_be_visible()
    w.shot("asks")
    assert w.page.evaluate("window.samePage === true") is javascript
    if javascript:  # the question has the keyboard focus, where the button was
        assert w.page.evaluate("document.activeElement.classList.contains('confirm')")
    w.page.get_by_role("link", name="Отмена").click()
    expect(w.page.locator(".consent", has_text=CHILD)).to_be_visible()
    expect(question).to_have_count(0)
    w.page.locator(".consent", has_text=CHILD).get_by_role("button", name="Отозвать").click()
    w.page.get_by_role("button", name="Да, отозвать согласие").click()
    expect(w.page.locator(".flash")).to_contain_text("Согласие отозвано.")
    expect(w.page.locator(".consent", has_text=CHILD)).to_have_count(0)
    w.shot("revoked")
