"""Accounts of the region (``/admin/accounts``), over HTTP against the live portal and the
identity-provider emulator: a regional administrator finds a person of their region only,
opens the account (roles, registry record, sessions in the region's time), disables it — the
person's sessions end at once and every login method then stops with the words to contact
the school — and enables it again; each change audited, asked first, refused on one's own
account (409) and on another region's (404), and made once however many press at once."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from app import accounts_admin, wording
from app.accounts import grant_regional_admin
from app.extensions import db, limiter
from app.models import AuditEvent, PasswordCredential, User
from app.sessions import ENDED_NOTICES, current_store
from app.signin import DISABLED
from tests import live as served
from tests.live import Browser

# The live portal and emulator (tests/live.py), the fixtures tests/e2e/conftest.py takes too.
servers, live, browser = served.servers, served.live, served.browser
esia_env, localhost_subdomains = served.esia_env, served.localhost_subdomains

HTMX = {"HX-Request": "true"}
PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) " \
        "Chrome/126.0.0.0 Mobile Safari/537.36"  # fmt: skip
LAPTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
ANNA = "Образцова Анна Петровна"  # P1, a synthetic demo parent
ANNA_SNILS = "547-712-782 18"
TIMUR_LOGIN, TIMUR_INITIAL = "parolev.demo", "Nachalo-P10-demo"
TIMUR_PASSWORD = "синий паровоз идёт на юг"
NOTICE = ENDED_NOTICES["account_disabled"]


# --- people and pages -------------------------------------------------------------------------


def admin(browser, slug: str = "mosreg") -> Browser:
    """The region's administrator: ADM on Госуслуги, MA on mos.ru."""
    b = browser(slug)
    if slug == "moscow":
        b.mosru_login("MA")
    else:
        b.esia_login("ADM")
    assert b.get("/admin/").status_code == 200
    return b


def signed_in(browser, slug="mosreg", persona="P1", user_agent=PHONE) -> Browser:
    b = browser(slug)
    b.http.headers["User-Agent"] = user_agent
    page = b.mosru_login(persona) if slug == "moscow" else b.esia_login(persona)
    assert page.url.endswith("/diary/"), page.url
    return b


def password_login(b: Browser, login: str, password: str):
    b.get("/login/password")
    return b.post("/login/password", {"login": login, "password": password})


def timur(browser, slug: str = "kaluga") -> Browser:
    """P10 in with the school-issued login, his own password chosen at the first login."""
    b = browser(slug)
    assert password_login(b, TIMUR_LOGIN, TIMUR_INITIAL).url.endswith("/login/password/change")
    page = b.post("/login/password/change",
                  {"password": TIMUR_PASSWORD, "password_again": TIMUR_PASSWORD})  # fmt: skip
    assert page.url.endswith("/diary/")
    return b


def account_id(live, slug: str, name: str) -> int:
    with live.portal_app.app_context():
        return db.session.scalars(select(User.id).filter_by(tenant=slug, display_name=name)).one()


def own_id(live, slug: str) -> int:
    """The id of the administrator who logged in last in the region."""
    with live.portal_app.app_context():
        return db.session.scalars(
            select(AuditEvent.actor_id)
            .filter_by(tenant=slug, kind="login_succeeded")
            .order_by(AuditEvent.id.desc())
        ).first()


def search(b: Browser, q: str, **extra):
    b.get("/admin/accounts")
    return b.post("/admin/accounts", {"q": q, **extra})


def found_ids(page) -> list[int]:
    return [int(i) for i in re.findall(r'data-account="(\d+)"', page.text)]


def change(b: Browser, uid: int, action: str, reason: str):
    """Ask, then confirm, as the pages do: the answer to the confirmed POST."""
    b.get(f"/admin/accounts/{uid}")
    asked = b.post(f"/admin/accounts/{uid}/{action}", {"reason": reason})
    assert asked.status_code == 200 and 'name="confirm" value="yes"' in asked.text, asked.text
    return b.post(f"/admin/accounts/{uid}/{action}", {"reason": reason, "confirm": "yes"})


def events(live, kind: str, slug: str = "mosreg") -> list[AuditEvent]:
    with live.portal_app.app_context():
        return db.session.scalars(
            select(AuditEvent).filter_by(tenant=slug, kind=kind).order_by(AuditEvent.id)
        ).all()


