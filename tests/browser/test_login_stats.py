"""The login statistics page in Chromium on a 360 px phone: the chart and the tables after real
logins, the filter by school with htmx and without JavaScript, nothing wider than the screen,
and the accessibility checks of tests/browser/test_layout.py on the filled page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import School
from tests.browser.test_layout import axe_script, layout, sign_in, verdict  # noqa: F401
from tests.browser.test_scenarios import admin_login, walk  # noqa: F401  (walk: the fixture)
from tests.live import Browser

PHONE = {"width": 360, "height": 740}
CHART = "Входы (зелёные) и неудачи (красные) по дням"


def some_logins(live) -> int:
    """P3 (her record differs at the lyceum), P7 (not enrolled), a wrong school-issued
    password; returns the lyceum's id."""
    Browser(live, "mosreg").esia_login("P3")
    Browser(live, "mosreg").esia_login("P7")
    pupil = Browser(live, "mosreg")
    pupil.get("/login/password")
    pupil.post("/login/password", {"login": "parolev.demo", "password": "не тот пароль"})
    with live.portal_app.app_context():
        return db.session.scalar(select(School.id).filter_by(tenant="mosreg", key="lyceum-2"))


def fits_the_screen(page) -> None:
    root = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert root[0] <= root[1], f"the page is {root[0]} px wide on a {root[1]} px screen"


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_the_statistics_on_a_phone(walk, live, javascript):  # noqa: F811
    lyceum = some_logins(live)
    w = walk("mosreg", "login-stats", javascript=javascript)
    w.page.set_viewport_size(PHONE)
    admin_login(w)
    w.open("/admin/stats")
    page = w.page

    chart = page.get_by_role("img", name=CHART)
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert box["width"] > PHONE["width"] / 2  # scaled down to the phone, not cut or hidden
    assert page.locator("svg.login-chart rect").count() == 2 * 14
    expect(page.locator("#stats-summary")).to_contain_text("Неудач: 3")
    fits_the_screen(page)
    w.shot("phone")

    # The days' table is wider than the phone: it scrolls inside its own box, by keyboard too.
    days = page.get_by_role("region", name="Неудачи по причинам и дням")
    days.scroll_into_view_if_needed()
    widths = days.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert widths[0] > widths[1]
    row = days.locator("tr[data-key=not_found]")
    expect(row.get_by_role("rowheader")).to_have_text("дневник не найден")
    expect(row.locator("td.total")).to_have_text("1")
    expect(days.locator("tr[data-key=wrong_credentials] td.total")).to_have_text("1")

    advice = page.locator("ul.reason-advice")
    for reason, link in (("not_found", "Расхождения данных"), ("student_profile", "Присоединение")):
        target = advice.locator(f"li[data-reason={reason}]").get_by_role("link")
        expect(target).to_contain_text(link)
        assert target.get_attribute("href").endswith("/school/requests")
    w.shot("reasons")

    # One school: the lyceum, where only P3's record failed to match.
    page.get_by_label("Школа", exact=True).select_option(label="Лицей № 2")
    page.get_by_role("button", name="Показать").click()
    expect(page).to_have_url(re.compile(rf"[?&]school={lyceum}(&|$)"))
    if javascript:  # swapped in place: the keyboard stays where it was
        expect(page.locator("#stats-submit")).to_be_focused()
    expect(page.locator("#login-stats h2").first).to_contain_text("Лицей № 2: с ")
    expect(page.locator("#stats-summary")).to_contain_text("Неудач: 1")
    rows = page.locator("table.reasons tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-reason", "not_found")
    expect(page.get_by_label("Школа", exact=True)).to_have_value(str(lyceum))
    expect(page.get_by_role("img", name=CHART)).to_be_visible()
    fits_the_screen(page)
    w.shot("lyceum")

    # A date that is no date: said at its field, the rest of the page still there.
    page.get_by_label("С какого дня").evaluate("e => { e.type = 'text'; e.value = 'вчера'; }")
    page.get_by_role("button", name="Показать").click()
    error = page.locator("#from-error")
    expect(error).to_contain_text("Укажите дату")
    expect(page.get_by_label("С какого дня")).to_have_attribute("aria-describedby", "from-error")
    expect(page.get_by_role("img", name=CHART)).to_be_visible()


def test_the_filled_statistics_pass_the_layout_checks(layout, live):  # noqa: F811
    some_logins(live)
    w = layout("mosreg")
    sign_in(w, "ADM")
    w.visit("/admin/stats")
    w.page.get_by_label("Школа", exact=True).select_option(label="Лицей № 2")
    w.page.get_by_role("button", name="Показать").click()
    expect(w.page).to_have_url(re.compile(r"school=\d+"))
    w.check("stats-lyceum")
    verdict(w)
