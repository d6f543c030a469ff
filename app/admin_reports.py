"""What a regional administrator reads about their region: login statistics, the audit log
and what each version of its configuration changed.

Statistics and the log are read from the audit events (``app.audit``), which never hold
secrets or a full СНИЛС; the log viewer cleans each event's detail once more before showing
it, in words (``app.wording``), with people's names for their ids and days in the region's
time zone.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select

from app import wording
from app.audit import clean
from app.extensions import db
from app.models import AuditEvent, Person, School, SchoolClass, User
from app.tenants import editing, versions
from app.tenants.schema import TenantConfig

# A stopped login that the person's own consent let in (the «method» of its success row).
AFTER_CONSENT = {"consent": "после согласия"}


def method_labels(methods) -> dict[str, str]:
    """The region's login methods by kind, with their buttons' words."""
    return {method.kind: method.label for method in methods} | AFTER_CONSENT


REASON_LABELS = wording.REASONS
FAILURE_KINDS = ("login_failed", "login_stopped")


@dataclass
class LoginStats:
    days: list[date]
    by_method: dict[str, Counter] = field(default_factory=dict)  # method → day → count
    by_reason: dict[str, Counter] = field(default_factory=dict)  # reason → day → count
    not_found_schools: list[tuple[str, int]] = field(default_factory=list)

    def total(self, table: dict[str, Counter], day: date) -> int:
        return sum(counter[day] for counter in table.values())


def _midnight(day: date, zone: tzinfo) -> datetime:
    """The start of ``day`` in the region's zone, in UTC as the events are stored (SQLite
    compares the stored text, so the bound is given in the same zone)."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def _since(days: int, today: date, zone: tzinfo) -> datetime:
    return _midnight(today - timedelta(days=days - 1), zone)


def login_stats(tenant: str, days: int, today: date, zone: tzinfo = UTC) -> LoginStats:
    """Logins per method and failures per reason, per day of the region's ``zone``, over the
    last ``days`` days up to ``today`` (there)."""
    stats = LoginStats([today - timedelta(days=n) for n in reversed(range(days))])
    by_method: dict[str, Counter] = defaultdict(Counter)
    by_reason: dict[str, Counter] = defaultdict(Counter)
    schools: Counter = Counter()
    query = select(AuditEvent.created_at, AuditEvent.kind, AuditEvent.detail).where(
        AuditEvent.tenant == tenant,
        AuditEvent.kind.in_(("login_succeeded", *FAILURE_KINDS)),
        AuditEvent.created_at >= _since(days, today, zone),
    )
    for created, kind, detail in db.session.execute(query.execution_options(yield_per=1000)):
        day = wording.local(created, zone).date()
        if kind == "login_succeeded":
            by_method[detail.get("method", "?")][day] += 1
            continue
        reason = detail.get("reason") or detail.get("outcome") or "?"
        by_reason[reason][day] += 1
        if reason == "not_found":
            schools.update(detail.get("schools") or [0])
    stats.by_method, stats.by_reason = dict(by_method), dict(by_reason)
    names = dict(db.session.execute(
        select(School.id, School.short_name).where(School.id.in_(list(schools)))
    ).all())  # fmt: skip
    stats.not_found_schools = [
        (names.get(school_id, "школа не определена"), count)
        for school_id, count in schools.most_common(10)
    ]
    return stats


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float
    kind: str  # ok, failed
    value: int
    day: date


def bars(stats: LoginStats, width: int = 640, height: int = 160) -> list[Bar]:
    """Two bars a day, logins and failures, scaled to the busiest one."""
    peak = max([1] + [max(stats.total(stats.by_method, d), stats.total(stats.by_reason, d))
                      for d in stats.days])  # fmt: skip
    slot = width / max(len(stats.days), 1)
    result = []
    for i, day in enumerate(stats.days):
        for j, (kind, table) in enumerate((("ok", stats.by_method), ("failed", stats.by_reason))):
            value = stats.total(table, day)
            h = (height - 20) * value / peak
            result.append(Bar(i * slot + 4 + j * (slot - 8) / 2, height - 16 - h, h, kind, value,
                              day))  # fmt: skip
    return result


