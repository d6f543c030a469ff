"""The right to erasure (152-ФЗ art. 21) and the retention of events.

``erase_user`` destroys a person's portal data on request: their account, sessions,
consents, notifications, requests to schools, trusted-person grants, structural roles,
school-issued login and administrator appointment. What the law requires stays: the audit
trail, with the person pseudonymised (their id replaced by a keyed hash, the same in every
row, so the trail still reads as one person's without naming them). The school registry is
the school's, not the portal's, and is not touched.

``purge_events`` deletes audit and login events older than the configured retention
(``AUDIT_RETENTION_DAYS``); ``flask audit purge`` runs it from cron.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import String, cast, delete, false, or_, select, update

from app import audit, audit_spool
from app.extensions import db
from app.identity.password.credentials import credential_of
from app.models import (
    AuditEvent,
    Consent,
    JoinRequest,
    MismatchReport,
    Notification,
    PasswordCredential,
    RegionalAdmin,
    StructuralRole,
    TenantVersion,
    TrustedGrant,
    User,
)
from app.models.tenants import ConfigDraft
from app.models.trusted import TrustedGrantChild
from app.sessions import end_sessions

# Rows others made that name the person as who decided or wrote them.
KEPT_WITHOUT_THE_PERSON = (
    JoinRequest.decided_by,
    MismatchReport.decided_by,
    TenantVersion.author_id,
    PasswordCredential.issued_by,
    TrustedGrantChild.ended_by_id,
)


def pseudonym(user_id: int, tenant: str) -> str:
    """What stands for an erased person in the audit trail."""
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, f"erased:{tenant}:{user_id}".encode(), hashlib.sha256)
    return "erased-" + digest.hexdigest()[:16]


@dataclass(frozen=True)
class Erased:
    pseudonym: str
    removed: dict[str, int]


def _delete(statement) -> int:
    return db.session.execute(statement).rowcount or 0


def erase_user(user: User, *, by: User | None, reason: str = "") -> Erased:
    """Destroy ``user``'s portal data (see the module's words); audited by whoever asked."""
    uid, tenant, person_id = user.id, user.tenant, user.person_id
    name = pseudonym(uid, tenant)
    end_sessions(user, reason="erased")  # no new view of theirs (one under way may still end)
    audit_spool.settle()  # their views till now, so that they are pseudonymised below
    grants = select(TrustedGrant.id).where(
        or_(TrustedGrant.parent_id == uid, TrustedGrant.invitee_id == uid)
    )
    notifications = or_(
        Notification.recipient_user_id == uid,
        Notification.recipient_id == person_id if person_id else false(),
    )
    credential = credential_of(user)
    removed = {
        "consents": _delete(delete(Consent).where(Consent.user_id == uid)),
        "notifications": _delete(delete(Notification).where(notifications)),
        "join_requests": _delete(delete(JoinRequest).where(JoinRequest.user_id == uid)),
        "mismatch_reports": _delete(delete(MismatchReport).where(MismatchReport.user_id == uid)),
        "trusted_grant_children": _delete(
            delete(TrustedGrantChild).where(TrustedGrantChild.grant_id.in_(grants))
        ),
        "trusted_grants": _delete(delete(TrustedGrant).where(TrustedGrant.id.in_(grants))),
        "roles": _delete(delete(StructuralRole).where(StructuralRole.user_id == uid)),
        "regional_admin": _delete(delete(RegionalAdmin).where(RegionalAdmin.user_id == uid)),
        "config_drafts": _delete(delete(ConfigDraft).where(ConfigDraft.author_id == uid)),
        "password_login": 0,
    }
    if credential is not None:
        removed["password_login"] = _delete(
            delete(PasswordCredential).where(PasswordCredential.id == credential.id)
        )
    # What others decided or wrote stays, without the erased person's id.
    for column in KEPT_WITHOUT_THE_PERSON:
        db.session.execute(update(column.class_).where(column == uid).values({column.key: None}))
    removed["audit_rows_pseudonymised"] = _pseudonymise(uid, tenant, name)
    db.session.execute(delete(User).where(User.id == uid))
    audit.record("account_erased", tenant=tenant, actor_id=by.id if by else None, commit=False,
                 person=name, reason=reason[:200], **removed)  # fmt: skip
    db.session.commit()
    return Erased(name, removed)


def _pseudonymise(user_id: int, tenant: str, name: str) -> int:
    """The erased person's id out of every audit row of the region: as actor, and wherever a
    row's detail names them."""
    # Candidates found by the database (the id as actor, or anywhere in the detail's text),
    # the exact test below: a region's whole trail is never read into memory.
    rows = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.tenant == tenant,
            or_(AuditEvent.actor_id == user_id,
                cast(AuditEvent.detail, String).contains(str(user_id))),
        ).execution_options(yield_per=500)
    )  # fmt: skip
    changed = 0
    for row in rows:
        detail = dict(row.detail or {})
        named = [key for key in ("user_id", "actor", "invitee_id", "parent_id")
                 if detail.get(key) == user_id]  # fmt: skip
        if row.actor_id != user_id and not named:
            continue
        for key in named:
            detail[key] = name
        if row.subject_id == user_id:  # the event was about them: it names them no more
            row.subject_id = None
        if row.actor_id == user_id:
            row.actor_id, detail["actor"] = None, name
        row.detail = detail
        changed += 1
    return changed


# Events are deleted this many at a time, each batch its own short transaction: a region of
# millions makes millions of rows a day, and one DELETE of them would hold its locks and write
# its whole undo at once (docs/privacy.md gives the sizes).
PURGE_BATCH = 10_000


def purge_events(*, older_than: timedelta | None = None, now: datetime | None = None) -> int:
    """Delete audit and login events older than the retention; how many were deleted.

    Region by region (and the apex's events, of no region), oldest first, by the index that
    leads with (tenant, created_at): each batch reads only what it deletes, never the log."""
    from app.tenants import current_registry

    days = current_app.config["AUDIT_RETENTION_DAYS"]
    cutoff = (now or datetime.now(UTC)) - (older_than or timedelta(days=days))
    deleted = 0
    for slug in [*(tenant.slug for tenant in current_registry()), None]:
        region = AuditEvent.tenant.is_(None) if slug is None else AuditEvent.tenant == slug
        oldest = (
            select(AuditEvent.id)
            .where(region, AuditEvent.created_at < cutoff)
            .order_by(AuditEvent.created_at, AuditEvent.id)
            .limit(PURGE_BATCH)
        )
        while True:
            batch = _delete(delete(AuditEvent).where(AuditEvent.id.in_(oldest.scalar_subquery())))
            db.session.commit()
            deleted += batch
            if batch < PURGE_BATCH:
                break
    audit.record("events_purged", commit=False, before=cutoff.isoformat(), count=deleted)
    db.session.commit()
    return deleted
