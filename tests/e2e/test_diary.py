"""The diary pages over HTTP: whose diary, which week, htmx partials, and what it costs."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, select

from app.diary.stub import StubDiary
from app.extensions import db
from app.models import Guardianship, Person
from app.schools.registry import import_records

WEEK = "2026-W47"
HTMX = {"HX-Request": "true"}
FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def person_id(live, tenant: str, key: str) -> int:
    with live.portal_app.app_context():
        return db.session.scalar(select(Person.id).filter_by(tenant=tenant, key=key))


def student_heading(page) -> str:
    return re.search(r'<h2 class="student">([^<]+)</h2>', page.text)[1]


def test_parent_switches_children_and_weeks(browser, live):
    b = browser("mosreg")
    b.esia_login("P1")
    page = b.get("/diary/", params={"week": WEEK})
    assert student_heading(page).startswith("Образцов Михаил Андреевич, 6В класс")
    assert "16 ноября — 20 ноября 2026 · 2-я четверть" in page.text
    assert 'rel="prev"' in page.text and "week=2026-W46" in page.text
    assert '<svg class="spark"' in page.text and "Оценки за 2-ю четверть" in page.text

    dasha = person_id(live, "mosreg", "obraztsova_dasha")
    page = b.get("/diary/", params={"child": dasha, "week": "2026-W48"})
    assert student_heading(page).startswith("Образцова Дарья Андреевна, 4Б класс")
    assert "23 ноября — 27 ноября 2026" in page.text
    assert f'href="/diary/?week=2026-W49&amp;child={dasha}"' in page.text
    assert "Литературное чтение" in page.text or "Окружающий мир" in page.text


def test_htmx_gets_the_partial_and_plain_requests_the_whole_page(browser):
    b = browser("kaluga")
    b.esia_login("P1")
    partial = b.get("/diary/", params={"week": WEEK}, headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="diary"')
    assert "<html" not in partial.text
    assert "HX-Request" in partial.headers["Vary"]
    whole = b.get("/diary/", params={"week": WEEK})
    assert whole.text.startswith("<!doctype html>") and '<div id="diary"' in whole.text
    assert "no-store" in whole.headers["Cache-Control"]


def test_a_bad_week_or_child_is_a_clear_refusal(browser):
    b = browser("tatarstan")
    b.esia_login("P1")
    page = b.get("/diary/", params={"week": "2026-W99"})
    assert page.status_code == 400 and "Неделя указана неверно" in page.text
    assert b.get("/diary/", params={"child": "abc"}).status_code == 404


def test_the_same_week_shows_the_same_diary_every_time(browser):
    b = browser("mosreg")
    b.esia_login("P1")
    first = b.get("/diary/", params={"week": WEEK}).text
    again = b.get("/diary/", params={"week": WEEK}).text
    strip = re.compile(r'name="csrf_token" value="[^"]+"|"X-CSRFToken": "[^"]+"')
    assert strip.sub("", first) == strip.sub("", again)


def test_a_child_waiting_for_the_zags_check_has_no_diary_yet(browser, live):
    b = browser("mosreg")
    page = b.esia_login("P4")
    assert "Ожидают проверки ЗАГС" in page.text
    assert student_heading(page).startswith("Демова Софья Ивановна")
    vanya = person_id(live, "mosreg", "demov_vanya")
    assert b.get("/diary/", params={"child": vanya}).status_code == 404


def test_a_student_sees_their_own_diary(browser):
    b = browser("kaluga")
    page = b.esia_login("P5")
    assert student_heading(page).startswith("Демова Софья Ивановна, 6А класс")
    assert "child=" not in page.text  # no switcher: nobody else's diary to switch to


def test_a_teacher_sees_their_classes(browser):
    b = browser("mosreg")
    b.esia_login("P9")
    page = b.post("/access/role", {"role": "teacher"})
    assert "<h2>Ваши классы</h2>" in page.text
    assert re.findall(r"<li>([^<]+)</li>", page.text.split("Ваши классы")[1])[:2] == [
        "6В — СОШ № 1",
        "7Б — СОШ № 1",
    ]


def test_a_link_the_school_removes_ends_access_on_the_next_request(browser, live):
    b = browser("mosreg")
    b.esia_login("P1")
    dasha = person_id(live, "mosreg", "obraztsova_dasha")
    assert b.get("/diary/", params={"child": dasha}).status_code == 200
    with live.portal_app.app_context():
        mother = person_id(live, "mosreg", "obraztsova_anna")
        db.session.execute(delete(Guardianship).filter_by(guardian_id=mother, student_id=dasha))
        db.session.commit()
    assert b.get("/diary/", params={"child": dasha}).status_code == 404


@pytest.fixture
def mother(browser):
    """P1 signed in once for every example of a test (fixtures outlive hypothesis examples)."""
    b = browser("mosreg")
    b.esia_login("P1")
    return b


@FUZZ
@given(child=st.integers(min_value=-(2**40), max_value=2**40))
def test_a_parent_gets_404_for_every_child_not_theirs(mother, live, child):
    """IDOR: whatever id is asked for, only the parent's own children open."""
    own = {person_id(live, "mosreg", key) for key in ("obraztsov_misha", "obraztsova_dasha")}
    status = mother.get("/diary/", params={"child": child}).status_code
    assert status == (200 if child in own else 404)


