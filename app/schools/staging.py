"""The registry import's SQL: records staged in batches, references checked and the staged
records applied to the region's registry, each as a few set-based statements.

Nothing here holds the file or the region's registry in memory: a batch of staged rows is
written at a time, a reference is checked by one statement for all records of a kind (an
indexed lookup per record, in the file's staged keys and in the registry), and applying is
a statement or two per kind of record. :func:`swap` writes in the caller's transaction and
never commits: the caller applies everything or nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    MetaData,
    Table,
    and_,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable

from app.extensions import db
from app.models import (
    Enrolment,
    Guardianship,
    Person,
    School,
    SchoolClass,
    StaffRole,
    TeacherClass,
)
from app.models.imports import RegistryImportProblem, RegistryImportRow

ROW = RegistryImportRow.__table__
PROBLEM = RegistryImportProblem.__table__
SCHOOL, CLASS, PERSON = School.__table__, SchoolClass.__table__, Person.__table__
ENROLMENT, GUARDIAN = Enrolment.__table__, Guardianship.__table__
STAFF, TEACHER = StaffRole.__table__, TeacherClass.__table__

KEY = ("job_id", "kind", "k1", "k2", "k3")
SCHOOL_FIELDS = ("full_name", "short_name", "search_key")
PERSON_FIELDS = (
    "last_name",
    "first_name",
    "middle_name",
    "birth_date",
    "snils",
    "email",
    "phone",
    "name_key",
)
PAYLOAD = SCHOOL_FIELDS + PERSON_FIELDS
# Records whose later line replaces an earlier one with the same key; the other kinds are
# links, the same whichever line gives them (the first line is kept, for its number).
REPLACED = ("school", "person")
# What a summary counts: the record types, and the classes a teacher teaches (staff lines).
SUMMARY_KINDS = ("school", "class", "person", "enrolment", "guardian", "staff", "teacher")
# Problems kept to show per job; more are counted, not kept.
MAX_PROBLEMS = 10_000
# What the report keeps of a problem: its code and values, in this many characters at most.
SAID_MAX = 300


def said(code: str, **values: Any) -> str:
    """A problem as the report keeps it: its code and values, as JSON. Its words are chosen
    when the report is shown, in the reader's language (``registry.problem_words``); values
    too long for the column are shortened."""
    limit = 120
    while True:
        kept = {
            name: value[:limit] if isinstance(value, str) else value
            for name, value in values.items()
        }
        stored = json.dumps({"code": code, **kept}, ensure_ascii=False, separators=(",", ":"))
        if len(stored) <= SAID_MAX or limit == 0:
            return stored[:SAID_MAX]
        limit //= 2


def blank_row(job_id: int, kind: str, line: int, k1: str, k2: str = "", k3: str = "") -> dict:
    row = {
        "job_id": job_id,
        "kind": kind,
        "line": line,
        "k1": k1,
        "k2": k2,
        "k3": k3,
        "skipped": False,
    }
    row.update(dict.fromkeys(PAYLOAD))
    return row


def _insert():
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(ROW)


# The staged columns, in the order COPY writes them, and the session's temporary table a
# batch is copied into first (PostgreSQL).
COLUMNS = (*KEY, "line", "skipped", *PAYLOAD)
_BATCH_TABLE = "registry_import_batch"
_BATCH = Table(
    _BATCH_TABLE, MetaData(), *(Column(name, ROW.c[name].type) for name in COLUMNS),
    prefixes=["TEMPORARY"], postgresql_on_commit="DELETE ROWS",
)  # fmt: skip


def scratch_transaction() -> None:
    """The current transaction writes only what a failed import would write again (staged
    lines, problems, progress): on PostgreSQL its commit need not wait for the disk. A crash
    can lose the last few such commits, never the registry's, and never make the database
    inconsistent; the import it belonged to is failed by the reaper (its worker lost) and can
    be run again. The import's last commit, the registry's, waits for the disk as usual, and
    with it everything written before."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit = off"))


