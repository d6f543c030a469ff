"""Requests from people to their school, and the school administrator's queue (P3, P7).

A student no school has enrolled yet asks a school found by its full legal name to take
them (a join request); a person whose data differ from the school's record says which field
differs (a mismatch report). The school administrator answers in «Запросы»; the person
learns the answer in the notification centre.

What the school sees is what the person chose to send; what the person sees of the school's
record is nothing but the name of the field that differs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from app import audit
from app.extensions import db
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l
from app.identity.types import ExternalIdentity, normalize_name
from app.models import (
    Enrolment,
    Guardianship,
    JoinRequest,
    MismatchReport,
    Notification,
    Person,
    School,
    SchoolClass,
    StaffRole,
    User,
)
from app.models.requests import APPROVED, PENDING, REJECTED

from .registry import PERSON_FIELDS, PersonRecord
from .staff import schools_of

CHOOSE_SCHOOL = _l("Выберите образовательную организацию из списка.")
NOTHING_TO_REPORT = _l("Запрос можно отправить, только когда известно, какое поле отличается.")
SEARCH_MIN = 3
SEARCH_LIMIT = 10
REASON_MAX = 500
# The fields a person may attach to a mismatch report, in the order the form shows them.
SHAREABLE = ("full_name", "birth_date", "snils", "email", "phone")


def applicant_of(identity: ExternalIdentity) -> dict[str, str | None]:
    """What the provider said about the person, kept in their (server-side) session only while
    they may send it to a school."""
    name = identity.full_name
    return {
        "last_name": name.last,
        "first_name": name.first,
        "middle_name": name.middle,
        "full_name": str(name),
        "birth_date": identity.birth_date.isoformat() if identity.birth_date else None,
        "snils": identity.snils,
        "email": identity.email,
        "phone": identity.phone,
    }


# --- finding schools --------------------------------------------------------------------------


def search_schools(tenant: str, text: str) -> list[School]:
    """Schools of the region whose full legal name holds every word typed, in any case."""
    words = normalize_name(text.replace("«", " ").replace("»", " ")).split()
    if len("".join(words)) < SEARCH_MIN:
        return []
    query = (
        select(School)
        .where(School.tenant == tenant, and_(*(School.search_key.contains(w) for w in words)))
        .order_by(School.full_name)
        .limit(SEARCH_LIMIT)
    )
    return list(db.session.scalars(query))


def school_in(tenant: str, school_id: int | None) -> School | None:
    school = db.session.get(School, school_id) if school_id else None
    return school if school is not None and school.tenant == tenant else None


def schools_of_record(record_id: int) -> list[School]:
    """The schools that hold a record: where the person studies, works, or has a child."""
    child_schools = (
        select(SchoolClass.school_id)
        .join(Enrolment, Enrolment.class_id == SchoolClass.id)
        .join(Guardianship, Guardianship.student_id == Enrolment.person_id)
        .where(Guardianship.guardian_id == record_id, Enrolment.active)
    )
    own_schools = (
        select(SchoolClass.school_id)
        .join(Enrolment, Enrolment.class_id == SchoolClass.id)
        .where(Enrolment.person_id == record_id, Enrolment.active)
    )
    staff_schools = select(StaffRole.school_id).where(StaffRole.person_id == record_id)
    query = select(School).where(
        or_(School.id.in_(child_schools), School.id.in_(own_schools),
            School.id.in_(staff_schools))
    ).order_by(School.short_name)  # fmt: skip
    return list(db.session.scalars(query))


# --- the person's side ------------------------------------------------------------------------


class RequestRefused(ValueError):
    """The request cannot be sent as filled in; the message says why, for the form."""


def send_join_request(
    user: User, applicant: Mapping[str, Any], school: School | None, class_name: str
) -> JoinRequest:
    if school is None or school.tenant != user.tenant:
        raise RequestRefused(CHOOSE_SCHOOL)
    class_name = " ".join(class_name.split())[:16]
    existing = db.session.scalar(
        select(JoinRequest).filter_by(user_id=user.id, school_id=school.id, status=PENDING)
    )
    if existing is not None:  # a second press, or a second tab: one request
        return existing
    request = JoinRequest(tenant=user.tenant, user_id=user.id, school_id=school.id,
                          class_name=class_name, applicant=dict(applicant))  # fmt: skip
    db.session.add(request)
    db.session.flush()
    audit.record("join_requested", actor_id=user.id, commit=False, request_id=request.id,
                 school_id=school.id)  # fmt: skip
    db.session.commit()
    return request


def send_mismatch_report(
    user: User,
    found: tuple[int | None, Sequence[str]],
    applicant: Mapping[str, Any],
    school: School | None,
    share: set[str],
    comment: str,
) -> MismatchReport:
    """``found``: what the login's decision found (the near record and the fields that
    differ); ``share``: the fields the person ticked to attach from their provider's data."""
    near_id, differing = found
    if near_id is None or len(differing) != 1:
        raise RequestRefused(NOTHING_TO_REPORT)
    if school is None or school.id not in {s.id for s in schools_of_record(near_id)}:
        raise RequestRefused(CHOOSE_SCHOOL)
    sent = {f: applicant[f] for f in SHAREABLE if f in share and applicant.get(f)}
    report = db.session.scalar(
        select(MismatchReport).filter_by(user_id=user.id, school_id=school.id, status=PENDING)
    )
    if report is None:
        report = MismatchReport(tenant=user.tenant, user_id=user.id, school_id=school.id,
                                record_id=near_id, field=differing[0])  # fmt: skip
        db.session.add(report)
    report.sent, report.comment = sent, comment.strip()[:REASON_MAX]
    db.session.flush()
    audit.record("mismatch_reported", actor_id=user.id, commit=False, report_id=report.id,
                 school_id=school.id, field=report.field, shared=sorted(sent))  # fmt: skip
    db.session.commit()
    return report


