"""Login statistics per school: counted as people log in, read by the regional administrator.

Every login's audit event (``login_succeeded``, ``login_stopped``, ``login_failed``) also adds
one to a counter (``app.models.counters``) keyed by region, day in the region's time zone,
method, outcome, reason and school — in the same transaction, with one upsert that two logins
at once cannot lose. The statistics page reads those counters only, so its cost does not grow
with the audit log; ``flask counters rebuild`` recomputes them from the audit events after a
repair or for events written before the counters existed.

The school of a login is the school of the registry record it concerns: the record the login
matched (``person_id`` of its event, or the account's record), else the record that differs
in one field («дневник не найден»: ``schools`` of the event), else the record behind the
school-issued login that was typed. A student's school comes first, then a child's (for a
parent), then where the person works; several of one kind: the lowest id. A login the portal
cannot place is counted under :data:`NO_SCHOOL` («школа не определена»).

Nothing here imports ``app.audit``, which calls :func:`count_login`.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, g, has_app_context, has_request_context
from flask_babel.speaklater import LazyString
from sqlalchemy import bindparam, delete, func, insert, literal, select, text, union_all

from app import login_totals
from app.database import Prepared, upsert
from app.extensions import db
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l
from app.i18n import ngettext
from app.models import (
    AuditEvent,
    Enrolment,
    Guardianship,
    PasswordCredential,
    School,
    SchoolClass,
    StaffRole,
    User,
)
from app.models.base import db_id
from app.models.counters import (
    NO_SCHOOL,
    STRIPES,
    LoginCounter,
    LoginDayCounter,
    SchoolDayCounter,
)

DEFAULT_TIMEZONE = "Europe/Moscow"
# The audit kinds of a login's end, and the outcome each is counted as.
OUTCOMES = {"login_succeeded": "succeeded", "login_stopped": "stopped", "login_failed": "failed"}
UNKNOWN = "?"
# The longest period the page shows at once: a quarter, day by day.
MAX_DAYS = 92
DEFAULT_DAYS = 14
# How many schools the table of schools lists (those with the most failures first).
SCHOOL_ROWS = 30
# How many schools the list of the most «дневник не найден» names.
NOT_FOUND_ROWS = 10
# Where each of a school's figures is in login_totals.Figures.
FIGURE = {name: i for i, name in enumerate(login_totals.FIGURES)}


# --- what the school (or the region) can do about each reason ------------------------------


@dataclass(frozen=True)
class Advice:
    """What to do about a reason, in words; ``endpoint`` the page where it is done, if any,
    and ``link`` that page's name. ``who``: school, region or person — who can act. The words
    are kept marked for translation (``said``, ``link_said``) and read in the page's language
    (``text``, ``link``)."""

    said: LazyString
    who: str
    endpoint: str | None = None
    link_said: LazyString | None = None

    @property
    def text(self) -> str:
        return str(self.said)

    @property
    def link(self) -> str | None:
        return str(self.link_said) if self.link_said is not None else None


MISMATCH_QUEUE = _l("«Запросы» школы, раздел «Расхождения данных»")
JOIN_QUEUE = _l("«Запросы» школы, раздел «Присоединение к образовательной организации»")
_PROVIDER = Advice(
    _l("Дело не в школе: вход через внешний сервис не удался. Проверьте подключение региона."),
    "region", "admin.qa", _l("Проверка региона"),
)  # fmt: skip

# Every reason a login can stop or fail with (tests/test_login_counters.py finds them in the
# code and fails on one missing here).
ADVICE: dict[str, Advice] = {
    # the access decision
    "not_found": Advice(
        _l("Запись школы отличается от данных человека. Школа сверяет запись с документами и "
           "исправляет её; человек может сам сообщить о расхождении после входа."),
        "school", "school.request_queue", MISMATCH_QUEUE,
    ),
    "student_profile": Advice(
        _l("Ученик не найден среди зачисленных. Школа рассматривает его запрос на "
           "присоединение."),
        "school", "school.request_queue", JOIN_QUEUE,
    ),
    "parent_consent_needed": Advice(
        _l("Родителям отправлена просьба о согласии в центр уведомлений. Школа может напомнить "
           "родителям и проверить, что они указаны в записи ученика."),
        "school",
    ),
    "own_consent_needed": Advice(
        _l("Первый вход: человек даёт согласие на обработку данных на месте. Школе ничего "
           "делать не нужно."),
        "person",
    ),
    "email_missing": Advice(
        _l("В учётной записи нет электронной почты: человек добавляет её в профиль сервиса "
           "входа. Школа может подсказать, как это сделать."),
        "person",
    ),
    "account_unconfirmed": Advice(
        _l("Учётная запись не подтверждена: человек подтверждает её в сервисе входа. Школа "
           "может подсказать, как это сделать."),
        "person",
    ),
    # the school-issued login and the account
    "wrong_credentials": Advice(
        _l("Неверный логин или пароль. Если ученик забыл пароль, школа выдаёт новый."),
        "school", "school.students", _l("«Ученики» школы: выдача и сброс паролей"),
    ),
    "account_disabled": Advice(
        _l("Учётная запись отключена администратором. Человек обращается в школу или к "
           "администратору региона."),
        "region",
    ),
    # the identity provider and the login page
    "refused": Advice(
        _l("Человек не разрешил передать свои данные на странице прав доступа. Чтобы войти, "
           "нужно разрешить передачу."),
        "person",
    ),
    "bad_state": Advice(
        _l("Страница входа была открыта слишком долго или дважды. Достаточно войти ещё раз."),
        "person",
    ),
    "provider_unavailable": _PROVIDER,
    "provider_error": _PROVIDER,
    "invalid_token": _PROVIDER,
    "invalid_metadata": _PROVIDER,
    "mix_up": _PROVIDER,
    "misconfigured": Advice(
        _l("Ошибка в настройках входа у портала: ключи или секреты региона не загружаются. "
           "Проверьте подключение региона."),
        "region", "admin.qa", _l("Проверка региона"),
    ),
}  # fmt: skip


# --- counting a login ----------------------------------------------------------------------


@dataclass(frozen=True)
class LoginKey:
    method: str
    outcome: str
    reason: str


def key_of(kind: str, detail: Mapping[str, Any]) -> LoginKey | None:
    """A login event's method, outcome and reason as counted; None for any other event."""
    outcome = OUTCOMES.get(kind)
    if outcome is None:
        return None
    reason = (
        "" if outcome == "succeeded" else _code(detail.get("reason") or detail.get("outcome"), 64)
    )
    return LoginKey(_code(detail.get("method"), 32), outcome, reason)


