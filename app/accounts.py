"""Accounts: the portal's user for an external identity, regional administrators, disabling
an account, and structural roles («Настройки аккаунта»)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import bindparam, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from app import audit
from app.database import Prepared, insert_new
from app.extensions import db
from app.i18n import N_
from app.i18n import gettext as _
from app.identity import ExternalIdentity
from app.identity.types import normalize_name, normalize_phone, normalize_snils
from app.models import RegionalAdmin, StructuralRole, User
from app.models.base import utcnow
from app.sessions import end_sessions
from app.tenants import Tenant


def contact_key(kind: str, value: str | None) -> str | None:
    """A keyed hash of a normalised phone or СНИЛС: equal values give equal keys, and the
    table never holds the values themselves."""
    normal = normalize_phone(value) if kind == "phone" else normalize_snils(value)
    if not normal:
        return None
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"contact:{kind}:{normal}".encode(), hashlib.sha256).hexdigest()


# The signed-in account, read on every request of a session: its columns in a statement
# prepared once, rather than the ORM's get (five times the cost, most of it making the object).
_USER_FIELDS = [(attribute.key, attribute.columns[0]) for attribute in inspect(User).column_attrs]
_USER_KEYS = [key for key, _column in _USER_FIELDS]
_USERS = inspect(User).class_manager
_USER_COLUMNS = select(*(column for _key, column in _USER_FIELDS))
_USER_ROW = Prepared(_USER_COLUMNS.where(User.__table__.c.id == bindparam("id")))
# A login's account, by the identity the provider gave.
_USER_OF_IDENTITY = Prepared(_USER_COLUMNS.where(
    User.__table__.c.tenant == bindparam("tenant"),
    User.__table__.c.issuer == bindparam("issuer"),
    User.__table__.c.subject == bindparam("subject"),
))  # fmt: skip
_NEW_USER = Prepared(insert_new(User.__table__, ("tenant", "issuer", "subject")))
# What every login writes of its account, without the ORM's unit of work.
_SIGNED_IN = Prepared(
    User.__table__.update()
    .where(User.__table__.c.id == bindparam("user_id"))
    .values(person_id=bindparam("person_id"), last_login_at=bindparam("last_login_at"))
)


def _as_loaded(row: tuple) -> User:
    """The account of a row of ``_USER_COLUMNS``, attached to the request's database session
    as if the ORM had loaded it: the same persistent ``User`` (its changes are flushed, its
    relationships load, a commit expires it); one already in the session is returned as it
    is."""
    known = _in_session(row[0])
    if known is not None:
        return known
    # Made as the ORM's loading makes an object: its state, then its values set without
    # events (the constructor would record each as a change, to be forgotten at once).
    user = _USERS.new_instance()
    vars(user).update(zip(_USER_KEYS, row, strict=True))
    make_transient_to_detached(user)  # as if loaded: no history, an identity
    db.session.add(user)
    return user


def _in_session(user_id: int) -> User | None:
    """The account with this id if the request's database session holds it already."""
    return db.session().identity_map.get(inspect(User).identity_key_from_primary_key((user_id,)))


def signed_in_user(user_id: int) -> User | None:
    """The account with this id, as :func:`_as_loaded` makes it."""
    known = _in_session(user_id)
    if known is not None:
        return known
    row = _USER_ROW.first({"id": user_id})
    return None if row is None else _as_loaded(row)


def user_for(tenant: Tenant, identity: ExternalIdentity) -> User:
    """The user keyed by (tenant, issuer, subject), created on first sight; the contact keys
    a parent finds them by follow what the provider says at each login. Written only when
    something changed: at most logins nothing has."""
    said = {
        "display_name": str(identity.full_name),
        "phone_key": contact_key("phone", identity.phone),
        "snils_key": contact_key("snils", identity.snils),
        "surname_key": normalize_name(identity.full_name.last),
    }
    key = {"tenant": tenant.slug, "issuer": identity.issuer, "subject": identity.subject}
    row = _USER_OF_IDENTITY.first(key)
    if row is None:
        # First sight. The same person's other login at the same moment (a second tab) may
        # make the account first: this one then waits for it, writes nothing and takes it.
        _NEW_USER.execute({**key, **said, "person_id": None, "created_at": utcnow(),
                           "last_login_at": None, "disabled": False})  # fmt: skip
        row = _USER_OF_IDENTITY.first(key)
    user = _as_loaded(row)
    for name, value in said.items():
        if getattr(user, name) != value:
            setattr(user, name, value)
    if db.session.is_modified(user):
        db.session.flush()
    return user


def note_sign_in(user: User, person_id: int | None) -> None:
    """The account is linked to the matched record and its last login is now: written at
    once by one statement, and set on the object as the database now holds them (no change
    left for the ORM to flush)."""
    now = datetime.now(UTC)
    written = _SIGNED_IN.execute({"user_id": user.id, "person_id": person_id, "last_login_at": now})
    if written != 1:  # erased meanwhile: as the ORM's flush would, the login stops here
        raise StaleDataError(f"account {user.id} is gone: {written} rows signed in")
    set_committed_value(user, "person_id", person_id)
    set_committed_value(user, "last_login_at", now)


def grant_regional_admin(tenant: str, issuer: str, subject: str, display_name: str) -> User:
    """Appoint a region's administrator (CLI only). Their account may not have logged in yet."""
    user = db.session.scalar(select(User).filter_by(tenant=tenant, issuer=issuer, subject=subject))
    if user is None:
        user = User(tenant=tenant, issuer=issuer, subject=subject, display_name=display_name)
        db.session.add(user)
        db.session.flush()
    if not db.session.scalar(select(RegionalAdmin.id).filter_by(tenant=tenant, user_id=user.id)):
        db.session.add(RegionalAdmin(tenant=tenant, user_id=user.id))
        audit.record("regional_admin_granted", tenant=tenant, commit=False, user_id=user.id,
                     changes=[audit.FieldChange("role.regional_admin", None, ACTIVE)])  # fmt: skip
    db.session.commit()
    return user


