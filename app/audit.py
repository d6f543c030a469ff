"""Writing audit events, cleaned of secrets and personal identifiers on the way in.

Every operation that a person or an attacker could dispute calls :func:`record`. Keys that
name a secret are dropped to a marker; anything shaped like a СНИЛС keeps its last two
digits only (SECURITY.md, 152-ФЗ).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import g, has_request_context, request
from sqlalchemy import insert

from app import metrics
from app.extensions import db
from app.models import AuditEvent

SECRET_KEYS = re.compile(r"password|passwd|secret|token|code|cookie|session", re.IGNORECASE)
SNILS_RE = re.compile(r"\b\d{3}[- ]?\d{3}[- ]?\d{3}[- ]?(\d{2})\b")
HIDDEN = "[hidden]"
_INSERT = insert(AuditEvent.__table__)


def mask_snils(text: str) -> str:
    return SNILS_RE.sub(r"***-***-*** \1", text).replace("\x00", "")


def clean(detail: Mapping[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for key, value in detail.items():
        if SECRET_KEYS.search(key):
            cleaned[key] = HIDDEN
        elif isinstance(value, Mapping):
            cleaned[key] = clean(value)
        elif isinstance(value, str):
            cleaned[key] = mask_snils(value)
        elif value is None or isinstance(value, bool | int | float):
            cleaned[key] = value
        elif isinstance(value, list | tuple):
            cleaned[key] = [
                item
                if item is None or isinstance(item, bool | int | float)
                else mask_snils(str(item))
                for item in value
            ]
        else:
            cleaned[key] = mask_snils(str(value))
    return cleaned


def record(
    kind: str,
    *,
    tenant: str | None = None,
    actor_id: int | None = None,
    commit: bool = True,
    **detail: Any,
) -> None:
    """Write an audit event for the request's region (or ``tenant``) in the current
    transaction; commit it unless told not to (then it stands or falls with the caller's)."""
    if tenant is None and has_request_context() and g.get("tenant") is not None:
        tenant = g.tenant.slug
    metrics.login_recorded(kind, tenant, detail)
    # An INSERT built once rather than a mapped object: nothing reads the event back, and
    # the diary writes one per view.
    ip = request.remote_addr if has_request_context() else None
    db.session.execute(
        _INSERT,
        {"kind": kind, "tenant": tenant, "actor_id": actor_id, "ip": ip, "detail": clean(detail)},
    )
    if commit:
        db.session.commit()
