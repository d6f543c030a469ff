"""The audit log («Журнал событий») in a real browser: a change shown field by field with the
personal value masked, shown whole only by «Показать полностью» (recorded in the log), the
log filtered by a person found by name (the name never in the address) and by kind, the
export downloaded as CSV for Excel; with JavaScript (in place) and without (pages), on a
360 px phone, and through the layout and accessibility checks."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app import audit
from app.extensions import db
from app.models import AuditEvent, Person, User
from tests.browser.test_layout import axe_script, layout, sign_in, verdict  # noqa: F401
from tests.browser.test_scenarios import admin_login, walk  # noqa: F401  (walk: the fixture)

OLD_SNILS, NEW_SNILS = "54771278218", "12345678964"
WHOLE = ("547-712-782 18", "123-456-789 64", OLD_SNILS, NEW_SNILS)


@dataclass(frozen=True)
class Record:
    id: int
    last_name: str
    full_name: str


def seed_correction(live, slug: str) -> tuple[int, Record]:
    """A school's correction of a record of the region (one no account holds): its СНИЛС
    and surname."""
    with live.portal_app.app_context():
        held = select(User.person_id).where(User.person_id.is_not(None))
        person = db.session.scalars(
            select(Person).filter_by(tenant=slug).where(Person.id.not_in(held))
            .order_by(Person.id).limit(1)
        ).one()  # fmt: skip
        record = Record(person.id, person.last_name, person.full_name)
        audit.record("registry_corrected", tenant=slug, person_id=person.id,
                     fields=["last_name", "snils"], changes=[
                         audit.FieldChange("last_name", "Прежняя", person.last_name, "name"),
                         audit.FieldChange("snils", OLD_SNILS, NEW_SNILS, "snils"),
                     ])  # fmt: skip
        event = db.session.scalars(select(AuditEvent).filter_by(kind="registry_corrected")).one()
        return event.id, record


def reveals(live) -> list[AuditEvent]:
    with live.portal_app.app_context():
        return list(db.session.scalars(select(AuditEvent).filter_by(kind="audit_value_shown")))


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_an_administrator_reads_reveals_filters_and_exports_the_log(walk, live, javascript):  # noqa: F811
    event_id, person = seed_correction(live, "mosreg")
    w = walk("mosreg", "audit-viewer", javascript=javascript)
    admin_login(w)
    w.open("/admin/")
    w.click_away(w.page.get_by_role("link", name="Журнал событий"))
    expect(w.page.get_by_role("heading", level=1)).to_have_text(
        "Журнал событий: Московская область"
    )
    change = w.page.locator(f"#change-{event_id}-1")
    expect(change).to_contain_text("СНИЛС:")
    expect(change).to_contain_text("***-***-*** 18")
    expect(change).to_contain_text("***-***-*** 64")
    expect(w.page.locator(f"#change-{event_id}-0")).to_contain_text("П***")
    for whole in WHOLE:
        assert whole not in w.page.content()
    w.shot("masked")
    assert reveals(live) == []

    w.page.get_by_role("button", name="Показать полностью: СНИЛС").click()
    if javascript:  # swapped in place: the log stays where it was
        expect(change).to_contain_text("547-712-782 18")
        expect(change).to_contain_text("123-456-789 64")
        assert w.page.url.endswith("/admin/audit")
        expect(change.get_by_role("button")).to_have_count(0)
        expect(change).to_be_focused()  # a screen reader is taken to what it asked to see
    else:
        expect(w.page.get_by_role("heading", level=1)).to_have_text("Значение из журнала полностью")
        expect(w.page.locator("main")).to_contain_text("547-712-782 18")
        w.click_away(w.page.get_by_role("link", name="Вернуться к журналу"))
    w.shot("revealed")
    [shown] = reveals(live)
    assert shown.detail == {"event_id": event_id, "shown": "snils", "person_id": person.id}

    # A person, found by name: the address names them by number only.
    w.page.get_by_label("Фамилия (или фамилия и имя) либо номер учётной записи").fill(
        person.last_name
    )
    w.page.get_by_role("button", name="Найти").click()
    w.click_away(w.page.locator(f'#people-found a[href$="who=p{person.id}"]'))
    assert w.page.url.endswith(f"who=p{person.id}")
    assert person.last_name.lower() not in w.page.url.lower()
    expect(w.page.locator("#who-filter")).to_contain_text(person.full_name)
    kinds = w.page.locator("#audit-results tbody tr").evaluate_all(
        "rows => rows.map(row => row.dataset.kind)"
    )
    assert kinds == ["audit_value_shown", "registry_corrected"]  # about them: the reveal too
    w.shot("person")
    w.click_away(w.page.get_by_role("link", name="Показать события всех людей"))

    # By kind: with JavaScript only the table is swapped and the address follows.
    expect(w.page.locator('tr[data-kind="login_succeeded"]')).not_to_have_count(0)
    w.page.get_by_label("Событие").select_option(label="Школа исправила запись")
    w.page.get_by_role("button", name="Показать", exact=True).click()
    expect(w.page.locator('tr[data-kind="login_succeeded"]')).to_have_count(0)
    expect(w.page.locator('tr[data-kind="registry_corrected"]')).to_have_count(1)
    w.page.wait_for_url(re.compile(r"kind=registry_corrected"))

    with w.page.expect_download() as download:
        w.page.get_by_role("button", name="Выгрузить в CSV").click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    assert "СНИЛС: ***-***-*** 18 → ***-***-*** 64" in text
    assert all(whole not in text for whole in WHOLE)
    assert text.count("\r\n") == 2  # the header and the one correction
    with live.portal_app.app_context():
        exported = db.session.scalars(select(AuditEvent).filter_by(kind="audit_exported")).one()
    assert exported.detail["count"] == 1

    # On a 360 px phone the table scrolls inside its box: the page does not widen.
    w.page.set_viewport_size({"width": 360, "height": 740})
    w.shot("phone")
    assert w.page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


def test_the_log_with_its_changes_passes_the_layout_checks(layout, live):  # noqa: F811
    event_id, person = seed_correction(live, "kaluga")
    w = layout("kaluga")
    sign_in(w, "ADM")
    w.visit("/admin/audit")
    w.page.get_by_role("button", name="Показать полностью: СНИЛС").click()
    expect(w.page.locator(f"#change-{event_id}-1")).to_contain_text("547-712-782 18")
    w.check("audit-revealed")
    w.page.get_by_label("Фамилия (или фамилия и имя) либо номер учётной записи").fill(
        person.last_name
    )
    w.page.get_by_role("button", name="Найти").click()
    expect(w.page.locator("#people-found")).to_contain_text(person.full_name)
    w.check("audit-people")
    w.visit(f"/admin/audit?who=p{person.id}")
    w.switch_low_vision()
    w.check("audit-person-low-vision")
    verdict(w)
