"""Importing a region's school registry: schools, classes, people and how they are linked.

The format (docs/registry-import.md) is one record per line, as JSON Lines or as CSV, each
with a ``type``. An import is a job (``app.models.imports.RegistryImport``) holding the
region's one import lock while it runs. It streams: the file is read a line at a time, each
line validated and its record staged in batches (``app.schools.staging``); then every
reference is checked, in SQL, against the staged records and the region's registry; then
the staged records are applied in one transaction, so a failure anywhere leaves the registry
as it was. Records are keyed by the file's own keys: importing the same file twice changes
nothing.

A line with a problem is reported with its number and field. ``flask registry import`` is all
or nothing by default (one problem and nothing is written); the web import, and the command
with ``--skip-invalid``, skip the lines with problems and apply the rest.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TextIO

from babel.lists import format_list
from flask import current_app
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from app import audit, i18n, wording
from app.extensions import db
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l
from app.i18n import ngettext
from app.identity.types import normalize_email, normalize_name, normalize_phone, normalize_snils
from app.models.base import utcnow
from app.models.imports import RegistryImport, RegistryImportChunk, RegistryImportProblem
from app.schools import staging

log = logging.getLogger(__name__)

Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def snils_is_valid(digits: str) -> bool:
    """The СНИЛС check number: Σ digit×(9−position) over the first nine, reduced mod 101."""
    total = sum(int(d) * (9 - i) for i, d in enumerate(digits[:9]))
    check = total if total < 100 else 0 if total in (100, 101) else total % 101 % 100
    return int(digits[9:]) == check


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SchoolRecord(_Record):
    type: Literal["school"]
    key: Key
    full_name: Annotated[str, StringConstraints(min_length=5, max_length=400)]
    short_name: Annotated[str, StringConstraints(min_length=1, max_length=120)]


class ClassRecord(_Record):
    type: Literal["class"]
    school: Key
    name: Annotated[str, StringConstraints(min_length=1, max_length=16)]


class PersonRecord(_Record):
    type: Literal["person"]
    key: Key
    last_name: Name
    first_name: Name
    middle_name: Annotated[str, StringConstraints(max_length=100)] = ""
    birth_date: date | None = None
    snils: str | None = None
    email: str | None = None
    phone: str | None = None

    @field_validator("birth_date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        if isinstance(value, str) and "." in value:
            try:
                return datetime.strptime(value, "%d.%m.%Y").date()
            except ValueError:
                raise ValueError(NOT_A_DATE) from None
        return value or None

    @field_validator("snils")
    @classmethod
    def _snils(cls, value: str | None) -> str | None:
        if not value:
            return None
        digits = normalize_snils(value)
        if digits is None:
            raise ValueError(SNILS_DIGITS)
        if not snils_is_valid(digits):
            raise ValueError(SNILS_CHECK)
        return digits

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value and ("@" not in value or " " in value.strip() or len(value) > 254):
            raise ValueError(NOT_AN_EMAIL)
        return normalize_email(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        phone = normalize_phone(value)
        if value and (phone is None or len(phone) != 11):
            raise ValueError(NOT_A_MOBILE)
        return phone


PERSON_FIELDS = ("last_name", "first_name", "middle_name", "birth_date", "snils", "email", "phone")


class EnrolmentRecord(_Record):
    type: Literal["enrolment"]
    person: Key
    school: Key
    # "class" is a Python keyword; the file says class.
    class_name: Annotated[str, StringConstraints(min_length=1, max_length=16)] = Field(
        alias="class"
    )


class GuardianRecord(_Record):
    type: Literal["guardian"]
    guardian: Key
    student: Key


class StaffRecord(_Record):
    type: Literal["staff"]
    person: Key
    school: Key
    role: Literal["teacher", "school_admin"]
    # A teacher's classes in that school; in CSV one cell, names separated by ";".
    classes: list[Annotated[str, StringConstraints(min_length=1, max_length=16)]] = []

    @field_validator("classes", mode="before")
    @classmethod
    def _classes(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [name.strip() for name in value.split(";") if name.strip()]
        return value


AnyRecord = Annotated[
    SchoolRecord | ClassRecord | PersonRecord | EnrolmentRecord | GuardianRecord | StaffRecord,
    Field(discriminator="type"),
]


class _Line(BaseModel):
    record: AnyRecord


# Records are applied in dependency order whatever their order in the file.
ORDER = {"school": 0, "class": 1, "person": 2, "enrolment": 3, "guardian": 4, "staff": 5}


# --- problems ----------------------------------------------------------------------------------

# What our own validators say (in English: the command line's words, and the code the web
# report's words are chosen by).
NOT_A_DATE = "not a date (YYYY-MM-DD or DD.MM.YYYY)"
SNILS_DIGITS = "a СНИЛС has 11 digits"  # i18n-exempt: the command line's English
SNILS_CHECK = "the СНИЛС check number does not match"  # i18n-exempt: the command line's English
NOT_AN_EMAIL = "not an e-mail address"
NOT_A_MOBILE = "not a Russian mobile number (+7 and ten digits)"
VALUE_ERRORS = {
    NOT_A_DATE: "not_a_date",
    SNILS_DIGITS: "snils_digits",
    SNILS_CHECK: "snils_check",
    NOT_AN_EMAIL: "not_an_email",
    NOT_A_MOBILE: "not_a_mobile",
}
RECORD_TYPES = ", ".join(ORDER)

# A problem is kept as its code and values (staging.said); its words are chosen when the report
# is shown, in the reader's language. Each code's words, from its values:
PROBLEM_WORDS: dict[str, Callable[..., str]] = {
    # a field's value
    "not_a_date": lambda: _("не дата: пишите ГГГГ-ММ-ДД или ДД.ММ.ГГГГ"),
    "snils_digits": lambda: _("в СНИЛС должно быть 11 цифр"),
    "snils_check": lambda: _("не сходится контрольное число СНИЛС"),
    "not_an_email": lambda: _("это не адрес электронной почты"),
    "not_a_mobile": lambda: _("это не номер мобильного телефона (+7 и десять цифр)"),
    "invalid": lambda detail: _("неверное значение (%(detail)s)", detail=detail),
    "missing": lambda: _("обязательное поле не заполнено"),
    "extra": lambda: _("такого поля в записи этого типа нет"),
    "empty": lambda: _("пустое значение"),
    "too_short": lambda num: ngettext("короче %(num)d знака", "короче %(num)d знаков", num),
    "too_long": lambda num: ngettext("длиннее %(num)d знака", "длиннее %(num)d знаков", num),
    "not_text": lambda: _("должно быть текстом"),
    "one_of": lambda values: _("допустимые значения: %(values)s",
                               values=format_list(values, style="or", locale=i18n.locale())),
    "not_a_list": lambda: _("должно быть списком"),
    # the record
    "record_type": lambda: _("тип записи должен быть одним из: %(types)s", types=RECORD_TYPES),
    "no_type": lambda: _("не указан тип записи (type)"),
    "not_an_object": lambda: _("в строке должен быть один объект JSON: {…}"),
    "own_guardian": lambda: _("человек не может быть родителем самому себе"),
    # the line
    "not_utf8": lambda: _("строка не в кодировке UTF-8"),
    "line_too_long": lambda num: ngettext("строка длиннее %(num)d знака",
                                          "строка длиннее %(num)d знаков", num),
    "not_json": lambda: _("строка не читается как JSON: проверьте кавычки и скобки"),
    "not_csv": lambda: _("строка не читается как CSV: проверьте кавычки"),
    "extra_cells": lambda: _("ячеек больше, чем столбцов в заголовке"),
    # references (app.schools.staging)
    "no_school": lambda key: _("школы с ключом «%(key)s» нет ни в файле, ни в реестре региона",
                               key=key),
    "no_person": lambda key: _(
        "человека с ключом «%(key)s» нет ни в файле, ни в реестре региона", key=key
    ),
    "no_class": lambda name, school: _(
        "класса «%(name)s» нет в школе «%(school)s» ни в файле, ни в реестре",
        name=name, school=school,
    ),
}  # fmt: skip


def problem_words(message: str) -> str:
    """A stored problem in the reader's language. A report kept before problems were stored
    as codes (or an unknown code) is shown as it was written."""
    try:
        said = json.loads(message)
    except ValueError:
        return message
    if not isinstance(said, dict) or said.get("code") not in PROBLEM_WORDS:
        return message
    code = said.pop("code")
    try:
        return PROBLEM_WORDS[code](**said)
    except (TypeError, ValueError, KeyError):
        return message


# The file's fields in words, for the report's «Поле» column ("" is the line as a whole).
FIELD_WORDS = {
    "": _l("вся строка"),
    "type": _l("тип записи"),
    "key": _l("ключ"),
    "full_name": _l("полное название"),
    "short_name": _l("краткое название"),
    "name": _l("название класса"),
    "school": _l("школа"),
    "class": _l("класс"),
    # a person's fields as the rest of the portal names them (their full name is not a field)
    **{field: words for field, words in dict.items(wording.RECORD_FIELDS) if field != "full_name"},
    "person": _l("человек"),
    "guardian": _l("родитель"),
    "student": _l("ученик"),
    "role": _l("должность"),
    "classes": _l("классы учителя"),
}


@dataclass(frozen=True)
class LineError:
    """A line that is no record at all: not JSON, not UTF-8, too many cells."""

    english: str
    message: str  # as stored: staging.said


@dataclass(frozen=True)
class Problem:
    line: int
    field: str
    message: str  # as stored, a code and its values: shown by problem_words
    english: str  # for the command line: "snils: the СНИЛС check number does not match"

    @property
    def text(self) -> str:
        return f"line {self.line}: {self.english}"


def _said(error: dict) -> str:
    """A field's problem as stored (the web report's words: problem_words)."""
    kind, context = error["type"], error.get("ctx") or {}
    said = staging.said
    if kind == "value_error":
        english = str(context.get("error", ""))
        code = VALUE_ERRORS.get(english)
        return said(code) if code else said("invalid", detail=english)
    if kind == "missing":
        return said("missing")
    if kind == "extra_forbidden":
        return said("extra")
    if kind == "string_too_short":
        least = context.get("min_length", 1)
        return said("empty") if least == 1 else said("too_short", num=int(least))
    if kind == "string_too_long":
        return said("too_long", num=int(context.get("max_length") or 0))
    if kind == "string_type":
        return said("not_text")
    if kind == "literal_error":
        expected = str(context.get("expected", ""))
        values = re.findall(r"'([^']*)'", expected) or [expected]
        return said("one_of", values=values)
    if kind.startswith("date_"):
        return said("not_a_date")
    if kind == "list_type":
        return said("not_a_list")
    return said("invalid", detail=str(error["msg"]))


def _problem(number: int, error: dict) -> Problem:
    said = staging.said
    if error["type"] == "union_tag_invalid":
        return Problem(number, "type", said("record_type"), f"type: must be one of {RECORD_TYPES}")
    if error["type"] == "union_tag_not_found":
        return Problem(number, "type", said("no_type"), "type: required")
    location = ".".join(str(part) for part in error["loc"][2:]) or "type"
    english = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
    return Problem(number, location, _said(error), f"{location}: {english}")


def parse_line(number: int, raw: Any) -> tuple[Any, list[Problem]]:
    """A line's record, or its problems (each with its field)."""
    if isinstance(raw, LineError):
        return None, [Problem(number, "", raw.message, raw.english)]
    if isinstance(raw, str):  # what an older reader yields for an unreadable line
        return None, [Problem(number, "", raw, raw)]
    if not isinstance(raw, dict):
        return None, [Problem(number, "", staging.said("not_an_object"), "not a JSON object")]
    try:
        record = _Line.model_validate({"record": raw}).record
    except ValidationError as exc:
        return None, [_problem(number, error) for error in exc.errors()]
    if record.type == "guardian" and record.guardian == record.student:
        return None, [
            Problem(
                number,
                "student",
                staging.said("own_guardian"),
                "a person cannot be their own guardian",
            )
        ]
    return record, []


