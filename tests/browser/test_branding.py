"""Each region's login page in a real browser, on its own <slug>.localhost host."""

from __future__ import annotations

import pytest
import yaml

from app.settings import PROJECT_ROOT
from tests.browser.conftest import screenshot

BASELINE = yaml.safe_load((PROJECT_ROOT / "config" / "regions.yaml").read_text(encoding="utf-8"))


def rgb(colour: str) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


@pytest.mark.parametrize("slug", list(BASELINE["regions"]))
def test_login_page_in_the_region_branding(page, live_portal, slug):
    branding = BASELINE["regions"][slug]["branding"]
    port = live_portal.split(":")[1]
    page.goto(f"http://{slug}.localhost:{port}/")

    assert page.url == f"http://{slug}.localhost:{port}/login"
    assert page.title() == f"Вход — {branding['short_name']}"
    header = page.locator(".site-header")
    assert header.locator(".brand-name").inner_text() == branding["full_name"]
    assert header.evaluate("e => getComputedStyle(e).backgroundColor") == rgb(
        branding["primary_color"]
    )
    assert header.evaluate("e => getComputedStyle(e).borderBottomColor") == rgb(
        branding["accent_color"]
    )
    assert page.locator(".brand-logo").evaluate("img => img.complete && img.naturalWidth > 0")
    footer = page.locator(".site-footer").inner_text()
    assert branding["support"]["phone"] in footer
    assert branding["support"]["email"] in footer
    # The CSP refused nothing the page needed (htmx loaded, no inline styles or scripts).
    assert page.evaluate("() => typeof window.htmx") == "object"
    assert page.console_errors == []
    screenshot(page, slug, "login")


def test_chooser_filters_with_htmx(page, live_portal):
    page.goto(f"http://{live_portal}/")
    page.fill("#q", "Татар")
    page.wait_for_function("() => document.querySelectorAll('#regions tbody tr').length === 1")
    rows = page.locator("#regions tbody tr")
    assert rows.inner_text().startswith("Республика Татарстан")
    assert page.url.endswith("/?q=%D0%A2%D0%B0%D1%82%D0%B0%D1%80")
    assert page.console_errors == []
    screenshot(page, "apex", "chooser-filtered")
    rows.locator("a").click()
    page.wait_for_url("**/login")
    assert "Республика Татарстан" in page.locator(".brand-name").inner_text()


def test_chooser_filters_without_javascript(page_without_js, live_portal):
    page = page_without_js
    page.goto(f"http://{live_portal}/")
    page.fill("#q", "Калуга")
    page.click("button[type=submit]")
    page.wait_for_url("**/?q=*")
    rows = page.locator("#regions tbody tr")
    assert rows.count() == 1
    assert rows.inner_text().startswith("Калуга и Калужская область")