def is_signed_out_with_the_reason(b: Browser) -> bool:
    page = b.get("/diary/")
    return "/login?next=" in page.url and NOTICE in page.text


# --- finding a person -------------------------------------------------------------------------


def test_a_person_is_found_by_name_email_phone_or_the_last_digits_of_snils(browser, live):
    signed_in(browser, "mosreg")
    signed_in(browser, "kaluga")  # the same person has an account in another region too
    anna = account_id(live, "mosreg", ANNA)
    elsewhere = account_id(live, "kaluga", ANNA)
    b = admin(browser, "mosreg")
    for query in ("образцова", "Анна Образцова", "ОБРАЗЦОВА  анна петровна", "Obraztsova@",
                  "anna.obraztsova@example.test", "ANNA.Obraztsova@Example.TEST",
                  "8 (900) 000-01-01", "+7 900 000 01 01", "78218", "218", ANNA_SNILS):  # fmt: skip
        page = search(b, query)
        if query == "Obraztsova@":  # part of an address is not an address: nothing
            assert page.status_code == 200 and anna not in found_ids(page)
            continue
        assert page.status_code == 200, query
        assert anna in found_ids(page), query
        assert elsewhere not in found_ids(page), query  # only this region's accounts
    page = search(b, "Образцова")
    row = re.search(rf'<tr data-account="{anna}">.*?</tr>', page.text, re.S)[0]
    assert ANNA in row and "Родитель" in row and "Действует" in row
    assert "***-***-*** 18" in row and "**.**." in row  # masked: the last digits, the year
    assert ANNA_SNILS not in page.text and "54771278218" not in page.text
    assert "Найдено учётных записей: 1." in page.text
    for query in ("Несуществующая", "000000", "nobody@example.test"):
        page = search(b, query)
        assert page.status_code == 200 and found_ids(page) == []
        assert "учётных записей не найдено" in page.text
    kaluga = admin(browser, "kaluga")
    assert found_ids(search(kaluga, "Образцова")) == [elsewhere]


def test_what_cannot_be_searched_is_said_at_the_field(browser, live):
    b = admin(browser)
    for query, words in (("", "хотя бы два знака"), ("а", "хотя бы два знака"),
                         ("-- ", "хотя бы два знака"), ("я" * 101, "Не длиннее 100")):  # fmt: skip
        page = search(b, query)
        assert page.status_code == 400 and words in page.text
        field = re.search(r'<input id="q"[^>]*>', page.text)[0]
        assert 'aria-invalid="true"' in field and 'aria-describedby="q-hint q-error"' in field
        assert 'id="q-error"' in page.text
    # htmx: the search block alone, swapped in place
    b.get("/admin/accounts")
    page = b.post("/admin/accounts", {"q": "образцова"}, headers=HTMX)
    assert page.text.lstrip().startswith('<div id="account-search">')
    assert "<!doctype html>" not in page.text and "HX-Request" in page.headers["Vary"]


def test_results_come_a_page_at_a_time(browser, live):
    with live.portal_app.app_context():
        for n in range(accounts_admin.PAGE + 5):
            db.session.add(User(tenant="tatarstan", issuer="urn:test:paging", subject=f"p{n}",
                                display_name=f"Листалова Тестовая {n:02d}",
                                surname_key="листалова"))  # fmt: skip
        db.session.add(User(tenant="kaluga", issuer="urn:test:paging", subject="other",
                            display_name="Листалова Из Калуги", surname_key="листалова"))  # fmt: skip
        db.session.commit()
    b = admin(browser, "tatarstan")
    first = search(b, "листалова")
    assert len(found_ids(first)) == accounts_admin.PAGE
    assert f"Найдено учётных записей: {accounts_admin.PAGE + 5}, показаны с 1 по 20." in first.text
    assert "Следующие" in first.text and "Предыдущие" not in first.text
    second = b.post("/admin/accounts", {"q": "листалова", "offset": "20"})
    assert len(found_ids(second)) == 5 and not set(found_ids(first)) & set(found_ids(second))
    assert "Предыдущие" in second.text and "Следующие" not in second.text
    assert "Из Калуги" not in first.text + second.text
    beyond = b.post("/admin/accounts", {"q": "листалова", "offset": "999999999"})
    assert beyond.status_code == 200 and found_ids(beyond) == found_ids(second)  # the last page


# --- one account, disabled and enabled --------------------------------------------------------


