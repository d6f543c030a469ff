"""Login statistics per school (app/login_stats.py): every login's end counted under its region,
day in the region's zone, method, outcome, reason and school, in the transaction of its audit
event; two logins at once both counted; ``flask counters rebuild`` giving back what the logins
counted; and the statistics page, over real logins through the emulator, saying what the audit
events say, with each reason linked to what the school can do."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask import g
from sqlalchemy import delete, func, select, text

from app import audit, create_app, login_stats, login_totals, wording
from app.access.decision import Outcome
from app.demo import seed
from app.extensions import db
from app.models import AuditEvent, PasswordCredential, Person, School, User
from app.models.counters import (
    NO_SCHOOL,
    LoginCounter,
    LoginDayCounter,
    LoginTotalsMark,
    SchoolDayCounter,
    SchoolLoginTotal,
)
from tests.conftest import regions_file, test_environ
from tests.live import browser, esia_env, live, localhost_subdomains, servers  # noqa: F401
from tests.test_wording import (
    LOGIN_FAILED_REASON,
    Source,
    Unresolved,
    login_failed_reasons,
)

MOSCOW = ZoneInfo("Europe/Moscow")
# A moment at which it is already 6 December in Moscow (UTC+3) but still 5 December in UTC.
LATE = datetime(2026, 12, 5, 21, 30, tzinfo=UTC)
NOON = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


COUNTER_TABLES = (LoginCounter, LoginDayCounter, SchoolDayCounter, SchoolLoginTotal,
                  LoginTotalsMark)  # fmt: skip


@pytest.fixture(autouse=True)
def no_leftovers(database_uri):
    """Logins an earlier test left behind (one that does not empty the tables after itself)
    are not counted here."""
    app = create_app(test_environ(database_uri))
    with app.app_context():
        for model in COUNTER_TABLES:
            db.session.execute(delete(model))
        db.session.execute(delete(AuditEvent))
        db.session.commit()
        db.engine.dispose()


# --- every reason the code can give ---------------------------------------------------------


def login_reasons() -> tuple[set[str], set[str]]:
    """(the reasons a ``login_failed`` event can carry, the outcomes a stopped login can have),
    found on the source as tests/test_wording.py finds them."""
    source = Source.of_app()
    failed = set(login_failed_reasons(source))
    for call in source.records():
        try:
            kinds = source.values(call.args[0]) if call.args else set()
        except Unresolved:  # not a login's kind (test_wording names it)
            continue
        if "login_failed" in kinds:
            for keyword in call.keywords:
                if keyword.arg == "reason":
                    failed |= source.values(keyword.value)
    failed.discard(LOGIN_FAILED_REASON)
    stopped = {outcome.value for outcome in Outcome} - {"diary", "choose_role"}
    return failed, stopped


def test_every_reason_a_login_can_fail_or_stop_with_has_words_and_advice(app):
    failed, stopped = login_reasons()
    assert {"wrong_credentials", "account_disabled", "provider_unavailable", "mix_up",
            "misconfigured", "refused", "bad_state"} <= failed  # fmt: skip
    assert {"not_found", "student_profile", "parent_consent_needed"} <= stopped
    for reason in failed | stopped:
        assert reason in wording.REASONS, reason
        assert reason in login_stats.ADVICE, f"no advice for {reason}"
        advice = login_stats.ADVICE[reason]
        assert advice.text and advice.who in ("school", "region", "person")
        if advice.endpoint:
            assert advice.endpoint in app.view_functions and advice.link
    # What the school can do about records that do not match and students not enrolled: its
    # two queues, on the school's «Запросы» page.
    for reason in ("not_found", "student_profile"):
        assert login_stats.ADVICE[reason].endpoint == "school.request_queue"
    assert "Расхождения данных" in login_stats.ADVICE["not_found"].link
    assert "Присоединение" in login_stats.ADVICE["student_profile"].link


# --- counting -------------------------------------------------------------------------------


def counters(slug: str | None = None) -> dict[tuple, int]:
    query = select(LoginCounter)
    if slug:
        query = query.where(LoginCounter.tenant == slug)
    return {
        (c.tenant, c.day, c.method, c.outcome, c.reason, c.school_id): c.count
        for c in db.session.scalars(query)
    }


def day_counters_agree() -> None:
    """The region's and the schools' day counters say what the counters say."""
    days: Counter = Counter()
    schools: Counter = Counter()
    for (tenant, day, method, outcome, reason, school), count in counters().items():
        days[(tenant, day, method, outcome, reason)] += count
        figures = login_totals.figures_of(outcome, reason)
        for name in login_totals.FIGURES:
            schools[(tenant, day, school, name)] += figures[name] * count
    in_days: Counter = Counter()
    for c in db.session.scalars(select(LoginDayCounter)):
        in_days[(c.tenant, c.day, c.method, c.outcome, c.reason)] += c.count
    in_schools = Counter({(c.tenant, c.day, c.school_id, name): getattr(c, name)
                          for c in db.session.scalars(select(SchoolDayCounter))
                          for name in login_totals.FIGURES})  # fmt: skip
    assert +in_days == +days
    assert +in_schools == +schools


def school_id(slug: str, key: str) -> int:
    return db.session.scalar(select(School.id).filter_by(tenant=slug, key=key))


def person(slug: str, key: str) -> Person:
    return db.session.scalar(select(Person).filter_by(tenant=slug, key=key))


def linked_user(slug: str, key: str, subject: str) -> User:
    """An account that logged in before, linked to the registry record ``key``."""
    user = User(tenant=slug, issuer="https://idp.test", subject=subject,
                display_name=subject, person_id=person(slug, key).id)  # fmt: skip
    db.session.add(user)
    db.session.flush()
    return user


def region_request(app, slug: str):
    """A request on the region's host, as the login routes run in."""
    context = app.test_request_context("/", base_url=f"http://{slug}.localhost/")
    context.push()
    g.tenant = app.extensions["tenants"].get(slug)
    return context