def _code(value: Any, length: int) -> str:
    return str(value).replace("\x00", "")[:length] if value else UNKNOWN


def zone_of(tenant: str) -> ZoneInfo:
    """The region's time zone: the request's region, else the served one of that slug."""
    config = None
    if has_request_context() and getattr(g.get("tenant"), "slug", None) == tenant:
        config = g.tenant.config
    elif has_app_context():
        served = current_app.extensions["tenants"].get(tenant)
        config = served.config if served is not None else None
    return ZoneInfo(config.timezone if config is not None else DEFAULT_TIMEZONE)


Hint = tuple[str, Any]  # where the school of a login is to be found: ("person", id), …


def hint_of(actor_id: int | None, detail: Mapping[str, Any]) -> Hint | None:
    """Where a login event says its school is, before any lookup (module docstring)."""
    person = db_id(detail.get("person_id"))
    if person:
        return ("person", person)
    schools = detail.get("schools")
    if isinstance(schools, list | tuple):
        found = next((s for s in (db_id(v) for v in schools) if s), None)
        if found:
            return ("school", found)
    user = db_id(actor_id)
    if user:
        return ("user", user)
    login = detail.get("login")
    if isinstance(login, str) and login.strip():
        return ("login", login.replace("\x00", "").strip().casefold()[:64])
    return None


def schools_of_people(tenant: str, person_ids: Iterable[int]) -> dict[int, int]:
    """The school of each registry record that has one (module docstring), in one query per
    500 records."""
    ids = sorted({i for i in person_ids if i})
    if len(ids) == 1:  # a login's own record: the prepared statement
        rows = _places(one=True).all({"person": ids[0], "tenant": tenant})
    else:
        places = _places()
        rows = [
            row
            for chunk in _chunks(ids)
            for row in db.session.execute(places, {"ids": chunk, "tenant": tenant})
        ]
    # The lowest rank comes last, and stays.
    return {person_id: school_id for person_id, _rank, school_id in rows}