def revoke_regional_admin(tenant: str, issuer: str, subject: str) -> bool:
    user = db.session.scalar(select(User).filter_by(tenant=tenant, issuer=issuer, subject=subject))
    grant = user and db.session.scalar(
        select(RegionalAdmin).filter_by(tenant=tenant, user_id=user.id)
    )
    if not grant:
        return False
    db.session.delete(grant)
    audit.record("regional_admin_revoked", tenant=tenant, commit=False, user_id=user.id,
                 changes=[audit.FieldChange("role.regional_admin", ACTIVE, None)])  # fmt: skip
    db.session.commit()
    return True


def disable_user(user: User) -> None:
    """Disable an account: it cannot log in, and every session it has ends now."""
    user.disabled = True
    audit.record("account_disabled", tenant=user.tenant, commit=False, user_id=user.id)
    db.session.commit()
    end_sessions(user, reason="account_disabled")


# --- structural roles («Настройки аккаунта») -------------------------------------------------

# The seeds' rules (001), word for word: Russian message ids kept as plain text, translated
# where they are shown: `_(LAST_ROLE_STAYS)`.
ONLY_ENDED_DELETABLE = N_(
    "Удалить в системе можно только структурные роли, находящиеся в статусе «Прекращена»."
)
LAST_ROLE_STAYS = N_("Единственную структурную роль без удаления профиля убрать невозможно.")
# A role's state, as its audit events record it changing (None: not held).
ACTIVE, ENDED = "active", "ended"


def sync_roles(user: User, kinds: list[str]) -> None:
    """Bring the user's structural roles in step with a login's decision: the roles it gave
    are active (again), the others are «Прекращена». Deleted roles come back if given. What
    changed is one audit event, a field per role."""
    # Two logins of one person do not interleave here: each has written the account's row
    # first (note_sign_in), and the later waits for the earlier's commit, then finds its
    # roles in step. Called without that, the roles another wrote meanwhile are looked at
    # again rather than failing on their unique key.
    db.session.flush()  # anything pending fails here, not as a role written twice
    for last_try in (False, True):
        if _roles_in_step(user.id, kinds):  # most logins: read, nothing to write
            return
        try:
            with db.session.begin_nested():
                _write_roles(user, kinds)
            return
        except IntegrityError:
            if last_try:
                raise


def _held_roles(user_id: int) -> dict[str, StructuralRole]:
    return {role.kind: role for role in
            db.session.scalars(select(StructuralRole).filter_by(user_id=user_id))}  # fmt: skip


def _write_roles(user: User, kinds: list[str]) -> None:
    now = datetime.now(UTC)
    held = _held_roles(user.id)
    before = {kind: ENDED if role.ended_at else ACTIVE for kind, role in held.items()}
    for kind in kinds:
        role = held.get(kind)
        if role is None:
            held[kind] = StructuralRole(user_id=user.id, kind=kind, since=now)
            db.session.add(held[kind])
        elif role.ended_at is not None:
            role.since, role.ended_at = now, None
    for kind, role in held.items():
        if kind not in kinds and role.ended_at is None:
            role.ended_at = now
    after = {kind: ENDED if role.ended_at else ACTIVE for kind, role in held.items()}
    changes = audit.changes_between({f"role.{k}": v for k, v in before.items()},
                                    {f"role.{k}": v for k, v in after.items()})  # fmt: skip
    if changes:
        audit.record("roles_changed", tenant=user.tenant, actor_id=user.id, commit=False,
                     user_id=user.id, changes=changes)  # fmt: skip


_ROLE_STATES = Prepared(
    select(StructuralRole.__table__.c.kind, StructuralRole.__table__.c.ended_at).where(
        StructuralRole.__table__.c.user_id == bindparam("user_id")
    )
)


def _roles_in_step(user_id: int, kinds: list[str]) -> bool:
    """The roles held are already what ``kinds`` makes them: those active, the others ended."""
    held = dict(_ROLE_STATES.all({"user_id": user_id}))
    return all(kind in held and held[kind] is None for kind in kinds) and all(
        ended is not None for kind, ended in held.items() if kind not in kinds
    )


def structural_roles(user: User) -> list[StructuralRole]:
    query = (
        select(StructuralRole)
        .filter_by(user_id=user.id)
        .order_by(StructuralRole.since, StructuralRole.id)
    )
    return list(db.session.scalars(query))


class RoleRuleBroken(Exception):
    """The seeds' rules forbid deleting this role; the message says which rule."""


def delete_role(user: User, role_id: int) -> StructuralRole:
    """Delete an ended role of one's own. Raises LookupError for anyone else's role."""
    roles = structural_roles(user)
    role = next((r for r in roles if r.id == role_id), None)
    if role is None:
        raise LookupError(role_id)
    if role.active:
        raise RoleRuleBroken(_(ONLY_ENDED_DELETABLE))
    if len(roles) == 1:
        raise RoleRuleBroken(_(LAST_ROLE_STAYS))
    db.session.delete(role)
    audit.record("role_deleted", tenant=user.tenant, actor_id=user.id, commit=False,
                 role=role.kind, user_id=user.id,
                 changes=[audit.FieldChange(f"role.{role.kind}", ENDED, None)])  # fmt: skip
    db.session.commit()
    return role