def test_the_account_page_shows_roles_registry_record_and_sessions_in_the_regions_time(
    browser, live
):
    phone = signed_in(browser)
    signed_in(browser, user_agent=LAPTOP)
    anna = account_id(live, "mosreg", ANNA)
    b = admin(browser)
    page = b.get(f"/admin/accounts/{anna}")
    assert page.status_code == 200 and f"<h1>{ANNA}</h1>" in page.text
    assert "Родитель — активна" in page.text and "Госуслуги" in page.text
    assert "Родитель: ребёнок Образцов Михаил Андреевич" in page.text
    assert "***-***-*** 18" in page.text and "a***@example.test" in page.text
    assert ANNA_SNILS not in page.text and "anna.obraztsova@example.test" not in page.text
    sessions = re.search(r'<table class="regions sessions">.*?</table>', page.text, re.S)[0]
    assert "<caption" in sessions and '<th scope="col">Устройство</th>' in sessions
    assert sessions.count("<tr>") == 3  # the header and her two sessions
    assert "Chrome, Android" in sessions and "Firefox, Windows" in sessions
    zone = ZoneInfo(live.portal_app.extensions["tenants"].get("mosreg").config.timezone)
    with live.portal_app.app_context():
        records = list(current_store(live.portal_app).of_user("mosreg", anna).values())
    assert len(records) == 2
    for record in records:  # the moments in the region's zone, as people there read them
        created = datetime.fromtimestamp(record.created, UTC)
        assert wording.local_time(created, zone) in sessions
        assert f"{created:%H:%M}" not in sessions or zone.utcoffset(created) == timedelta(0)
    assert "московское время" in page.text
    assert "Учётная запись действует" in page.text and "Отключить учётную запись" in page.text
    assert phone.get("/diary/").url.endswith("/diary/")  # looking changes nothing


def test_disabling_asks_then_ends_every_session_at_once_and_is_audited(browser, live):
    phone, laptop = signed_in(browser), signed_in(browser)
    anna = account_id(live, "mosreg", ANNA)
    b = admin(browser)
    b.get(f"/admin/accounts/{anna}")
    asked = b.post(f"/admin/accounts/{anna}/disable", {"reason": "обращение № 12 от школы"})
    assert "<h1>Отключение учётной записи</h1>" in asked.text
    assert f"Отключить учётную запись: {ANNA}?" in asked.text
    assert "обращение № 12 от школы" in asked.text and "Да, отключить" in asked.text
    assert not is_signed_out_with_the_reason(phone)  # asked, nothing done
    assert events(live, "account_disabled") == []

    done = b.post(f"/admin/accounts/{anna}/disable",
                  {"reason": "обращение № 12 от школы", "confirm": "yes"})  # fmt: skip
    assert done.status_code == 200 and done.url.endswith(f"/admin/accounts/{anna}")
    assert "Учётная запись отключена. Завершено сеансов: 2." in done.text
    assert "обращение № 12 от школы" in done.text and "Включить учётную запись" in done.text
    # Her very next request, on either device, is signed out and told why.
    assert is_signed_out_with_the_reason(phone) and is_signed_out_with_the_reason(laptop)
    assert "обратитесь в школу" in NOTICE
    (disabled,) = events(live, "account_disabled")
    assert disabled.actor_id == own_id(live, "mosreg")
    assert disabled.detail["user_id"] == anna
    assert disabled.detail["reason"] == "обращение № 12 от школы"
    ended = events(live, "sessions_ended")[-1]
    assert ended.detail["reason"] == "account_disabled" and ended.detail["count"] == 2
    with live.portal_app.app_context():
        assert db.session.get(User, anna).disabled
        assert current_store(live.portal_app).of_user("mosreg", anna) == {}
    log = b.get("/admin/audit?kind=account_disabled")
    assert "Учётная запись отключена" in log.text and "обращение № 12 от школы" in log.text


