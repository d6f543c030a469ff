"""The identity provider check in a real browser: a regional administrator runs it from the
administration, sees a result per item, and — with the provider's token endpoint hanging —
sees which item failed and what to do. With JavaScript the result is swapped in place and
takes the focus; without, the button's POST answers with the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.identity import checks
from tests.browser.test_layout import axe_script, layout, sign_in, verdict  # noqa: F401
from tests.browser.test_scenarios import admin_login, walk  # noqa: F401  (walk: the fixture)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_an_administrator_runs_the_provider_check(walk, live, javascript):  # noqa: F811
    w = walk("kaluga", "provider-check", javascript=javascript)
    admin_login(w)
    w.open("/admin/provider-check")
    expect(w.page.get_by_role("heading", level=1)).to_have_text(
        "Проверка поставщика входа: Калуга и Калужская область"
    )
    expect(w.page.locator("table.provider-check")).to_have_count(0)  # nothing runs by itself
    if javascript:
        w.page.evaluate("window.samePage = true")
    w.page.get_by_role("button", name="Проверить", exact=True).click()
    summary = w.page.locator("#provider-check-summary")
    expect(summary).to_have_text("Проверка пройдена.")
    w.shot("passed")
    rows = w.page.locator("table.provider-check tbody tr")
    expect(rows).to_have_count(7)
    expect(w.page.locator("table.provider-check tr[data-status=passed]")).to_have_count(7)
    pair = w.page.get_by_role("row", name="Ключ и сертификат — пара")
    expect(pair).to_contain_text("Тестовое сообщение подписано ключом и проверено сертификатом.")
    assert w.page.evaluate("window.samePage === true") is javascript
    if javascript:  # a screen reader is taken to the result
        expect(summary).to_be_focused()

    misbehaviour = live.emulator_app.extensions["misbehaviour"]
    misbehaviour.paths, misbehaviour.delay = ("/aas/oauth2/v3/te",), checks.CALL_SECONDS + 2
    try:
        w.page.get_by_role("button", name="Проверить ещё раз").click()
        expect(summary).to_contain_text("Проверка не пройдена: не выполнено пунктов — 1 из 7.")
    finally:
        misbehaviour.reset()
    w.shot("failed")
    token = w.page.get_by_role("row", name="Адрес выдачи токенов")
    expect(token).to_contain_text("Не пройдено.")
    expect(token).to_contain_text("не ответил за 3 с")
    expect(token).to_contain_text("проверьте доступ с серверов портала")
    # On a 360 px phone the long addresses and the hash wrap: the page does not widen.
    w.page.set_viewport_size({"width": 360, "height": 740})
    w.shot("phone")
    assert w.page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


@pytest.mark.parametrize(("slug", "persona"), [("mosreg", "ADM"), ("moscow", "MA")])
def test_the_check_page_and_its_result_pass_the_layout_checks(layout, slug, persona):  # noqa: F811
    w = layout(slug)
    sign_in(w, persona)
    w.visit("/admin/provider-check")
    w.page.get_by_role("button", name="Проверить", exact=True).click()
    expect(w.page.locator("#provider-check-summary")).to_have_text("Проверка пройдена.")
    w.check("provider-check-result")
    w.switch_low_vision()
    w.page.get_by_role("button", name="Проверить", exact=True).click()
    expect(w.page.locator("#provider-check-summary")).to_have_text("Проверка пройдена.")
    w.check("provider-check-result")
    verdict(w)