def every_reason_logged(app, slug: str = "mosreg") -> Counter:
    """Each reason a login can end with, recorded as the code records it, for people of the
    demo registry whose school is known; returns the counters expected, by key."""
    failed, stopped = login_reasons()
    school_1, lyceum = school_id(slug, "school-1"), school_id(slug, "lyceum-2")
    # The mother of a lyceum pupil; a pupil of school 1 (and his school-issued login); a
    # teacher of school 1 whose children study in both schools (a child's school comes
    # before the posts, the lowest id of several).
    mother = linked_user(slug, "probnaya_irina", "mother")
    pupil = linked_user(slug, "parolev_timur", "pupil")
    teacher = linked_user(slug, "obraztsov_andrey", "teacher")
    newcomer = User(tenant=slug, issuer="https://idp.test", subject="new", display_name="new")
    db.session.add(newcomer)
    db.session.flush()
    people = [(mother, lyceum), (pupil, school_1), (teacher, min(school_1, lyceum))]
    expected: Counter = Counter()
    today = datetime.now(MOSCOW).date()

    def expect(method, outcome, reason, school):
        expected[(slug, today, method, outcome, reason, school)] += 1

    for i, reason in enumerate(sorted(stopped)):
        user, school = people[i % len(people)]
        if reason == "not_found":  # a first login; the record that differs is the lyceum's
            audit.record("login_stopped", actor_id=newcomer.id, commit=False, method="esia",
                         outcome=reason, schools=[lyceum])  # fmt: skip
            expect("esia", "stopped", reason, lyceum)
        else:  # a returning person stopped again (a consent withdrawn, a record changed)
            audit.record("login_stopped", actor_id=user.id, commit=False, method="esia",
                         outcome=reason, schools=[])  # fmt: skip
            expect("esia", "stopped", reason, school)
    for reason in sorted(failed):
        if reason == "wrong_credentials":  # as typed: the school-issued login, its school
            audit.record("login_failed", commit=False, method="password", reason=reason,
                         login="  ParoLev.Demo ")  # fmt: skip
            audit.record("login_failed", commit=False, method="password", reason=reason,
                         login="nobody.1234")  # fmt: skip
            expect("password", "failed", reason, school_1)
            expect("password", "failed", reason, NO_SCHOOL)
        elif reason == "account_disabled":  # the same reason through two methods
            audit.record("login_failed", actor_id=mother.id, commit=False, method="esia",
                         reason=reason)  # fmt: skip
            audit.record("login_failed", actor_id=pupil.id, commit=False, method="password",
                         reason=reason)  # fmt: skip
            expect("esia", "failed", reason, lyceum)
            expect("password", "failed", reason, school_1)
        else:  # the provider or the login page: nobody to place
            audit.record("login_failed", commit=False, method="esia", reason=reason,
                         detail="a provider's words")  # fmt: skip
            expect("esia", "failed", reason, NO_SCHOOL)
    audit.record("login_succeeded", actor_id=teacher.id, commit=False, method="esia",
                 outcome="choose_role")  # fmt: skip
    audit.record("login_succeeded", actor_id=pupil.id, commit=False, method="consent",
                 outcome="diary")  # fmt: skip
    expect("esia", "succeeded", "", min(school_1, lyceum))
    expect("consent", "succeeded", "", school_1)
    audit.record("logout", actor_id=pupil.id, commit=False)  # not a login: not counted
    db.session.commit()
    return expected


