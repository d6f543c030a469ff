"""P10 and SECURITY.md's password rows: «Вход по логину», limits, school-issued credentials."""

from __future__ import annotations

import os
import re
import statistics
import time
import uuid
from datetime import timedelta

import pytest
import redis
import time_machine
from sqlalchemy import select

from app import create_app
from app.extensions import db, limiter
from app.models import AuditEvent
from tests.conftest import test_environ
from tests.live import ESIA_REGIONS

LOGIN, INITIAL = "parolev.demo", "Nachalo-P10-demo"
NEW_PASSWORD = "зелёный трамвай едет к морю"
WRONG = "Неверный логин или пароль"
ADVICE = "обратитесь к классному руководителю или администрации образовательной организации"


def password_login(b, login, password):
    b.get("/login/password")
    return b.post("/login/password", {"login": login, "password": password})


@pytest.mark.parametrize("slug", ESIA_REGIONS)
def test_p10_first_login_forces_a_new_password(browser, slug):
    b = browser(slug)
    assert "«Вход по логину»" not in b.get("/login").text
    assert ">Вход по логину</a>" in b.page.text
    page = password_login(b, LOGIN, "not-the-password")
    assert page.status_code == 200 and WRONG in page.text and ADVICE in page.text

    page = password_login(b, LOGIN, INITIAL)
    assert page.url.endswith("/login/password/change")
    assert "/login?next=" in b.get("/diary/").url  # not in before choosing a password
    b.get("/login/password/change")
    for weak, message in [("short1", "не короче 8"), ("password1", "слишком распространён"),
                          (LOGIN, "слишком распространён|не должен совпадать"),
                          (INITIAL, "должен отличаться от прежнего")]:  # fmt: skip
        page = b.post("/login/password/change", {"password": weak, "password_again": weak})
        assert page.status_code == 400
        assert any(part in page.text for part in message.split("|")), weak
        # The problems are tied to the new password's field for screen readers.
        field = re.search(r'<input[^>]*name="password"[^>]*>', page.text)[0]
        assert 'aria-invalid="true"' in field and 'aria-describedby="password-problem-1' in field
        assert 'id="password-problem-1"' in page.text
    page = b.post(
        "/login/password/change", {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    )
    assert page.url.endswith("/diary/")
    assert "Роль: <strong>Ученик</strong>" in page.text

    again = browser(slug)
    assert password_login(again, LOGIN, INITIAL).status_code == 200  # the slip's password is spent
    assert password_login(again, LOGIN, NEW_PASSWORD).url.endswith("/diary/")


def test_moscow_offers_no_password_login(browser):
    b = browser("moscow")
    assert ">Вход по логину</a>" not in b.get("/login").text
    assert b.get("/login/password").status_code == 404


def test_unknown_login_and_wrong_password_look_the_same(live):
    """Same text, same status, and within 20 % the same time (ASVS 6.3.8)."""
    app = live.portal_app
    base = live.portal("kaluga")
    with app.test_request_context(base_url=base):
        from app.identity.password import credentials as passwords
        from app.models import Enrolment, Person

        students = db.session.scalars(
            select(Person).join(Enrolment).where(Person.tenant == "kaluga").limit(7)
        ).all()
        logins = [passwords.issue("kaluga", student, by=None).login for student in students]
    client = app.test_client()

    def attempt(login):
        page = client.get("/login/password", base_url=base).get_data(as_text=True)
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        started = time.perf_counter()
        response = client.post("/login/password", base_url=base,
                               data={"csrf_token": token, "login": login, "password": "wrong-pass"})  # fmt: skip
        return response, time.perf_counter() - started

    unknown, wrong = [], []
    for login in logins:  # interleaved, so drift on the machine affects both alike
        response_u, elapsed_u = attempt(f"nobody.{uuid.uuid4().hex[:6]}")
        response_w, elapsed_w = attempt(login)
        unknown.append(elapsed_u)
        wrong.append(elapsed_w)
        assert response_u.status_code == response_w.status_code == 200

    def message(response):
        return response.get_data(as_text=True).split('role="alert">', 1)[1].split("<", 1)[0]

    assert message(response_u) == message(response_w) == WRONG
    ratio = statistics.median(unknown) / statistics.median(wrong)
    assert 0.8 <= ratio <= 1.2, f"unknown/wrong median time ratio {ratio:.2f}"


def test_login_limit_then_it_lapses(browser):
    with time_machine.travel(0, tick=True) as clock:
        clock.move_to("2030-02-01 10:00")
        b = browser("mosreg")
        # The limited form says what is left of its limit; a page without limits says nothing.
        assert "X-RateLimit-Remaining" not in b.get("/login/password").headers
        for _ in range(5):
            page = password_login(b, LOGIN, "wrong-password")
            assert page.status_code == 200 and "X-RateLimit-Remaining" in page.headers
        page = password_login(b, LOGIN, INITIAL)
        assert page.status_code == 429
        assert "Слишком много попыток" in page.text
        assert int(page.headers["Retry-After"]) <= 60
        clock.shift(timedelta(seconds=61))
        assert password_login(b, LOGIN, INITIAL).url.endswith("/login/password/change")


def test_address_limit_across_logins(browser):
    b = browser("tatarstan")
    statuses = [password_login(b, f"guess.{n}", "wrong-password").status_code for n in range(31)]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429


@pytest.fixture
def shared_redis():
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        message = f"Redis is not reachable at {url}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url


def test_limits_are_shared_by_two_instances_through_redis(database_uri, shared_redis, esia_env):
    prefix = f"test-{uuid.uuid4().hex}"
    apps = [
        create_app(
            test_environ(database_uri, REDIS_URL=shared_redis), {"RATELIMIT_KEY_PREFIX": prefix}
        )
        for _ in range(2)
    ]
    clients = [app.test_client() for app in apps]
    base = "http://kaluga.localhost/"

    def attempt(client):
        page = client.get("/login/password", base_url=base).get_data(as_text=True)
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        return client.post("/login/password", base_url=base,
                           data={"csrf_token": token, "login": "shared.login", "password": "nope-nope"})  # fmt: skip

    statuses = [attempt(clients[n % 2]).status_code for n in range(6)]
    assert statuses == [200, 200, 200, 200, 200, 429]
    assert attempt(clients[0]).status_code == attempt(clients[1]).status_code == 429
    keys = redis.Redis.from_url(shared_redis)
    for key in keys.scan_iter(f"{prefix}*"):
        keys.delete(key)


def test_school_admin_issues_and_resets_credentials(browser, live):
    admin = browser("kaluga")
    page = admin.esia_login("SA")
    assert page.url.endswith("/school/students")
    assert "Демова Софья Ивановна" not in page.text  # Лицей № 2: not her school
    assert "Образцов Михаил Андреевич" in page.text
    misha = re.search(r'id="student-(\d+)">\s*<td>Образцов Михаил Андреевич', page.text).group(1)

    slip = admin.post(f"/school/students/{misha}/credentials")
    assert slip.headers["Cache-Control"] == "no-store"
    login = slip.text.split('class="slip-login">', 1)[1].split("<", 1)[0]
    initial = slip.text.split('class="slip-password">', 1)[1].split("<", 1)[0]
    assert login.startswith("obraztsov.") and len(initial) == 12

    student = browser("kaluga")
    assert password_login(student, login, initial).url.endswith("/login/password/change")
    student.post(
        "/login/password/change", {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    )
    assert "/diary/" in student.page.url or "согласие" in student.page.text

    admin.get("/school/students")
    reset = admin.post(f"/school/students/{misha}/credentials")
    second = reset.text.split('class="slip-password">', 1)[1].split("<", 1)[0]
    assert second != initial
    assert "/login?next=" in student.get("/diary/").url  # the reset ended the student's session
    assert password_login(browser("kaluga"), login, NEW_PASSWORD).status_code == 200

    with live.portal_app.app_context():
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.kind.in_(["credentials_issued", "credentials_reset"]))
            .order_by(AuditEvent.id)
        ).all()
    assert [e.kind for e in events] == ["credentials_issued", "credentials_reset"]
    for event in events:
        assert initial not in str(event.detail) and second not in str(event.detail)