def write_rows(rows: Iterable[dict]) -> None:
    """Stage a batch (one row per key within it): schools and people upserted, so the later
    line's values win; links kept as first given."""
    replaced, links = [], []
    for row in rows:
        (replaced if row["kind"] in REPLACED else links).append(row)
    if db.session.get_bind().dialect.name == "postgresql":
        _copy_rows(replaced, links)
        return
    statement = _insert()
    if replaced:
        upsert = statement.on_conflict_do_update(
            index_elements=list(KEY),
            set_={name: statement.excluded[name] for name in ("line", *PAYLOAD)},
        )
        db.session.execute(upsert, replaced)
    if links:
        db.session.execute(statement.on_conflict_do_nothing(index_elements=list(KEY)), links)


def _copy_rows(replaced: list[dict], links: list[dict]) -> None:
    """PostgreSQL: the batch COPYed into a temporary table, then moved into the staging table
    by two statements (the upsert of schools and people, the links' insert). A row at a time,
    even pipelined, was 40 % of an import's time."""
    connection = db.session.connection()
    columns = ", ".join(COLUMNS)
    # Made once per database session; asked for by every batch, since a rolled-back
    # transaction takes the table it made with it.
    connection.execute(CreateTable(_BATCH, if_not_exists=True))
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {_BATCH_TABLE} ({columns}) FROM STDIN") as copy:
        for row in (*replaced, *links):
            copy.write_row([row[name] for name in COLUMNS])
    batch = _BATCH.c
    staged = select(*(batch[name] for name in COLUMNS))
    upsert = postgresql.insert(ROW).from_select(COLUMNS, staged.where(batch.kind.in_(REPLACED)))
    connection.execute(upsert.on_conflict_do_update(
        index_elements=list(KEY),
        set_={name: upsert.excluded[name] for name in ("line", *PAYLOAD)},
    ))  # fmt: skip
    links_in = postgresql.insert(ROW).from_select(COLUMNS, staged.where(~batch.kind.in_(REPLACED)))
    connection.execute(links_in.on_conflict_do_nothing(index_elements=list(KEY)))
    connection.execute(delete(_BATCH))  # a batch's rows: cheaper than TRUNCATE


def write_problems(problems: list[dict]) -> None:
    if problems:
        db.session.execute(insert(PROBLEM), problems)


def analyze(*tables) -> None:
    """Fresh planner statistics for tables just filled (PostgreSQL): a planner that still
    takes the staged rows or a region's people for a handful joins them by scanning, once per
    record. ANALYZE counts the current transaction's own rows, so it may run inside one."""
    if db.session.get_bind().dialect.name == "postgresql":
        for table in tables:
            db.session.execute(text(f'ANALYZE "{table.name}"'))


def clear(job_id: int) -> None:
    """The job's staged rows gone (its problems stay: they are its report)."""
    db.session.execute(delete(ROW).where(ROW.c.job_id == job_id))


def clear_problems(job_id: int) -> None:
    db.session.execute(delete(PROBLEM).where(PROBLEM.c.job_id == job_id))


def stored_problems(job_id: int) -> int:
    return db.session.scalar(select(func.count()).where(PROBLEM.c.job_id == job_id)) or 0


# --- references ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Missing:
    """A reference of a staged record that neither the file nor the registry has."""

    message: str  # as stored: said()
    english: str


class _Lookups:
    """Conditions "this key is known": in the job's staged records, or in the registry."""

    def __init__(self, job_id: int, tenant: str):
        self.job_id, self.tenant = job_id, tenant

    def _staged(self, kind: str, *conditions):
        other = ROW.alias()
        return exists().where(
            other.c.job_id == self.job_id,
            other.c.kind == kind,
            *(condition(other) for condition in conditions),
        )

    def school(self, key):
        return or_(
            self._staged("school", lambda o: o.c.k1 == key),
            exists().where(SCHOOL.c.tenant == self.tenant, SCHOOL.c.key == key),
        )

    def person(self, key):
        return or_(
            self._staged("person", lambda o: o.c.k1 == key),
            exists().where(PERSON.c.tenant == self.tenant, PERSON.c.key == key),
        )

    def school_class(self, school_key, name):
        school = SCHOOL.alias()
        return or_(
            self._staged(
                "class",
                lambda o: o.c.k1 == school_key,
                lambda o: o.c.k2 == name,
                lambda o: o.c.skipped == false(),
            ),
            exists().where(
                CLASS.c.school_id == school.c.id,
                school.c.tenant == self.tenant,
                school.c.key == school_key,
                CLASS.c.name == name,
            ),
        )


def _no_school(key: str) -> Missing:
    return Missing(said("no_school", key=key), f"school {key!r} is not in the file or the registry")


