"""Writing audit events, cleaned of secrets and personal identifiers on the way in.

Every operation that a person or an attacker could dispute calls :func:`record`. Keys that
name a secret are dropped to a marker; anything shaped like a СНИЛС keeps its last two
digits only (SECURITY.md, 152-ФЗ).

A change records each field it changed, old and new (``changes``: :class:`FieldChange`).
Personal data among them (a СНИЛС, an e-mail, a phone, a birth date, a name) is written
masked, as the log shows it, with the whole values sealed beside (``app.sealing``): only the
audited reveal of the log opens them. The event's subject — the account and the registry
record it is about — is read from its detail (``user_id``, ``person_id``…) into columns of its
own, so that a person's events are found by an index.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import bindparam, insert

from app import audit_spool, login_stats, metrics
from app.database import Prepared
from app.extensions import db
from app.models import AuditEvent
from app.models.base import utcnow
from app.sealing import seal

SECRET_KEYS = re.compile(r"password|passwd|secret|token|code|cookie|session", re.IGNORECASE)
SNILS_RE = re.compile(r"\b\d{3}[- ]?\d{3}[- ]?\d{3}[- ]?(\d{2})\b")
HIDDEN = "[hidden]"
# Prepared once (app.database.Prepared): nothing reads the event back, and the diary writes
# one per view. The time is the columns' default.
_WRITTEN = ("kind", "tenant", "actor_id", "ip", "detail", "subject_id", "subject_person_id")
_INSERT = Prepared(
    insert(AuditEvent.__table__).values({name: bindparam(name) for name in _WRITTEN}).inline()
)

# The detail's keys that name whom an event is about: an account, a registry record.
SUBJECT_USER_KEYS = ("user_id", "invitee_id")
SUBJECT_PERSON_KEYS = ("person_id", "student_id")
# A field's values are cut to this length (a footer text, a comment): the trail is no copy.
MAX_TEXT = 300
MAX_ITEMS = 50
# A field named like a secret has its values hidden, unless the name says it holds where a
# secret is (an environment variable's name, a file's path, an address) or a duration.
NOT_A_SECRET = re.compile(r"_(env|file|url|endpoint|seconds|minutes|hours)$")
SEALED = "sealed"
_MAX_ID = 2**31 - 1


def mask_snils(text: str) -> str:
    return SNILS_RE.sub(r"***-***-*** \1", text).replace("\x00", "")


def mask_name(value: str | None) -> str:
    """``Пробная`` → ``П***``: a name part, recognisable to one who knows it, no more."""
    text = (value or "").strip()
    return f"{text[:1]}***" if text else ""


# How each kind of personal value is masked in the row (and so in the log and its export).
MASKS = ("snils", "email", "phone", "date", "name")


def mask_value(kind: str, text: str) -> str:
    # The identity package imports this module's users: its masks are looked up when used.
    from app.identity import types

    masks = {"snils": types.mask_snils, "email": types.mask_email, "phone": types.mask_phone,
             "date": types.mask_date, "name": mask_name}  # fmt: skip
    return masks[kind](text)


@dataclass(frozen=True)
class FieldChange:
    """One field of a change: its name (a dotted path or a record's field), old and new.
    ``personal`` names the mask (:data:`MASKS`) of a personal value."""

    field: str
    old: Any
    new: Any
    personal: str | None = None


def changes_between(
    before: Mapping[str, Any], after: Mapping[str, Any], personal: Mapping[str, str] | None = None
) -> list[FieldChange]:
    """The fields whose values differ, in the order ``before`` then ``after`` name them;
    ``personal`` maps a field to its mask."""
    personal = personal or {}
    fields = dict.fromkeys([*before, *after])
    return [
        FieldChange(name, before.get(name), after.get(name), personal.get(name))
        for name in fields
        if before.get(name) != after.get(name)
    ]


def _plain(value: Any) -> Any:
    """A value as JSON keeps it, and bounded."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in list(value.items())[:MAX_ITEMS]}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in list(value)[:MAX_ITEMS]]
    text = str(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _masked(mask: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    return mask_value(mask, value.isoformat() if isinstance(value, date) else str(value)) or "***"


def stored_change(change: FieldChange) -> dict[str, Any]:
    """A change as the row keeps it: plain values, or masked ones with the whole sealed."""
    entry: dict[str, Any] = {"field": change.field}
    last = change.field.rpartition(".")[2]
    if SECRET_KEYS.search(last) and not NOT_A_SECRET.search(last):
        return entry | {"old": HIDDEN, "new": HIDDEN}
    if change.personal is None:
        return entry | {"old": _plain(change.old), "new": _plain(change.new)}
    if change.personal not in MASKS:
        raise ValueError(f"no mask for {change.personal!r}")
    whole = {"old": _plain(change.old), "new": _plain(change.new)}
    return entry | {
        "old": _masked(change.personal, change.old),
        "new": _masked(change.personal, change.new),
        "personal": change.personal,
        SEALED: seal(whole),
    }


def is_sealed(value: Any) -> bool:
    """A Fernet token as :func:`app.sealing.seal` makes it (version byte 0x80, a timestamp,
    an IV, whole cipher blocks and a MAC): never a readable value, a СНИЛС least of all."""
    if not isinstance(value, str) or not value.startswith("gAAAA"):
        return False
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
    except (binascii.Error, ValueError):
        return False
    return raw[:1] == b"\x80" and len(raw) >= 73 and (len(raw) - 57) % 16 == 0


def _clean_item(item: Any) -> Any:
    if item is None or isinstance(item, bool | int | float):
        return item
    if isinstance(item, Mapping):
        return clean(item)
    if isinstance(item, list | tuple):
        return [_clean_item(inner) for inner in item]
    return mask_snils(str(item))


def clean(detail: Mapping[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in detail.items():
        if SECRET_KEYS.search(key):
            cleaned[key] = HIDDEN
        elif key == SEALED and is_sealed(value):
            cleaned[key] = value
        elif isinstance(value, Mapping):
            cleaned[key] = clean(value)
        elif isinstance(value, str):
            cleaned[key] = mask_snils(value)
        elif value is None or isinstance(value, bool | int | float):
            cleaned[key] = value
        elif isinstance(value, list | tuple):
            cleaned[key] = [_clean_item(item) for item in value]
        else:
            cleaned[key] = mask_snils(str(value))
    return cleaned


def _row_id(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= _MAX_ID:
        return value
    return None


def subject_of(detail: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """Whom an event is about: (account id, registry record id), from its detail."""
    user = next((_row_id(detail.get(k)) for k in SUBJECT_USER_KEYS if _row_id(detail.get(k))),
                None)  # fmt: skip
    person = next((_row_id(detail.get(k)) for k in SUBJECT_PERSON_KEYS
                   if _row_id(detail.get(k))), None)  # fmt: skip
    return user, person


def record(
    kind: str,
    *,
    tenant: str | None = None,
    actor_id: int | None = None,
    commit: bool = True,
    changes: Iterable[FieldChange] | None = None,
    **detail: Any,
) -> None:
    """Write an audit event for the request's region (or ``tenant``, the region it changes)
    in the current transaction; commit it unless told not to (then it stands or falls with
    the caller's). ``changes``: the fields a change changed, old and new."""
    if tenant is None and has_request_context() and g.get("tenant") is not None:
        tenant = g.tenant.slug
    metrics.login_recorded(kind, tenant, detail)
    login_stats.count_login(kind, tenant, actor_id, detail)
    if changes is not None:
        detail["changes"] = [stored_change(change) for change in changes]
    _INSERT.execute(_row(kind, tenant, actor_id, detail))
    if commit:
        db.session.commit()


def record_view(kind: str, *, actor_id: int, **detail: Any) -> None:
    """An event of a view, which changes nothing and is written alone (a child's diary seen),
    for the request's region: on the embedded database appended to the audit spool, to be
    moved into the table with others (app/audit_spool.py); elsewhere committed as
    :func:`record` does. Either way written before the page is shown."""
    if audit_spool.spool() is None:
        record(kind, actor_id=actor_id, **detail)
        return
    row = _row(kind, g.tenant.slug, actor_id, detail)
    audit_spool.append({**row, "created_at": utcnow().isoformat()})


def _row(kind: str, tenant: str | None, actor_id: int | None, detail: Mapping[str, Any]
         ) -> dict[str, Any]:  # fmt: skip
    subject_id, subject_person_id = subject_of(detail)
    ip = request.remote_addr if has_request_context() else None
    return {"kind": kind, "tenant": tenant, "actor_id": actor_id, "ip": ip, "detail": clean(detail),
            "subject_id": subject_id, "subject_person_id": subject_person_id}  # fmt: skip