def requests_of(user: User, model: type) -> list:
    """The person's own requests of one kind, newest first."""
    query = (
        select(model)
        .filter_by(user_id=user.id)
        .options(selectinload(model.school))
        .order_by(model.created_at.desc())
    )
    return list(db.session.scalars(query))


def applicant_record(key: str, applicant: Mapping[str, Any]) -> PersonRecord:
    """What the student sent, normalised and checked as an import line is. A contact the
    provider gave in a form the registry cannot hold is left out rather than stored wrong."""
    values = {f: applicant.get(f) or None for f in PERSON_FIELDS}
    values["middle_name"] = values["middle_name"] or ""
    try:
        return PersonRecord(type="person", key=key, **values)
    except ValidationError as error:
        unusable = {str(e["loc"][0]) for e in error.errors()}
        if not unusable <= {"snils", "email", "phone"}:
            raise
    return PersonRecord(type="person", key=key, **{**values, **dict.fromkeys(unusable)})


# --- the school administrator's side ----------------------------------------------------------


def queue(admin: User, model: type) -> list:
    """Requests to the admin's schools: pending first, then the most recent answers."""
    query = (
        select(model)
        .where(model.tenant == admin.tenant, model.school_id.in_(schools_of(admin)))
        .options(*([selectinload(MismatchReport.record)] if model is MismatchReport else []))
        .order_by((model.status == PENDING).desc(), model.created_at.desc())
    )
    return list(db.session.scalars(query))


def queued(admin: User, model: type, request_id: int):
    """One request to the admin's schools; any other is as good as absent."""
    return db.session.scalar(
        select(model).where(model.id == request_id, model.tenant == admin.tenant,
                            model.school_id.in_(schools_of(admin)))
    )  # fmt: skip


def _decide(admin: User, request, status: str, reason: str, kind: str, **payload) -> None:
    if not request.pending:
        raise RequestRefused(_("Запрос уже рассмотрен."))
    request.status, request.reason = status, reason
    request.decided_at, request.decided_by = datetime.now(UTC), admin.id
    db.session.add(Notification(
        tenant=request.tenant, recipient_user_id=request.user_id, kind=kind,
        payload={"school": request.school.short_name, "reason": reason, **payload},
    ))  # fmt: skip


def _reason(text: str, required: bool) -> str:
    reason = " ".join(text.split())[:REASON_MAX]
    if required and not reason:
        raise RequestRefused(_("Укажите причину: её увидит отправитель запроса."))
    return reason


def approve_join(admin: User, request: JoinRequest, class_id: int | None) -> Person:
    """Enrol the student in the chosen class: their registry record is made from what they
    sent, so the next login matches it."""
    school_class = db.session.get(SchoolClass, class_id) if class_id else None
    if school_class is None or school_class.school_id != request.school_id:
        raise RequestRefused(_("Выберите класс, в который зачислить ученика."))
    person = Person(tenant=request.tenant, key=f"join-{request.id}")
    record = applicant_record(person.key, request.applicant)
    for name in PERSON_FIELDS:
        setattr(person, name, getattr(record, name))
    person.name_key = normalize_name(person.full_name)
    db.session.add(person)
    db.session.flush()
    db.session.add(Enrolment(person_id=person.id, class_id=school_class.id))
    request.person_id = person.id
    _decide(admin, request, APPROVED, "", "join_approved", class_name=school_class.name)
    audit.record("join_approved", actor_id=admin.id, commit=False, request_id=request.id,
                 class_id=school_class.id)  # fmt: skip
    db.session.commit()
    return person