def parse(lines: Iterable[tuple[int, Any]]) -> tuple[list[tuple[int, Any]], list[str]]:
    """Every line's record, or its problems as "line N: …" (for small files and tests)."""
    records, problems = [], []
    for number, raw in lines:
        record, found = parse_line(number, raw)
        if record is not None:
            records.append((number, record))
        problems.extend(problem.text for problem in found)
    return records, problems


# --- reading ---------------------------------------------------------------------------------

MAX_LINE = 100_000  # characters: a record is a few hundred
NOT_UTF8 = LineError("not UTF-8 text", staging.said("not_utf8"))
TOO_LONG = LineError(
    f"longer than {MAX_LINE} characters", staging.said("line_too_long", num=MAX_LINE)
)


def iter_lines(stream: TextIO, fmt: str) -> Iterator[tuple[int, Any]]:
    """(line number, raw record) pairs, one line at a time; a line that cannot be read as a
    record yields a LineError. The stream is text decoded with ``errors="replace"``: a line
    with bytes that are not UTF-8 is reported, not the whole file refused."""
    if fmt == "jsonl":
        yield from _jsonl(stream)
    elif fmt == "csv":
        yield from _csv(stream)
    else:
        raise ValueError(f"unknown format {fmt!r}: jsonl or csv")


