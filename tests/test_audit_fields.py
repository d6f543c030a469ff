"""Field-level audit: every configuration change, registry correction, role change and
consent act records the fields it changed, old and new, and the region it changed; personal
values are kept masked with the whole sealed, shown whole only through the audited reveal;
the log («Журнал событий») filters by person, kind and days, pages by (created_at, id) and
exports CSV for Excel with no formula in it."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, insert, select, text

from app import audit, audit_log
from app.accounts import delete_role, grant_regional_admin, revoke_regional_admin, sync_roles
from app.audit_log import neutralised
from app.consent import give_own, give_parental, revoke
from app.erasure import erase_user
from app.extensions import db
from app.models import (
    AuditEvent,
    Guardianship,
    MismatchReport,
    Person,
    School,
    SchoolClass,
    StaffRole,
    StructuralRole,
    User,
)
from app.schools import requests as school_requests
from app.sealing import unseal
from app.tenants import versions
from app.tenants.schema import TenantConfig

OLD_SNILS, NEW_SNILS = "54771278218", "12345678964"
OLD_PHONE, NEW_PHONE = "79160000001", "79160000077"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


# --- fixtures ---------------------------------------------------------------------------------


def _person(tenant: str, key: str, last: str, first: str, middle: str = "", **extra) -> Person:
    person = Person(tenant=tenant, key=key, last_name=last, first_name=first, middle_name=middle,
                    name_key=f"{last} {first} {middle}".strip().lower(), **extra)  # fmt: skip
    db.session.add(person)
    return person


def _user(tenant: str, subject: str, name: str, person: Person | None = None) -> User:
    user = User(tenant=tenant, issuer="urn:test", subject=subject, display_name=name,
                surname_key=name.split()[0].lower(), person=person)  # fmt: skip
    db.session.add(user)
    return user


@pytest.fixture
def people(app):
    """Калуга: a school with its administrator, a parent (whose record differs from what she
    told the school: her mismatch report) and her son; Подмосковье: one person."""
    with app.app_context():
        school = School(tenant="kaluga", key="lyceum2", full_name="Лицей № 2 города Калуги",
                        short_name="Лицей № 2", search_key="лицей № 2 города калуги")  # fmt: skip
        db.session.add(school)
        db.session.add(SchoolClass(school=school, name="5А"))
        parent = _person("kaluga", "probnaya", "Пробная", "Ирина", "Викторовна",
                         birth_date=date(1985, 3, 4), snils=OLD_SNILS, phone=OLD_PHONE,
                         email="irina@example.test")  # fmt: skip
        child = _person("kaluga", "probny", "Пробный", "Артём", "Сергеевич",
                        birth_date=date(2012, 5, 6))  # fmt: skip
        staff = _person("kaluga", "shkolnaya", "Школьная", "Светлана")
        db.session.add(Guardianship(guardian=parent, student=child))
        db.session.add(StaffRole(person=staff, school=school, role="school_admin"))
        parent_user = _user("kaluga", "p-1", "Пробная Ирина Викторовна", parent)
        school_admin = _user("kaluga", "sa-1", "Школьная Светлана", staff)
        other_region = _user("mosreg", "m-1", "Подмосковная Вера Ивановна")
        db.session.flush()
        report = MismatchReport(tenant="kaluga", user_id=parent_user.id, school_id=school.id,
                                record_id=parent.id, field="snils", sent={})  # fmt: skip
        db.session.add(report)
        db.session.commit()
        ids = {"school": school.id, "parent": parent.id, "child": child.id,
               "parent_user": parent_user.id, "school_admin": school_admin.id,
               "report": report.id, "other_region": other_region.id}  # fmt: skip
    return ids


def signed_in_admin(app, region_client, slug: str = "kaluga", subject: str = "adm-1"):
    """A client on the region's host with its regional administrator signed in."""
    with app.app_context():
        user = grant_regional_admin(slug, "urn:test", subject, "Админова Рита Сергеевна")
        user_id = user.id
    client = region_client(slug)
    with client.session_transaction(base_url=client.host_url) as session:
        session["_user_id"], session["_fresh"] = str(user_id), True
    client.user_id = user_id
    return client