def test_without_a_reason_nothing_is_asked_and_the_field_says_why(browser, live):
    signed_in(browser)
    anna = account_id(live, "mosreg", ANNA)
    b = admin(browser)
    b.get(f"/admin/accounts/{anna}")
    for reason, words in (("", "Укажите причину"), ("   ", "Укажите причину"),
                          ("x" * 201, "не длиннее 200")):  # fmt: skip
        page = b.post(f"/admin/accounts/{anna}/disable", {"reason": reason, "confirm": "yes"})
        assert page.status_code == 400 and words in page.text
        field = re.search(r'<input id="reason"[^>]*>', page.text)[0]
        assert 'aria-invalid="true"' in field
        assert 'aria-describedby="reason-hint reason-error"' in field
    # With htmx the «Доступ» block is swapped: the refusal, then the question, in place.
    refused = b.post(f"/admin/accounts/{anna}/disable", {"reason": ""}, headers=HTMX)
    assert refused.status_code == 400
    assert refused.text.lstrip().startswith('<div id="account-state">')
    asked = b.post(f"/admin/accounts/{anna}/disable", {"reason": "проверка"}, headers=HTMX)
    assert asked.text.lstrip().startswith('<div id="account-state" class="notice confirm"')
    assert 'name="reason" value="проверка"' in asked.text
    forged = b.http.post(f"{b.base}/admin/accounts/{anna}/disable",
                         data={"reason": "проверка", "confirm": "yes"})  # fmt: skip
    assert forged.status_code == 400  # no CSRF token
    assert events(live, "account_disabled") == []
    with live.portal_app.app_context():
        assert not db.session.get(User, anna).disabled


LOGINS = {
    "mosreg": (ANNA, lambda b: b.esia_login("P1")),
    "moscow": ("Москвина Ольга Игоревна", lambda b: b.mosru_login("M1")),
    "kaluga": ("Паролев Тимур Русланович",
               lambda b: password_login(b, TIMUR_LOGIN, TIMUR_PASSWORD)),
}  # fmt: skip


@pytest.mark.parametrize("slug", ["mosreg", "moscow", "kaluga"])
def test_every_login_method_of_a_disabled_person_stops_and_enabling_lets_them_in(
    browser, live, slug
):
    """Госуслуги (mosreg), mos.ru (moscow), the school-issued login (kaluga)."""
    name, login = LOGINS[slug]
    if slug == "kaluga":
        person = timur(browser)  # his first login chose the password the later ones use
    else:
        person = browser(slug)
        assert login(person).url.endswith("/diary/")
    uid = account_id(live, slug, name)
    b = admin(browser, slug)
    assert "Учётная запись отключена" in change(b, uid, "disable", "заявление родителя").text
    assert is_signed_out_with_the_reason(person)

    again = browser(slug)
    page = login(again)
    assert page.url.endswith("/login") and DISABLED in page.text
    assert "обратитесь в свою школу" in DISABLED
    assert "/login?next=" in again.get("/diary/").url  # no session was started
    refused = events(live, "login_failed", slug)[-1]
    assert refused.detail["reason"] == "account_disabled" and refused.actor_id == uid

    page = change(b, uid, "enable", "ошибка, доступ возвращён")
    assert "Учётная запись снова включена" in page.text and "Отключить учётную запись" in page.text
    (enabled,) = events(live, "account_enabled", slug)
    assert enabled.detail["user_id"] == uid
    assert enabled.detail["reason"] == "ошибка, доступ возвращён"
    assert enabled.actor_id == own_id(live, slug)
    back = browser(slug)
    assert login(back).url.endswith("/diary/")
    history = re.search(r'<table class="regions account-history">.*?</table>',
                        b.get(f"/admin/accounts/{uid}").text, re.S)[0]  # fmt: skip
    assert history.index("Включена") < history.index("Отключена")  # newest first
    assert "ошибка, доступ возвращён" in history and "заявление родителя" in history


def test_a_login_stopped_before_the_disabling_cannot_be_carried_on(browser, live):
    first_time = browser("kaluga")
    page = first_time.esia_login("P8")  # her first login: her own consent is asked
    assert "согласие" in page.text.lower() and "/access/" in page.url
    with live.portal_app.app_context():
        uid = db.session.scalars(
            select(User.id).filter_by(tenant="kaluga", subject="1000008")
        ).one()
    change(admin(browser, "kaluga"), uid, "disable", "проверка")
    first_time.get("/access/")
    assert first_time.post("/access/consent").status_code == 404
    assert "/login?next=" in first_time.get("/diary/").url
    assert [e for e in events(live, "login_succeeded", "kaluga") if e.actor_id == uid] == []


# --- what is refused ----------------------------------------------------------------------------