def _jsonl(stream: TextIO) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(stream, start=1):
        line = line.lstrip("\ufeff") if number == 1 else line
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if len(line) > MAX_LINE:
            yield number, TOO_LONG
        elif "\ufffd" in line:
            yield number, NOT_UTF8
        else:
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield (
                    number,
                    LineError(f"not JSON: {exc.msg}", staging.said("not_json")),
                )


def _csv(stream: TextIO) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(
        line.lstrip("\ufeff") if n == 0 else line for n, line in enumerate(stream)
    )
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield (
                reader.line_num,
                LineError(f"not CSV: {exc}", staging.said("not_csv")),
            )
            continue
        if (row.get("type") or "").startswith("#"):
            continue
        if None in row:
            yield (
                reader.line_num,
                LineError("more cells than the header has columns", staging.said("extra_cells")),
            )
        elif any("\ufffd" in value for value in row.values() if isinstance(value, str)):
            yield reader.line_num, NOT_UTF8
        else:
            yield reader.line_num, {k: v for k, v in row.items() if v not in ("", None)}


def read_lines(text: str, fmt: str) -> Iterator[tuple[int, Any]]:
    return iter_lines(io.StringIO(text, newline=""), fmt)


def format_of(name: str) -> str | None:
    return {".jsonl": "jsonl", ".csv": "csv"}.get(Path(name).suffix.lower())