@functools.cache
def _places(one: bool = False):
    """Each person's schools by rank (1 their own class's, 2 a child's, 3 where they work),
    the lowest school id of each: built once, as every login asks it (building the union
    was a tenth of a login's time in the portal), of the tables' columns, so that it runs as
    plain SQL without the ORM's handling of mapped attributes. ``one``: of one person
    (``:person``), prepared (app.database.Prepared); else of a list (``:ids``), which
    SQLAlchemy renders for its length."""
    tenant = bindparam("tenant")
    ids = bindparam("person") if one else bindparam("ids", expanding=True)

    def among(column):
        return column == ids if one else column.in_(ids)

    enrolment, klass, school, guardianship, staff = (
        model.__table__ for model in (Enrolment, SchoolClass, School, Guardianship, StaffRole)
    )

    def in_a_class_of_the_region(query):
        return (
            query.join(klass, klass.c.id == enrolment.c.class_id)
            .join(school, school.c.id == klass.c.school_id)
            .where(enrolment.c.active, school.c.tenant == tenant)
        )

    own = in_a_class_of_the_region(
        select(enrolment.c.person_id, literal(1), klass.c.school_id).where(
            among(enrolment.c.person_id)
        )
    )
    child = in_a_class_of_the_region(
        select(guardianship.c.guardian_id, literal(2), klass.c.school_id)
        .join(enrolment, enrolment.c.person_id == guardianship.c.student_id)
        .where(among(guardianship.c.guardian_id))
    )
    staffed = (
        select(staff.c.person_id, literal(3), staff.c.school_id)
        .join(school, school.c.id == staff.c.school_id)
        .where(among(staff.c.person_id), school.c.tenant == tenant)
    )
    places = union_all(own, child, staffed).subquery()
    person, rank, place = places.c
    statement = select(person, rank, func.min(place)).group_by(person, rank)
    statement = statement.order_by(rank.desc())
    return Prepared(statement) if one else statement