PAGE = 100


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    kind: str  # in words
    actor: str | None  # the name of whoever acted, if anyone did
    lines: list[tuple[str, str]]  # the details, labelled, in words


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    kinds: list[tuple[str, str]]  # every kind the region's log holds: code, words
    more: bool


def _ids(values: Iterable[Any]) -> set[int]:
    found = set()
    for value in values:
        for item in value if isinstance(value, list | tuple) else (value,):
            if isinstance(item, int) and not isinstance(item, bool):
                found.add(item)
    return found


def names_of(tenant: str, actors: Iterable[int | None],
             details: Iterable[Mapping[str, Any]]) -> dict[str, dict[int, str]]:  # fmt: skip
    """The names behind the ids a page of events holds, read in one query per table and
    only from the region's own accounts and registry."""
    details = list(details)

    def wanted(keys: tuple[str, ...]) -> set[int]:
        return _ids(detail[key] for detail in details for key in keys if key in detail)

    users = wanted(wording.USER_KEYS) | {a for a in actors if a is not None}
    people, schools, classes = (wanted(wording.PERSON_KEYS), wanted(wording.SCHOOL_KEYS),
                                wanted(wording.CLASS_KEYS))  # fmt: skip
    names: dict[str, dict[int, str]] = {"user": {}, "person": {}, "school": {}, "class": {}}
    if users:
        names["user"] = dict(db.session.execute(
            select(User.id, User.display_name).where(User.id.in_(users), User.tenant == tenant)
        ).all())  # fmt: skip
    if people:
        found = db.session.scalars(
            select(Person).where(Person.id.in_(people), Person.tenant == tenant)
        )
        names["person"] = {person.id: person.full_name for person in found}
    if schools:
        names["school"] = dict(db.session.execute(
            select(School.id, School.short_name)
            .where(School.id.in_(schools), School.tenant == tenant)
        ).all())  # fmt: skip
    if classes:
        rows = db.session.execute(
            select(SchoolClass.id, SchoolClass.name, School.short_name)
            .join(School, School.id == SchoolClass.school_id)
            .where(SchoolClass.id.in_(classes), School.tenant == tenant)
        )
        names["class"] = {id_: f"{name}, {school}" for id_, name, school in rows}
    return names


def audit_page(tenant: str, kind: str | None, start: date | None, end: date | None,
               offset: int = 0, *, methods: Mapping[str, str] | None = None,
               zone: tzinfo = UTC) -> AuditPage:  # fmt: skip
    """A page of the region's log, newest first, filtered by kind and by days of its zone."""
    query = select(AuditEvent).where(AuditEvent.tenant == tenant)
    if kind:
        query = query.where(AuditEvent.kind == kind)
    if start:
        query = query.where(AuditEvent.created_at >= _midnight(start, zone))
    if end:
        query = query.where(AuditEvent.created_at < _midnight(end + timedelta(days=1), zone))
    events = db.session.scalars(
        query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .offset(offset).limit(PAGE + 1)
    ).all()  # fmt: skip
    kinds = db.session.scalars(
        select(AuditEvent.kind).where(AuditEvent.tenant == tenant).group_by(AuditEvent.kind)
        .order_by(func.min(AuditEvent.kind))
    ).all()  # fmt: skip
    shown = [(event, clean(event.detail or {})) for event in events[:PAGE]]
    names = names_of(tenant, (e.actor_id for e, _ in shown), (d for _, d in shown))
    rows = []
    for event, detail in shown:
        if event.actor_id is not None:
            actor = names["user"].get(event.actor_id) or f"учётная запись № {event.actor_id}"
        else:
            actor = wording.erased_name(detail.get("actor"))
        lines = wording.detail_lines(event.kind, {k: v for k, v in detail.items() if k != "actor"},
                                     methods=methods or {}, names=names)  # fmt: skip
        rows.append(AuditRow(event, wording.event_kind(event.kind), actor, lines))
    labelled = sorted(((k, wording.event_kind(k)) for k in kinds), key=lambda pair: pair[1])
    return AuditPage(rows, labelled, len(events) > PAGE)