# --- jobs: the region's one running import -----------------------------------------------------

JOB = RegistryImport.__table__
CHUNK = RegistryImportChunk.__table__
PROBLEM = RegistryImportProblem.__table__
UPLOADING, CHECKING, CHECKED = "uploading", "checking", "checked"
APPLYING, DONE, FAILED, DISCARDED = "applying", "done", "failed", "discarded"
RUNNING = (UPLOADING, CHECKING, APPLYING)
QUEUED = (CHECKING, APPLYING)  # waiting for a worker until one takes them
# Lines read between two commits of the staged records (and two heartbeats): a third of a
# second of a large import, and 10 % faster than batches of 1,000.
BATCH_LINES = 5000
# A job whose worker has not said it is alive for this long is taken for dead.
STALE_SECONDS = 60
# How long the last step — one transaction, silent — may take before it is taken for dead.
WRITE_GRACE = timedelta(minutes=10)
# A job no worker has taken for this long (no thread, no `flask registry work`) fails.
QUEUE_WAIT = timedelta(minutes=10)
# A checked file nobody applied is deleted after this long.
CHECKED_KEPT = timedelta(hours=24)


class Busy(Exception):
    """The region already runs an import (``running``: that job, when it is still there)."""

    def __init__(self, running: RegistryImport | None):
        self.running = running
        super().__init__("another import of this region is running")