@pytest.fixture
def admin(app, region_client):
    return signed_in_admin(app, region_client)


def csrf_of(client) -> str:
    return CSRF_RE.search(client.get("/admin/audit").get_data(as_text=True))[1]


def events(app, kind: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(
            select(AuditEvent).filter_by(kind=kind).order_by(AuditEvent.id)
        ))  # fmt: skip


def raw_detail(app, event_id: int) -> str:
    """The row as the database holds it: the text an operator or a backup would see."""
    with app.app_context():
        return db.session.execute(
            text("SELECT detail FROM audit_event WHERE id = :id"), {"id": event_id}
        ).scalar_one()  # fmt: skip


def correct_parent(app, ids, **changed) -> AuditEvent:
    """The school corrects the parent's record (her SNILS, surname and phone by default)."""
    form = {"last_name": "Пробнова", "first_name": "Ирина", "middle_name": "Викторовна",
            "birth_date": "1985-03-04", "snils": "123-456-789 64", "email": "irina@example.test",
            "phone": "+7 916 000-00-77", **changed}  # fmt: skip
    with app.app_context():
        admin = db.session.get(User, ids["school_admin"])
        report = db.session.get(MismatchReport, ids["report"])
        school_requests.correct_record(admin, report, form)
    return events(app, "registry_corrected")[-1]


def changes_of(event: AuditEvent) -> dict[str, dict]:
    return {change["field"]: change for change in event.detail["changes"]}


def visible(page: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html.unescape(page)).split())


def shown_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-kind="[^"]*" data-id="(\d+)"', page)]


# --- what each kind of change records ---------------------------------------------------------


def test_a_registry_correction_records_each_field_masked_with_the_whole_sealed(app, people):
    event = correct_parent(app, people)
    assert event.tenant == "kaluga" and event.actor_id == people["school_admin"]
    assert event.subject_person_id == people["parent"]  # the record corrected
    assert event.subject_id == people["parent_user"]  # whose report it answered
    changes = changes_of(event)
    assert list(changes) == ["last_name", "snils", "phone"]  # the form's others are unchanged
    assert event.detail["fields"] == ["last_name", "snils", "phone"]
    assert (changes["snils"]["old"], changes["snils"]["new"]) == ("***-***-*** 18",
                                                                  "***-***-*** 64")  # fmt: skip
    assert (changes["phone"]["old"], changes["phone"]["new"]) == ("+7 *** ***-**-01",
                                                                  "+7 *** ***-**-77")  # fmt: skip
    assert (changes["last_name"]["old"], changes["last_name"]["new"]) == ("П***", "П***")
    assert {c["personal"] for c in changes.values()} == {"snils", "phone", "name"}
    stored = raw_detail(app, event.id)
    for whole in (OLD_SNILS, NEW_SNILS, "547-712-782", "123-456-789", OLD_PHONE, NEW_PHONE,
                  "Пробная", "Пробнова", "\\u041f\\u0440\\u043e\\u0431"):  # fmt: skip
        assert whole not in stored, whole
    with app.app_context():
        assert unseal(changes["snils"]["sealed"]) == {"old": OLD_SNILS, "new": NEW_SNILS}
        assert unseal(changes["last_name"]["sealed"]) == {"old": "Пробная", "new": "Пробнова"}
        assert unseal(changes["phone"]["sealed"]) == {"old": OLD_PHONE, "new": NEW_PHONE}


def test_a_birth_date_and_an_email_are_masked_too(app, people):
    event = correct_parent(app, people, birth_date="05.04.1986", email="irina.p@example.test",
                           snils="547-712-782 18", phone="+7 916 000-00-01",
                           last_name="Пробная")  # fmt: skip
    changes = changes_of(event)
    assert list(changes) == ["birth_date", "email"]
    assert (changes["birth_date"]["old"], changes["birth_date"]["new"]) == ("**.**.1985",
                                                                            "**.**.1986")  # fmt: skip
    assert changes["email"]["new"] == "i***@example.test"
    assert "irina" not in raw_detail(app, event.id) and "1986-04-05" not in raw_detail(
        app, event.id
    )
    with app.app_context():
        assert unseal(changes["birth_date"]["sealed"]) == {"old": "1985-03-04", "new": "1986-04-05"}


