"""Browser fixtures: the portal served on a free port, and Debian's Chromium driven by Playwright.

Playwright's own browser download cannot work here, so tests launch the system Chromium.
Without it they skip with the reason, except under CI, where a missing browser fails.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app import create_app
from tests.conftest import test_environ
from tests.live import esia_env, live, localhost_subdomains, servers  # noqa: F401

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QA_DIR = Path(os.environ.get("QA_DIR", "build/qa"))
SCREENSHOTS = QA_DIR / "screens"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def live_portal(database_uri):
    """The portal on 127.0.0.1:<free port>; regions answer on <slug>.localhost:<port>."""
    app = create_app(test_environ(database_uri))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"localhost:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="ru-RU")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors
    yield page
    context.close()


@pytest.fixture
def page_without_js(browser):
    context = browser.new_context(locale="ru-RU", java_script_enabled=False)
    yield context.new_page()
    context.close()


def screenshot(page, region: str, step: str, scenario: str = "branding") -> Path:
    """One screenshot per region, scenario and step, where `make qa-report` finds it."""
    folder = SCREENSHOTS / scenario / region
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{len(list(folder.glob('*.png'))) + 1:02d}-{step}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="session", autouse=True)
def fresh_results():
    """Each run of the browser suite starts its QA record afresh."""
    if SCREENSHOTS.exists():
        for png in SCREENSHOTS.rglob("*.png"):
            png.unlink()
    QA_DIR.mkdir(parents=True, exist_ok=True)
    (QA_DIR / "results.jsonl").write_text("")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    marker = item.get_closest_marker("scenario")
    if marker is not None and (report.when == "call" or report.outcome != "passed"):
        params = getattr(item, "callspec", None)
        region = params.params.get("slug") if params else marker.kwargs.get("region", "-")
        record = {"scenario": marker.args[0], "region": region, "outcome": report.outcome,
                  "when": report.when, "test": item.nodeid}  # fmt: skip
        with (QA_DIR / "results.jsonl").open("a", encoding="utf-8") as results:
            results.write(json.dumps(record, ensure_ascii=False) + "\n")
    return report