class JobLost(Exception):
    """The job is no longer this worker's: taken for dead, or ended meanwhile."""


class RegistryImportError(Exception):
    def __init__(self, problems: list[str], total: int | None = None):
        self.problems = problems
        self.total = len(problems) if total is None else total
        super().__init__("\n".join(problems))


@dataclass
class ImportReport:
    counts: dict[str, int] = field(default_factory=dict)  # valid records in the file, by type
    summary: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: int = 0
    skipped_lines: int = 0
    job_id: int | None = None


@dataclass
class Reading:
    counts: Counter = field(default_factory=Counter)
    problems: int = 0
    bad_lines: int = 0
    lines: int = 0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:120]


def stale_after() -> timedelta:
    return timedelta(seconds=current_app.config.get("REGISTRY_IMPORT_STALE_SECONDS", STALE_SECONDS))


def running_import(tenant: str) -> RegistryImport | None:
    return db.session.scalar(select(RegistryImport).filter_by(running_tenant=tenant))


def begin(
    tenant: str,
    *,
    source: str,
    fmt: str,
    state: str,
    by_id: int | None = None,
    replace: bool = False,
    worker: str | None = None,
    lines_total: int = 0,
) -> int:
    """A new job holding the region's import lock; Busy when another holds it."""
    reap(tenant)
    now = utcnow()
    job = RegistryImport(
        tenant=tenant,
        source=source[:200],
        fmt=fmt,
        replace=replace,
        state=state,
        running_tenant=tenant,
        created_by_id=by_id,
        worker=worker,
        heartbeat_at=now,
        lines_total=lines_total,
        records={},
        step="",
        failure="",
        error="",
        applied_by_id=by_id if state == APPLYING else None,
        applied_at=now if state == APPLYING else None,
    )
    db.session.add(job)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Busy(running_import(tenant)) from None
    return job.id


def _lost(now: datetime):
    """A running job whose worker (or uploading request) stopped saying it is alive."""
    return and_(
        JOB.c.state.in_(RUNNING),
        JOB.c.heartbeat_at < now - stale_after(),
        or_(JOB.c.worker.is_not(None), JOB.c.state == UPLOADING),
    )


def _untaken(now: datetime):
    return and_(
        JOB.c.state.in_(QUEUED), JOB.c.worker.is_(None), JOB.c.heartbeat_at < now - QUEUE_WAIT
    )


def _expired(now: datetime):
    return and_(JOB.c.state == CHECKED, JOB.c.finished_at < now - CHECKED_KEPT)


def reap(tenant: str | None = None) -> int:
    """Fail the region's (or every region's) jobs whose worker died or that no worker took,
    and discard checked files nobody applied; the number ended. Reads only, unless there
    is such a job."""
    now, ended = utcnow(), 0
    region = [JOB.c.tenant == tenant] if tenant else []
    for condition, failure in (
        (_lost(now), "worker_lost"),
        (_untaken(now), "not_taken"),
        (_expired(now), "expired"),
    ):
        for job_id in db.session.scalars(select(JOB.c.id).where(*region, condition)).all():
            if failure == "expired":
                ended += discard(job_id, by_id=None, condition=condition, reason=failure)
            else:
                ended += fail(job_id, failure=failure, condition=condition)
    return ended


