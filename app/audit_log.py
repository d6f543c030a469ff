"""The audit log as a regional administrator reads it («Журнал событий»): filtered by kind,
days, and a person (as who acted or whom the event is about), read newest first a page at a
time by (created_at, id), each event in words with the fields it changed, old → new.

Personal values among the changes are shown as the row keeps them, masked; the whole value
is opened one at a time by :func:`reveal`, which records who saw what of whom. The export
(:func:`export_lines`) writes the same rows, masked, as CSV for Excel, and is itself audited.

A query names the regions it reads (``Filter.regions``): a regional administrator's pages
pass their own region only, and nothing here reads another region's accounts or records.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_

from app import audit, audit_spool, i18n, wording
from app.access.labels import ROLE_LABELS
from app.admin_reports import config_change
from app.extensions import db
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l
from app.identity.types import format_snils, normalize_name, normalize_snils
from app.models import AuditEvent, Person, School, SchoolClass, User
from app.models.base import db_id
from app.sealing import InvalidToken, unseal

PAGE = 100
EXPORT_BATCH = 1000
# An export larger than this is refused: the filter narrows it (and a spreadsheet opens it).
EXPORT_LIMIT = 100_000
PEOPLE_LIMIT = 20
QUERY_MAX = 100
KIND_MAX = 64


# --- the filter -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Who:
    """A person the log is filtered by: an account (``u12``) or a registry record (``p45``),
    with the accounts and records that are the same person."""

    token: str
    name: str
    users: tuple[int, ...] = ()
    persons: tuple[int, ...] = ()


# Whom a filter names, in the words its export's audit event keeps.
WHOSE = {"u": "учётная запись", "p": "запись реестра"}  # i18n-exempt: stored in the audit row


@dataclass(frozen=True)
class Filter:
    regions: tuple[str, ...]
    kind: str | None = None
    start: date | None = None
    end: date | None = None
    who: Who | None = None
    zone: tzinfo = UTC

    def args(self) -> dict[str, str]:
        """The filter as the page's address and forms carry it (ids only, never a name)."""
        values = {
            "kind": self.kind,
            "from": self.start and self.start.isoformat(),
            "to": self.end and self.end.isoformat(),
            "who": self.who and self.who.token,
        }
        return {key: value for key, value in values.items() if value}

    def words(self) -> str:
        """What was asked for, in words and ids: the export's audit event keeps this text, so
        it is the trail's data, in Russian whatever the page's language."""
        parts = []
        if self.kind:
            with i18n.force_language(i18n.DEFAULT):
                kind = str(wording.event_kind(self.kind))
            parts.append(f"событие: {kind}")  # i18n-exempt: stored in the audit row
        if self.start:
            parts.append(f"с {self.start:%d.%m.%Y}")  # i18n-exempt: stored in the audit row
        if self.end:
            parts.append(f"по {self.end:%d.%m.%Y}")  # i18n-exempt: stored in the audit row
        if self.who:
            parts.append(f"{WHOSE[self.who.token[0]]} № {self.who.token[1:]}")
        return "; ".join(parts) or "все события"  # i18n-exempt: stored in the audit row


def kind_of(value: str | None) -> str | None:
    text = (value or "").strip()
    return text[:KIND_MAX] if text else None


