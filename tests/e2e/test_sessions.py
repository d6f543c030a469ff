"""Server-side sessions (SECURITY.md "Sessions and accounts"): logout, expiry, ending them."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from app.accounts import disable_user
from app.extensions import db
from app.models import ServerSession, User


def signed_in(browser, slug="mosreg", persona="P1"):
    b = browser(slug)
    assert b.esia_login(persona).url.endswith("/diary/")
    return b


def is_anonymous(b) -> bool:
    return "/login?next=" in b.get("/diary/").url


def test_replaying_the_cookie_after_logout_is_anonymous(browser):
    b = signed_in(browser)
    old = b.http.cookies.get("session", domain="mosreg.localhost")
    b.post("/logout")
    replay = browser("mosreg")
    replay.http.cookies.set("session", old, domain="mosreg.localhost")
    assert is_anonymous(replay)


def test_the_store_holds_only_a_hash_of_the_id(browser, live):
    b = signed_in(browser)
    sid = b.http.cookies.get("session", domain="mosreg.localhost")
    with live.portal_app.app_context():
        keys = db.session.scalars(select(ServerSession.id)).all()
    assert sid not in keys and all(len(key) == 64 for key in keys)


def test_idle_timeout_from_the_region_policy(browser):
    with time_machine.travel(0, tick=True) as clock:
        clock.move_to("2030-01-01 09:00")
        b = signed_in(browser)
        clock.shift(timedelta(minutes=29))
        assert not is_anonymous(b)
        clock.shift(timedelta(minutes=31))
        assert is_anonymous(b)


def test_absolute_timeout_even_when_active(browser):
    with time_machine.travel(0, tick=True) as clock:
        clock.move_to("2030-01-01 08:00")
        b = signed_in(browser)
        for _ in range(28):  # active every 25 minutes: 11 h 40 min, never idle for 30
            clock.shift(timedelta(minutes=25))
            assert not is_anonymous(b)
        clock.shift(timedelta(minutes=25))  # 12 h 05 min after login, 25 min after the last
        assert is_anonymous(b)


def test_sign_out_the_other_sessions(browser):
    phone, laptop = signed_in(browser), signed_in(browser)
    page = laptop.get("/account/")
    assert page.text.count("<tr") == 3  # header and two sessions
    assert "(этот сеанс)" in page.text
    asked = laptop.post("/account/sessions/end-others")  # asks first
    assert "Завершить все сеансы, кроме этого?" in asked.text and not is_anonymous(phone)
    page = laptop.post("/account/sessions/end-others", {"confirm": "yes"})
    assert "Завершено других сеансов: 1." in page.text
    assert is_anonymous(phone)
    assert not is_anonymous(laptop)


def test_disabling_an_account_ends_its_sessions(browser, live):
    first, second = signed_in(browser), signed_in(browser)
    with live.portal_app.test_request_context(base_url=live.portal("mosreg")):
        user = db.session.scalars(select(User).filter_by(tenant="mosreg", subject="1000001")).one()
        disable_user(user)
    assert is_anonymous(first) and is_anonymous(second)


def test_personal_pages_are_never_cached(browser):
    b = signed_in(browser)
    for path in ("/diary/", "/account/", "/notifications/"):
        assert "no-store" in b.get(path).headers["Cache-Control"]
    assert "no-store" not in b.get("/static/css/portal.css").headers.get("Cache-Control", "")
    anonymous = browser("mosreg")
    assert "no-store" not in anonymous.get("/login").headers.get("Cache-Control", "")