def progress(
    job_id: int,
    worker: str,
    *,
    done: int | None = None,
    step: str,
    alive_for: timedelta = timedelta(0),
) -> None:
    """Record how far the job got, and that its worker is alive (for ``alive_for`` more, if
    it will be silent that long), in the current transaction; JobLost when the job is no
    longer this worker's."""
    values: dict[str, Any] = {"step": step, "heartbeat_at": utcnow() + alive_for}
    if done is not None:
        values["lines_done"] = done
    taken = db.session.execute(
        update(JOB)
        .where(JOB.c.id == job_id, JOB.c.worker == worker, JOB.c.state.in_(RUNNING))
        .values(values)
    )
    if taken.rowcount != 1:
        raise JobLost(job_id)


def cleanup(job_id: int) -> None:
    """The job's staged records and its file, gone."""
    staging.clear(job_id)
    db.session.execute(delete(CHUNK).where(CHUNK.c.job_id == job_id))
    db.session.commit()


def _technical(error: BaseException | str) -> str:
    if isinstance(error, BaseException):
        first = str(error).strip().splitlines()[:1]
        error = type(error).__name__ + (f": {first[0]}" if first else "")
    return audit.mask_snils(error)[:500]


def fail(
    job_id: int,
    *,
    failure: str,
    error: BaseException | str = "",
    worker: str | None = None,
    condition=None,
) -> bool:
    """End a running job as failed (the registry was not changed), delete its file and
    staged records; False when it was not running (or not this worker's)."""
    where = [JOB.c.id == job_id, JOB.c.state.in_(RUNNING)]
    if worker is not None:
        where.append(JOB.c.worker == worker)
    technical = _technical(error)
    ended = {"state": FAILED, "running_tenant": None, "failure": failure, "error": technical,
             "step": ""}  # fmt: skip
    detail = f"{failure}: {technical}" if technical else failure
    return _end(job_id, where, condition, ended, "registry_import_failed", None, detail)


def discard(job_id: int, *, by_id: int | None, condition=None, reason: str = "") -> bool:
    """A checked job nobody will apply: its file deleted; False when it is not checked."""
    where = [JOB.c.id == job_id, JOB.c.state == CHECKED]
    ended = {"state": DISCARDED, "failure": reason}
    return _end(job_id, where, condition, ended, "registry_import_discarded", by_id, reason)


def _end(job_id, where, condition, values, kind, actor_id, detail) -> bool:
    """Move the job to its end state if it is still where ``where`` says (one statement, so
    two workers or two clicks end it once), audit that, and delete its file and staged
    records; False when someone else ended it first."""
    if condition is not None:
        where = [*where, condition]
    ended = db.session.execute(update(JOB).where(*where).values(**values, finished_at=utcnow()))
    if ended.rowcount != 1:
        db.session.rollback()
        return False
    job = db.session.get(RegistryImport, job_id)
    audit.record(kind, tenant=job.tenant, actor_id=actor_id, commit=False, job=job_id,
                 source=job.source, detail=detail)  # fmt: skip
    db.session.commit()
    cleanup(job_id)
    return True


# --- a run: read and stage, check, apply -------------------------------------------------------


def staged_rows(job_id: int, number: int, record: Any) -> list[dict]:
    """The staging rows of one valid record."""
    row = staging.blank_row
    if record.type == "school":
        staged = row(job_id, "school", number, record.key)
        staged.update(
            full_name=record.full_name,
            short_name=record.short_name,
            search_key=normalize_name(record.full_name),
        )
        return [staged]
    if record.type == "class":
        return [row(job_id, "class", number, record.school, record.name)]
    if record.type == "person":
        staged = row(job_id, "person", number, record.key)
        staged.update({name: getattr(record, name) for name in PERSON_FIELDS})
        staged["name_key"] = normalize_name(
            f"{record.last_name} {record.first_name} {record.middle_name}"
        )
        return [staged]
    if record.type == "enrolment":
        return [row(job_id, "enrolment", number, record.person, record.school, record.class_name)]
    if record.type == "guardian":
        return [row(job_id, "guardian", number, record.guardian, record.student)]
    rows = [row(job_id, "staff", number, record.person, record.school, record.role)]
    for name in dict.fromkeys(record.classes):
        rows.append(row(job_id, "teacher", number, record.person, record.school, name))
    return rows