def test_a_configuration_save_records_the_fields_it_changed_in_its_region(app, admin):
    with app.app_context():
        author = db.session.get(User, admin.user_id)
        base, source = versions.at("kaluga")
        raw = versions.dump(source)
        raw["branding"]["primary_color"] = "#7a1f5c"
        raw["policy"]["parent_consent_under_age"] = 14
        config = TenantConfig.model_validate(raw, context={"static_dir": Path(app.static_folder)})
        versions.save("kaluga", config, base=base, author=author, comment="Цвет и возраст")
    [event] = events(app, "config_saved")
    assert event.tenant == "kaluga" and event.actor_id == admin.user_id
    assert event.detail["changes"] == [
        {"field": "branding.primary_color", "old": source.branding.primary_color,
         "new": "#7a1f5c"},
        {"field": "policy.parent_consent_under_age",
         "old": source.policy.parent_consent_under_age, "new": 14},
    ]  # fmt: skip
    page = admin.get("/admin/audit", query_string={"kind": "config_saved"}).get_data(as_text=True)
    row = page.split('data-kind="config_saved"')[1].split("</tr>")[0]
    assert "Основной цвет:" in row and "#7a1f5c" in row
    assert "Согласие родителя нужно ученикам младше, лет:" in visible(row)
    assert "Показать полностью" not in row  # nothing personal to reveal


def test_role_changes_at_login_by_appointment_and_by_deletion_record_old_and_new(app):
    with app.app_context():
        user = _user("tatarstan", "r-1", "Ролевая Анна")
        db.session.flush()
        sync_roles(user, ["guardian", "teacher"])
        db.session.commit()
        sync_roles(user, ["guardian"])
        db.session.commit()
        sync_roles(user, ["guardian"])  # nothing changes: nothing recorded
        db.session.commit()
        teacher = db.session.scalar(select(StructuralRole).filter_by(user_id=user.id,
                                                                     kind="teacher"))  # fmt: skip
        delete_role(user, teacher.id)
        grant_regional_admin("tatarstan", "urn:test", "r-1", "Ролевая Анна")
        revoke_regional_admin("tatarstan", "urn:test", "r-1")
        user_id = user.id
    synced = events(app, "roles_changed")
    assert [e.detail["changes"] for e in synced] == [
        [{"field": "role.guardian", "old": None, "new": "active"},
         {"field": "role.teacher", "old": None, "new": "active"}],
        [{"field": "role.teacher", "old": "active", "new": "ended"}],
    ]  # fmt: skip
    [deleted] = events(app, "role_deleted")
    assert deleted.detail["changes"] == [{"field": "role.teacher", "old": "ended", "new": None}]
    [granted] = events(app, "regional_admin_granted")
    [revoked] = events(app, "regional_admin_revoked")
    assert granted.detail["changes"] == [
        {"field": "role.regional_admin", "old": None, "new": "active"}
    ]
    assert revoked.detail["changes"] == [
        {"field": "role.regional_admin", "old": "active", "new": None}
    ]
    for event in (*synced, deleted, granted, revoked):
        assert event.tenant == "tatarstan" and event.subject_id == user_id


def test_consent_acts_record_the_consent_before_and_after(app, people):
    with app.app_context():
        parent = db.session.get(User, people["parent_user"])
        own = give_own(parent)
        give_own(parent)  # a second press: given stays given
        revoke(parent, own.id)
        give_own(parent)
        give_parental(parent, people["child"])
    given = events(app, "consent_given")
    assert [e.detail["changes"] for e in given] == [
        [{"field": "consent.own", "old": None, "new": "given"}],
        [],
        [{"field": "consent.own", "old": "withdrawn", "new": "given"}],
        [{"field": "consent.parental", "old": None, "new": "given"}],
    ]
    [revoked] = events(app, "consent_revoked")
    assert revoked.detail["changes"] == [
        {"field": "consent.own", "old": "given", "new": "withdrawn"}
    ]
    assert {e.tenant for e in (*given, revoked)} == {"kaluga"}
    assert given[0].subject_id == people["parent_user"]
    assert given[-1].subject_person_id == people["child"]  # the child it is for
    assert given[-1].actor_id == people["parent_user"]