@pytest.fixture
def mosreg(app):
    with app.app_context():
        seed(app.extensions["tenants"].get("mosreg"))
        db.session.commit()
    context = region_request(app, "mosreg")
    yield app
    db.session.rollback()
    context.pop()


def test_each_reason_is_counted_under_its_school_day_and_method(mosreg):
    with time_machine.travel(NOON, tick=False):
        expected = every_reason_logged(mosreg)
    assert counters() == dict(expected)
    day_counters_agree()
    logins = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.kind.in_(tuple(login_stats.OUTCOMES))))  # fmt: skip
    assert sum(expected.values()) == logins  # one count per audited login, no more


def test_the_record_the_event_names_comes_first_and_only_the_regions_schools_count(mosreg):
    school_1, lyceum = school_id("mosreg", "school-1"), school_id("mosreg", "lyceum-2")
    pupil = person("mosreg", "probny_artem")  # a lyceum pupil
    user = linked_user("mosreg", "parolev_timur", "pupil")  # of school 1
    assert login_stats.hint_of(user.id, {"person_id": pupil.id, "schools": [school_1]}) == (
        "person", pupil.id)  # fmt: skip
    assert login_stats.hint_of(user.id, {"schools": ["x", school_1]}) == ("school", school_1)
    assert login_stats.hint_of(user.id, {"schools": [], "login": "a"}) == ("user", user.id)
    assert login_stats.hint_of(None, {"login": " A.B\x00 "}) == ("login", "a.b")
    assert login_stats.hint_of(None, {"login": " ", "schools": [0, -1]}) is None
    with time_machine.travel(NOON, tick=False):
        audit.record("login_stopped", actor_id=user.id, method="esia",
                     outcome="parent_consent_needed", person_id=pupil.id)  # fmt: skip
        seed(mosreg.extensions["tenants"].get("kaluga"))
        kaluga_lyceum = school_id("kaluga", "lyceum-2")
        audit.record(
            "login_stopped", method="esia", outcome="not_found", schools=[kaluga_lyceum]
        )  # another region's school is no school here
    day = date(2026, 12, 5)
    assert counters() == {
        ("mosreg", day, "esia", "stopped", "parent_consent_needed", lyceum): 1,
        ("mosreg", day, "esia", "stopped", "not_found", NO_SCHOOL): 1,
    }


def test_a_records_school_is_the_same_found_alone_as_among_many(mosreg):
    """A login asks for its one record's school by the prepared statement, a recount for
    many at once by the list: both rank a record's own class first, then a child's, then
    where the person works."""
    school_1, lyceum = school_id("mosreg", "school-1"), school_id("mosreg", "lyceum-2")
    keys = {"probny_artem": lyceum,  # their own class
            "probnaya_irina": lyceum,  # her son's
            # his children's (school 1 and the lyceum: the lower id), before where he teaches
            "obraztsov_andrey": min(school_1, lyceum),
            "shkolnaya_zoya": school_1}  # fmt: skip  # where she works
    ids = {key: person("mosreg", key).id for key in keys}
    nobody = max(ids.values()) + 10_000
    together = login_stats.schools_of_people("mosreg", [*ids.values(), nobody])
    assert together == {ids[key]: school for key, school in keys.items()}
    for key, school in keys.items():
        assert login_stats.schools_of_people("mosreg", [ids[key]]) == {ids[key]: school}
    assert login_stats.schools_of_people("mosreg", [nobody]) == {}
    assert login_stats.schools_of_people("kaluga", [ids["probny_artem"]]) == {}