Progress = Callable[[str, int], None]


def stage(
    job_id: int,
    lines: Iterable[tuple[int, Any]],
    *,
    worker: str,
    on_progress: Progress | None = None,
) -> Reading:
    """Read every line: stage the valid records and report the others, a batch at a time
    (each batch one commit, with the job's progress and heartbeat)."""
    staging.clear(job_id)
    staging.clear_problems(job_id)
    reading, batch, problems, since = Reading(), {}, [], 0
    kept = 0

    def flush() -> None:
        staging.scratch_transaction()
        staging.write_rows(batch.values())
        staging.write_problems(problems)
        progress(job_id, worker, done=reading.lines, step="reading")
        db.session.commit()
        batch.clear()
        problems.clear()
        if on_progress:
            on_progress("reading", reading.lines)

    for number, raw in lines:
        reading.lines, since = number, since + 1
        record, found = parse_line(number, raw)
        if found:
            reading.bad_lines += 1
            reading.problems += len(found)
            for problem in found[: max(staging.MAX_PROBLEMS - kept, 0)]:
                problems.append(
                    {
                        "job_id": job_id,
                        "line": number,
                        "field": problem.field[:64],
                        "message": problem.message[:300],
                        "english": problem.english[:300],
                    }
                )
                kept += 1
        else:
            reading.counts[record.type] += 1
            for row in staged_rows(job_id, number, record):
                key = (row["kind"], row["k1"], row["k2"], row["k3"])
                if row["kind"] in staging.REPLACED or key not in batch:
                    batch[key] = row
        if since >= BATCH_LINES:
            flush()
            since = 0
    flush()
    return reading


def check(
    job_id: int, tenant: str, worker: str, reading: Reading, on_progress: Progress | None = None
) -> int:
    """Check every staged record's references; record what the reading found. The number of
    problems the references added."""
    progress(job_id, worker, step="references")
    db.session.commit()
    if on_progress:
        on_progress("references", reading.lines)
    found = staging.check_references(job_id, tenant)
    skipped = reading.bad_lines + staging.skipped_lines(job_id)
    reading.counts.subtract(staging.skipped_by_kind(job_id))
    reading.counts = +reading.counts  # the kinds left with no valid record go
    db.session.execute(
        update(JOB)
        .where(JOB.c.id == job_id)
        .values(
            records=dict(sorted(reading.counts.items(), key=lambda kv: ORDER[kv[0]])),
            problem_count=reading.problems + found,
            skipped_lines=skipped,
        )
    )
    progress(job_id, worker, step="references")
    db.session.commit()
    return found


def checked(job_id: int, worker: str) -> None:
    """The check is over: the job waits for an administrator, holding no lock."""
    progress(job_id, worker, step="")
    db.session.execute(
        update(JOB)
        .where(JOB.c.id == job_id)
        .values(state=CHECKED, running_tenant=None, worker=None, finished_at=utcnow())
    )
    staging.clear(job_id)
    db.session.commit()