def test_school_admin_cannot_reach_another_schools_student(browser, live):
    admin = browser("kaluga")
    admin.esia_login("SA")
    with live.portal_app.app_context():
        from app.models import Person

        sonya = db.session.scalars(
            select(Person).filter_by(tenant="kaluga", key="demova_sonya")
        ).one()
    assert admin.post(f"/school/students/{sonya.id}/credentials").status_code == 404
    parent = browser("kaluga")
    parent.esia_login("P1")
    assert parent.get("/school/students").status_code == 403


def test_changing_the_password_ends_the_other_sessions(browser):
    first = browser("mosreg")
    password_login(first, LOGIN, INITIAL)
    first.post("/login/password/change", {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})
    second = browser("mosreg")
    assert password_login(second, LOGIN, NEW_PASSWORD).url.endswith("/diary/")
    second.get("/account/password")
    fresh = "синий кит плывёт на север"
    page = second.post(
        "/account/password", {"current": "wrong", "password": fresh, "password_again": fresh}
    )
    assert page.status_code == 400 and "Текущий пароль введён неверно." in page.text
    page = second.post(
        "/account/password", {"current": NEW_PASSWORD, "password": fresh, "password_again": fresh}
    )
    assert "Пароль изменён. Другие сеансы завершены." in page.text
    assert "/login?next=" in first.get("/diary/").url
    assert second.get("/diary/").url.endswith("/diary/")


