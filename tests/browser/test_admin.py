"""A1–A4 in a real browser: the regional administrator's form, live preview, history."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.accounts import grant_regional_admin
from app.extensions import db
from app.models import User
from tests.browser.scenarios import ALL_REGIONS
from tests.browser.test_scenarios import admin_login, walk  # noqa: F401  (walk: the fixture)

NEW_PRIMARY = "#7a1f5c"


def admin(walk, slug: str, scenario: str):  # noqa: F811
    w = walk(slug, scenario)
    admin_login(w)
    w.page.get_by_role("link", name="Настройки региона").click()
    return w


def primary(w) -> str:
    w.page.wait_for_load_state("load")  # the region's stylesheet, not just the page, is in
    return w.page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--primary').trim()"
    )


@pytest.mark.scenario("A1", region="mosreg")
def test_a1(walk):  # noqa: F811
    w = admin(walk, "mosreg", "A1")
    w.page.fill("#branding-primary_color", NEW_PRIMARY)
    w.page.get_by_role("checkbox", name="Вход по логину").uncheck()
    w.page.get_by_role("button", name="Предпросмотр").click()
    preview = w.page.locator(".preview-page")
    expect(preview).to_be_visible()
    w.shot("preview")
    expect(preview.locator(".preview-header")).to_have_css("background-color", "rgb(122, 31, 92)")
    assert "Вход по логину" not in preview.inner_text()
    w.page.fill("#comment", "Новый цвет, вход только через Госуслуги")
    w.page.get_by_role("button", name="Опубликовать сразу").click()
    w.shot("saved")
    expect(w.page.locator(".flash")).to_contain_text("Сохранена версия 1")

    visitor = walk("mosreg", "A1")
    visitor.open()
    visitor.shot("login")
    assert primary(visitor) == NEW_PRIMARY
    assert visitor.page.get_by_role("link", name="Вход по логину").count() == 0
    other = walk("kaluga", "A1")
    other.open()
    assert primary(other) != NEW_PRIMARY
    assert other.page.get_by_role("link", name="Вход по логину").count() == 1


@pytest.mark.scenario("A2", region="mosreg")
def test_a2(walk, live):  # noqa: F811
    with live.portal_app.app_context():
        sa = db.session.scalar(db.select(User).filter_by(tenant="mosreg", subject="1000050"))
        grant_regional_admin("mosreg", sa.issuer, sa.subject, sa.display_name)
    first = admin(walk, "mosreg", "A2")
    second = walk("mosreg", "A2")
    second.esia_login("SA")
    second.page.get_by_role("button", name="Региональный администратор").click()
    second.open("/admin/config")
    first.page.fill("#branding-footer_text", "Первый администратор")
    first.page.get_by_role("button", name="Опубликовать сразу").click()
    second.page.fill("#branding-footer_text", "Второй администратор")
    second.page.get_by_role("button", name="Опубликовать сразу").click()
    second.shot("conflict")
    expect(second.page.locator(".flash-error")).to_contain_text("другой администратор сохранил")
    expect(second.page.locator("#branding-footer_text")).to_have_value("Второй администратор")


@pytest.mark.scenario("A3", region="kaluga")
def test_a3(walk):  # noqa: F811
    w = admin(walk, "kaluga", "A3")
    response = w.page.goto(w.live.portal("kaluga") + "/admin/config/versions/1")
    assert response.status == 404
    w.shot("by-id")
    w.page.goto(w.live.portal("mosreg") + "/admin/config")
    w.shot("by-host")
    assert re.search(r"/login\?next=", w.page.url)


@pytest.mark.scenario("A4")
@pytest.mark.parametrize("slug", ALL_REGIONS)
def test_a4(walk, slug):  # noqa: F811
    w = admin(walk, slug, "A4")
    original = w.page.locator("#branding-primary_color").input_value()
    w.page.fill("#branding-primary_color", NEW_PRIMARY)
    w.page.get_by_role("button", name="Опубликовать сразу").click()
    expect(w.page.locator(".flash")).to_contain_text("Сохранена версия 1")
    assert primary(w) == NEW_PRIMARY
    w.page.get_by_role("row", name=re.compile("regions.yaml")).get_by_role(
        "button", name="Откатить к этой версии"
    ).click()
    expect(w.page.get_by_role("heading", name="Откатить настройки к версии 0?")).to_be_visible()
    w.shot("rollback-asks")
    assert primary(w) == NEW_PRIMARY  # asking changed nothing
    w.page.get_by_role("button", name="Да, откатить к версии 0").click()
    w.shot("rolled-back")
    expect(w.page.locator(".flash")).to_contain_text("Версия 0 восстановлена как версия 2")
    assert primary(w) == original
    expect(w.page.locator(".history")).to_contain_text("Откат к версии 0")