def test_a_login_counts_on_the_day_it_was_in_the_region(app, database_uri, tmp_path):
    """Kaluga moved to Vladivostok time (UTC+10): at 15:30 UTC it is already tomorrow there
    and still today in Moscow; outside a request (a command) the served region's zone counts."""

    def east(raw):
        raw["regions"]["kaluga"]["timezone"] = "Asia/Vladivostok"

    path = regions_file(tmp_path, east)
    eastern = create_app(test_environ(database_uri, REGIONS_FILE=str(path)), {"TESTING": True})
    moment = datetime(2026, 12, 5, 15, 30, tzinfo=UTC)
    with eastern.app_context(), time_machine.travel(moment, tick=False):
        for slug in ("kaluga", "mosreg"):
            audit.record("login_failed", tenant=slug, method="esia", reason="refused")
        assert counters() == {
            ("kaluga", date(2026, 12, 6), "esia", "failed", "refused", NO_SCHOOL): 1,
            ("mosreg", date(2026, 12, 5), "esia", "failed", "refused", NO_SCHOOL): 1,
        }
        counted = counters()
        login_stats.rebuild("kaluga", 3)
        login_stats.rebuild("mosreg", 3)
        assert counters() == counted
        db.engine.dispose()


def test_two_logins_in_one_transaction_add_up_and_the_upsert_adds(mosreg):
    for _ in range(2):
        audit.record("login_failed", commit=False, method="esia", reason="provider_unavailable")
    db.session.commit()
    today = datetime.now(MOSCOW).date()
    key = ("mosreg", today, "esia", "failed", "provider_unavailable", NO_SCHOOL)
    assert counters() == {key: 2}
    # The prepared upsert (compiled once: tests/test_prepared.py) adds to the row it finds.
    values = {"tenant": "mosreg", "day": today, "method": "esia", "outcome": "failed",
              "reason": "provider_unavailable", "school_id": NO_SCHOOL, "count": 1}  # fmt: skip
    assert login_stats.UPSERT.execute(values) == 1
    assert login_stats.UPSERT.execute(values) == 1
    db.session.commit()
    assert counters()[key] == 4


def _other_thread(app, work):
    def run():
        with app.app_context():
            try:
                work()
            finally:
                db.session.rollback()
                db.session.remove()

    return threading.Thread(target=run)