def test_an_administrator_cannot_disable_their_own_account(browser, live):
    b = admin(browser)
    own = own_id(live, "mosreg")
    page = b.get(f"/admin/accounts/{own}")
    assert "Это ваша учётная запись: отключить её здесь нельзя" in page.text
    assert "Отключить учётную запись" not in page.text
    for data in ({"reason": "проверка"}, {"reason": "проверка", "confirm": "yes"}):
        b.get(f"/admin/accounts/{own}")
        refused = b.post(f"/admin/accounts/{own}/disable", data)
        assert refused.status_code == 409
        assert "Свою учётную запись отключить нельзя" in refused.text
    assert events(live, "account_disabled") == []
    assert b.get("/admin/").status_code == 200  # still in


def test_another_regions_account_does_not_exist_here(browser, live):
    signed_in(browser, "mosreg")
    anna = account_id(live, "mosreg", ANNA)
    b = admin(browser, "kaluga")
    assert b.get(f"/admin/accounts/{anna}").status_code == 404
    for action in ("disable", "enable"):
        b.get("/admin/accounts")
        page = b.post(f"/admin/accounts/{anna}/{action}", {"reason": "x", "confirm": "yes"})
        assert page.status_code == 404
    assert b.get("/admin/accounts/2147483647").status_code == 404
    assert b.get("/admin/accounts/0").status_code == 404
    with live.portal_app.app_context():
        assert not db.session.get(User, anna).disabled
    assert events(live, "account_disabled", "kaluga") == events(live, "account_disabled") == []
    # Nor to someone who is no administrator.
    parent = signed_in(browser, "mosreg")
    assert parent.get(f"/admin/accounts/{anna}").status_code == 403
    assert browser("mosreg").get("/admin/accounts", allow_redirects=False).status_code == 302


# --- at once, and with the session store silent ------------------------------------------------


def test_two_administrators_disabling_at_once_make_one_change_and_the_second_is_told(browser, live):
    signed_in(browser)
    anna = account_id(live, "mosreg", ANNA)
    with live.portal_app.app_context():
        zoya = db.session.scalar(select(User).filter_by(tenant="mosreg", subject="1000050"))
        grant_regional_admin("mosreg", zoya.issuer, zoya.subject, zoya.display_name)
    first, second = admin(browser), browser("mosreg")
    second.esia_login("SA")
    for b in (first, second):  # both have the question on screen
        b.get(f"/admin/accounts/{anna}")
        assert "Да, отключить" in b.post(f"/admin/accounts/{anna}/disable", {"reason": "а"}).text
    done = first.post(f"/admin/accounts/{anna}/disable", {"reason": "а", "confirm": "yes"})
    assert "Завершено сеансов: 1." in done.text
    late = second.post(f"/admin/accounts/{anna}/disable", {"reason": "б", "confirm": "yes"})
    assert late.status_code == 409 and "Учётная запись уже отключена" in late.text
    assert [e.detail["reason"] for e in events(live, "account_disabled")] == ["а"]
    # A stale page asking to enable twice: the same.
    for b in (first, second):
        b.get(f"/admin/accounts/{anna}")
    assert "снова включена" in first.post(f"/admin/accounts/{anna}/enable",
                                          {"reason": "в", "confirm": "yes"}).text  # fmt: skip
    late = second.post(f"/admin/accounts/{anna}/enable", {"reason": "г", "confirm": "yes"})
    assert late.status_code == 409 and "Учётная запись уже включена" in late.text
    assert len(events(live, "account_enabled")) == 1


ROUNDS = 8


def _at_once(app, work, threads: int) -> list:
    """``work(i)`` in ``threads`` threads released together, each with its own connection."""
    barrier, results = threading.Barrier(threads), []

    def run(i):
        with app.test_request_context(base_url="http://mosreg.localhost/"):
            try:
                barrier.wait()
                results.append(work(i))
            except accounts_admin.AlreadyDone:
                results.append("already")
            finally:
                db.session.remove()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    return results