def _chunks(ids: list, size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def resolve(tenant: str, hints: Iterable[Hint | None]) -> dict[Hint, int]:
    """The school of each hint (NO_SCHOOL where none is known), in a few queries whatever
    their number: the live count passes one hint, a rebuild all of a period's."""
    hints = {h for h in hints if h is not None}
    by_kind: dict[str, set] = defaultdict(set)
    for kind, value in hints:
        by_kind[kind].add(value)
    person_of: dict[Hint, int] = {("person", p): p for p in by_kind["person"]}
    for chunk in _chunks(sorted(by_kind["user"])):
        rows = db.session.execute(
            select(User.id, User.person_id).where(User.id.in_(chunk), User.tenant == tenant)
        )
        person_of |= {("user", user): person for user, person in rows if person}
    for chunk in _chunks(sorted(by_kind["login"])):
        rows = db.session.execute(
            select(PasswordCredential.login, PasswordCredential.person_id)
            .where(PasswordCredential.login.in_(chunk), PasswordCredential.tenant == tenant)
        )  # fmt: skip
        person_of |= {("login", login): person for login, person in rows}
    schools = schools_of_people(tenant, person_of.values())
    known_schools: set[int] = set()
    for chunk in _chunks(sorted(by_kind["school"])):
        known_schools |= set(db.session.scalars(
            select(School.id).where(School.id.in_(chunk), School.tenant == tenant)
        ))  # fmt: skip
    resolved = {}
    for hint in hints:
        if hint[0] == "school":
            resolved[hint] = hint[1] if hint[1] in known_schools else NO_SCHOOL
        else:
            resolved[hint] = schools.get(person_of.get(hint), NO_SCHOOL)
    return resolved


# Built once: a login adds one to its counter, to its region's day and to its school's day.
# Prepared once (app.database.Prepared): every login's end runs the three.
UPSERT = Prepared(upsert(LoginCounter.__table__, add=["count"]))
DAY_UPSERT = Prepared(upsert(LoginDayCounter.__table__, add=["count"]))
SCHOOL_UPSERT = Prepared(upsert(SchoolDayCounter.__table__, add=login_totals.FIGURES))


def count_login(kind: str, tenant: str | None, actor_id: int | None,
                detail: Mapping[str, Any]) -> None:  # fmt: skip
    """Called by ``app.audit.record`` for every event, before the event is written: a login's
    end adds one to its counters, in the caller's transaction (they stand or fall with the
    audit event). The counter of the login's school first: ``rebuild`` locks that table to
    wait for the logins under way."""
    key = key_of(kind, detail)
    if key is None or not tenant:
        return
    hint = hint_of(actor_id, detail)
    school = resolve(tenant, [hint]).get(hint, NO_SCHOOL) if hint else NO_SCHOOL
    day = datetime.now(zone_of(tenant)).date()
    of_day = {"tenant": tenant, "day": day}
    login = {**of_day, "method": key.method, "outcome": key.outcome, "reason": key.reason}
    UPSERT.execute({**login, "school_id": school, "count": 1})
    DAY_UPSERT.execute({**login, "stripe": secrets.randbelow(STRIPES), "count": 1})
    SCHOOL_UPSERT.execute(
        {**of_day, "school_id": school, **login_totals.figures_of(key.outcome, key.reason)}
    )


# --- recounting from the audit events ------------------------------------------------------


def midnight(day: date, zone: tzinfo) -> datetime:
    """The start of ``day`` in the region's zone, in UTC as the events are stored."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Rebuilt:
    start: date
    end: date
    events: int  # login events counted
    rows: int  # counters written


def rebuild(tenant: str, days: int, today: date | None = None) -> Rebuilt:
    """Recompute the region's counters of the last ``days`` days (up to today, in its zone)
    from its audit events, replacing what they held, in one transaction.

    Logins that end meanwhile wait for it and are then counted on top (PostgreSQL: the
    counters are locked before the events are read; SQLite: the delete takes the database's
    write lock first), so none is lost or counted twice. The region's and the schools' day
    counters follow the new counters; the schools' running totals are written again
    (``app.login_totals``)."""
    zone = zone_of(tenant)
    today = today or datetime.now(zone).date()
    start = today - timedelta(days=days - 1)
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text(f"LOCK TABLE {LoginCounter.__tablename__} IN EXCLUSIVE MODE"))
    db.session.execute(
        delete(LoginCounter).where(LoginCounter.tenant == tenant, LoginCounter.day >= start)
    )
    total = written = 0
    for offset in range(days):  # a day at a time: memory a day's logins need, not a period's
        day = start + timedelta(days=offset)
        counted, rows = _day_counters(tenant, day, zone)
        if rows:
            db.session.execute(insert(LoginCounter), rows)
        total, written = total + counted, written + len(rows)
    login_totals.recount(tenant, start)
    db.session.commit()
    return Rebuilt(start, today, total, written)


def _day_counters(tenant: str, day: date, zone: tzinfo) -> tuple[int, list[dict]]:
    """A region's counters of one day (in its zone) from its audit events: how many login
    events there were, and the counter rows they make."""
    events = db.session.execute(
        select(AuditEvent.kind, AuditEvent.actor_id, AuditEvent.detail)
        .where(AuditEvent.tenant == tenant, AuditEvent.kind.in_(tuple(OUTCOMES)),
               AuditEvent.created_at >= midnight(day, zone),
               AuditEvent.created_at < midnight(day + timedelta(days=1), zone))
        .execution_options(yield_per=1000)
    )  # fmt: skip
    partial: Counter = Counter()
    total = 0
    for kind, actor_id, detail in events:
        detail = detail or {}
        partial[(key_of(kind, detail), hint_of(actor_id, detail))] += 1
        total += 1
    schools = resolve(tenant, (hint for _, hint in partial))
    counts: Counter = Counter()
    for (key, hint), count in partial.items():
        counts[(key, schools.get(hint, NO_SCHOOL) if hint else NO_SCHOOL)] += count
    rows = [
        {"tenant": tenant, "day": day, "method": key.method, "outcome": key.outcome,
         "reason": key.reason, "school_id": school, "count": count}
        for (key, school), count in counts.items()
    ]  # fmt: skip
    return total, rows


# --- the page: what a period's counters say --------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y")
# The Russian words (the message id) said of a date the filter cannot read: not_a_date().
NOT_A_DATE = "Укажите дату так: 05.12.2026."  # i18n-exempt: the id of not_a_date()'s message


def not_a_date() -> str:
    return _("Укажите дату так: 05.12.2026.")


def _date(value: str) -> date:
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise ValueError(value)


def period_from(args: Mapping[str, str], today: date) -> tuple[Period, dict[str, str]]:
    """The period a filter asks for (``from``, ``to``; or the last ``days``), and the problems
    with it by field. A period that cannot be read is the last fortnight; one too long, its
    last MAX_DAYS days."""
    problems: dict[str, str] = {}
    days = args.get("days", "")
    days = min(max(int(days[:4]) if len(days) <= 4 else MAX_DAYS, 1), MAX_DAYS) if (
        days.isascii() and days.isdigit()) else DEFAULT_DAYS  # fmt: skip
    end = today
    start = None
    for name in ("from", "to"):
        value = (args.get(name) or "").strip()
        if not value:
            continue
        try:
            parsed = _date(value[:32])
        except ValueError:
            problems[name] = not_a_date()
            continue
        if name == "from":
            start = parsed
        else:
            end = min(parsed, today)
    if start is None:
        start = end - timedelta(days=days - 1)
    if start > end:
        problems["from"] = _("Начало периода позже его конца: показаны две недели до конца.")
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if (end - start).days >= MAX_DAYS:
        problems["from"] = ngettext(
            "Период не длиннее %(num)d дня: показан последний %(num)d.",
            "Период не длиннее %(num)d дней: показаны последние %(num)d.",
            MAX_DAYS,
        )
        start = end - timedelta(days=MAX_DAYS - 1)
    return Period(start, end), problems


@dataclass
class SchoolRow:
    school_id: int
    name: str
    succeeded: int = 0
    failed: int = 0  # stopped and failed logins
    reasons: Counter = field(default_factory=Counter)


@dataclass
class Report:
    period: Period
    by_method: dict[str, Counter] = field(default_factory=dict)  # method → day → logins
    by_reason: dict[str, Counter] = field(default_factory=dict)  # reason → day → failures
    reason_methods: dict[str, Counter] = field(default_factory=dict)  # reason → method → …
    schools: list[SchoolRow] = field(default_factory=list)  # most failures first
    more_schools: int = 0  # schools with logins not listed
    not_found_schools: list[tuple[str, int]] = field(default_factory=list)

    @property
    def days(self) -> list[date]:
        return self.period.days

    @staticmethod
    def total(table: dict[str, Counter], day: date) -> int:
        return sum(counter[day] for counter in table.values())

    @property
    def succeeded(self) -> int:
        return sum(sum(counter.values()) for counter in self.by_method.values())

    @property
    def failed(self) -> int:
        return sum(sum(counter.values()) for counter in self.by_reason.values())

    @property
    def methods(self) -> list[str]:
        """Every method the period's logins used, successful or not."""
        used = set(self.by_method)
        for counter in self.reason_methods.values():
            used |= set(counter)
        return sorted(used)

    @property
    def reason_rows(self) -> list[tuple[str, Counter, int]]:
        """Each reason with its failures per method and in all, the most frequent first."""
        rows = [(reason, counter, sum(counter.values()))
                for reason, counter in self.reason_methods.items()]  # fmt: skip
        return sorted(rows, key=lambda row: (-row[2], row[0]))

    def worst_day(self) -> tuple[date, int] | None:
        totals = [(self.total(self.by_reason, day), day) for day in self.days]
        count, day = max(totals, default=(0, None), key=lambda pair: pair[0])
        return (day, count) if count else None


NO_SCHOOL_NAME = _l("школа не определена")


def school_names(tenant: str, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i})
    names = {NO_SCHOOL: str(NO_SCHOOL_NAME)}
    for chunk in _chunks(wanted):
        names |= dict(db.session.execute(
            select(School.id, School.short_name).where(School.id.in_(chunk),
                                                      School.tenant == tenant)
        ).all())  # fmt: skip
    return names