def _no_person(key: str) -> Missing:
    return Missing(said("no_person", key=key), f"person {key!r} is not in the file or the registry")


def _no_class(name: str, school: str) -> Missing:
    return Missing(
        said("no_class", name=name, school=school), f"class {name!r} is not in school {school!r}"
    )


# (level, kind, field, the reference is missing, what to say). A level's checks all see the
# same staged records; its lines are skipped before the next level checks what needs them
# (a class refused for its school no longer exists for the enrolments in it).
CHECKS = (
    (1, "class", "school", lambda q, r: ~q.school(r.c.k1), lambda r: _no_school(r.k1)),
    (2, "enrolment", "person", lambda q, r: ~q.person(r.c.k1), lambda r: _no_person(r.k1)),
    (2, "enrolment", "school", lambda q, r: ~q.school(r.c.k2), lambda r: _no_school(r.k2)),
    (
        2,
        "enrolment",
        "class",
        lambda q, r: and_(q.school(r.c.k2), ~q.school_class(r.c.k2, r.c.k3)),
        lambda r: _no_class(r.k3, r.k2),
    ),
    (2, "guardian", "guardian", lambda q, r: ~q.person(r.c.k1), lambda r: _no_person(r.k1)),
    (2, "guardian", "student", lambda q, r: ~q.person(r.c.k2), lambda r: _no_person(r.k2)),
    (2, "staff", "person", lambda q, r: ~q.person(r.c.k1), lambda r: _no_person(r.k1)),
    (2, "staff", "school", lambda q, r: ~q.school(r.c.k2), lambda r: _no_school(r.k2)),
    (
        2,
        "teacher",
        "classes",
        lambda q, r: and_(q.school(r.c.k2), ~q.school_class(r.c.k2, r.c.k3)),
        lambda r: _no_class(r.k3, r.k2),
    ),
)


def check_references(job_id: int, tenant: str) -> int:
    """Report every staged record whose school, class or person is missing, and skip its
    line; the number of problems found (all counted, the first MAX_PROBLEMS kept)."""
    analyze(ROW)
    lookups, found = _Lookups(job_id, tenant), 0
    kept = stored_problems(job_id)
    for level in sorted({check[0] for check in CHECKS}):
        refused = []
        for _, kind, field, missing, words in (c for c in CHECKS if c[0] == level):
            r = ROW.alias()
            condition = and_(r.c.job_id == job_id, r.c.kind == kind, missing(lookups, r))
            count = db.session.scalar(select(func.count()).select_from(r).where(condition))
            if not count:
                continue
            found += count
            rows = db.session.execute(
                select(r.c.line, r.c.k1, r.c.k2, r.c.k3)
                .where(condition)
                .order_by(r.c.line)
                .limit(max(MAX_PROBLEMS - kept, 0))
            ).all()
            problems = []
            for row in rows:
                said = words(row)
                problems.append(
                    {
                        "job_id": job_id,
                        "line": row.line,
                        "field": field,
                        "message": said.message,
                        "english": said.english,
                    }
                )
            write_problems(problems)
            kept += len(problems)
            refused.append(select(r.c.line).where(condition))
        for lines in refused:
            db.session.execute(
                update(ROW)
                .where(ROW.c.job_id == job_id, ROW.c.line.in_(lines))
                .values(skipped=True)
            )
    return found


def skipped_by_kind(job_id: int) -> dict[str, int]:
    """Lines refused for a reference, by the kind of record on them."""
    rows = db.session.execute(
        select(ROW.c.kind, func.count(ROW.c.line.distinct()))
        .where(ROW.c.job_id == job_id, ROW.c.skipped, ROW.c.kind != "teacher")
        .group_by(ROW.c.kind)
    )
    return dict(rows.all())


def skipped_lines(job_id: int) -> int:
    """Lines whose staged records were refused for a reference."""
    return (
        db.session.scalar(
            select(func.count(ROW.c.line.distinct())).where(ROW.c.job_id == job_id, ROW.c.skipped)
        )
        or 0
    )


# --- applying --------------------------------------------------------------------------------