def test_simultaneous_changes_leave_one_state_and_a_row_for_each_change(app):
    with app.app_context():
        admins = [User(tenant="mosreg", issuer="urn:test:races", subject=f"admin-{n}",
                       display_name=f"Гоночный Админ {n}") for n in range(2)]  # fmt: skip
        people = [User(tenant="mosreg", issuer="urn:test:races", subject=f"person-{n}",
                       display_name=f"Гоночная Персона {n}") for n in range(ROUNDS)]  # fmt: skip
        db.session.add_all(admins + people)
        db.session.commit()
        admin_ids, person_ids = [a.id for a in admins], [p.id for p in people]

    def disable(person_id):
        def work(i):
            by, user = db.session.get(User, admin_ids[i]), db.session.get(User, person_id)
            return accounts_admin.disable("mosreg", user, by=by, reason=f"админ {i}")

        return work

    for person_id in person_ids:
        results = _at_once(app, disable(person_id), threads=2)
        assert sorted(results, key=str) == [0, "already"], results
    with app.app_context():
        for person_id in person_ids:
            assert db.session.get(User, person_id).disabled
            rows = db.session.scalars(select(AuditEvent).filter_by(kind="account_disabled")).all()
            assert len([r for r in rows if r.detail["user_id"] == person_id]) == 1

    # Enabling and disabling at once: whichever came last, the trail ends in the state left.
    def toggle(person_id):
        def work(i):
            by, user = db.session.get(User, admin_ids[i]), db.session.get(User, person_id)
            if i == 0:
                return accounts_admin.enable("mosreg", user, by=by, reason="вернуть")
            return accounts_admin.disable("mosreg", user, by=by, reason="снова")

        return work

    for person_id in person_ids:
        _at_once(app, toggle(person_id), threads=2)
    with app.app_context():
        for person_id in person_ids:
            last = [r for r in db.session.scalars(
                select(AuditEvent).where(AuditEvent.kind.in_(("account_disabled",
                                                              "account_enabled")))
                .order_by(AuditEvent.id)) if r.detail["user_id"] == person_id][-1]  # fmt: skip
            assert db.session.get(User, person_id).disabled == (last.kind == "account_disabled")


def test_a_silent_session_store_still_disables_and_keeps_the_person_out(browser, live, monkeypatch):
    phone = signed_in(browser)
    anna = account_id(live, "mosreg", ANNA)
    b = admin(browser)

    def silent(*args, **kwargs):
        raise RedisConnectionError("the store did not answer")

    monkeypatch.setattr(current_store(live.portal_app), "delete_user", silent)
    page = change(b, anna, "disable", "проверка")
    assert page.status_code == 200 and "открытые сеансы не удалось завершить" in page.text
    assert "/login?next=" in phone.get("/diary/").url  # the account is refused all the same
    assert len(events(live, "account_disabled")) == 1
    with live.portal_app.app_context():
        assert db.session.get(User, anna).disabled


# --- whatever is typed ----------------------------------------------------------------------------


FUZZ = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
text = st.text(max_size=250).filter(lambda s: "\x00" not in s)


@pytest.fixture
def kaluga_admin(browser):
    return admin(browser, "kaluga")


@FUZZ
@given(q=text, offset=text, reason=text, confirm=st.sampled_from(["", "yes", "no"]))
def test_the_forms_answer_anything_clearly(kaluga_admin, live, q, offset, reason, confirm):
    with live.portal_app.app_context():
        limiter.reset()
    page = search(kaluga_admin, q, offset=offset)
    assert page.status_code in (200, 400)
    for uid in found_ids(page)[:1] or [1]:
        kaluga_admin.get("/admin/accounts")
        answer = kaluga_admin.post(f"/admin/accounts/{uid}/disable",
                                   {"reason": reason, "confirm": confirm})  # fmt: skip
        assert answer.status_code in (200, 400, 404, 409)


def test_a_disabled_person_is_refused_before_a_new_school_password_is_asked(browser, live):
    """A school-issued password that must be changed (the school has just issued a new one)
    is not asked for on a disabled account: the refusal comes first."""
    timur(browser)
    uid = account_id(live, "kaluga", "Паролев Тимур Русланович")
    with live.portal_app.app_context():
        credential = db.session.scalars(
            select(PasswordCredential).filter_by(tenant="kaluga", login=TIMUR_LOGIN)
        ).one()
        credential.must_change = True
        db.session.commit()
    change(admin(browser, "kaluga"), uid, "disable", "заявление родителя")
    again = browser("kaluga")
    page = password_login(again, TIMUR_LOGIN, TIMUR_PASSWORD)
    assert page.url.endswith("/login") and DISABLED in page.text
    assert "/login/password/change" not in page.url
    assert again.get("/login/password/change").url.endswith("/login/password")
    refused = events(live, "login_failed", "kaluga")[-1]
    assert refused.detail["reason"] == "account_disabled" and refused.actor_id == uid