def test_esia_users_have_no_password_page(browser):
    b = browser("mosreg")
    b.esia_login("P1")
    assert b.get("/account/password").status_code == 404


def test_the_owner_gets_in_while_others_guess_their_password(live, database_uri):
    """No victim lockout: failures count per (login, address). A guesser's address is refused
    after 5 a minute, with the Russian page saying when to try again; the owner, elsewhere, with
    the right password, gets in. Guessing from many addresses passes the per-login backstop:
    further failures are answered late, never refused, and the owner still gets in."""
    app = create_app(test_environ(
        database_uri, IDP_EMULATOR_URL=live.emulator_url, TRUSTED_PROXY_HOPS="1",
        LOGIN_BACKSTOP_DELAY_SECONDS="0.4",
    ))  # fmt: skip
    base = "http://kaluga.localhost/"

    def attempt(address: str, password: str):
        client = app.test_client()
        via = {"X-Forwarded-For": address}
        page = client.get("/login/password", base_url=base, headers=via).get_data(as_text=True)
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        started = time.monotonic()
        response = client.post("/login/password", base_url=base, headers=via,
                               data={"csrf_token": token, "login": LOGIN, "password": password})  # fmt: skip
        return response, time.monotonic() - started

    statuses = [attempt("203.0.113.9", "wrong-password")[0].status_code for _ in range(8)]
    assert statuses == [200] * 5 + [429] * 3
    refused, _ = attempt("203.0.113.9", INITIAL)  # that address waits, even with the password
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) <= 60
    assert "Попробуйте снова через" in refused.get_data(as_text=True)
    owner, _ = attempt("198.51.100.7", INITIAL)
    assert owner.status_code == 302 and owner.location.endswith("/login/password/change")

    for n in range(100):  # a hundred more addresses, a few guesses each would be the same
        assert attempt(f"192.0.2.{n + 1}", "wrong-password")[0].status_code == 200
    slowed, took = attempt("198.18.0.1", "wrong-password")
    assert slowed.status_code == 200 and took >= 0.4  # answered late, not refused
    owner, _ = attempt("198.51.100.8", INITIAL)
    assert owner.status_code == 302 and owner.location.endswith("/login/password/change")


def test_the_login_backstop_is_counted_under_the_deployments_prefix(live):
    """Its counts are kept beside Flask-Limiter's, under ``REDIS_KEY_PREFIX``: a Redis shared
    by two deployments, or by two test runs, counts each one's guesses apart."""
    app = live.portal_app
    client = app.test_client()
    base = "http://kaluga.localhost/"
    page = client.get("/login/password", base_url=base).get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    client.post("/login/password", base_url=base,
                data={"csrf_token": token, "login": LOGIN, "password": "wrong-password"})  # fmt: skip
    storage = limiter.limiter.storage
    if hasattr(storage, "events"):  # memory://
        keys = [*storage.events, *storage.storage]
    else:  # Redis
        keys = [key.decode() for key in storage.storage.scan_iter("*login-backstop*")]
    prefix = app.config["RATELIMIT_KEY_PREFIX"]
    assert any(f"/{prefix}/login-backstop/kaluga/{LOGIN}/" in key for key in keys), keys