class _Staged:
    """The job's staged records of a kind, resolved to the registry's ids. Every call makes
    fresh aliases, so a subquery never correlates with another built here by accident."""

    def __init__(self, job_id: int, tenant: str):
        self.job_id, self.tenant = job_id, tenant

    def rows(self, kind: str):
        r = ROW.alias()
        return r, and_(r.c.job_id == self.job_id, r.c.kind == kind, r.c.skipped == false())

    def _by_key(self, alias, key):
        return and_(alias.c.tenant == self.tenant, alias.c.key == key)

    def enrolments(self):
        r, live = self.rows("enrolment")
        p, s, c = PERSON.alias(), SCHOOL.alias(), CLASS.alias()
        joined = (
            r.join(p, self._by_key(p, r.c.k1))
            .join(s, self._by_key(s, r.c.k2))
            .join(c, and_(c.c.school_id == s.c.id, c.c.name == r.c.k3))
        )
        query = select(p.c.id.label("person_id"), c.c.id.label("class_id")).select_from(joined)
        return query.where(live), p, s, c

    def guardians(self):
        r, live = self.rows("guardian")
        g, st = PERSON.alias(), PERSON.alias()
        joined = r.join(g, self._by_key(g, r.c.k1)).join(st, self._by_key(st, r.c.k2))
        query = select(g.c.id.label("guardian_id"), st.c.id.label("student_id"))
        return query.select_from(joined).where(live), g, st

    def staff(self):
        r, live = self.rows("staff")
        p, s = PERSON.alias(), SCHOOL.alias()
        joined = r.join(p, self._by_key(p, r.c.k1)).join(s, self._by_key(s, r.c.k2))
        query = select(
            p.c.id.label("person_id"), s.c.id.label("school_id"), r.c.k3.label("role")
        ).select_from(joined)
        return query.where(live), p, s, r

    def teaching(self):
        r, live = self.rows("teacher")
        p, s, c = PERSON.alias(), SCHOOL.alias(), CLASS.alias()
        joined = (
            r.join(p, self._by_key(p, r.c.k1))
            .join(s, self._by_key(s, r.c.k2))
            .join(c, and_(c.c.school_id == s.c.id, c.c.name == r.c.k3))
        )
        query = select(p.c.id.label("person_id"), c.c.id.label("class_id")).select_from(joined)
        return query.where(live), p, c

    def covered_schools(self):
        """The schools the file has a line for: in a full export, the ones it describes."""
        r, live = self.rows("school")
        s = SCHOOL.alias()
        return select(s.c.id).select_from(r.join(s, self._by_key(s, r.c.k1))).where(live)

    def covered_classes(self):
        c = CLASS.alias()
        return select(c.c.id).where(c.c.school_id.in_(self.covered_schools()))


def _count(statement) -> int:
    # Drivers report an INSERT … SELECT's rows only when asked to keep the count.
    result = db.session.execute(statement.execution_options(preserve_rowcount=True))
    return max(result.rowcount, 0)


def _upsert_keyed(staged: _Staged, kind: str, table, fields: tuple[str, ...]) -> tuple[int, int]:
    """Schools or people: (changed, added)."""
    r, live = staged.rows(kind)
    changed = _count(
        update(table)
        .where(
            live,
            table.c.tenant == staged.tenant,
            table.c.key == r.c.k1,
            or_(*(table.c[f].is_distinct_from(r.c[f]) for f in fields)),
        )
        .values({f: r.c[f] for f in fields})
    )
    r, live = staged.rows(kind)
    target = table.alias()
    added = _count(
        insert(table).from_select(
            ["tenant", "key", *fields],
            select(literal(staged.tenant), r.c.k1, *(r.c[f] for f in fields)).where(
                live, ~exists().where(target.c.tenant == staged.tenant, target.c.key == r.c.k1)
            ),
        )
    )
    return changed, added


def _new_links(table, resolved, columns: tuple[str, ...], extra: dict[str, Any] | None = None):
    """INSERT the resolved links the registry does not have yet."""
    found = resolved.subquery()
    target = table.alias()
    values = [found.c[name] for name in columns] + [literal(v) for v in (extra or {}).values()]
    absent = ~exists().where(*(target.c[name] == found.c[name] for name in columns))
    return insert(table).from_select([*columns, *(extra or {})], select(*values).where(absent))