# --- the log: masked, revealed only through the audited reveal --------------------------------


def test_the_log_shows_changes_masked_and_reveals_one_only_when_asked_and_audited(
    app, people, admin
):
    event = correct_parent(app, people)
    page = admin.get("/admin/audit").get_data(as_text=True)
    snils = re.search(rf'<li id="change-{event.id}-1".*?</li>', page, re.S)[0]
    assert "***-***-*** 18" in snils and "***-***-*** 64" in snils
    assert "Показать полностью" in snils
    for whole in (OLD_SNILS, NEW_SNILS, "547-712-782 18", "123-456-789 64", OLD_PHONE,
                  NEW_PHONE):  # fmt: skip
        assert whole not in page, whole
    assert events(app, "audit_value_shown") == []  # reading the log shows nothing whole

    token = csrf_of(admin)
    path = f"/admin/audit/{event.id}/changes/2/reveal"
    assert admin.get(path).status_code == 405  # never by a link
    assert admin.post(path).status_code == 400  # never without the form's key
    assert events(app, "audit_value_shown") == []
    shown = admin.post(path, data={"csrf_token": token, "kind": "registry_corrected"})
    assert shown.status_code == 200
    body = shown.get_data(as_text=True)
    assert "547-712-782 18" in body and "123-456-789 64" in body
    assert "kind=registry_corrected" in body  # back to the log as it was filtered
    [reveal] = events(app, "audit_value_shown")
    assert reveal.tenant == "kaluga" and reveal.actor_id == admin.user_id
    assert reveal.detail["event_id"] == event.id and reveal.detail["shown"] == "snils"
    assert reveal.subject_id == people["parent_user"]
    assert reveal.subject_person_id == people["parent"]
    assert OLD_SNILS not in raw_detail(app, reveal.id)

    fragment = admin.post(f"/admin/audit/{event.id}/changes/1/reveal",
                          data={"csrf_token": token}, headers={"HX-Request": "true"})  # fmt: skip
    assert fragment.get_data(as_text=True).lstrip().startswith(f'<li id="change-{event.id}-0"')
    assert "Пробная" in fragment.get_data(as_text=True)
    assert "Пробнова" in fragment.get_data(as_text=True)
    assert len(events(app, "audit_value_shown")) == 2
    log = admin.get("/admin/audit", query_string={"kind": "audit_value_shown"})
    assert "Значение из журнала показано полностью" in log.get_data(as_text=True)
    assert "Показано полностью" in visible(log.get_data(as_text=True))


def test_nothing_but_a_masked_value_of_ones_own_region_is_revealed(app, people, admin,
                                                                    region_client):  # fmt: skip
    event = correct_parent(app, people)
    with app.app_context():
        audit.record(
            "registry_corrected",
            tenant="mosreg",
            person_id=1,
            changes=[audit.FieldChange("snils", OLD_SNILS, NEW_SNILS, "snils")],
        )
        audit.record(
            "config_saved",
            tenant="kaluga",
            version=3,
            changes=[audit.FieldChange("branding.footer_text", "а", "б")],
        )
    mosreg_event = events(app, "registry_corrected")[-1]
    config_event = events(app, "config_saved")[-1]
    token = csrf_of(admin)
    for path in (f"/admin/audit/{mosreg_event.id}/changes/1/reveal",  # another region's
                 f"/admin/audit/{config_event.id}/changes/1/reveal",  # nothing masked
                 f"/admin/audit/{event.id}/changes/8/reveal",  # no such change
                 "/admin/audit/2147483647/changes/1/reveal"):  # no such event  # fmt: skip
        assert admin.post(path, data={"csrf_token": token}).status_code == 404, path
    assert events(app, "audit_value_shown") == []
    mosreg = signed_in_admin(app, region_client, "mosreg", "adm-m")
    page = mosreg.get("/admin/audit").get_data(as_text=True)
    assert f'data-id="{event.id}"' not in page and f'data-id="{mosreg_event.id}"' in page