def schools_of_region(tenant: str) -> list[tuple[int, str]]:
    """The region's schools for the filter, by name."""
    return list(db.session.execute(
        select(School.id, School.short_name).where(School.tenant == tenant)
        .order_by(School.short_name, School.id)
    ).tuples())  # fmt: skip


SCHOOL_VALUE = re.compile(r"\d{1,10}")


def school_filter(tenant: str, value: str) -> int | None:
    """The school a filter names: None for every school, NO_SCHOOL for «не определена», an id
    of the region's school; LookupError for anything else (another region's school)."""
    value = (value or "").strip()
    if value == "":
        return None
    if value == "none":
        return NO_SCHOOL
    school = db_id(value) if SCHOOL_VALUE.fullmatch(value) else None
    if school is None or db.session.scalar(
        select(School.id).where(School.id == school, School.tenant == tenant)
    ) is None:  # fmt: skip
        raise LookupError(value)
    return school


def filter_name(school: int | None, schools: Iterable[tuple[int, str]]) -> str:
    """What the page calls the filter's choice."""
    if school is None:
        return _("Все школы")
    if school == NO_SCHOOL:
        return _("Школа не определена")
    return dict(schools).get(school) or str(NO_SCHOOL_NAME)


def report(tenant: str, period: Period, school: int | None = None) -> Report:
    """The period's logins per day and method, failures per day, reason and method, and per
    school, for one school or all: the days from the region's day counters (one school's: its
    counters), the schools from their running totals and day counters (``app.login_totals``)."""
    result = Report(period)
    by_method: dict[str, Counter] = defaultdict(Counter)
    by_reason: dict[str, Counter] = defaultdict(Counter)
    reason_methods: dict[str, Counter] = defaultdict(Counter)

    def count_day(day: date, method: str, outcome: str, reason: str, count: int) -> None:
        if outcome == "succeeded":
            by_method[method][day] += count
        else:
            by_reason[reason][day] += count
            reason_methods[reason][method] += count

    if school is None:
        for row in login_totals.days(tenant, period.start, period.end):
            count_day(*row)
    else:
        for row in db.session.execute(
            select(LoginCounter.day, LoginCounter.method, LoginCounter.outcome,
                   LoginCounter.reason, func.sum(LoginCounter.count))
            .where(LoginCounter.tenant == tenant, LoginCounter.school_id == school,
                   LoginCounter.day >= period.start, LoginCounter.day <= period.end)
            .group_by(LoginCounter.day, LoginCounter.method, LoginCounter.outcome,
                      LoginCounter.reason)
        ):  # fmt: skip
            count_day(*row)
    result.by_method, result.by_reason = dict(by_method), dict(by_reason)
    result.reason_methods = dict(reason_methods)

    summed = login_totals.close_for_page(
        tenant, login_totals.last_day_over(datetime.now(zone_of(tenant)))
    )
    ranking = login_totals.ranking(tenant, period.start, period.end, summed, listed=SCHOOL_ROWS,
                                   not_found=NOT_FOUND_ROWS, school=school)  # fmt: skip
    names = school_names(tenant, [s for s, _ in [*ranking.schools, *ranking.most_not_found]])

    def name(school_id: int) -> str:
        return names.get(school_id) or str(NO_SCHOOL_NAME)

    result.schools = [
        SchoolRow(school_id, name(school_id), figures[FIGURE["succeeded"]],
                  figures[FIGURE["failed"]],
                  Counter({reason: figures[FIGURE[reason]]
                           for reason in login_totals.SCHOOL_REASONS}))
        for school_id, figures in ranking.schools
    ]  # fmt: skip
    result.more_schools = max(ranking.count - SCHOOL_ROWS, 0)
    result.not_found_schools = [(name(school_id), figures[FIGURE["not_found"]])
                                for school_id, figures in ranking.most_not_found]  # fmt: skip
    return result


# --- the chart -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str  # ok, failed
    value: int
    day: date


def bars(stats: Report, width: int = 640, height: int = 160) -> list[Bar]:
    """Two bars a day, logins and failures, scaled to the busiest one."""
    days = stats.days
    peak = max([1] + [max(stats.total(stats.by_method, d), stats.total(stats.by_reason, d))
                      for d in days])  # fmt: skip
    slot = width / max(len(days), 1)
    gap = min(8.0, slot / 4)
    bar_width = (slot - gap) / 2
    result = []
    for i, day in enumerate(days):
        for j, (kind, table) in enumerate((("ok", stats.by_method), ("failed", stats.by_reason))):
            value = stats.total(table, day)
            h = (height - 20) * value / peak
            result.append(Bar(i * slot + gap / 2 + j * bar_width, height - 16 - h, bar_width, h,
                              kind, value, day))  # fmt: skip
    return result