def reject(admin: User, request, reason_text: str) -> None:
    reason = _reason(reason_text, required=True)
    kind = "join_rejected" if isinstance(request, JoinRequest) else "mismatch_rejected"
    _decide(admin, request, REJECTED, reason, kind)
    audit.record(kind, actor_id=admin.id, commit=False, request_id=request.id)
    db.session.commit()


class RecordInvalid(ValueError):
    def __init__(self, problems: dict[str, str]):
        super().__init__(problems)
        self.problems = problems


# The import's checks, in the words a school administrator reads. The keys are the registry's
# own messages (app.schools.registry raises them in English): matched here, never shown.
SNILS_DIGITS = "a СНИЛС has 11 digits"  # i18n-exempt: the registry's message, a key
SNILS_CHECK = "the СНИЛС check number does not match"  # i18n-exempt: the registry's message
RECORD_MESSAGES = {
    SNILS_DIGITS: _l("В СНИЛС должно быть 11 цифр."),
    SNILS_CHECK: _l("Контрольное число СНИЛС не сходится."),
    "not an e-mail address": _l("Это не адрес электронной почты."),
    "not a Russian mobile number (+7 and ten digits)": _l(
        "Нужен мобильный номер: +7 и десять цифр."
    ),
    "not a date (YYYY-MM-DD or DD.MM.YYYY)": _l("Укажите дату в виде ДД.ММ.ГГГГ."),
}
FILL_IN = _l("Заполните поле.")
# Every field of a record is personal: the audit trail keeps it masked, the whole sealed.
PERSONAL_FIELDS = dict.fromkeys(("last_name", "first_name", "middle_name"), "name") | {
    "birth_date": "date", "snils": "snils", "email": "email", "phone": "phone"}  # fmt: skip


def _problem(error: dict) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] in ("string_too_short", "missing"):
        return str(FILL_IN)
    return str(RECORD_MESSAGES.get(message) or _("Проверьте значение."))


def reveal_snils(admin: User, item: JoinRequest | MismatchReport) -> None:
    """A school administrator asked to see a request's СНИЛС whole: audited with who, whose
    (the person's record, or the applicant's account) and when."""
    whose = {"person_id": item.record_id} if isinstance(item, MismatchReport) else {
        "user_id": item.user_id}  # fmt: skip
    audit.record("snils_shown", actor_id=admin.id, request=type(item).__name__,
                 request_id=item.id, **whose)  # fmt: skip


def correct_record(admin: User, report: MismatchReport, form: Mapping[str, str]) -> Person:
    """The school corrects its record, validated as an import line would be; the person is
    told to log in again. A form without ``snils`` (the СНИЛС not shown whole) keeps it."""
    if not report.pending:
        raise RequestRefused(_("Запрос уже рассмотрен."))
    values = {f: (form.get(f) or "").strip() or None for f in PERSON_FIELDS}
    if "snils" not in form:
        values["snils"] = report.record.snils
    values["middle_name"] = values["middle_name"] or ""
    try:
        checked = PersonRecord(type="person", key=report.record.key, **values)
    except ValidationError as error:
        raise RecordInvalid({str(e["loc"][0]): _problem(e) for e in error.errors()}) from error
    person = report.record
    before = {f: getattr(person, f) for f in PERSON_FIELDS}
    changed = [f for f in PERSON_FIELDS if getattr(person, f) != getattr(checked, f)]
    for name in PERSON_FIELDS:
        setattr(person, name, getattr(checked, name))
    person.name_key = normalize_name(person.full_name)
    _decide(admin, report, APPROVED, _reason(form.get("reason", ""), required=False),
            "mismatch_fixed")  # fmt: skip
    changes = audit.changes_between(before, {f: getattr(person, f) for f in PERSON_FIELDS},
                                    PERSONAL_FIELDS)  # fmt: skip
    audit.record("registry_corrected", tenant=report.tenant, actor_id=admin.id, commit=False,
                 report_id=report.id, person_id=person.id, user_id=report.user_id,
                 fields=changed, changes=changes)  # fmt: skip
    db.session.commit()
    return person