def test_a_value_sealed_under_a_key_since_rotated_says_it_cannot_be_read(app, people, admin):
    event = correct_parent(app, people)
    with app.app_context():
        app.extensions["sealing"] = Fernet(Fernet.generate_key())  # DATA_ENCRYPTION_KEY changed
        viewer = db.session.get(User, admin.user_id)
        row, change = audit_log.reveal(("kaluga",), event.id, 1, viewer)
    assert row.event.id == event.id
    assert change.old == change.new == audit_log.UNREADABLE and not change.masked
    assert len(events(app, "audit_value_shown")) == 1  # the attempt is on record all the same


def test_the_whole_value_is_never_kept_in_the_clear_even_when_named_sealed(app):
    with app.app_context():
        audit.record("test_event", tenant="kaluga", sealed="gAAAAA 112-233-445 95",
                     note={"sealed": "112-233-445 95"})  # fmt: skip
        token = audit.stored_change(audit.FieldChange("snils", OLD_SNILS, None, "snils"))["sealed"]
        assert audit.clean({"sealed": token}) == {"sealed": token}  # a real token passes as is
    [event] = events(app, "test_event")
    assert "112-233-445" not in raw_detail(app, event.id)
    assert event.detail["note"]["sealed"] == "***-***-*** 95"


# --- the CSV export ---------------------------------------------------------------------------