# --- what a version changed -------------------------------------------------------------------

# The configuration's fields that the form does not edit (``editing.FIELDS`` names the rest).
CONFIG_LABELS = {
    "name": "Название региона",
    "hosts": "Адреса",
    "timezone": "Часовой пояс",
    "login_methods": "Способы входа и их порядок",
    "branding.logo": "Логотип",
    "policy.match_fields": "Поля для сверки с записью школы",
    "identity_provider.kind": "Поставщик входа",
    "identity_provider.base_url": "Адрес поставщика входа",
    "identity_provider.issuer": "Издатель токенов (issuer)",
    **{f.path: f.label for f in editing.FIELDS},
}
COLOUR_PATHS = {f.path for f in editing.FIELDS if f.kind == "colour"}


@dataclass(frozen=True)
class Change:
    path: str
    label: str
    old: str  # in words; a colour as #rrggbb
    new: str
    kind: str = "text"  # text, colour, logo


def _flat(raw: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat |= _flat(value, f"{path}.")
        else:
            flat[path] = value
    return flat


def _normalised(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A stored version as the schema reads it now (defaults of later fields filled in), so
    that a field added since does not show as a change; as stored if it no longer validates."""
    try:
        return versions.dump(TenantConfig.model_validate(raw))
    except ValidationError:
        return dict(raw)


def _value_words(path: str, value: Any) -> str:
    if value is None or value == [] or value == "":
        return "не задано"
    if isinstance(value, bool):
        return "да" if value else "нет"
    if path == "login_methods":
        return ", ".join(m.get("label") or m.get("kind", "?") for m in value)
    if path == "policy.match_fields":
        return ", ".join(wording.RECORD_FIELDS.get(v, v) for v in value)
    if isinstance(value, list):
        return " ".join(str(v) for v in value) if path.endswith("scopes") else ", ".join(
            str(v) for v in value)  # fmt: skip
    return str(value)


def _label(path: str) -> str:
    if path in CONFIG_LABELS:
        return CONFIG_LABELS[path]
    group, _, name = path.rpartition(".")
    heading = CONFIG_LABELS.get(group) or {"identity_provider": "Поставщик входа"}.get(group)
    return f"{heading}: {name}" if heading else path


def config_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """The fields that differ between two versions' configurations, old → new, in the order
    the configuration lists them."""
    before, after = _flat(_normalised(old)), _flat(_normalised(new))
    changes = []
    for path in [*after, *(p for p in before if p not in after)]:
        if before.get(path) == after.get(path):
            continue
        kind = ("colour" if path in COLOUR_PATHS else "logo" if path == "branding.logo"
                else "text")  # fmt: skip
        changes.append(Change(path, _label(path), _value_words(path, before.get(path)),
                              _value_words(path, after.get(path)), kind))  # fmt: skip
    return changes


def history_changes(slug: str) -> list[tuple[versions.HistoryRow, list[Change]]]:
    """The region's versions, newest first, each with what it changed from the one before."""
    rows = versions.history(slug)
    configs = [row.version.config if row.version else versions.config_of(slug, row.number)
               for row in rows]  # fmt: skip
    return [
        (row, config_changes(configs[i + 1], configs[i]) if i + 1 < len(rows) else [])
        for i, row in enumerate(rows)
    ]


def version_changes(slug: str, number: int) -> list[Change]:
    """What version ``number`` changed from the one before it (raises LookupError)."""
    current = versions.config_of(slug, number)
    try:
        previous = versions.config_of(slug, number - 1) if number else None
    except LookupError:  # the version before it is no longer kept
        previous = None
    return config_changes(previous, current) if previous is not None else []


def restore_changes(slug: str, number: int) -> list[Change]:
    """What rolling back to version ``number`` would change in the version served now."""
    target = versions.config_of(slug, number)
    return config_changes(versions.config_of(slug, versions.latest_number(slug)), target)
