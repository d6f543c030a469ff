"""SCENARIOS.md P1–P9, P11, P12 over real HTTP: portal ⇄ ESIA emulator, in every ESIA region."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Notification
from tests.live import ESIA_REGIONS

regions = pytest.mark.parametrize("slug", ESIA_REGIONS)


@regions
def test_p1_parent_sees_both_children(browser, slug):
    b = browser(slug)
    page = b.esia_login("P1")
    assert page.url.endswith("/diary/")
    assert "Образцов Михаил Андреевич" in page.text
    assert "Образцова Дарья Андреевна" in page.text
    assert "Ожидают проверки ЗАГС" not in page.text


@regions
def test_p2_missing_email_is_explained(browser, slug):
    page = browser(slug).esia_login("P2")
    assert page.url.endswith("/access/")
    assert "Ваша авторизационная сессия истекла" in page.text
    assert "В учётной записи Госуслуг нет адреса электронной почты" in page.text
    assert "Добавьте адрес электронной почты и подтвердите его" in page.text


@regions
def test_p3_snils_mismatch_names_the_field_not_the_value(browser, slug):
    page = browser(slug).esia_login("P3")
    assert "«Ваш дневник не найден. Чтобы решить проблему, сообщите о ней" in page.text
    assert "но она не совпадает с данными Госуслуг в поле: <strong>СНИЛС</strong>" in page.text
    for school_value in ("791-682-483 55", "79168248355", "791"):
        assert school_value not in page.text


@regions
def test_p4_verified_child_open_other_waiting(browser, slug):
    page = browser(slug).esia_login("P4")
    assert page.url.endswith("/diary/")
    children, waiting = page.text.split("Ожидают проверки ЗАГС")
    assert "Демова Софья Ивановна" in children
    assert "Демов Иван Иванович" in waiting
    assert "от 1 до 5 дней" in waiting


@regions
def test_p5_child_with_parental_consent(browser, slug):
    page = browser(slug).esia_login("P5")
    assert page.url.endswith("/diary/")
    assert "Роль: <strong>Ученик</strong>" in page.text


@regions
def test_p6_consent_requested_from_each_parent_then_granted(browser, live, slug):
    child = browser(slug)
    page = child.esia_login("P6")
    assert "<h1>Для входа в дневник нужно согласие одного из родителей</h1>" in page.text

    with live.portal_app.app_context():
        asked = db.session.scalars(select(Notification).filter_by(tenant=slug)).all()
    assert len(asked) == 2  # Анна (P1) and Андрей (P9), the two linked parents

    father = browser(slug)
    father.esia_login("P9")
    father.post("/access/role", {"role": "guardian"})
    assert "Образцов Михаил Андреевич" in father.get("/notifications/").text

    mother = browser(slug)
    mother.esia_login("P1")
    page = mother.get("/notifications/")
    assert 'aria-label="непрочитанных: 1"' in page.text
    item_id = page.text.split('id="notification-', 1)[1].split('"', 1)[0]
    page = mother.post(f"/notifications/{item_id}/consent")
    assert "Согласие дано: Образцов Михаил Андреевич" in page.text

    # The father's request is resolved too, and the child now gets in.
    assert "Дать согласие</button>" not in father.get("/notifications/").text
    child.http.cookies.clear()
    page = child.esia_login("P6")
    assert page.url.endswith("/diary/")


@regions
def test_p7_teen_not_enrolled_reaches_student_profile(browser, slug):
    page = browser(slug).esia_login("P7")
    assert "Профиль обучающегося" in page.text
    assert "Единого государственного реестра юридических лиц" not in page.text
    assert "(ЕГРЮЛ)" in page.text


@regions
def test_p8_adult_student_consents_on_the_spot(browser, slug):
    b = browser(slug)
    page = b.esia_login("P8")
    assert "«Для входа в дневник необходимо согласие." in page.text
    assert "/login?next=" in b.get("/diary/").url  # not in yet
    b.get("/access/")
    page = b.post("/access/consent")
    assert page.url.endswith("/diary/")
    assert "Роль: <strong>Ученик</strong>" in page.text
    # Next time no question is asked.
    again = browser(slug)
    assert again.esia_login("P8").url.endswith("/diary/")


@regions
def test_p9_teacher_and_parent_chooses_a_role(browser, slug):
    b = browser(slug)
    page = b.esia_login("P9")
    assert page.url.endswith("/access/role")
    assert "Выберите роль" in page.text
    page = b.post("/access/role", {"role": "teacher"})
    assert "Роль: <strong>Педагогический работник</strong>" in page.text
    settings = b.get("/account/").text
    assert "Родитель — Активна" in settings
    assert "Педагогический работник — Активна (текущая)" in settings


@regions
def test_p11_simplified_account_is_told_to_confirm(browser, slug):
    page = browser(slug).esia_login("P11")
    assert "Подтвердите учётную запись на Госуслугах" in page.text
    assert "в центре обслуживания" in page.text and "онлайн" in page.text
    assert "/diary/" not in page.url


@regions
def test_p12_refusal_returns_to_the_login_page(browser, live, slug):
    b = browser(slug)
    page = b.esia_login("P12", grant=False)
    assert page.url.endswith("/login")
    assert "Вы нажали «Отказаться»" in page.text
    assert "/login?next=" in b.get("/diary/").url
    with live.portal_app.app_context():
        event = db.session.scalars(
            select(AuditEvent).filter_by(tenant=slug, kind="login_failed")
        ).one()
    assert event.detail["reason"] == "refused"


def test_a_session_is_anonymous_on_another_regions_host(browser, live):
    b = browser("mosreg")
    assert b.esia_login("P1").url.endswith("/diary/")
    cookie = b.http.cookies.get("session", domain="mosreg.localhost")
    stranger = browser("kaluga")
    stranger.http.cookies.set("session", cookie, domain="kaluga.localhost")
    assert "/login?next=" in stranger.get("/diary/").url


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_next_never_leads_off_the_portal(browser, target):
    b = browser("kaluga")
    b.get("/login", params={"next": target})
    page = b.esia_login("P1")
    assert page.url.startswith(b.base + "/")
    assert page.url.endswith("/diary/")