@FUZZ
@given(
    child=st.sampled_from(["obraztsov_misha", "obraztsova_dasha", "primerov_kostya",
                           "demov_vanya", "probny_artem", "moskvin_lev"]),
    tenant=st.sampled_from(["mosreg", "kaluga", "tatarstan", "moscow"]),
)  # fmt: skip
def test_real_children_of_other_families_and_regions_are_404(mother, live, child, tenant):
    """IDOR with ids that exist: other families' children, and the same children elsewhere."""
    own = tenant == "mosreg" and child in ("obraztsov_misha", "obraztsova_dasha")
    known = person_id(live, tenant, child)
    assume(known is not None)  # that child is in that region's registry
    status = mother.get("/diary/", params={"child": known}).status_code
    assert status == (200 if own else 404)


def count_queries(live, fetch) -> int:
    statements: list[str] = []
    with live.portal_app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert fetch().status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def more_children(live, how_many: int) -> None:
    """Moscow's registry is the source of a mos.ru parent's children (M1): give her more."""
    records = [{"type": "class", "school": "school-1502", "name": "11Б"}]
    for i in range(how_many):
        key = f"extra_child_{i}"
        records += [
            {"type": "person", "key": key, "last_name": "Москвин", "first_name": f"Ребёнок{i}",
             "birth_date": "2012-01-01"},
            {"type": "enrolment", "person": key, "school": "school-1502", "class": "11Б"},
            {"type": "guardian", "guardian": "moskvina_olga", "student": key},
        ]  # fmt: skip
    with live.portal_app.app_context():
        import_records("moscow", enumerate(records, 1), source="test")


def test_queries_per_diary_page_do_not_grow_with_children_subjects_or_marks(browser, live):
    b = browser("moscow")
    b.mosru_login("M1")
    alisa = person_id(live, "moscow", "moskvina_alisa")  # 1А: the fewest subjects
    base = count_queries(live, lambda: b.get("/diary/", params={"child": alisa, "week": WEEK}))

    more_children(live, 10)
    many = browser("moscow")
    many.mosru_login("M1")
    switcher = many.get("/diary/").text.split('class="child-switcher')[1].split("</nav>")[0]
    assert switcher.count("<a ") == 12 and switcher.count("Ребёнок") == 10
    with_children = count_queries(
        live, lambda: many.get("/diary/", params={"child": alisa, "week": WEEK})
    )
    senior = person_id(live, "moscow", "extra_child_0")  # 11Б: the most subjects
    with_subjects = count_queries(
        live, lambda: many.get("/diary/", params={"child": senior, "week": WEEK})
    )
    backend = live.portal_app.extensions["diary"]
    live.portal_app.extensions["diary"] = StubDiary(mark_chance=1.0)  # a mark every lesson
    try:
        with_marks = count_queries(
            live, lambda: many.get("/diary/", params={"child": senior, "week": WEEK})
        )
    finally:
        live.portal_app.extensions["diary"] = backend
    assert base == with_children == with_subjects == with_marks
    # session (without Redis), user, children, the audit row of the view, unread count
    assert base <= 5


