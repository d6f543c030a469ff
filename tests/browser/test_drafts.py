"""A draft seen on the region's real host in a real browser: the preview banner on every page
of the author's browser (at both sizes, axe-core clean), nowhere else, left with one press
of «Выйти из просмотра», and published from the banner after the confirmation."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from app.accounts import grant_regional_admin
from app.extensions import db
from app.models import User
from tests.browser.test_layout import axe_script, layout, verdict  # noqa: F401  (fixtures)
from tests.browser.test_scenarios import admin_login, walk  # noqa: F401  (walk: the fixture)

OTHER_COLOUR = "#1a5e20"

DRAFT_COLOUR = "#7a1f5c"
DRAFT_FOOTER = "Черновик: новый текст внизу страницы"
BANNER = "Вы видите черновик настроек региона"


def primary(page) -> str:
    page.wait_for_load_state("load")  # the region's stylesheet, not just the page, is in
    return page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--primary').trim()"
    )


def banner(page):
    return page.get_by_role("region", name=re.compile(BANNER))


def draft_saved(w) -> None:
    w.open("/admin/config")
    w.page.fill("#branding-primary_color", DRAFT_COLOUR)
    w.page.fill("#branding-footer_text", DRAFT_FOOTER)
    w.page.get_by_role("button", name="Сохранить черновик").click()
    expect(w.page.locator(".flash-success")).to_contain_text("Черновик сохранён")


def test_the_preview_banner_is_on_every_page_of_its_author_and_leaving_takes_one_press(
    layout,  # noqa: F811
    walk,  # noqa: F811
):
    w = layout("mosreg")
    admin_login(w)
    visitor = walk("mosreg", "drafts")
    visitor.open()
    served = primary(visitor.page)
    draft_saved(w)
    w.check("draft")
    assert primary(w.page) == served  # saved, not shown

    w.page.get_by_role("button", name="Посмотреть на сайте региона").click()
    expect(banner(w.page)).to_be_visible()
    expect(w.page.get_by_role("heading", name="Вход на платформу «Моя школа»")).to_be_visible()
    expect(w.page.locator(".site-footer")).to_contain_text(DRAFT_FOOTER)
    assert primary(w.page) == DRAFT_COLOUR
    w.check("draft-login")  # the banner fits a phone and passes axe-core

    # Another tab of the same browser: the draft there too.
    tab = w.context.new_page()
    tab.goto(w.live.portal("mosreg") + "/admin/")
    expect(banner(tab)).to_be_visible()
    assert primary(tab) == DRAFT_COLOUR

    # Anyone else: the served version, no banner.
    visitor.open()
    expect(banner(visitor.page)).to_have_count(0)
    expect(visitor.page.locator(".site-footer")).not_to_contain_text(DRAFT_FOOTER)
    assert primary(visitor.page) == served

    # One press, from the keyboard: the served version again, in every tab.
    leave = banner(w.page).get_by_role("button", name="Выйти из просмотра")
    leave.focus()
    with w.page.expect_navigation():
        w.page.keyboard.press("Enter")
    expect(w.page.locator(".flash-success")).to_contain_text("Просмотр черновика завершён")
    expect(banner(w.page)).to_have_count(0)
    assert primary(w.page) == served
    tab.reload()
    expect(banner(tab)).to_have_count(0)
    assert primary(tab) == served
    verdict(w)


def test_publishing_from_the_banner_asks_first(walk):  # noqa: F811
    w = walk("kaluga", "drafts")
    admin_login(w)
    visitor = walk("kaluga", "drafts")
    visitor.open()
    served = primary(visitor.page)
    draft_saved(w)
    w.page.get_by_role("button", name="Посмотреть на сайте региона").click()
    banner(w.page).get_by_role("button", name="Опубликовать").click()
    expect(w.page.get_by_role("heading", name="Опубликовать черновик?")).to_be_visible()
    expect(w.main).to_contain_text("Изменится: Основной цвет; Текст внизу страницы.")
    w.shot("publish-asks")
    visitor.page.reload()
    assert primary(visitor.page) == served  # asking published nothing
    w.page.get_by_role("button", name="Да, опубликовать").click()
    expect(w.page.locator(".flash-success")).to_contain_text("Сохранена версия 1")
    expect(banner(w.page)).to_have_count(0)
    visitor.page.reload()
    assert primary(visitor.page) == DRAFT_COLOUR
    expect(visitor.page.locator(".site-footer")).to_contain_text(DRAFT_FOOTER)


def test_a_draft_over_a_version_published_meanwhile_is_refused_then_carried_over(
    layout,  # noqa: F811
    walk,  # noqa: F811
    live,
):
    with live.portal_app.app_context():
        sa = db.session.scalar(db.select(User).filter_by(tenant="mosreg", subject="1000050"))
        grant_regional_admin("mosreg", sa.issuer, sa.subject, sa.display_name)
    w = layout("mosreg")
    admin_login(w)
    draft_saved(w)
    other = walk("mosreg", "drafts")
    other.esia_login("SA")
    other.page.get_by_role("button", name="Региональный администратор").click()
    other.open("/admin/config")
    other.page.fill("#branding-primary_color", OTHER_COLOUR)
    other.page.get_by_role("button", name="Опубликовать сразу").click()
    expect(other.page.locator(".flash-success")).to_contain_text("Сохранена версия 1")

    w.page.get_by_role("button", name="Посмотреть на сайте региона").click()
    banner(w.page).get_by_role("button", name="Опубликовать").click()
    expect(w.page.get_by_role("heading", name="Черновик не опубликован")).to_be_visible()
    expect(w.main).to_contain_text("Пока черновик ждал, опубликована версия 1")
    expect(w.main).to_contain_text(OTHER_COLOUR)
    w.check("draft-refused")
    w.page.get_by_role("button", name="Перенести мои изменения на версию 1").click()
    expect(w.page.locator(".flash-success")).to_contain_text("перенесены")
    w.check("draft-rebased")
    w.page.get_by_role("button", name="Опубликовать", exact=True).last.click()
    w.page.get_by_role("button", name="Да, опубликовать").click()
    expect(w.page.locator(".flash-success")).to_contain_text("Сохранена версия 2")
    other.open("/login")
    expect(other.page.locator(".site-footer")).to_contain_text(DRAFT_FOOTER)
    verdict(w)
