"""Destructive actions ask first, on the server: the first POST answers with a confirmation (in
place for htmx, a page of its own without JavaScript) naming what will happen; only a POST
with confirm=yes and the form's CSRF token acts."""

from __future__ import annotations

import re

from tests.e2e.test_account import consent_ids
from tests.e2e.test_admin import NEW_PRIMARY, admin, edit, primary_colour
from tests.e2e.test_trusted import LEV, NINA, grants, invite, mother, state_on_parents_list  # noqa: F401

HTMX = {"HX-Request": "true"}


def test_revoking_a_consent_asks_in_place_and_cancel_brings_the_line_back(browser):
    parent = browser("tatarstan")
    parent.esia_login("P4")
    page = parent.get("/account/")
    consent = re.search(r"Согласие за ребёнка.*?/account/consents/(\d+)/revoke", page.text, re.S)[1]
    assert f'hx-target="#consent-{consent}"' in page.text
    asked = parent.post(f"/account/consents/{consent}/revoke", headers=HTMX)
    assert asked.text.lstrip().startswith(f'<div id="consent-{consent}" class="notice confirm"')
    assert "<!doctype html>" not in asked.text  # a fragment, swapped in place
    assert "Отозвать согласие за ребёнка: Демова Софья Ивановна?" in asked.text
    assert "Да, отозвать согласие" in asked.text and 'name="confirm" value="yes"' in asked.text
    assert 'name="csrf_token"' in asked.text
    cancel = re.search(r'<a class="button secondary" href="([^"]+)" hx-get="\1" '
                       rf'hx-select="#consent-{consent}"', asked.text)  # fmt: skip
    assert cancel and cancel[1] == "/account/"
    assert consent in consent_ids(parent.get("/account/"))  # asked, nothing revoked
    assert f'id="consent-{consent}"' in parent.page.text  # what «Отмена» swaps back


def test_without_javascript_the_question_is_a_page_and_the_answer_needs_the_token(browser):
    b = browser("kaluga")
    b.esia_login("P1")
    own = consent_ids(b.get("/account/"))[0]
    asked = b.post(f"/account/consents/{own}/revoke")
    assert "<!doctype html>" in asked.text and "<h1>Отзыв согласия</h1>" in asked.text
    assert 'href="/account/">Отмена</a>' in asked.text  # a plain link back, no htmx
    forged = b.http.post(f"{b.base}/account/consents/{own}/revoke", data={"confirm": "yes"})
    assert forged.status_code == 400  # no CSRF token: refused, nothing revoked
    assert own in consent_ids(b.get("/account/"))
    page = b.post(f"/account/consents/{own}/revoke", {"confirm": "no"})
    assert own in consent_ids(b.get("/account/"))  # anything but «yes» only asks
    assert "Отозвать согласие на обработку персональных данных?" in page.text


def test_ending_the_other_sessions_asks_in_place(browser):
    phone, laptop = browser("mosreg"), browser("mosreg")
    phone.esia_login("P1")
    laptop.esia_login("P1")
    laptop.get("/account/")
    asked = laptop.post("/account/sessions/end-others", headers=HTMX)
    assert asked.text.lstrip().startswith('<div id="end-sessions"')
    assert "Да, завершить" in asked.text
    assert phone.get("/account/").url.endswith("/account/")  # still signed in


def test_revoking_a_trusted_persons_access_asks_in_place_naming_whom(mother, browser, live):  # noqa: F811
    invite(mother, live)
    mother.post("/trusted/new/send")
    grant_id = grants(live)[0].id
    page = mother.get("/trusted/")
    assert f'hx-target="#grant-{grant_id}-end"' in page.text
    asked = mother.post(f"/trusted/{grant_id}/revoke", headers=HTMX)
    assert asked.text.lstrip().startswith(f'<div id="grant-{grant_id}-end"')
    assert f"Отозвать доступ доверенного лица ({NINA}) к дневнику: {LEV}?" in asked.text
    assert "Да, отозвать доступ" in asked.text
    assert state_on_parents_list(mother) == "отправлено"
    mother.get("/trusted/")
    done = mother.post(f"/trusted/{grant_id}/revoke", {"confirm": "yes"})
    assert "Доступ отозван." in done.text and state_on_parents_list(mother) == "отозвано"
    mother.get("/trusted/")  # an ended grant has nothing left to end
    assert mother.post(f"/trusted/{grant_id}/revoke").status_code == 404


def test_rolling_back_asks_from_the_version_page_listing_what_changes(browser):
    b = admin(browser, "kaluga")
    original = primary_colour(browser("kaluga"))
    b.post("/admin/config", edit(b, branding__primary_color=NEW_PRIMARY, comment="цвет"))
    page = b.get("/admin/config/versions/0")
    assert "Откатить к этой версии" in page.text
    asked = b.post("/admin/config/versions/0/restore", {"base": "1"})
    assert "<h1>Откатить настройки к версии 0?</h1>" in asked.text
    assert re.search(rf'fill="{NEW_PRIMARY}".*→.*fill="{original}"', asked.text, re.S)
    assert "Да, откатить к версии 0" in asked.text
    assert 'href="/admin/config/history">Отмена</a>' in asked.text
    assert primary_colour(browser("kaluga")) == NEW_PRIMARY  # nothing rolled back by asking
    done = b.post("/admin/config/versions/0/restore", {"base": "1", "confirm": "yes"})
    assert "Версия 0 восстановлена как версия 2" in done.text
    assert primary_colour(browser("kaluga")) == original
    b.get("/admin/config/history")
    same = b.post("/admin/config/versions/0/restore", {"base": "2"})
    assert "Настройки не изменились." in same.text  # version 2 is version 0 again
    stale = b.post("/admin/config/versions/1/restore", {"base": "1", "confirm": "yes"})
    assert "другой администратор сохранил версию 2" in stale.text  # the base still guards
