"""Q1: the region check, as a command and as a page for regional administrators."""

from __future__ import annotations

import os
import socket

from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import AuditEvent
from tests.conftest import test_environ


def test_check_passes_for_regions_whose_provider_answers(live):
    result = live.portal_app.test_cli_runner().invoke(
        args=["qa", "check", "--region", "mosreg", "--region", "kaluga"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert [line.split()[:2] for line in lines] == [["mosreg", "OK"], ["kaluga", "OK"]]
    assert "hosts myschool.mosreg.ru, mosreg.localhost" in lines[0]
    assert "methods Госуслуги, Вход по логину |" in lines[0]
    assert "provider reachable, HTTP 400" in lines[0]
    assert "config valid" in lines[0]
    assert "registry 2 schools, 19 people, 10 enrolments" in lines[0]


def test_check_fails_when_a_provider_is_down(database_uri, esia_env):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    app = create_app(test_environ(database_uri, IDP_EMULATOR_URL=f"http://127.0.0.1:{port}"))
    result = app.test_cli_runner().invoke(args=["qa", "check"])
    assert result.exit_code == 1
    assert "mosreg     BROKEN" in result.output
    assert "provider unreachable (ConnectionError)" in result.output
    assert "broken: mosreg, kaluga, tatarstan, moscow" in result.output


def test_check_names_a_missing_key(live, monkeypatch):
    monkeypatch.delenv("KALUGA_ESIA_KEY_FILE")
    result = live.portal_app.test_cli_runner().invoke(args=["qa", "check", "--region", "kaluga"])
    assert result.exit_code == 1
    assert "config: KALUGA_ESIA_KEY_FILE is not set" in result.output
    assert os.environ.get("MOSREG_ESIA_KEY_FILE")


def test_regional_admin_sees_the_check_page(browser):
    admin = browser("tatarstan")
    page = admin.esia_login("ADM")
    assert page.url.endswith("/admin/")
    page = admin.get("/admin/qa")
    assert "Проверка региона: Республика Татарстан" in page.text
    assert "Всё в порядке" in page.text
    assert "школ: 2, людей: 19, зачислений: 10" in page.text


def test_others_are_refused_and_audited(browser, live):
    parent = browser("mosreg")
    parent.esia_login("P1")
    assert parent.get("/admin/qa").status_code == 403
    with live.portal_app.app_context():
        event = db.session.scalars(select(AuditEvent).filter_by(kind="forbidden")).one()
    assert event.detail == {"path": "/admin/qa"}


def test_an_admin_of_one_region_is_nobody_on_another(browser):
    admin = browser("kaluga")
    admin.esia_login("ADM")
    cookie = admin.http.cookies.get("session", domain="kaluga.localhost")
    elsewhere = browser("mosreg")
    elsewhere.http.cookies.set("session", cookie, domain="mosreg.localhost")
    assert "/login?next=" in elsewhere.get("/admin/qa").url
