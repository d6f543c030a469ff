"""P3 and P7 end to end: a person writes to the school, the school administrator answers in
«Запросы», the person is told and gets in. Each school sees only its own requests."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, JoinRequest, MismatchReport, Person, School
from tests.live import ESIA_REGIONS

regions = pytest.mark.parametrize("slug", ESIA_REGIONS)
FUZZ = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
P3_OWN_SNILS, P3_SCHOOL_SNILS = "775-398-922 80", "791-682-483 55"


def radio_value(page, label: str) -> str:
    """The value of the radio button whose label holds ``label``."""
    match = re.search(rf'value="(\d+)"[^>]*>\s*[^<]*{re.escape(label)}', page.text)
    assert match, f"no choice labelled {label!r}"
    return match[1]


def one(live, model, **filters):
    with live.portal_app.app_context():
        return db.session.scalars(select(model).filter_by(**filters)).one()


# --- P3: the СНИЛС differs ------------------------------------------------------------------


@regions
def test_p3_mismatch_report_is_fixed_by_the_school_and_the_parent_gets_in(browser, live, slug):
    parent = browser(slug)
    page = parent.esia_login("P3")
    assert "Сообщить школе о расхождении" in page.text
    # Her own СНИЛС only masked (152-ФЗ: never in full unasked); the school's not at all.
    assert "***-***-*** 80" in page.text
    assert P3_OWN_SNILS not in page.text and "77539892280" not in page.text
    assert P3_SCHOOL_SNILS not in page.text and "79168248355" not in page.text
    lyceum = radio_value(page, "«Лицей № 2»")
    page = parent.post(
        "/access/mismatch", {"school": lyceum, "share": "snils", "comment": "Проверьте"}
    )
    assert "Запрос отправлен: Лицей № 2" in page.text
    assert "на рассмотрении" in page.text

    report = one(live, MismatchReport, tenant=slug)
    assert report.field == "snils" and report.sent == {"snils": "77539892280"}  # nothing else

    school = browser(slug)
    school.esia_login("SL")  # the lyceum's administrator
    queue = school.get("/school/requests")
    assert "Пробная Ирина Викторовна" in queue.text and "СНИЛС" in queue.text
    detail = school.get(f"/school/requests/mismatch/{report.id}")
    assert "***-***-*** 80" in detail.text  # what she sent, masked…
    assert P3_OWN_SNILS not in detail.text and P3_SCHOOL_SNILS not in detail.text
    assert "irina.probnaya@example.test" not in detail.text.split("Запись школы")[0]  # …only that
    detail = school.post(f"/school/requests/mismatch/{report.id}/snils")  # shown whole, audited
    assert P3_OWN_SNILS in detail.text and P3_SCHOOL_SNILS in detail.text
    with live.portal_app.app_context():
        shown = db.session.scalars(
            select(AuditEvent).filter_by(tenant=slug, kind="snils_shown")
        ).one()  # who (the administrator), whose (the record), when
    assert shown.actor_id is not None and shown.actor_id != report.user_id
    assert shown.detail["person_id"] == report.record_id and shown.created_at is not None
    assert "77539892280" not in str(shown.detail)

    bad = school.post(f"/school/requests/mismatch/{report.id}/correct",
                      {**record_form(detail), "snils": "775-398-922 81"})  # fmt: skip
    assert bad.status_code == 400 and "Контрольное число СНИЛС не сходится." in bad.text
    page = school.post(f"/school/requests/mismatch/{report.id}/correct",
                       {**record_form(detail), "snils": P3_OWN_SNILS})  # fmt: skip
    assert "Данные исправлены" in page.text

    again = browser(slug)
    page = again.esia_login("P3")
    assert page.url.endswith("/diary/") and "Пробный Артём Сергеевич" in page.text
    notes = again.get("/notifications/").text
    assert "Школа исправила данные: Лицей № 2" in notes
    with live.portal_app.app_context():
        audit = db.session.scalars(
            select(AuditEvent).filter_by(tenant=slug, kind="registry_corrected")
        ).one()
    assert audit.detail["fields"] == ["snils"]


def record_form(detail) -> dict[str, str]:
    fields = re.findall(r'<input id="(\w+)" name="\1" type="\w+" value="([^"]*)"', detail.text)
    return dict(fields)


def test_p3_school_may_refuse_with_a_reason_the_parent_reads(browser, live):
    parent = browser("kaluga")
    page = parent.esia_login("P3")
    parent.post("/access/mismatch", {"school": radio_value(page, "«Лицей № 2»")})
    report = one(live, MismatchReport, tenant="kaluga")
    assert report.sent == {}  # she ticked nothing: the school learns only which field differs

    school = browser("kaluga")
    school.esia_login("SL")
    school.get(f"/school/requests/mismatch/{report.id}")
    refused = school.post(f"/school/requests/mismatch/{report.id}/reject", {"reason": " "})
    assert refused.status_code == 400 and "Укажите причину" in refused.text
    school.post(f"/school/requests/mismatch/{report.id}/reject",
                {"reason": "В школе СНИЛС по документам; проверьте Госуслуги"})  # fmt: skip

    page = browser("kaluga").esia_login("P3")
    assert "отклонён" in page.text and "проверьте Госуслуги" in page.text


def test_a_report_names_only_the_schools_that_hold_the_record(browser):
    parent = browser("mosreg")
    page = parent.esia_login("P3")
    assert "Лицей № 2" in page.text and "Средняя общеобразовательная школа № 1" not in page.text
    with_other_school = parent.post("/access/mismatch", {"school": "999999"})
    assert with_other_school.status_code == 400
    assert "Выберите образовательную организацию из списка." in with_other_school.text


# --- P7: joining a school -------------------------------------------------------------------


@regions
def test_p7_joins_a_school_found_by_its_legal_name(browser, live, slug):
    student = browser(slug)
    student.esia_login("P7")
    page = student.get("/access/", params={"q": "средняя ОБЩЕОБРАЗОВАТЕЛЬНАЯ школа №"})
    school_id = radio_value(page, "Средняя общеобразовательная школа № 1")
    assert "Лицей № 2" not in page.text.split('id="schools"')[1]
    page = student.post("/access/join", {"school": school_id, "class_name": "11А"})
    assert "Запрос отправлен: СОШ № 1" in page.text and "на рассмотрении" in page.text
    student.post("/access/join", {"school": school_id, "class_name": "11А"})  # pressed twice
    request = one(live, JoinRequest, tenant=slug)  # still one request
    assert request.applicant["snils"] == "43053041927"

    admin = browser(slug)
    admin.esia_login("SA")
    assert "Учебный Никита Павлович" in admin.get("/school/requests").text
    detail = admin.get(f"/school/requests/join/{request.id}")
    assert "***-***-*** 27" in detail.text and "430-530-419 27" not in detail.text
    assert "<option" in detail.text
    shown = admin.post(f"/school/requests/join/{request.id}/snils")  # whole, and audited
    assert "430-530-419 27" in shown.text
    with live.portal_app.app_context():
        event = db.session.scalars(
            select(AuditEvent).filter_by(tenant=slug, kind="snils_shown")
        ).one()
    assert event.detail["user_id"] == request.user_id and event.actor_id != request.user_id
    class_id = re.search(r'<option value="(\d+)" selected>11А</option>', detail.text)[1]
    page = admin.post(f"/school/requests/join/{request.id}/approve", {"class_id": class_id})
    assert "Запрос одобрен: Учебный Никита Павлович" in page.text

    again = browser(slug)
    page = again.esia_login("P7")  # 16 and his own account: his own consent is asked
    assert "«Для входа в дневник необходимо согласие." in page.text
    page = again.post("/access/consent")
    assert page.url.endswith("/diary/") and "Учебный Никита Павлович, 11А класс" in page.text
    assert "Запрос одобрен: СОШ № 1" in again.get("/notifications/").text


def test_p7_typeahead_answers_htmx_with_the_results_only(browser):
    student = browser("tatarstan")
    student.esia_login("P7")
    partial = student.get("/access/schools", params={"q": "лицей"},
                          headers={"HX-Request": "true"})  # fmt: skip
    assert (
        partial.text.lstrip().startswith('<fieldset id="schools"')
        and "«Лицей № 2» г. Казани" in partial.text
    )
    short = student.get("/access/schools", params={"q": "ли"}, headers={"HX-Request": "true"})
    assert "Введите не меньше 3 букв" in short.text
    none = student.get(
        "/access/schools", params={"q": "гимназия 9"}, headers={"HX-Request": "true"}
    )
    assert "Ничего не найдено" in none.text
    # Without JavaScript the same address gives the whole page with the results.
    page = student.get("/access/schools", params={"q": "лицей"})
    assert page.url.endswith("/access/?q=%D0%BB%D0%B8%D1%86%D0%B5%D0%B9")
    assert "<!doctype html>" in page.text and "«Лицей № 2» г. Казани" in page.text


def test_p7_rejection_is_explained_and_a_new_request_can_follow(browser, live):
    student = browser("mosreg")
    page = student.esia_login("P7")
    page = student.get("/access/", params={"q": "лицей"})
    student.post("/access/join", {"school": radio_value(page, "«Лицей № 2»")})
    request = one(live, JoinRequest, tenant="mosreg")
    admin = browser("mosreg")
    admin.esia_login("SL")
    admin.get(f"/school/requests/join/{request.id}")
    no_class = admin.post(f"/school/requests/join/{request.id}/approve", {"class_id": ""})
    assert no_class.status_code == 400 and "Выберите класс" in no_class.text
    admin.post(f"/school/requests/join/{request.id}/reject", {"reason": "Мест в 10 классе нет"})
    again = admin.post(f"/school/requests/join/{request.id}/reject", {"reason": "ещё раз"})
    assert again.status_code == 400 and "Запрос уже рассмотрен." in again.text

    page = browser("mosreg").esia_login("P7")
    assert "отклонён" in page.text and "Мест в 10 классе нет" in page.text
    assert 'action="/access/join"' in page.text  # he may ask another school


def test_joining_needs_a_school_of_this_region(browser, live):
    student = browser("mosreg")
    student.esia_login("P7")
    with live.portal_app.app_context():
        elsewhere = db.session.scalar(select(School.id).filter_by(tenant="kaluga", key="school-1"))
    page = student.post("/access/join", {"school": str(elsewhere)})
    assert (
        page.status_code == 400 and "Выберите образовательную организацию из списка." in page.text
    )
    assert student.post("/access/join", {}).status_code == 400
    for beyond_any_id in ("99999999999", "-1", "0", "1e9"):
        assert student.post("/access/join", {"school": beyond_any_id}).status_code == 400


# --- every school sees only its own ---------------------------------------------------------


@pytest.fixture
def requests_of_both_schools(browser, live):
    """A join request to СОШ № 1 and a mismatch report to Лицей № 2, in mosreg."""
    student = browser("mosreg")
    student.esia_login("P7")
    page = student.get("/access/", params={"q": "школа № 1"})
    student.post("/access/join", {"school": radio_value(page, "школа № 1")})
    parent = browser("mosreg")
    page = parent.esia_login("P3")
    parent.post("/access/mismatch", {"school": radio_value(page, "«Лицей № 2»")})
    return one(live, JoinRequest, tenant="mosreg").id, one(live, MismatchReport, tenant="mosreg").id


@pytest.fixture
def school_admins(browser, requests_of_both_schools):
    sa, sl = browser("mosreg"), browser("mosreg")
    sa.esia_login("SA")
    sl.esia_login("SL")
    return sa, sl


@FUZZ
@given(
    request_id=st.integers(min_value=-5, max_value=2**40),
    kind=st.sampled_from(["join", "mismatch"]),
)
def test_a_school_admin_opens_only_their_own_schools_requests(
    school_admins, requests_of_both_schools, request_id, kind
):
    sa, sl = school_admins
    join_id, report_id = requests_of_both_schools
    for admin, own in ((sa, ("join", join_id)), (sl, ("mismatch", report_id))):
        status = admin.get(f"/school/requests/{kind}/{request_id}").status_code
        assert status == (200 if (kind, request_id) == own else 404)


def test_a_school_admin_cannot_answer_another_schools_request(
    school_admins, requests_of_both_schools, live
):
    sa, sl = school_admins
    join_id, report_id = requests_of_both_schools
    sa.get("/school/requests")
    assert (
        sa.post(f"/school/requests/mismatch/{report_id}/reject", {"reason": "x"}).status_code == 404
    )
    assert sa.post(f"/school/requests/mismatch/{report_id}/correct", {}).status_code == 404
    sl.get("/school/requests")
    assert sl.post(f"/school/requests/join/{join_id}/approve", {"class_id": "1"}).status_code == 404
    assert "Учебный Никита" not in sl.get("/school/requests").text
    assert "Пробная Ирина" not in sa.get("/school/requests").text
    assert one(live, JoinRequest, id=join_id).status == "pending"


def test_people_who_are_not_school_admins_get_403(browser, requests_of_both_schools):
    parent = browser("mosreg")
    parent.esia_login("P1")
    assert parent.get("/school/requests").status_code == 403
    join_id, _ = requests_of_both_schools
    assert parent.get(f"/school/requests/join/{join_id}").status_code == 403


def test_registry_record_never_reaches_the_person(browser, live):
    """Whatever P3 opens, the school's СНИЛС for her does not appear."""
    parent = browser("tatarstan")
    parent.esia_login("P3")
    with live.portal_app.app_context():
        stored = db.session.scalar(select(Person.snils).filter_by(tenant="tatarstan",
                                                                  key="probnaya_irina"))  # fmt: skip
    for path in ("/access/", "/access/?q=лицей", "/notifications/", "/diary/"):
        page = parent.get(path)
        assert stored not in page.text and P3_SCHOOL_SNILS not in page.text
