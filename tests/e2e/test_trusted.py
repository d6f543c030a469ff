"""T1–T4 end to end in Moscow (mos.ru), and what a trusted person can never do."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import delete, select

from app import trusted
from app.extensions import db
from app.models import AuditEvent, Guardianship, Notification, Person, TrustedGrant

NINA = "Бабушкина Нина Степановна"
LEV, ALISA = "Москвин Лев Артёмович", "Москвина Алиса Артёмовна"


def person_id(live, key: str) -> int:
    with live.portal_app.app_context():
        return db.session.scalar(select(Person.id).filter_by(tenant="moscow", key=key))


def grants(live) -> list[TrustedGrant]:
    with live.portal_app.app_context():
        return db.session.scalars(select(TrustedGrant).filter_by(tenant="moscow")).all()


def invite(
    b,
    live,
    *,
    by="phone",
    contact="8 916 000-05-05",
    surname="бабушкина",
    children=("moskvin_lev",),
):
    """M1 walks the four steps; returns the review page."""
    b.get("/trusted/new")
    b.post("/trusted/new/service", {"service": "diary"})
    b.post("/trusted/new/children", {"children": [person_id(live, c) for c in children]})
    return b.post("/trusted/new/invite", {"by": by, "contact": contact, "surname": surname})


def state_on_parents_list(b) -> str:
    return re.search(r'<td class="grant-state">([^<(]+)', b.get("/trusted/").text)[1].strip()


@pytest.fixture
def later(monkeypatch):
    """Move the trusted-person clock forward (the portal runs in this process)."""
    real = trusted.now

    def move(hours: float) -> None:
        monkeypatch.setattr(trusted, "now", lambda: real() + timedelta(hours=hours))

    return move


@pytest.fixture
def mother(browser):
    b = browser("moscow")
    assert b.mosru_login("M1").url.endswith("/diary/")
    return b


def test_t1_invite_by_phone_accept_activate_read_only_revoke(mother, browser, live, later):
    review = invite(mother, live)
    assert review.url.endswith("/trusted/new/review")
    for text in ("Электронный дневник", NINA, LEV):
        assert text in review.text
    assert ALISA not in review.text
    page = mother.post("/trusted/new/send")
    assert "Приглашение отправлено доверенному лицу" in page.text
    assert state_on_parents_list(mother) == "отправлено"

    nina = browser("moscow")
    page = nina.mosru_login("M5")
    assert page.url.endswith("/diary/") and "Роль: <strong>Доверенное лицо</strong>" in page.text
    assert "ждёт вашего ответа в разделе «Уведомления»" in page.text
    notes = nina.get("/notifications/")
    assert "Приглашение стать доверенным лицом" in notes.text and LEV in notes.text
    grant_id = grants(live)[0].id
    page = nina.post(f"/trusted/{grant_id}/accept", {"back": "notifications"})
    assert "будет обеспечен в течение суток" in page.text  # Moscow's delay: a day
    assert state_on_parents_list(mother) == "ожидает активации"
    page = nina.get("/diary/")  # the same words as the invitation and the acceptance
    assert LEV not in page.text and "будет обеспечен в течение суток" in page.text
    assert "Доступ откроется" in page.text

    later(25)
    page = nina.get("/diary/")
    assert LEV in page.text and ALISA not in page.text and "Только просмотр" in page.text
    assert state_on_parents_list(mother) == "активно"
    assert (
        nina.get("/diary/", params={"child": person_id(live, "moskvina_alisa")}).status_code == 404
    )

    page = mother.get("/trusted/")
    asked = mother.post(f"/trusted/{grant_id}/revoke")  # asks first, and names whom and what
    assert f"Отозвать доступ доверенного лица ({NINA}) к дневнику: {LEV}?" in asked.text
    assert "Да, отозвать доступ" in asked.text and 'name="confirm" value="yes"' in asked.text
    assert state_on_parents_list(mother) == "активно"
    mother.get("/trusted/")
    mother.post(f"/trusted/{grant_id}/revoke", {"confirm": "yes"})
    assert state_on_parents_list(mother) == "отозвано"
    page = nina.get("/diary/")
    assert LEV not in page.text  # gone on the very next request, and she is told why
    assert "Доступ к дневнику отозван родителем (Москвина Ольга" in page.text
    lev = person_id(live, "moskvin_lev")
    page = nina.get("/diary/", params={"child": lev})
    assert page.status_code == 403 and "Доступ к дневнику отозван родителем" in page.text
    with live.portal_app.app_context():
        kinds = [e.kind for e in db.session.scalars(
            select(AuditEvent).filter(AuditEvent.kind.startswith("trusted_")).order_by(AuditEvent.id)
        )]  # fmt: skip
    assert kinds == ["trusted_invited", "trusted_accepted", "trusted_revoked"]


def test_t2_invite_by_snils_for_both_children(mother, browser, live, later):
    review = invite(mother, live, by="snils", contact="18650377899", surname="Бабушкина",
                    children=("moskvin_lev", "moskvina_alisa"))  # fmt: skip
    assert NINA in review.text and LEV in review.text and ALISA in review.text
    mother.post("/trusted/new/send")
    nina = browser("moscow")
    nina.mosru_login("M5")
    nina.get("/notifications/")
    nina.post(f"/trusted/{grants(live)[0].id}/accept")
    later(24)
    page = nina.get("/diary/")
    assert LEV in page.text and ALISA in page.text


@pytest.mark.parametrize(
    ("by", "contact", "surname"),
    [
        ("phone", "+7 916 123-45-67", "Бабушкина"),  # nobody registered this number
        ("phone", "8 916 000-05-05", "Дедушкина"),  # the number is hers, the surname not
        ("snils", "186-503-778 99", "Иванова"),
        ("phone", "+7 (916) 000-04-04", "Бабушкина"),  # a registered number, someone else's
    ],
)
def test_t3_no_match_is_refused_and_reveals_nothing(mother, live, by, contact, surname):
    page = invite(mother, live, by=by, contact=contact, surname=surname)
    assert page.status_code == 400
    assert "Не удалось найти доверенное лицо по этим данным." in page.text
    assert "Важно! Доверенное лицо должно быть зарегистрировано на портале mos.ru." in page.text
    for name in (NINA, "Нина", "Столичный Кирилл", "Кирилл"):
        assert name not in page.text
    assert f'value="{contact}"' in page.text  # what was typed stays on screen
    assert "/trusted/new/review" not in page.url and grants(live) == []


def test_t3_an_invalid_number_is_a_field_error(mother, live):
    page = invite(mother, live, contact="12345", surname="")
    assert page.status_code == 400
    assert "Укажите номер мобильного телефона: +7 и десять цифр." in page.text
    assert "Укажите фамилию доверенного лица." in page.text
    page = invite(mother, live, by="snils", contact="186-503-778 98")
    assert "контрольное число должно сходиться" in page.text


def test_t4_declined_invitation_shows_as_declined(mother, browser, live):
    invite(mother, live)
    mother.post("/trusted/new/send")
    nina = browser("moscow")
    nina.mosru_login("M5")
    nina.get("/trusted/")
    page = nina.post(f"/trusted/{grants(live)[0].id}/decline")
    assert "Приглашение отклонено." in page.text
    assert state_on_parents_list(mother) == "отклонено"
    nina.get("/trusted/")
    assert nina.post(f"/trusted/{grants(live)[0].id}/accept").status_code == 409  # not twice


def test_double_send_makes_one_invitation(mother, live):
    invite(mother, live)
    mother.post("/trusted/new/send")
    mother.get("/trusted/new/review")
    mother.post("/trusted/new/send")
    assert len(grants(live)) == 1
    with live.portal_app.app_context():
        assert (
            len(db.session.scalars(select(Notification).filter_by(kind="trusted_invitation")).all())
            == 1
        )


def test_only_the_invitee_can_accept_and_only_once(mother, browser, live):
    invite(mother, live)
    mother.post("/trusted/new/send")
    grant_id = grants(live)[0].id
    kirill = browser("moscow")
    kirill.mosru_login("M4")
    kirill.get("/trusted/")
    assert kirill.post(f"/trusted/{grant_id}/accept").status_code == 404
    mother.get("/trusted/")
    assert mother.post(f"/trusted/{grant_id}/accept").status_code == 404
    nina = browser("moscow")
    nina.mosru_login("M5")
    nina.get("/trusted/")
    assert "Приглашение принято." in nina.post(f"/trusted/{grant_id}/accept").text
    nina.get("/trusted/")
    assert nina.post(f"/trusted/{grant_id}/accept").status_code == 409


@pytest.fixture
def active_grant(mother, browser, live, later):
    invite(mother, live)
    mother.post("/trusted/new/send")
    nina = browser("moscow")
    nina.mosru_login("M5")
    nina.get("/trusted/")
    nina.post(f"/trusted/{grants(live)[0].id}/accept")
    later(24)
    assert LEV in nina.get("/diary/").text
    return nina


def test_a_trusted_person_cannot_write_or_invite(active_grant, live, mother):
    nina = active_grant
    assert nina.get("/trusted/new").status_code == 403
    assert nina.get("/trusted/new/service").status_code == 403
    nina.get("/trusted/")
    assert nina.post("/trusted/new/send").status_code == 403
    assert nina.post(f"/trusted/{grants(live)[0].id}/revoke").status_code == 404
    assert 'action="/trusted/new' not in nina.get("/trusted/").text


def test_a_grant_ends_with_the_parents_own_link(active_grant, live):
    with live.portal_app.app_context():
        olga = db.session.scalar(select(Person.id).filter_by(tenant="moscow", key="moskvina_olga"))
        db.session.execute(
            delete(Guardianship).filter_by(
                guardian_id=olga, student_id=person_id(live, "moskvin_lev")
            )
        )
        db.session.commit()
    page = active_grant.get("/diary/")
    assert LEV not in page.text and "Школа больше не связывает ребёнка с родителем" in page.text


def test_a_trusted_person_may_leave(active_grant, live, mother):
    nina = active_grant
    nina.get("/trusted/")
    asked = nina.post(f"/trusted/{grants(live)[0].id}/leave")
    assert f"Отказаться от доступа к дневнику: {LEV}?" in asked.text
    assert LEV in nina.get("/diary/").text  # nothing ended yet
    nina.get("/trusted/")
    page = nina.post(f"/trusted/{grants(live)[0].id}/leave", {"confirm": "yes"})
    assert "Вы отказались от доступа." in page.text
    page = nina.get("/diary/")
    assert LEV not in page.text and "Вы отказались от доступа к дневнику" in page.text
    assert state_on_parents_list(mother) == "прекращено"


def test_the_grant_is_worth_nothing_on_another_regions_host(active_grant, browser):
    cookie = active_grant.http.cookies.get("session", domain="moscow.localhost")
    elsewhere = browser("mosreg")
    elsewhere.http.cookies.set("session", cookie, domain="mosreg.localhost")
    assert "/login?next=" in elsewhere.get("/diary/").url
    assert "/login?next=" in elsewhere.get("/trusted/").url


def test_regions_without_trusted_persons_have_no_such_pages(browser):
    b = browser("kaluga")
    b.esia_login("P1")
    assert b.get("/trusted/").status_code == 404
    assert "Доверенные лица" not in b.get("/diary/").text


def test_the_wizard_keeps_what_was_typed_going_back(mother, live):
    invite(mother, live, contact="8 916 000-05-05", surname="Бабушкина")
    page = mother.get("/trusted/new/children")
    assert re.search(rf'value="{person_id(live, "moskvin_lev")}" checked', page.text)
    page = mother.get("/trusted/new/invite")
    assert 'value="8 916 000-05-05"' in page.text and 'value="Бабушкина"' in page.text


def test_the_wizard_answers_htmx_with_the_next_step(mother, live):
    mother.get("/trusted/new")
    page = mother.post("/trusted/new/service", {"service": "diary"}, headers={"HX-Request": "true"})
    assert (
        page.text.lstrip().startswith('<div id="wizard"') and "Шаг 2. Выбрать ребенка" in page.text
    )
    assert page.headers["HX-Push-Url"] == "/trusted/new/children"
    # A step cannot be skipped: the review without an invitee sends back to step 3.
    assert mother.get("/trusted/new/review").url.endswith("/trusted/new/children")


def test_failed_searches_are_limited(mother, live):
    for _ in range(10):
        assert invite(mother, live, surname="Никто").status_code == 400
    assert invite(mother, live, surname="Никто").status_code == 429