def export(client, **filters) -> list[list[str]]:
    response = client.post("/admin/audit/export", data={"csrf_token": csrf_of(client), **filters})
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and response.mimetype_params["charset"] == "utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.startswith("\ufeff".encode())  # UTF-8 with a byte order mark, for Excel
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def test_the_export_is_masked_filtered_and_audited(app, people, admin):
    correct_parent(app, people)
    with app.app_context():
        audit.record("login_failed", tenant="kaluga", reason="wrong_credentials")
    assert admin.get("/admin/audit/export").status_code == 405
    rows = export(admin, kind="registry_corrected")
    assert rows[0] == ["Когда", "Регион", "Событие", "Кто", "Адрес", "Подробности", "Изменения"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Событие"] == "Школа исправила запись" and row["Кто"] == "Школьная Светлана"
    assert row["Регион"] == "Калуга и Калужская область"
    assert "СНИЛС: ***-***-*** 18 → ***-***-*** 64" in row["Изменения"]
    assert "Фамилия: П*** → П***" in row["Изменения"]
    text_ = json.dumps(rows, ensure_ascii=False)
    for whole in (OLD_SNILS, NEW_SNILS, "547-712-782", "123-456-789", OLD_PHONE, NEW_PHONE):
        assert whole not in text_
    [exported] = events(app, "audit_exported")
    assert exported.actor_id == admin.user_id and exported.tenant == "kaluga"
    assert exported.detail["count"] == 1
    assert exported.detail["filters"] == "событие: Школа исправила запись"

    rows = export(admin, who=f"u{people['school_admin']}")  # by person: still only theirs
    assert [r[2] for r in rows[1:]] == ["Школа исправила запись"]
    assert events(app, "audit_exported")[-1].subject_id == people["school_admin"]


def test_no_cell_of_the_export_is_read_as_a_formula(app, admin):
    names = ["=HYPERLINK(\"http://example.test\",\"x\")", "+7 (999) 000-00-00", "-2+3",
             "@SUM(A1:A2)", "\t=1+1", "Обычное имя = 1"]  # fmt: skip
    with app.app_context():
        for n, name in enumerate(names):
            user = _user("kaluga", f"f-{n}", name)
            db.session.flush()
            audit.record("logout", tenant="kaluga", actor_id=user.id)
    rows = export(admin, kind="logout")
    actors = [dict(zip(rows[0], row, strict=True))["Кто"] for row in rows[1:]]
    assert sorted(actors) == sorted(["'" + name for name in names[:5]] + [names[5]])
    for cell in (cell for row in rows for cell in row):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert neutralised("-") == "'-" and neutralised("\r=1") == "'\r=1"
    assert neutralised("Иванов") == "Иванов" and neutralised("") == ""


def test_an_export_over_the_limit_is_refused_with_what_to_do(app, admin, monkeypatch):
    monkeypatch.setattr("app.audit_log.EXPORT_LIMIT", 2)
    with app.app_context():
        for _ in range(3):
            audit.record("logout", tenant="kaluga")
    response = admin.post("/admin/audit/export",
                          data={"csrf_token": csrf_of(admin), "kind": "logout"})  # fmt: skip
    assert response.status_code == 303 and "kind=logout" in response.headers["Location"]
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Сузьте отбор" in page
    assert events(app, "audit_exported") == []


# --- filters: person, kind, days, region ------------------------------------------------------


@pytest.fixture
def trail(app, people):
    """Events of Калуга by and about its people, one of Подмосковье by the same account id."""
    parent, sa, child = people["parent_user"], people["school_admin"], people["child"]
    with app.app_context():
        start = db.session.scalar(select(func.max(AuditEvent.id))) or 0
        audit.record("consent_given", tenant="kaluga", actor_id=parent, user_id=parent,
                     consent="own")  # fmt: skip
        audit.record("trusted_invited", tenant="kaluga", actor_id=sa, invitee_id=parent)
        audit.record("consent_given", tenant="kaluga", actor_id=sa, student_id=child,
                     consent="parental")  # fmt: skip
        audit.record("login_succeeded", tenant="kaluga", actor_id=sa, method="esia")
        audit.record("login_succeeded", tenant="mosreg", actor_id=parent, method="esia")
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.id > start).order_by(AuditEvent.id)
        ).all()
        moments = [datetime(2026, 11, 1, 12, tzinfo=UTC), datetime(2026, 11, 2, 12, tzinfo=UTC),
                   datetime(2026, 11, 3, 12, tzinfo=UTC), datetime(2026, 11, 4, 12, tzinfo=UTC),
                   datetime(2026, 11, 2, 12, tzinfo=UTC)]  # fmt: skip
        for row, moment in zip(rows, moments, strict=True):
            row.created_at = moment
        db.session.commit()
        return [row.id for row in rows]


def listed(client, **query) -> set[int]:
    response = client.get("/admin/audit", query_string=query)
    assert response.status_code == 200
    return set(shown_ids(response.get_data(as_text=True)))


def test_the_log_filters_by_person_as_actor_or_subject(app, people, admin, trail):
    own, invited, parental, login, _ = trail  # (the last: Подмосковье's, by the same id)
    assert listed(admin, who=f"u{people['parent_user']}") == {own, invited}
    assert listed(admin, who=f"u{people['school_admin']}") == {invited, parental, login}
    assert listed(admin, who=f"p{people['child']}") == {parental}
    # The parent's record is hers: her account's events are found by it as well.
    assert listed(admin, who=f"p{people['parent']}") == {own, invited}
    page = admin.get("/admin/audit", query_string={"who": f"p{people['child']}"})
    assert "Пробный Артём Сергеевич" in visible(page.get_data(as_text=True))
    for who in (f"u{people['other_region']}", "u2147483647", "x1", "u", "u1 OR 1=1"):
        assert admin.get("/admin/audit", query_string={"who": who}).status_code == 404, who