def day_of(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


def who_of(regions: tuple[str, ...], token: str | None) -> Who | None:
    """The person ``u<account id>`` or ``p<registry record id>`` names, in these regions;
    None for anything else (another region's id included)."""
    match = re.fullmatch(r"([up])(\d{1,10})", token or "")
    number = db_id(match[2]) if match else None
    if number is None:
        return None
    if match[1] == "u":
        user = db.session.get(User, number)
        if user is None or user.tenant not in regions:
            return None
        return Who(f"u{user.id}", user.display_name, (user.id,),
                   (user.person_id,) if user.person_id else ())  # fmt: skip
    person = db.session.get(Person, number)
    if person is None or person.tenant not in regions:
        return None
    accounts = db.session.scalars(
        select(User.id).where(User.person_id == person.id, User.tenant == person.tenant)
    ).all()
    return Who(f"p{person.id}", person.full_name, tuple(accounts), (person.id,))


def find_people(regions: tuple[str, ...], text: str) -> list[Who]:
    """People of the regions by name (every word typed, in any case) or account number:
    accounts first, then registry records that no account found holds."""
    text = " ".join(text.split())[:QUERY_MAX]
    number = re.fullmatch(r"(?:№\s*)?(\d{1,10})", text)
    if number:
        found = who_of(regions, f"u{number[1]}")
        return [found] if found else []
    words = normalize_name(text).split()
    if len("".join(words)) < 2:
        return []
    named = and_(*(Person.name_key.contains(word, autoescape=True) for word in words))
    persons = db.session.scalars(
        select(Person).where(Person.tenant.in_(regions), named)
        .order_by(Person.name_key).limit(PEOPLE_LIMIT)
    ).all()  # fmt: skip
    person_ids = [person.id for person in persons]
    users = db.session.scalars(
        select(User).where(User.tenant.in_(regions),
                           or_(User.person_id.in_(person_ids), User.surname_key.in_(words),
                               User.display_name.contains(text, autoescape=True)))
        .order_by(User.display_name, User.id).limit(PEOPLE_LIMIT)
    ).all()  # fmt: skip
    found = [Who(f"u{u.id}", _("%(name)s (учётная запись № %(number)s)", name=u.display_name,
                               number=u.id),
                 (u.id,), (u.person_id,) if u.person_id else ()) for u in users]  # fmt: skip
    held = {u.person_id for u in users}
    found += [Who(f"p{p.id}", _("%(name)s (запись реестра, учётной записи нет)", name=p.full_name),
                  (), (p.id,)) for p in persons if p.id not in held]  # fmt: skip
    return found[:PEOPLE_LIMIT]


def _midnight(day: date, zone: tzinfo) -> datetime:
    """The start of ``day`` in the region's zone, in UTC as the events are stored."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def _query(f: Filter):
    """Every reading of the trail starts here: spooled rows first (app/audit_spool.py), so
    that a view made before is in what is read."""
    audit_spool.settle()
    query = select(AuditEvent).where(AuditEvent.tenant.in_(f.regions))
    if f.kind:
        query = query.where(AuditEvent.kind == f.kind)
    if f.start:
        query = query.where(AuditEvent.created_at >= _midnight(f.start, f.zone))
    if f.end:
        query = query.where(AuditEvent.created_at < _midnight(f.end + timedelta(days=1), f.zone))
    if f.who is not None:
        about = []
        if f.who.users:
            about += [AuditEvent.actor_id.in_(f.who.users), AuditEvent.subject_id.in_(f.who.users)]
        if f.who.persons:
            about.append(AuditEvent.subject_person_id.in_(f.who.persons))
        query = query.where(or_(*about)) if about else query.where(AuditEvent.id.is_(None))
    return query


# --- pages, newest first, by (created_at, id) -------------------------------------------------


def _utc(moment: datetime) -> datetime:
    # SQLite gives back the stored UTC time without its zone.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the next one holds the events before (created_at, id)."""

    created_at: datetime
    id: int

    @classmethod
    def after(cls, event: AuditEvent) -> Cursor:
        return cls(_utc(event.created_at), event.id)

    @property
    def token(self) -> str:
        return f"{self.created_at:%Y%m%dT%H%M%S.%f}Z{self.id}"

    @classmethod
    def parse(cls, token: str | None) -> Cursor | None:
        match = re.fullmatch(r"(\d{8}T\d{6}\.\d{6})Z(\d{1,10})", token or "")
        number = db_id(match[2]) if match else None
        if number is None:
            return None
        try:
            moment = datetime.strptime(match[1], "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC)
        except ValueError:
            return None
        return cls(moment, number)


def _before(query, cursor: Cursor | None):
    if cursor is None:
        return query
    # A row comparison, so that the index's scan starts at the cursor; an OR of the two cases
    # would be a filter over every newer row, a page deep in the log costing its depth. The
    # plain bound on created_at lets the indexes that end in created_at alone start there too.
    return query.where(
        AuditEvent.created_at <= cursor.created_at,
        tuple_(AuditEvent.created_at, AuditEvent.id) < tuple_(cursor.created_at, cursor.id),
    )


def _newest_first(query):
    return query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())


@dataclass(frozen=True)
class ShownChange:
    """One field of a change in words; ``masked``: a personal value, shown masked, that
    :func:`reveal` shows whole."""

    index: int
    path: str
    label: str
    old: str
    new: str
    kind: str = "text"  # text, colour, logo: how admin/_changes.html draws a value
    masked: bool = False


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    kind: str  # in words
    actor: str | None  # the name of whoever acted, if anyone did
    lines: list[tuple[str, str]]  # the details, labelled, in words
    changes: list[ShownChange] = field(default_factory=list)
    region: str = ""
    subject: str | None = None  # whom it is about, when not the actor: ``u12`` or ``p45``
    subject_name: str | None = None


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    kinds: list[tuple[str, str]]  # every kind the log can hold: code, words
    next: Cursor | None  # where the next page starts; None on the last


def _ids(values: Iterable[Any]) -> set[int]:
    found = set()
    for value in values:
        for item in value if isinstance(value, list | tuple) else (value,):
            if isinstance(item, int) and not isinstance(item, bool):
                found.add(item)
    return found


def names_of(regions: tuple[str, ...], actors: Iterable[int | None],
             details: Iterable[Mapping[str, Any]]) -> dict[str, dict[int, str]]:  # fmt: skip
    """The names behind the ids a page of events holds, read in one query per table and
    only from the regions' own accounts and registry."""
    details = list(details)

    def wanted(keys: tuple[str, ...]) -> set[int]:
        return _ids(detail[key] for detail in details for key in keys if key in detail)

    users = wanted(wording.USER_KEYS) | {a for a in actors if a is not None}
    people, schools, classes = (wanted(wording.PERSON_KEYS), wanted(wording.SCHOOL_KEYS),
                                wanted(wording.CLASS_KEYS))  # fmt: skip
    names: dict[str, dict[int, str]] = {"user": {}, "person": {}, "school": {}, "class": {}}
    if users:
        names["user"] = dict(db.session.execute(
            select(User.id, User.display_name)
            .where(User.id.in_(users), User.tenant.in_(regions))
        ).all())  # fmt: skip
    if people:
        found = db.session.scalars(
            select(Person).where(Person.id.in_(people), Person.tenant.in_(regions))
        )
        names["person"] = {person.id: person.full_name for person in found}
    if schools:
        names["school"] = dict(db.session.execute(
            select(School.id, School.short_name)
            .where(School.id.in_(schools), School.tenant.in_(regions))
        ).all())  # fmt: skip
    if classes:
        rows = db.session.execute(
            select(SchoolClass.id, SchoolClass.name, School.short_name)
            .join(School, School.id == SchoolClass.school_id)
            .where(SchoolClass.id.in_(classes), School.tenant.in_(regions))
        )
        names["class"] = {id_: f"{name}, {school}" for id_, name, school in rows}
    return names


def method_words(methods) -> dict[str, str]:
    """The region's login methods by kind, with their buttons' words; ``consent``: a stopped
    login that the person's own consent let in (the «method» of its success row)."""
    return {method.kind: method.label for method in methods} | {"consent": _("после согласия")}


def _rows(events: list[AuditEvent], regions: tuple[str, ...],
          methods: Mapping[str, str]) -> list[AuditRow]:  # fmt: skip
    shown = [(event, audit.clean(event.detail or {})) for event in events]
    names = names_of(regions, (e.actor_id for e, _ in shown), (d for _, d in shown))
    rows = []
    for event, detail in shown:
        if event.actor_id is not None:
            actor = names["user"].get(event.actor_id) or _(
                "учётная запись № %(number)s", number=event.actor_id
            )
        else:
            actor = wording.erased_name(detail.get("actor"))
        stored = detail.pop("changes", None)
        stored = stored if isinstance(stored, list) else []
        changes = [shown_change(i, c) for i, c in enumerate(stored) if isinstance(c, Mapping)]
        if changes:
            detail.pop("fields", None)  # the same, said in full below
        if "shown" in detail:
            detail["shown"] = field_label(str(detail["shown"]))
        lines = wording.detail_lines(event.kind, {k: v for k, v in detail.items() if k != "actor"},
                                     methods=methods, names=names)  # fmt: skip
        subject, subject_name = None, None
        if event.subject_id and event.subject_id != event.actor_id:
            subject, subject_name = f"u{event.subject_id}", names["user"].get(event.subject_id)
        elif event.subject_person_id:
            subject = f"p{event.subject_person_id}"
            subject_name = names["person"].get(event.subject_person_id)
        rows.append(AuditRow(event, str(wording.event_kind(event.kind)), actor, lines, changes,
                             event.tenant or "", subject, subject_name))  # fmt: skip
    return rows


def kinds(selected: str | None = None) -> list[tuple[str, str]]:
    """Every kind the code records, in words and in their order; a kind asked for that has
    no words is listed too, as it is."""
    known = {code: str(words) for code, words in wording.EVENT_KINDS.items()}
    if selected and selected not in known:
        known[selected] = selected
    return sorted(known.items(), key=lambda pair: pair[1])


def audit_page(f: Filter, after: Cursor | None = None, *, methods: Mapping[str, str],
               limit: int = PAGE) -> AuditPage:  # fmt: skip
    """The page of events that follows ``after`` (the newest when None). Events written
    while someone reads never shift a page: each page starts where the one before ended."""
    events = db.session.scalars(
        _newest_first(_before(_query(f), after)).limit(limit + 1)
    ).all()  # fmt: skip
    page = list(events[:limit])
    following = Cursor.after(page[-1]) if len(events) > limit else None
    return AuditPage(_rows(page, f.regions, methods), kinds(f.kind), following)


# --- a change in words ------------------------------------------------------------------------

CONSENT_FIELDS = {
    "consent.own": _l("Согласие на обработку персональных данных"),
    "consent.parental": _l("Согласие родителя за ребёнка"),
}
STATES = {
    "role": {"active": _l("действует"), "ended": _l("прекращена"), None: _l("нет")},
    "consent": {"given": _l("дано"), "withdrawn": _l("отозвано"), None: _l("не было")},
}


def field_label(path: str) -> str:
    """A changed field's name in words: a record's field, a role, a consent, or the
    configuration's field."""
    if path in wording.RECORD_FIELDS:
        words = str(wording.RECORD_FIELDS[path])
        return words[:1].upper() + words[1:]
    if path.startswith("role."):
        return _("Роль «%(role)s»", role=ROLE_LABELS.get(path[5:], path[5:]))
    if path in CONSENT_FIELDS:
        return str(CONSENT_FIELDS[path])
    return config_change(path, None, None).label


def _record_value(path: str, value: Any, whole: bool) -> str:
    if value is None or value == "":
        return _("не задано")
    if whole and path == "snils":
        return format_snils(normalize_snils(str(value)) or str(value))
    if whole and path == "birth_date":
        moment = day_of(str(value))
        return i18n.day(moment) if moment else str(value)
    return str(value)


def change_words(path: str, old: Any, new: Any, *, whole: bool = False) -> tuple[str, str, str]:
    """(old, new, how to draw them) for one changed field."""
    group = path.partition(".")[0]
    if group in STATES and path.count(".") == 1:
        states = STATES[group]
        return (str(states.get(old, old)), str(states.get(new, new)), "text")
    if path in wording.RECORD_FIELDS:
        return (_record_value(path, old, whole), _record_value(path, new, whole), "text")
    change = config_change(path, old, new)
    return (change.old, change.new, change.kind)


def shown_change(index: int, stored: Mapping[str, Any]) -> ShownChange:
    """A change as the row keeps it, in words (a personal value stays masked)."""
    path = str(stored.get("field", "?"))
    old, new, kind = change_words(path, stored.get("old"), stored.get("new"))
    masked = bool(stored.get("personal")) and audit.is_sealed(stored.get(audit.SEALED))
    return ShownChange(index, path, field_label(path), old, new, kind, masked)


# --- the audited reveal -----------------------------------------------------------------------

UNREADABLE = _l("значение не прочитать: ключ шифрования сменился")


def reveal(regions: tuple[str, ...], event_id: int, index: int, viewer: User
           ) -> tuple[AuditRow, ShownChange]:  # fmt: skip
    """The whole old and new value of a masked change: recorded first (who saw which field
    of which event, about whom), then shown. LookupError for an event of another region or
    a change that has nothing masked."""
    event = db.session.get(AuditEvent, event_id)
    if event is None or event.tenant not in regions:
        raise LookupError(event_id)
    stored = (event.detail or {}).get("changes")
    entry = stored[index] if isinstance(stored, list) and 0 <= index < len(stored) else None
    if not isinstance(entry, Mapping) or not entry.get("personal"):
        raise LookupError(index)
    if not audit.is_sealed(entry.get(audit.SEALED)):
        raise LookupError(index)
    path = str(entry.get("field", "?"))
    whom = {"user_id": event.subject_id, "person_id": event.subject_person_id}
    whom = {key: value for key, value in whom.items() if value}  # about whom, if anyone
    audit.record("audit_value_shown", tenant=event.tenant, actor_id=viewer.id, commit=False,
                 event_id=event.id, shown=path, **whom)  # fmt: skip
    db.session.commit()
    try:
        whole = unseal(entry[audit.SEALED])
    except InvalidToken:
        unreadable = str(UNREADABLE)
        return _rows([event], regions, {})[0], ShownChange(index, path, field_label(path),
                                                           unreadable, unreadable)  # fmt: skip
    old, new, kind = change_words(path, whole.get("old"), whole.get("new"), whole=True)
    return _rows([event], regions, {})[0], ShownChange(index, path, field_label(path), old,
                                                       new, kind)  # fmt: skip


# --- the CSV export ---------------------------------------------------------------------------

# The columns' headings, in the page's language (the export is read by administrators).
HEADER = (_l("Когда"), _l("Регион"), _l("Событие"), _l("Кто"), _l("Адрес"), _l("Подробности"),
          _l("Изменения"))  # fmt: skip
# A cell a spreadsheet would read as a formula (or a command) starts with one of these.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralised(text: str) -> str:
    """A cell as text, never a formula: a leading = + - @ (or tab, carriage return) gets an
    apostrophe before it (OWASP: CSV injection)."""
    return f"'{text}" if text.startswith(FORMULA_START) else text


def count(f: Filter, at_most: int | None = None) -> int:
    """How many events the filter selects; with ``at_most``, counting stops past it (an
    export's refusal need not count a region's whole log)."""
    query = _query(f) if at_most is None else _query(f).limit(at_most + 1)
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def snapshot(f: Filter) -> Cursor | None:
    """Where an export starts: just past the newest event the filter selects now, so that
    the export holds what was there when it was asked for (its own record not included)."""
    newest = db.session.scalars(_newest_first(_query(f)).limit(1)).first()
    return Cursor(_utc(newest.created_at), newest.id + 1) if newest is not None else None


def record_export(f: Filter, viewer: User, rows: int) -> None:
    """The export, in the log: who took a copy of which events (and whose, when filtered by
    a person)."""
    whom = {}
    if f.who is not None:
        whom = {"user_id": f.who.users[0] if f.who.users else None,
                "person_id": f.who.persons[0] if f.who.persons else None}  # fmt: skip
    whom = {key: value for key, value in whom.items() if value}
    audit.record("audit_exported", tenant=f.regions[0] if len(f.regions) == 1 else None,
                 actor_id=viewer.id, commit=False, filters=f.words(), count=rows,
                 **whom)  # fmt: skip
    db.session.commit()


def _change_text(change: ShownChange) -> str:
    return f"{change.label}: {change.old} → {change.new}"


def export_rows(f: Filter, start: Cursor | None, *, methods: Mapping[str, str],
                region_names: Mapping[str, str]) -> Iterator[tuple[str, ...]]:  # fmt: skip
    """Every event the filter selects from ``start`` (:func:`snapshot`) back, newest first,
    read a batch at a time by the same keyset as the pages, as the cells of a row."""
    if start is None:
        return
    cursor = start
    while True:
        events = db.session.scalars(
            _newest_first(_before(_query(f), cursor)).limit(EXPORT_BATCH)
        ).all()  # fmt: skip
        if not events:
            return
        for row in _rows(list(events), f.regions, methods):
            moment = wording.local(row.event.created_at, f.zone)
            yield (
                f"{i18n.day(moment)} {moment:%H:%M:%S}" if moment else "",
                region_names.get(row.region, row.region),
                row.kind,
                row.actor or "",
                row.event.ip or "",
                "; ".join(f"{label}: {words}" for label, words in row.lines),
                "; ".join(_change_text(change) for change in row.changes),
            )
        if len(events) < EXPORT_BATCH:
            return
        cursor = Cursor.after(events[-1])


def export_lines(rows: Iterable[Iterable[str]]) -> Iterator[str]:
    """CSV as Excel opens it in Russian: UTF-8 with a byte order mark, cells separated by
    semicolons, every cell neutralised; the headings in the page's language."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    yield "\ufeff"
    writer.writerow([str(heading) for heading in HEADER])
    for cells in rows:
        writer.writerow([neutralised(str(cell)) for cell in cells])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
