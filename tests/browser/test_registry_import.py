"""The school registry loaded from the web in a real browser: upload → the report of the lines
with problems → «Применить» (asked first) → the progress bar moving outside the request →
the summary. With JavaScript the page polls its status and swaps it in place; without, it
refreshes itself. The pages pass the layout and accessibility checks at both sizes."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from app.schools import import_jobs, registry
from bench.registry_data import registry as synthetic_registry
from tests.browser.test_layout import axe_script, layout, sign_in, verdict  # noqa: F401
from tests.browser.test_scenarios import admin_login, walk  # noqa: F401  (walk: the fixture)
from tests.test_registry_web_import import Pause

KEYED = ("key", "school", "person", "guardian", "student")


def region_file() -> tuple[bytes, int, dict[str, int], set[int]]:
    """A synthetic registry (its keys apart from the demo's) with two bad lines: the file,
    its lines, the people and enrolments it adds, and the bad lines' numbers."""
    records = [{k: f"web-{v}" if k in KEYED else v for k, v in r.items()}
               for r in synthetic_registry(400)]  # fmt: skip
    staff = next(i for i, r in enumerate(records) if r["type"] == "staff")
    person = next(i for i, r in enumerate(records) if r["type"] == "enrolment")
    records[staff] = {**records[staff], "role": "director"}
    records[person] = {**records[person], "class": "12Я"}
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    adds = {"person": sum(r["type"] == "person" for r in records),
            "enrolment": sum(r["type"] == "enrolment" for r in records) - 1}  # fmt: skip
    return ("\n".join(lines) + "\n").encode(), len(lines), adds, {staff + 1, person + 1}


@pytest.fixture
def paused(monkeypatch):
    monkeypatch.setattr(registry, "BATCH_LINES", 100)
    pause = Pause(monkeypatch, after_batches=4)
    yield pause
    pause.gate.set()


def choose_file(w, content: bytes, name: str = "region.jsonl") -> None:
    w.open("/admin/imports")
    w.page.get_by_label("Файл реестра").set_input_files(
        files=[{"name": name, "mimeType": "application/json", "buffer": content}]
    )
    w.shot("chosen")


def problem_lines(w) -> set[int]:
    cells = w.page.locator("table.import-problems tbody tr td:first-child").all_inner_texts()
    return {int(re.sub(r"\D", "", cell)) for cell in cells}


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_upload_report_apply_progress_summary(walk, paused, javascript):  # noqa: F811
    content, lines, adds, bad = region_file()
    w = walk("kaluga", "registry-import", javascript=javascript)
    admin_login(w)
    paused.arm()  # the check is held at its fifth batch: its progress is on the page
    choose_file(w, content)
    w.click_away(w.page.get_by_role("button", name="Загрузить и проверить"))
    assert paused.reached.wait(30), f"the check never reached its fifth batch: {w.text()}"
    # Polled every second with JavaScript, refreshed every 3 seconds without.
    expect(w.page.locator("#import-status h2")).to_have_text("Идёт проверка файла")
    bar = w.page.get_by_role("progressbar")
    expect(bar).to_have_attribute("value", "400", timeout=10_000)
    expect(bar).to_have_attribute("max", str(lines))
    expect(w.page.locator("#import-progress-text")).to_contain_text(f"Строк 400 из {lines}")
    w.shot("checking")
    if javascript:
        w.page.evaluate("window.samePage = true")
        w.page.wait_for_timeout(2_500)  # the status swapped in twice, and no refresh made live
        assert w.page.evaluate("document.querySelector('meta[http-equiv=refresh]') === null")
    paused.gate.set()

    # With JavaScript the status is swapped in; without, the page refreshes itself.
    expect(w.page.locator("#import-status h2")).to_have_text("Файл проверен", timeout=20_000)
    assert w.page.evaluate("window.samePage === true") is javascript
    assert problem_lines(w) == bad
    expect(w.page.locator("table.import-problems")).to_contain_text("role (должность)")
    expect(w.page.locator("table.import-problems")).to_contain_text("класса «12Я» нет в школе")
    w.shot("report")

    w.page.get_by_role("button", name="Применить, пропустив строки с ошибками").click()
    question = w.page.locator(".confirm")
    expect(question).to_contain_text("Применить файл «region.jsonl» к реестру региона?")
    expect(question).to_contain_text("Строк с ошибками пропущено: 2.")
    w.shot("asks")
    paused.arm()  # the apply, held at its fifth batch
    with w.page.expect_navigation():  # a plain form: the job's page comes back
        w.page.get_by_role("button", name="Да, применить").click()
    assert paused.reached.wait(30), f"the apply never reached its fifth batch: {w.text()}"
    expect(w.page.locator("#import-status h2")).to_have_text("Файл применяется")
    expect(w.page.get_by_role("progressbar")).to_have_attribute("value", "400", timeout=10_000)
    expect(w.page.get_by_label("Читаем и проверяем строки файла")).to_be_visible()
    w.shot("applying")
    if javascript:
        w.page.evaluate("window.samePage = true")
        w.page.wait_for_timeout(2_500)  # the status swapped in twice, and no refresh made live
        assert w.page.evaluate("document.querySelector('meta[http-equiv=refresh]') === null")
    paused.gate.set()

    expect(w.page.locator("#import-status h2")).to_have_text("Файл применён", timeout=20_000)
    assert w.page.evaluate("window.samePage === true") is javascript
    summary = w.page.locator("table.import-summary")
    for kind, count in adds.items():
        expect(summary.locator(f"tr[data-kind={kind}] td").first).to_have_text(
            f"{count:,}".replace(",", "\u00a0")
        )
    expect(summary.locator("tr[data-kind=person] td").nth(1)).to_have_text("0")
    assert problem_lines(w) == bad  # the lines left out, listed under the summary
    w.shot("summary")


def test_the_import_pages_pass_the_layout_checks(layout, paused):  # noqa: F811
    content, *_ = region_file()
    w = layout("kaluga")
    sign_in(w, "ADM")
    w.visit("/admin/imports")
    w.page.get_by_label("Файл реестра").set_input_files(
        files=[{"name": "region.jsonl", "mimeType": "application/json", "buffer": content}]
    )
    paused.arm()
    w.click_away(w.page.get_by_role("button", name="Загрузить и проверить"))
    assert paused.reached.wait(30)
    w.check("import-checking")
    paused.gate.set()
    expect(w.page.locator("#import-status h2")).to_have_text("Файл проверен", timeout=20_000)
    w.check("import-report")
    w.page.get_by_role("button", name="Применить, пропустив строки с ошибками").click()
    expect(w.page.locator(".confirm")).to_be_visible()
    w.check("import-question")
    with w.page.expect_navigation():
        w.page.get_by_role("button", name="Да, применить").click()
    expect(w.page.locator("#import-status h2")).to_have_text("Файл применён", timeout=20_000)
    w.check("import-summary")
    w.visit("/admin/imports")
    verdict(w)


def test_a_file_over_the_limit_is_refused_at_its_field(walk, monkeypatch):  # noqa: F811
    """Over the application's 2 MB for any other form, and over the import's own limit: the
    browser shows the page saying so, at the field, not a broken connection."""
    monkeypatch.setattr(import_jobs, "MAX_UPLOAD_BYTES", 100 * 1024)
    w = walk("kaluga", "registry-import")
    admin_login(w)
    w.open("/admin/imports")
    w.page.get_by_label("Файл реестра").set_input_files(
        files=[{"name": "big.jsonl", "mimeType": "application/json", "buffer": b"{}\n" * 10**6}]
    )
    w.page.get_by_role("button", name="Загрузить и проверить").click()
    error = w.page.locator("#import-file-error")
    expect(error).to_contain_text("Файл больше 100 КБ: такой портал не принимает.")
    expect(w.page.get_by_label("Файл реестра")).to_have_attribute("aria-invalid", "true")
    w.shot("too-large")