def swap(job_id: int, tenant: str, *, replace: bool) -> dict[str, dict[str, int]]:
    """Apply the job's staged records to the region's registry, in the caller's transaction:
    added, changed and (for a full export) removed, by kind."""
    staged = _Staged(job_id, tenant)
    summary = {kind: {"added": 0, "changed": 0, "removed": 0} for kind in SUMMARY_KINDS}

    def counted(kind: str, what: str, statement) -> None:
        summary[kind][what] += _count(statement)

    for step in STEPS:
        step(staged, summary, counted, replace)
    # Statistics of everything the import filled: without them the planner takes the links for
    # a handful and joins a parent's children by scanning every enrolment of the region.
    analyze(SCHOOL, CLASS, PERSON, ENROLMENT, GUARDIAN, STAFF, TEACHER)
    return summary


def _schools(staged, summary, counted, replace) -> None:
    changed, added = _upsert_keyed(staged, "school", SCHOOL, SCHOOL_FIELDS)
    summary["school"].update(changed=changed, added=added)
    r, live = staged.rows("class")
    s = SCHOOL.alias()
    found = (
        select(s.c.id.label("school_id"), r.c.k2.label("name"))
        .select_from(r.join(s, and_(s.c.tenant == staged.tenant, s.c.key == r.c.k1)))
        .where(live)
    )
    counted("class", "added", _new_links(CLASS, found, ("school_id", "name")))


def _people(staged, summary, counted, replace) -> None:
    changed, added = _upsert_keyed(staged, "person", PERSON, PERSON_FIELDS)
    summary["person"].update(changed=changed, added=added)


def _enrolments(staged, summary, counted, replace) -> None:
    analyze(SCHOOL, CLASS, PERSON)
    query, p, _, c = staged.enrolments()
    listed = exists(query.where(p.c.id == ENROLMENT.c.person_id, c.c.id == ENROLMENT.c.class_id))
    counted(
        "enrolment",
        "changed",
        update(ENROLMENT).where(ENROLMENT.c.active == false(), listed).values(active=True),
    )
    counted(
        "enrolment",
        "added",
        _new_links(ENROLMENT, staged.enrolments()[0], ("person_id", "class_id"), {"active": True}),
    )
    if replace:
        query, p, _, c = staged.enrolments()
        listed = exists(
            query.where(p.c.id == ENROLMENT.c.person_id, c.c.id == ENROLMENT.c.class_id)
        )
        counted(
            "enrolment",
            "removed",
            update(ENROLMENT)
            .where(
                ENROLMENT.c.active == true(),
                ENROLMENT.c.class_id.in_(staged.covered_classes()),
                ~listed,
            )
            .values(active=False),
        )


def _guardians(staged, summary, counted, replace) -> None:
    counted(
        "guardian",
        "added",
        _new_links(GUARDIAN, staged.guardians()[0], ("guardian_id", "student_id")),
    )
    if replace:
        query, g, st = staged.guardians()
        listed = exists(
            query.where(g.c.id == GUARDIAN.c.guardian_id, st.c.id == GUARDIAN.c.student_id)
        )
        enrolled, _, s, _ = staged.enrolments()
        students = enrolled.with_only_columns(enrolled.selected_columns.person_id).where(
            s.c.id.in_(staged.covered_schools())
        )
        counted(
            "guardian",
            "removed",
            delete(GUARDIAN).where(GUARDIAN.c.student_id.in_(students), ~listed),
        )


def _staff(staged, summary, counted, replace) -> None:
    counted(
        "staff", "added", _new_links(STAFF, staged.staff()[0], ("person_id", "school_id", "role"))
    )
    counted(
        "teacher", "added", _new_links(TEACHER, staged.teaching()[0], ("person_id", "class_id"))
    )
    if replace:
        query, p, s, r = staged.staff()
        listed = exists(
            query.where(
                p.c.id == STAFF.c.person_id, s.c.id == STAFF.c.school_id, r.c.k3 == STAFF.c.role
            )
        )
        counted(
            "staff",
            "removed",
            delete(STAFF).where(STAFF.c.school_id.in_(staged.covered_schools()), ~listed),
        )
        query, p, c = staged.teaching()
        listed = exists(query.where(p.c.id == TEACHER.c.person_id, c.c.id == TEACHER.c.class_id))
        counted(
            "teacher",
            "removed",
            delete(TEACHER).where(TEACHER.c.class_id.in_(staged.covered_classes()), ~listed),
        )


# In dependency order: a link is resolved against schools, classes and people already written.
STEPS = (_schools, _people, _enrolments, _guardians, _staff)