def apply(job_id: int, worker: str, on_progress: Progress | None = None) -> ImportReport:
    """Apply the staged records in one transaction with the job's end: the registry changes
    and the job is done, or neither."""
    # The write is one transaction, and says nothing until it ends: it tells first how long
    # to wait before its silence means a dead worker.
    progress(job_id, worker, step="writing", alive_for=WRITE_GRACE)
    db.session.commit()
    if on_progress:
        on_progress("writing", 0)
    progress(job_id, worker, step="writing", alive_for=WRITE_GRACE)  # still ours, and held
    job = db.session.get(RegistryImport, job_id)
    summary = staging.swap(job_id, job.tenant, replace=job.replace)
    report = ImportReport(
        counts=dict(job.records),
        summary=summary,
        job_id=job_id,
        problems=job.problem_count,
        skipped_lines=job.skipped_lines,
    )
    db.session.execute(
        update(JOB)
        .where(JOB.c.id == job_id)
        .values(state=DONE, running_tenant=None, summary=summary, finished_at=utcnow(), step="")
    )
    totals = {
        what: sum(kind[what] for kind in summary.values())
        for what in ("added", "changed", "removed")
    }
    audit.record(
        "registry_imported",
        tenant=job.tenant,
        actor_id=job.applied_by_id,
        commit=False,
        job=job_id,
        source=job.source,
        skipped=job.skipped_lines,
        added=totals["added"],
        changed=totals["changed"],
        removed=totals["removed"],
        **report.counts,
    )
    db.session.commit()
    return report


def problem_texts(job_id: int) -> list[str]:
    rows = db.session.execute(
        select(PROBLEM.c.line, PROBLEM.c.english)
        .where(PROBLEM.c.job_id == job_id)
        .order_by(PROBLEM.c.line, PROBLEM.c.id)
    )
    return [f"line {line}: {english}" for line, english in rows]


def import_records(
    tenant: str,
    lines: Iterable[tuple[int, Any]],
    *,
    source: str,
    fmt: str = "jsonl",
    replace: bool = False,
    skip_invalid: bool = False,
    by_id: int | None = None,
    lines_total: int = 0,
    on_progress: Progress | None = None,
) -> ImportReport:
    """Import here and now (the command line, the demo): read, check and apply. All or
    nothing unless ``skip_invalid``: any problem raises RegistryImportError and nothing is
    written (problems of the lines themselves are reported before their references are
    checked). Busy when the region already runs an import."""
    worker = worker_name()
    job_id = begin(
        tenant,
        source=source,
        fmt=fmt,
        state=APPLYING,
        by_id=by_id,
        replace=replace,
        worker=worker,
        lines_total=lines_total,
    )
    try:
        reading = stage(job_id, lines, worker=worker, on_progress=on_progress)
        if reading.problems and not skip_invalid:
            raise RegistryImportError(problem_texts(job_id), reading.problems)
        if check(job_id, tenant, worker, reading, on_progress) and not skip_invalid:
            raise RegistryImportError(
                problem_texts(job_id), db.session.get(RegistryImport, job_id).problem_count
            )
        report = apply(job_id, worker, on_progress)
    except BaseException as error:
        db.session.rollback()
        failure = "problems" if isinstance(error, RegistryImportError) else "error"
        try:
            fail(job_id, failure=failure, error=error, worker=worker)
        except Exception:  # the database is what failed: the job will be reaped
            log.exception("registry import %s: could not record its failure", job_id)
        raise
    cleanup(job_id)
    return report


def import_text(tenant: str, text: str, fmt: str, *, source: str = "") -> ImportReport:
    return import_records(tenant, read_lines(text, fmt), source=source or fmt, fmt=fmt)


def count_lines(path: Path) -> int:
    lines, last = 0, b"\n"
    with path.open("rb") as raw:
        while chunk := raw.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def import_file(
    tenant: str,
    path: Path,
    *,
    skip_invalid: bool = False,
    replace: bool = False,
    lines_total: int | None = None,
    on_progress: Progress | None = None,
) -> ImportReport:
    """Import a .jsonl or .csv file, streamed from disk."""
    fmt = format_of(path.name)
    if fmt is None:
        raise ValueError("the file must end in .jsonl or .csv")
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as stream:
        return import_records(
            tenant,
            iter_lines(stream, fmt),
            source=path.name,
            fmt=fmt,
            replace=replace,
            skip_invalid=skip_invalid,
            lines_total=count_lines(path) if lines_total is None else lines_total,
            on_progress=on_progress,
        )