def test_the_log_filters_by_kind_and_by_the_regions_days(app, admin, trail):
    own, invited, parental, login, elsewhere = trail
    assert listed(admin, kind="consent_given") == {own, parental}
    assert listed(admin, **{"from": "2026-11-02"}) >= {invited, parental, login}
    assert own not in listed(admin, **{"from": "2026-11-02"})
    assert listed(admin, **{"from": "2026-11-02", "to": "2026-11-03"}) == {invited, parental}
    assert listed(admin, kind="consent_given", **{"to": "2026-11-01"}) == {own}
    assert elsewhere not in listed(admin)
    assert admin.get("/admin/audit", query_string={"region": "mosreg"}).status_code == 404
    assert admin.get("/admin/audit", query_string={"region": "kaluga"}).status_code == 200
    partial = admin.get("/admin/audit", query_string={"kind": "consent_given"},
                        headers={"HX-Request": "true"})  # fmt: skip
    # htmx swaps the results only (and the forms that carry the filter).
    assert partial.get_data(as_text=True).lstrip().startswith('<div id="audit-results">')
    assert set(shown_ids(partial.get_data(as_text=True))) == {own, parental}
    assert "Vary" in partial.headers and "HX-Request" in partial.headers["Vary"]
    restored = admin.get(
        "/admin/audit", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<h1>Журнал событий" in restored.get_data(as_text=True)  # the back button: a page
    assert listed(admin, kind="x" * 500) == set()  # an overlong kind is only a kind
    assert listed(admin, **{"from": "не дата"}) >= {own, invited, parental, login}


def test_a_person_is_found_by_name_without_the_name_in_any_address(app, people, admin, trail):
    response = admin.post("/admin/audit/people",
                          data={"csrf_token": csrf_of(admin), "person": "пробная",
                                "kind": "consent_given"})  # fmt: skip
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    links = [html.unescape(href) for href in re.findall(r'href="(/admin/audit\?[^"]*)"', page)]
    assert any(f"who=u{people['parent_user']}" in link and "kind=consent_given" in link
               for link in links)  # fmt: skip
    assert "Пробная" not in "".join(re.findall(r'href="([^"]*)"', page))
    assert "Подмосковная" not in page  # another region's people are not found
    found = admin.post("/admin/audit/people",
                       data={"csrf_token": csrf_of(admin), "person": "Подмосковная"})  # fmt: skip
    assert "никого не нашлось" in found.get_data(as_text=True)
    number = admin.post("/admin/audit/people",
                        data={"csrf_token": csrf_of(admin),
                              "person": f"№ {people['school_admin']}"})  # fmt: skip
    assert f"who=u{people['school_admin']}" in number.get_data(as_text=True)
    empty = admin.post("/admin/audit/people", data={"csrf_token": csrf_of(admin), "person": " "})
    assert empty.status_code == 400 and 'aria-invalid="true"' in empty.get_data(as_text=True)


# --- keyset pages -----------------------------------------------------------------------------


def _add_events(app, count: int, *, start: datetime, kind: str = "logout") -> None:
    """``count`` events three to a second (ties the pages must break by id)."""
    with app.app_context():
        db.session.execute(insert(AuditEvent), [
            {"tenant": "kaluga", "kind": kind, "detail": {},
             "created_at": start - timedelta(seconds=n // 3)} for n in range(count)
        ])  # fmt: skip
        db.session.commit()


def _walk(admin, app, first: str, arriving) -> list[list[int]]:
    pages, url = [], first
    while url:
        assert len(pages) < 10, "the pages never end"  # a cursor that does not move
        page = admin.get(url).get_data(as_text=True)
        pages.append(shown_ids(page))
        arriving()
        following = re.search(r'href="([^"]+)" rel="next"', page)
        url = html.unescape(following[1]) if following else None
    return pages


def test_pages_show_every_event_once_while_new_ones_arrive(app, admin):
    _add_events(app, 230, start=datetime(2026, 11, 20, 12, tzinfo=UTC))
    with app.app_context():
        before = db.session.execute(
            select(AuditEvent.id).where(AuditEvent.kind == "logout")
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        ).scalars().all()  # fmt: skip

    def arriving():  # between every two pages, five more (now, so newer than all of them)
        with app.app_context():
            for _ in range(5):
                audit.record("logout", tenant="kaluga")

    pages = _walk(admin, app, "/admin/audit?kind=logout", arriving)
    assert [len(p) for p in pages] == [100, 100, 30]
    seen = [event_id for page in pages for event_id in page]
    assert seen == before  # each once, newest first, none of those written meanwhile
    assert len(events(app, "logout")) == 230 + 5 * 3


def test_a_page_address_that_is_no_cursor_starts_from_the_newest(app, admin):
    _add_events(app, 3, start=datetime(2026, 11, 20, 12, tzinfo=UTC))
    for after in ("garbage", "20261120T120000.000000Z99999999999", "99999999T999999.999999Z1"):
        assert len(listed(admin, kind="logout", after=after)) == 3


# --- the trail over time ----------------------------------------------------------------------


def test_erasure_leaves_no_subject_naming_the_erased(app, people):
    with app.app_context():
        parent = db.session.get(User, people["parent_user"])
        give_own(parent)
        erase_user(parent, by=None, reason="обращение № 1")
    [given] = events(app, "consent_given")
    assert given.subject_id is None and given.actor_id is None
    assert str(given.detail["user_id"]).startswith("erased-")


def test_the_migration_finds_the_subjects_of_events_kept_before_it(app):
    with app.app_context():
        downgrade(revision="0010")
        try:
            db.session.execute(text(
                "INSERT INTO audit_event (created_at, tenant, kind, detail) VALUES "
                "(:at, 'kaluga', 'trusted_invited', :a), (:at, 'kaluga', 'consent_given', :b),"
                " (:at, 'kaluga', 'account_erased', :c)"
            ), {"at": datetime(2026, 11, 1, tzinfo=UTC),
                "a": json.dumps({"invitee_id": 7, "children": [3]}),
                "b": json.dumps({"student_id": 11, "consent": "parental"}),
                "c": json.dumps({"user_id": "erased-0123456789abcdef"})})  # fmt: skip
            db.session.commit()
        finally:
            upgrade()
        rows = db.session.execute(
            select(AuditEvent.kind, AuditEvent.subject_id, AuditEvent.subject_person_id)
            .order_by(AuditEvent.id)
        ).all()  # fmt: skip
    assert [tuple(row) for row in rows] == [("trusted_invited", 7, None),
                                            ("consent_given", None, 11),
                                            ("account_erased", None, None)]  # fmt: skip


def test_the_operator_exports_several_regions_from_the_command_line(app, people, tmp_path):
    """The portal's operator (no web role spans regions) filters by region: one, several or
    every region, masked as on the page, and the export is itself recorded."""
    correct_parent(app, people)
    with app.app_context():
        audit.record("logout", tenant="mosreg")
        audit.record("logout", tenant="moscow")
        db.session.commit()
    runner = app.test_cli_runner()

    def exported(*args: str) -> list[list[str]]:
        target = tmp_path / "audit.csv"
        result = runner.invoke(args=["audit", "export", "--output", str(target), *args])
        assert result.exit_code == 0, result.output
        text_ = target.read_text(encoding="utf-8")
        assert text_.startswith("\ufeff")
        return list(csv.reader(io.StringIO(text_.lstrip("\ufeff")), delimiter=";"))

    both = exported("--region", "kaluga", "--region", "mosreg")
    regions = {row[1] for row in both[1:]}
    assert regions == {"Калуга и Калужская область", "Московская область"}
    assert "Москва" not in regions
    corrected = [row for row in both[1:] if row[2] == "Школа исправила запись"]
    assert len(corrected) == 1 and "***-***-***" in corrected[0][6]
    assert OLD_SNILS not in json.dumps(both, ensure_ascii=False)
    every = exported("--kind", "logout")
    assert sorted(row[1] for row in every[1:]) == ["Москва", "Московская область"]
    recorded = events(app, "audit_exported")[-2:]
    assert [event.actor_id for event in recorded] == [None, None]
    assert "регионы: kaluga, mosreg" in recorded[0].detail["filters"]
    assert runner.invoke(args=["audit", "export", "--region", "nowhere"]).exit_code == 2