def test_a_kept_diary_body_never_outlives_its_data(browser, live):
    """Each worker keeps rendered diary bodies by their values: a backend whose week changes
    (a new mark) shows the change on the next view, and each child keeps their own page."""
    b = browser("mosreg")
    b.esia_login("P1")
    dasha = person_id(live, "mosreg", "obraztsova_dasha")

    def body(**params) -> str:  # the diary's part alone (htmx): no per-request token in it
        return b.get("/diary/", params={"week": WEEK, **params}, headers=HTMX).text

    misha, dasha_page = body(), body(child=dasha)
    assert "Образцов Михаил" in misha and "Образцова Дарья" in dasha_page
    assert body() == misha and body(child=dasha) == dasha_page

    backend = live.portal_app.extensions["diary"]
    live.portal_app.extensions["diary"] = StubDiary(mark_chance=1.0)  # marks were added
    try:
        marked = body()
    finally:
        live.portal_app.extensions["diary"] = backend
    badges = re.compile(r'<span class="mark mark-\d">')
    assert len(badges.findall(marked)) > len(badges.findall(misha))
    assert body() == misha  # and back


def test_every_view_of_a_childs_diary_is_audited(browser, live):
    b = browser("mosreg")
    b.esia_login("P1")
    dasha = person_id(live, "mosreg", "obraztsova_dasha")
    b.get("/diary/", params={"child": dasha, "week": WEEK})
    with live.portal_app.app_context():
        from app import audit_spool
        from app.models import AuditEvent

        audit_spool.settle()  # as every reader of the trail does (on SQLite: spooled rows)
        views = db.session.scalars(
            select(AuditEvent).filter_by(kind="diary_viewed").order_by(AuditEvent.id)
        ).all()
    assert [(v.detail["student_id"], v.detail["role"]) for v in views][-1] == (dasha, "guardian")
    assert views[-1].detail["week"] == WEEK and views[-1].actor_id is not None


def test_a_view_that_fills_the_spool_moves_it_after_the_page_was_sent(browser, live, monkeypatch):
    """On SQLite a view's row goes to the audit spool (app/audit_spool.py); the view that
    brings it to ``DRAIN_AT`` bytes moves it into the table once its page was sent. (On
    PostgreSQL the view commits its row itself.)"""
    from app import audit_spool
    from app.models import AuditEvent

    monkeypatch.setattr(audit_spool, "DRAIN_AT", 1)  # every view fills it
    b = browser("mosreg")
    b.esia_login("P1")
    dasha = person_id(live, "mosreg", "obraztsova_dasha")
    assert b.get("/diary/", params={"child": dasha, "week": WEEK}).status_code == 200
    seen = select(AuditEvent).filter_by(kind="diary_viewed", subject_person_id=dasha)
    with live.portal_app.app_context():
        for _ in range(50):  # the server moves it once it has sent the page
            if db.session.scalars(seen).first() is not None:  # no reader drained it
                break
            db.session.rollback()
            time.sleep(0.1)
        else:
            raise AssertionError("the view's row did not reach the table")
        spool = live.portal_app.extensions.get("audit_spool")
        assert spool is None or not (spool.directory / audit_spool.CURRENT).exists()


def test_htmx_errors_replace_the_main_area_and_redirects_change_page(browser, live):
    b = browser("mosreg")
    b.esia_login("P1")
    htmx = {"HX-Request": "true"}
    missing = b.get("/diary/", params={"child": 999999}, headers=htmx)
    assert missing.status_code == 404 and "Страница не найдена" in missing.text
    assert (missing.headers["HX-Retarget"], missing.headers["HX-Reswap"]) == ("#main", "outerHTML")
    assert "HX-Retarget" not in b.get("/diary/", params={"child": 999999}).headers

    b.http.cookies.clear()  # the session is over: the next swap must become a page change
    ended = b.get("/diary/", params={"week": WEEK}, headers=htmx, allow_redirects=False)
    assert ended.status_code == 200 and ended.text == ""
    assert ended.headers["HX-Redirect"].startswith("/login?next=")
    assert b.get("/diary/", allow_redirects=False).status_code == 302  # without htmx: as before