def test_two_logins_at_once_are_both_counted(app):
    """The second login's upsert meets the first one's new row before it is committed: on
    PostgreSQL it waits on the key and then adds one; on SQLite it waits for the write lock.
    A plain INSERT would fail there, a read-then-write would lose one."""
    first_wrote, second_started = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def login(before, after):
        def work():
            try:
                before()
                audit.record("login_failed", tenant="kaluga", commit=False, method="esia",
                             reason="invalid_token")  # fmt: skip
                after()
                db.session.commit()
            except BaseException as error:  # reported by the test, not lost in a thread
                errors.append(error)
                raise

        return work

    def hold_until_the_second_is_waiting():
        first_wrote.set()
        assert second_started.wait(10)
        # Let the second reach its upsert before this one commits: PostgreSQL shows it
        # waiting for this transaction's lock; SQLite's waiting writer cannot be seen.
        if db.session.get_bind().dialect.name == "postgresql":
            waiting = (
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            for _ in range(100):
                db.session.execute(text("SELECT pg_stat_clear_snapshot()"))  # fresh, please
                if db.session.execute(text(waiting)).scalar():
                    break
                time.sleep(0.05)
            else:
                raise AssertionError("the second login never waited for the first")
        else:
            time.sleep(0.5)

    first = _other_thread(app, login(lambda: None, hold_until_the_second_is_waiting))
    second = _other_thread(app, login(lambda: (first_wrote.wait(10), second_started.set()),
                                      lambda: None))  # fmt: skip
    first.start()
    second.start()
    first.join(30)
    second.join(30)
    assert errors == []
    with app.app_context():
        assert list(counters().values()) == [2]

    # And many at once, each in its own transaction.
    many = 8
    barrier = threading.Barrier(many)

    def at_once():
        barrier.wait(10)
        audit.record("login_failed", tenant="kaluga", method="esia", reason="invalid_token")

    threads = [_other_thread(app, at_once) for _ in range(many)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with app.app_context():
        assert list(counters().values()) == [2 + many]
        day_counters_agree()
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 2 + many


# --- recounting -----------------------------------------------------------------------------


def test_rebuild_gives_back_what_the_logins_counted(mosreg, runner):
    with time_machine.travel(NOON - timedelta(days=2), tick=False):
        every_reason_logged(mosreg)
    with time_machine.travel(NOON, tick=False):
        audit.record("login_failed", method="esia", reason="provider_error")
        audit.record("login_failed", tenant="kaluga", method="esia", reason="provider_error")
    counted = counters()
    assert len(counted) > 20

    def rebuild(*args):
        with time_machine.travel(NOON, tick=False):
            result = runner.invoke(args=["counters", "rebuild", *args])
        assert result.exit_code == 0, result.output
        db.session.expire_all()
        return result

    result = rebuild("--region", "mosreg", "--days", "7")
    assert "mosreg:" in result.output and "kaluga" not in result.output
    assert counters() == counted
    # Counters lost or damaged: the rebuild restores them from the audit events.
    db.session.execute(delete(LoginCounter).where(LoginCounter.tenant == "mosreg",
                                                  LoginCounter.reason == "not_found"))  # fmt: skip
    db.session.execute(LoginCounter.__table__.update().values(count=LoginCounter.count + 5))
    db.session.commit()
    rebuild("--region", "mosreg", "--days", "7")
    mosreg_live = {k: v for k, v in counted.items() if k[0] == "mosreg"}
    assert counters("mosreg") == mosreg_live
    assert counters("kaluga") == {k: v + 5 for k, v in counted.items() if k[0] == "kaluga"}
    # Events written before the counters existed (here: straight into the table) are
    # counted by the rebuild, on their region's day; those older than its period are not.
    db.session.add_all([
        AuditEvent(tenant="mosreg", kind="login_stopped", created_at=LATE - timedelta(days=1),
                   detail={"method": "esia", "outcome": "email_missing"}),
        AuditEvent(tenant="mosreg", kind="login_stopped", created_at=NOON - timedelta(days=30),
                   detail={"method": "esia", "outcome": "email_missing"}),
    ])  # fmt: skip
    db.session.commit()
    rebuild("--region", "mosreg", "--days", "7")
    added = ("mosreg", date(2026, 12, 5), "esia", "stopped", "email_missing", NO_SCHOOL)
    assert counters("mosreg") == mosreg_live | {added: 1}
    # Every region at once; the rebuild itself is audited.
    rebuild("--days", "7")
    assert counters("kaluga") == {k: v for k, v in counted.items() if k[0] == "kaluga"}
    day_counters_agree()
    rebuilt = db.session.scalars(select(AuditEvent.tenant).filter_by(
        kind="login_counters_rebuilt")).all()  # fmt: skip
    assert sorted(rebuilt) == sorted(
        ["mosreg"] * 3 + [t.slug for t in mosreg.extensions["tenants"]]
    )
    assert runner.invoke(args=["counters", "rebuild", "--region", "atlantis"]).exit_code != 0


def test_rebuild_leaves_the_days_before_its_period_alone(mosreg):
    with time_machine.travel(NOON - timedelta(days=10), tick=False):
        audit.record("login_failed", method="esia", reason="refused")
    with time_machine.travel(NOON, tick=False):
        audit.record("login_failed", method="esia", reason="refused")
    db.session.execute(delete(AuditEvent))  # as after a purge
    db.session.commit()
    with time_machine.travel(NOON, tick=False):
        rebuilt = login_stats.rebuild("mosreg", 3)
    assert (rebuilt.start, rebuilt.end, rebuilt.events) == (date(2026, 12, 3), date(2026, 12, 5), 0)
    assert counters() == {("mosreg", date(2026, 11, 25), "esia", "failed", "refused", NO_SCHOOL): 1}


# --- the page's period ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "start", "end", "problem"),
    [
        ({}, date(2026, 11, 22), date(2026, 12, 5), None),
        ({"days": "30"}, date(2026, 11, 6), date(2026, 12, 5), None),
        ({"days": "100000"}, date(2026, 9, 5), date(2026, 12, 5), None),
        ({"days": "²"}, date(2026, 11, 22), date(2026, 12, 5), None),
        ({"from": "2026-12-01", "to": "2026-12-03"}, date(2026, 12, 1), date(2026, 12, 3), None),
        ({"from": "01.12.2026"}, date(2026, 12, 1), date(2026, 12, 5), None),
        ({"to": "2027-01-01"}, date(2026, 11, 22), date(2026, 12, 5), None),  # no future
        ({"from": "вчера"}, date(2026, 11, 22), date(2026, 12, 5), "from"),
        ({"to": "9" * 5000}, date(2026, 11, 22), date(2026, 12, 5), "to"),
        ({"from": "2026-12-04", "to": "2026-12-01"}, date(2026, 11, 18), date(2026, 12, 1), "from"),
        ({"from": "2025-01-01"}, date(2026, 9, 5), date(2026, 12, 5), "from"),
    ],
)
def test_the_period_is_read_from_the_filter(args, start, end, problem):
    period, problems = login_stats.period_from(args, date(2026, 12, 5))
    assert (period.start, period.end) == (start, end)
    assert list(problems) == ([problem] if problem else [])
    assert len(period.days) <= login_stats.MAX_DAYS


# --- the page, over real logins -------------------------------------------------------------


class Tables(HTMLParser):
    """Each table of a page by its class: rows of (the row's attributes, its cells' texts,
    its links)."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: dict[str, list] = {}
        self._table = self._row = self._cell = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("class", ""), [])
        elif tag == "tr" and self._table is not None:
            self._row = (attrs, [], [])
            self._table.append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a" and self._row is not None:
            self._row[2].append(attrs["href"])

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row[1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def rows(self, name: str, key: str) -> dict[str, list[str]]:
        return {attrs[key]: cells for attrs, cells, _ in self.tables[name] if key in attrs}


def audited(app, slug: str) -> dict[str, Counter]:
    """What the audit events say, counted here without the counters: per method (logins),
    per reason (failures), per reason and method, per day."""
    found = {"method": Counter(), "reason": Counter(), "reason_method": Counter(),
             "day": Counter()}  # fmt: skip
    with app.app_context():
        events = db.session.execute(
            select(AuditEvent.kind, AuditEvent.detail, AuditEvent.created_at).where(
                AuditEvent.tenant == slug, AuditEvent.kind.like("login_%"))
        ).all()  # fmt: skip
    for kind, detail, created in events:
        day = created.replace(tzinfo=created.tzinfo or UTC).astimezone(MOSCOW).date()
        if kind == "login_succeeded":
            found["method"][detail["method"]] += 1
            found["day"][(day, "ok")] += 1
        else:
            reason = detail.get("reason") or detail["outcome"]
            found["reason"][reason] += 1
            found["reason_method"][(reason, detail["method"])] += 1
            found["day"][(day, "failed")] += 1
    return found


def password_login(b, login, password):
    b.get("/login/password")
    return b.post("/login/password", {"login": login, "password": password})


def many_logins(browser) -> None:  # noqa: F811
    """Real logins through the emulator and the school-issued login, each ending its own way."""
    for persona in ("P1", "P2", "P3", "P6", "P7", "P8", "P11"):
        browser("mosreg").esia_login(persona)
    browser("mosreg").esia_login("P12", grant=False)  # refused at the rights page
    pupil = browser("mosreg")
    for _ in range(2):
        assert "Неверный логин или пароль" in password_login(pupil, "parolev.demo", "не тот").text
    password_login(pupil, "parolev.demo", "Nachalo-P10-demo")
    pupil.get("/login/password/change")
    new = "зелёный трамвай едет к морю"
    assert pupil.post("/login/password/change",
                      {"password": new, "password_again": new}).url.endswith("/diary/")  # fmt: skip


def admin(browser, slug="mosreg"):  # noqa: F811
    b = browser(slug)
    b.esia_login("ADM")
    return b


def test_the_page_says_what_the_audit_events_say(browser, live):  # noqa: F811
    many_logins(browser)
    b = admin(browser)
    page = b.get("/admin/stats")
    assert page.status_code == 200 and "HX-Request" in page.headers.get("Vary", "")
    expected = audited(live.portal_app, "mosreg")
    assert sum(expected["reason"].values()) >= 9  # the logins above did reach the log
    tables = Tables(page.text)
    methods = tables.rows("regions stats", "data-key")
    today = datetime.now(MOSCOW).date()
    for method, count in expected["method"].items():
        assert methods[method][1:3] == [str(count), str(count)]  # in all, and today
    for reason, count in expected["reason"].items():
        assert methods[reason][0] == wording.REASONS[reason]
        assert methods[reason][1:3] == [str(count), str(count)]
    assert len(methods) == len(expected["method"]) + len(expected["reason"])
    by_method = tables.rows("regions reasons", "data-reason")
    header = next(cells for attrs, cells, _ in tables.tables["regions reasons"] if not attrs)
    labels = {m.kind: m.label for m in live.portal_app.extensions["tenants"].get("mosreg")
              .config.login_methods}  # fmt: skip
    for (reason, method), count in expected["reason_method"].items():
        assert by_method[reason][header.index(labels[method])] == str(count)
    assert set(by_method) == set(expected["reason"])
    summary = page.text.split('id="stats-summary"')[1].split("</p>")[0]
    assert f"<strong>{sum(expected['method'].values())}</strong>" in summary
    assert f"<strong>{sum(expected['reason'].values())}</strong>" in summary
    assert page.text.count('<rect class="bar-') == 2 * 14
    assert f"{today.strftime('%d.%m.%Y')}: неудач {expected['day'][(today, 'failed')]}" in page.text

    # Per school: P3's record differs at the lyceum; P1's children study at both schools
    # (the lower id counts); P10's wrong passwords and his login count at school 1, and so do
    # the logins stopped at a matched record of school 1 (P6's parental consent, P8's own
    # consent, P11's unconfirmed account): the stop names the record.
    with live.portal_app.app_context():
        school_1, lyceum = school_id("mosreg", "school-1"), school_id("mosreg", "lyceum-2")
        credential = db.session.scalar(
            select(PasswordCredential).filter_by(tenant="mosreg", login="parolev.demo")
        )
        assert credential.person.enrolments[0].school_class.school_id == school_1
    first = min(school_1, lyceum)
    logins_in, failures = Counter({first: 1}), Counter({lyceum: 1, school_1: 2 + 3})
    logins_in[school_1] += 1
    schools = tables.rows("regions schools", "data-school")
    for school in (school_1, lyceum):
        assert schools[str(school)][1:3] == [str(logins_in[school]), str(failures[school])]
    assert schools[str(lyceum)][3] == "1"  # «дневник не найден»
    unknown = schools[str(NO_SCHOOL)]
    assert unknown[0] == "школа не определена"
    total_in = sum(int(cells[1]) for cells in schools.values())
    total_failed = sum(int(cells[2]) for cells in schools.values())
    assert (total_in, total_failed) == (sum(expected["method"].values()),
                                        sum(expected["reason"].values()))  # fmt: skip
    assert "<li>Лицей № 2 — 1</li>" in page.text

    # One school: its figures only, from the same counters.
    lyceum_rows = Tables(b.get("/admin/stats", params={"school": str(lyceum)}).text).rows(
        "regions stats", "data-key")  # fmt: skip
    assert lyceum_rows["not_found"] == [wording.REASONS["not_found"], "1", "1", *[""] * 13]
    assert set(lyceum_rows) == {"not_found"} | ({"esia"} if first == lyceum else set())
    # The page reads the counters alone: with the audit events gone it says the same.
    with live.portal_app.app_context():
        db.session.execute(delete(AuditEvent))
        db.session.commit()
    again = Tables(b.get("/admin/stats").text)
    assert again.rows("regions stats", "data-key") == methods
    assert again.rows("regions schools", "data-school") == schools


def advice_of(html: str) -> dict[str, tuple[str, list[str]]]:
    """«Что может сделать школа»: each reason's words and links."""
    return {
        reason: (
            " ".join(re.sub(r"<[^>]+>", " ", body).split()),
            re.findall(r'href="([^"]+)"', body),
        )
        for reason, body in re.findall(r'<li data-reason="([^"]+)">(.*?)</li>', html, re.S)
    }


def test_the_reasons_link_to_what_the_school_can_do(browser, live):  # noqa: F811
    browser("mosreg").esia_login("P3")  # «дневник не найден»: the lyceum's record differs
    browser("mosreg").esia_login("P7")  # not enrolled: a join request
    browser("mosreg").get("/login/esia/callback?state=forged&code=x")  # a stale login page
    with live.portal_app.app_context():  # and the provider did not answer once
        audit.record("login_failed", tenant="mosreg", method="esia", reason="provider_unavailable")
    b = admin(browser)
    advice = advice_of(b.get("/admin/stats").text)
    assert set(advice) == {"not_found", "student_profile", "bad_state", "provider_unavailable"}
    adapter = live.portal_app.url_map.bind("mosreg.localhost")

    def endpoint(href: str) -> str:
        return adapter.match(urlsplit(href).path)[0]

    for reason, queue in (("not_found", "Расхождения данных"),
                          ("student_profile", "Присоединение к образовательной организации")):  # fmt: skip
        words, (href,) = advice[reason]
        assert endpoint(href) == "school.request_queue"
        assert words.startswith(wording.REASONS[reason].capitalize() + " (1).")
        assert queue in words and "страница администратора школы" in words
    # The lyceum's administrator finds both queues at that address.
    school = browser("mosreg")
    school.esia_login("SL")
    page = school.get(advice["not_found"][1][0])
    assert page.status_code == 200
    assert "<h2>Расхождения данных</h2>" in page.text
    assert "<h2>Присоединение к образовательной организации</h2>" in page.text
    # A stale page needs nothing but another try; a provider that failed, the region's check.
    words, links = advice["bad_state"]
    assert links == [] and login_stats.ADVICE["bad_state"].text in words
    words, (href,) = advice["provider_unavailable"]
    assert endpoint(href) == "admin.qa" and "Дело не в школе" in words


def test_the_filter_refuses_what_it_cannot_read(browser, live):  # noqa: F811
    b = admin(browser)
    with live.portal_app.app_context():
        kaluga_school = school_id("kaluga", "lyceum-2")
    for value in (str(kaluga_school), "abc", "9" * 30, "-1", "0"):
        assert b.get("/admin/stats", params={"school": value}).status_code == 404, value
    page = b.get("/admin/stats", params={"school": "none", "from": "вчера", "to": "2026-12-01"})
    assert page.status_code == 400
    field = re.search(r'<input id="from"[^>]*>', page.text)[0]
    assert 'aria-invalid="true"' in field and 'aria-describedby="from-error"' in field
    assert 'id="from-error"' in page.text and login_stats.NOT_A_DATE in page.text
    assert "<h2>Школа не определена: с " in page.text
    # htmx asks for the report alone.
    part = b.get("/admin/stats", headers={"HX-Request": "true"})
    assert "<html" not in part.text and "<h1>" not in part.text
    assert 'id="login-stats"' in part.text and '<form method="get"' in part.text


def test_rebuild_gives_back_what_real_logins_counted(browser, live):  # noqa: F811
    many_logins(browser)
    admin(browser, "kaluga")
    app = live.portal_app
    with app.app_context():
        counted = counters()
        assert {k[0] for k in counted} == {"mosreg", "kaluga"}
        db.session.execute(delete(LoginCounter))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["counters", "rebuild", "--region", "mosreg",
                                                "--days", "2"])  # fmt: skip
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert counters() == {k: v for k, v in counted.items() if k[0] == "mosreg"}
