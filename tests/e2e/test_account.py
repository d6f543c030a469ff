"""«Настройки аккаунта»: the profile with a masked СНИЛС, structural roles by the seeds' rules,
and consents given and received, each revocable."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, select

from app.accounts import (
    LAST_ROLE_STAYS,
    ONLY_ENDED_DELETABLE,
    RoleRuleBroken,
    delete_role,
    structural_roles,
    sync_roles,
)
from app.extensions import db
from app.models import AuditEvent, Person, StaffRole, User


def roles_on(page) -> list[str]:
    block = page.text.split('<ul class="structural-roles">')[1].split("</ul>")[0]
    return [" ".join(re.sub(r"<[^>]+>|Удалить", " ", item).split())
            for item in re.findall(r"<li>(.*?)</li>", block, re.S)]  # fmt: skip


def test_snils_is_masked_until_asked_for_and_the_asking_is_audited(browser, live):
    b = browser("mosreg")
    b.esia_login("P1")
    page = b.get("/account/")
    assert "***-***-*** 18" in page.text and "547-712-782 18" not in page.text
    shown = b.post("/account/snils", headers={"HX-Request": "true"})
    assert shown.text.lstrip().startswith('<div id="snils"') and "547-712-782 18" in shown.text
    b.get("/account/")  # without JavaScript: the form posts from the whole page
    whole = b.post("/account/snils")
    assert "<!doctype html>" in whole.text and "547-712-782 18" in whole.text
    assert "no-store" in whole.headers["Cache-Control"]
    with live.portal_app.app_context():
        events = db.session.scalars(select(AuditEvent).filter_by(kind="snils_shown")).all()
    assert len(events) == 2 and "547" not in str([e.detail for e in events])


def test_p9_an_ended_role_can_be_deleted_and_an_active_one_cannot(browser, live):
    b = browser("kaluga")
    b.esia_login("P9")
    b.post("/access/role", {"role": "guardian"})
    assert roles_on(b.get("/account/")) == [
        "Родитель — Активна (текущая)",
        "Педагогический работник — Активна",
    ]
    with live.portal_app.app_context():  # the school ends his teaching post
        andrey = db.session.scalar(
            select(Person.id).filter_by(tenant="kaluga", key="obraztsov_andrey")
        )
        db.session.execute(delete(StaffRole).filter_by(person_id=andrey, role="teacher"))
        db.session.commit()
    b = browser("kaluga")
    page = b.esia_login("P9")
    assert page.url.endswith("/diary/")  # one role left: no choice to make
    page = b.get("/account/")
    assert roles_on(page) == [
        "Родитель — Активна (текущая)",
        "Педагогический работник — Прекращена",
    ]
    role_ids = re.findall(r'action="/account/roles/(\d+)/delete"', page.text)
    assert len(role_ids) == 1  # only the ended role offers «Удалить»
    page = b.post(f"/account/roles/{role_ids[0]}/delete")
    assert "Роль «Педагогический работник» удалена." in page.text
    assert roles_on(page) == ["Родитель — Активна (текущая)"]


def test_deleting_an_active_role_or_someone_elses_is_refused(browser, live):
    b = browser("mosreg")
    b.esia_login("P1")
    b.get("/account/")
    with live.portal_app.app_context():
        users = {
            u.subject: u.id for u in db.session.scalars(select(User).filter_by(tenant="mosreg"))
        }
        mine = structural_roles(db.session.get(User, users["1000001"]))[0].id
    refused = b.post(f"/account/roles/{mine}/delete")
    assert refused.status_code == 409 and ONLY_ENDED_DELETABLE in refused.text
    other = browser("mosreg")
    other.esia_login("P4")
    with live.portal_app.app_context():
        theirs = structural_roles(db.session.get(User, users["1000001"]))[0].id
    other.get("/account/")
    assert other.post(f"/account/roles/{theirs}/delete").status_code == 404


def test_role_rules_from_the_seeds(app):
    with app.app_context():
        user = User(tenant="mosreg", issuer="test", subject="roles", display_name="Тестов Тест")
        db.session.add(user)
        db.session.flush()
        sync_roles(user, ["guardian", "teacher"])
        with pytest.raises(RoleRuleBroken, match=re.escape(ONLY_ENDED_DELETABLE)):
            delete_role(user, structural_roles(user)[0].id)
        sync_roles(user, ["guardian"])
        teacher = next(r for r in structural_roles(user) if r.kind == "teacher")
        assert not teacher.active
        delete_role(user, teacher.id)
        sync_roles(user, [])  # the last role ends too
        (last,) = structural_roles(user)
        with pytest.raises(RoleRuleBroken, match=LAST_ROLE_STAYS):
            delete_role(user, last.id)
        sync_roles(user, ["guardian"])  # and comes back active at the next login that gives it
        assert [r.active for r in structural_roles(user)] == [True]
        with pytest.raises(LookupError):
            delete_role(user, 10**9)


def consent_ids(page) -> list[str]:
    return re.findall(r'action="/account/consents/(\d+)/revoke"', page.text)


def test_a_parent_revokes_consent_for_a_child_and_the_child_is_signed_out(browser):
    child = browser("tatarstan")
    assert child.esia_login("P5").url.endswith("/diary/")
    received = child.get("/account/")
    assert "Согласие родителя (Демова Елена Николаевна)" in received.text

    parent = browser("tatarstan")
    parent.esia_login("P4")
    page = parent.get("/account/")
    assert "Согласие за ребёнка: Демова Софья Ивановна" in page.text
    for_child = re.search(r"Согласие за ребёнка.*?/account/consents/(\d+)/revoke", page.text, re.S)[
        1
    ]
    asked = parent.post(f"/account/consents/{for_child}/revoke")
    assert "Отозвать согласие за ребёнка: Демова Софья Ивановна?" in asked.text
    assert child.get("/diary/").url.endswith("/diary/")  # asked, nothing revoked yet
    page = parent.post(f"/account/consents/{for_child}/revoke", {"confirm": "yes"})
    assert "Согласие отозвано." in page.text and "Согласие за ребёнка" not in page.text

    assert "/login?next=" in child.get("/diary/").url  # her session ended at once
    page = browser("tatarstan").esia_login("P5")
    assert "Для входа в дневник нужно согласие одного из родителей" in page.text


def test_revoking_ones_own_consent_signs_out_and_asks_again_next_time(browser):
    b = browser("kaluga")
    b.esia_login("P1")
    page = b.get("/account/")
    assert "Согласие на обработку персональных данных" in page.text
    own = consent_ids(page)[0]
    asked = b.post(f"/account/consents/{own}/revoke")
    assert "Отозвать согласие на обработку персональных данных?" in asked.text
    page = b.post(f"/account/consents/{own}/revoke", {"confirm": "yes"})
    assert page.url.endswith("/login") and "Согласие отозвано, вы вышли из дневника" in page.text
    assert "/login?next=" in b.get("/diary/").url
    page = browser("kaluga").esia_login("P1")
    assert "«Для входа в дневник необходимо согласие." in page.text


def test_a_student_may_decline_a_consent_received_and_nobody_else_may_touch_it(browser):
    child = browser("mosreg")
    child.esia_login("P5")
    received = consent_ids(child.get("/account/"))
    stranger = browser("mosreg")
    stranger.esia_login("P1")
    stranger.get("/account/")
    assert stranger.post(f"/account/consents/{received[0]}/revoke").status_code == 404
    confirmed = {"confirm": "yes"}
    assert stranger.post(f"/account/consents/{received[0]}/revoke", confirmed).status_code == 404
    asked = child.post(f"/account/consents/{received[0]}/revoke")
    assert "Отозвать согласие родителя (" in asked.text
    page = child.post(f"/account/consents/{received[0]}/revoke", confirmed)
    assert page.url.endswith("/login")  # the only consent she logged in by


def test_the_consent_headings_read_as_russian(browser):
    b = browser("tatarstan")
    b.esia_login("P4")
    page = b.get("/account/")
    assert "Данные вами" not in page.text
    assert "<h3>Согласия, которые дали вы</h3>" in page.text
    assert "<h3>Согласия, которые дали за вас</h3>" in page.text
