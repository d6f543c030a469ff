"""Server-side sessions, so that logging out, timing out and "sign out the others" are real.

The cookie holds only a random session id; the data lives in Redis (``REDIS_URL``) or, in the
demo and tests, in the database. Stores key records by a SHA-256 of the id, so a copy of the
store does not hand out live sessions. Each record remembers its region: presented on
another region's host it is not loaded at all (the cookie is host-only as well). Idle and
absolute lifetimes come from the region's policy.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Request, Response, current_app
from flask.sessions import SessionInterface, SessionMixin
from redis.exceptions import RedisError
from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import CallbackDict

from app import audit, metrics
from app.database import Prepared, upsert
from app.extensions import db
from app.i18n import lazy_gettext as _l
from app.models import ServerSession, User
from app.sealing import InvalidToken, seal, unseal_cached
from app.tenants import current_registry
from app.wording import Words

# last_seen is written at most this often for requests that change nothing.
TOUCH_INTERVAL = 60


def now() -> float:
    """The sessions' clock (tests freeze it)."""
    return time.time()


class StoreUnavailable(Exception):
    """The session store (Redis, or the database) did not answer: a branded 503."""


STORE_ERRORS = (RedisError, SQLAlchemyError, OSError)


SEALED = "sealed"
# An ended session's marker: ``{ENDED: reason}`` and no user, kept this long (the longest a
# session lives), so the next visit with its cookie says why it ended.
ENDED = "ended"
ENDED_KEPT_SECONDS = 24 * 3600


def _opened(data: dict[str, Any]) -> dict[str, Any]:
    """A record's contents: sealed (as written now), or as written before sealing."""
    if SEALED not in data:
        return data
    try:
        return unseal_cached(data[SEALED])
    except InvalidToken:  # sealed under another key: the session is void
        return {}


def digest(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


@dataclass
class Record:
    tenant: str
    created: float
    last_seen: float
    data: dict[str, Any] = field(default_factory=dict)
    user_id: int | None = None
    user_agent: str = ""
    ip: str = ""


class Store(ABC):
    @abstractmethod
    def load(self, key: str) -> Record | None: ...

    @abstractmethod
    def save(self, key: str, record: Record, ttl: int) -> None: ...

    @abstractmethod
    def delete(self, key: str) -> None: ...

    def replace(self, old_key: str, key: str, record: Record, ttl: int) -> None:
        """A rotated session: ``old_key`` gone, ``record`` saved under ``key``."""
        self.delete(old_key)
        self.save(key, record, ttl)

    @abstractmethod
    def of_user(self, tenant: str, user_id: int) -> dict[str, Record]: ...

    def delete_user(
        self, tenant: str, user_id: int, keep: str | None = None, reason: str | None = None
    ) -> int:
        """End the user's sessions (all but ``keep``). With a ``reason`` each one leaves a
        marker that holds nothing but the reason, so that the person is told why on their
        next visit instead of meeting a bare sign-in page."""
        sessions = self.of_user(tenant, user_id)
        keys = [key for key in sessions if key != keep]
        moment = now()
        for key in keys:
            self.delete(key)
            if reason is not None:
                marker = Record(tenant, sessions[key].created, moment, {ENDED: reason})
                self.save(key, marker, ENDED_KEPT_SECONDS)
        return len(keys)


class RedisStore(Store):
    def __init__(self, url: str, prefix: str):
        import redis

        self.redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix

    def _user_key(self, tenant: str, user_id: int) -> str:
        return f"{self.prefix}user:{tenant}:{user_id}"

    def load(self, key: str) -> Record | None:
        raw = self.redis.get(self.prefix + key)
        return Record(**json.loads(raw)) if raw else None

    def save(self, key: str, record: Record, ttl: int) -> None:
        pipe = self.redis.pipeline()
        pipe.set(self.prefix + key, json.dumps(asdict(record)), ex=max(ttl, 1))
        if record.user_id is not None:
            user_key = self._user_key(record.tenant, record.user_id)
            pipe.sadd(user_key, key)
            pipe.expire(user_key, 72 * 3600)
        pipe.execute()

    def delete(self, key: str) -> None:
        record = self.load(key)
        self.redis.delete(self.prefix + key)
        if record is not None and record.user_id is not None:
            self.redis.srem(self._user_key(record.tenant, record.user_id), key)

    def of_user(self, tenant: str, user_id: int) -> dict[str, Record]:
        user_key = self._user_key(tenant, user_id)
        found = {}
        for raw_key in self.redis.smembers(user_key):
            key = raw_key.decode()
            record = self.load(key)
            if record is None:
                self.redis.srem(user_key, key)  # expired meanwhile
            else:
                found[key] = record
        return found


class DatabaseStore(Store):
    """The local store: the portal's own database, shared by every worker of the demo."""

    # Prepared once (app.database.Prepared): the load runs on every request of a session,
    # the others at every login.
    _LOAD = Prepared((lambda t: select(
        t.c.tenant, t.c.created_at, t.c.last_seen_at, t.c.data, t.c.user_id, t.c.user_agent,
        t.c.ip,
    ).where(t.c.id == bindparam("key"), t.c.expires_at >= bindparam("now")))(
        ServerSession.__table__
    ))  # fmt: skip
    _UPSERT = Prepared(upsert(ServerSession.__table__))
    _DELETE = Prepared(
        (lambda t: delete(t).where(t.c.id == bindparam("key")))(ServerSession.__table__)
    )

    def load(self, key: str) -> Record | None:
        row = self._LOAD.first({"key": key, "now": now()})
        return None if row is None else Record(*row[:3], dict(row[3]), *row[4:])

    def save(self, key: str, record: Record, ttl: int) -> None:
        if secrets.randbelow(100) == 0:  # now and then, sweep what has expired
            db.session.execute(delete(ServerSession).where(ServerSession.expires_at < now()))
        values = {
            "id": key, "tenant": record.tenant, "user_id": record.user_id, "data": record.data,
            "created_at": record.created, "last_seen_at": record.last_seen,
            "expires_at": now() + ttl, "user_agent": record.user_agent[:200], "ip": record.ip,
        }  # fmt: skip
        self._UPSERT.execute(values)
        db.session.commit()

    def delete(self, key: str) -> None:
        self._DELETE.execute({"key": key})
        db.session.commit()

    def replace(self, old_key: str, key: str, record: Record, ttl: int) -> None:
        """In one transaction (``save`` commits): a login's rotation is never half done, and
        commits once."""
        self._DELETE.execute({"key": old_key})
        self.save(key, record, ttl)

    def of_user(self, tenant: str, user_id: int) -> dict[str, Record]:
        rows = db.session.scalars(
            select(ServerSession).where(
                ServerSession.tenant == tenant,
                ServerSession.user_id == user_id,
                ServerSession.expires_at >= now(),
            )
        )
        return {row.id: self.load(row.id) for row in rows}


class PortalSession(CallbackDict, SessionMixin):
    """The session dict, plus what the interface needs to know about its lifecycle."""

    def __init__(self, initial=None, sid: str | None = None, record: Record | None = None):
        def on_update(self):
            self.modified = True

        super().__init__(initial, on_update)
        self.sid = sid
        self.record = record
        self.modified = False
        self.rotate_requested = False
        self.destroy_requested = False
        # Why this browser's previous session was ended (end_sessions' reason), if it was.
        self.ended: str | None = None
        # The store did not answer when the session was read: nothing is saved, and the
        # request ends in the branded 503 (see init_app).
        self.unavailable = False

    def rotate(self) -> None:
        """A new id at login: whatever an attacker planted before is worth nothing now."""
        self.rotate_requested = True
        self.modified = True

    def destroy(self) -> None:
        """Logout: the record is deleted, so replaying the old cookie gives nothing."""
        self.clear()
        self.destroy_requested = True


def _policy_limits(tenant_slug: str) -> tuple[int, int]:
    tenant = current_registry().get(tenant_slug)
    policy = tenant.policy.session
    return policy.idle_timeout_minutes * 60, policy.absolute_timeout_hours * 3600


class ServerSessionInterface(SessionInterface):
    def __init__(self, store: Store):
        self.store = store

    def _tenant_slug(self, request: Request) -> str | None:
        site = current_registry().resolve(request.environ.get("HTTP_HOST", ""))
        return getattr(site, "slug", None)

    def open_session(self, app: Flask, request: Request) -> PortalSession:
        if request.path.startswith(f"{app.static_url_path}/"):
            return PortalSession()  # static files need no session: no store lookup per file
        sid = request.cookies.get(self.get_cookie_name(app))
        tenant = self._tenant_slug(request)
        if not sid or tenant is None:
            return PortalSession()
        key = digest(sid)
        try:
            record = self.store.load(key)
        except STORE_ERRORS as error:
            app.logger.warning("the session store did not answer: %s", type(error).__name__)
            session = PortalSession()
            session.unavailable = True
            return session
        if record is None or record.tenant != tenant:
            return PortalSession()
        if ENDED in record.data:
            session = PortalSession()
            session.ended = str(record.data[ENDED])
            return session
        idle, absolute = _policy_limits(tenant)
        moment = now()
        if moment - record.last_seen > idle or moment - record.created > absolute:
            self.store.delete(key)
            return PortalSession()
        return PortalSession(_opened(record.data), sid=sid, record=record)

    def save_session(self, app: Flask, session: PortalSession, response: Response) -> None:
        if session.unavailable:
            return
        try:
            self._save(app, session, response)
        except STORE_ERRORS as error:
            session.unavailable = True
            raise StoreUnavailable("the session store did not answer") from error

    def _save(self, app: Flask, session: PortalSession, response: Response) -> None:
        name = self.get_cookie_name(app)
        cookie = {
            "domain": None,
            "path": "/",
            "secure": self.get_cookie_secure(app),
            "httponly": True,
            "samesite": self.get_cookie_samesite(app),
        }
        if session.destroy_requested or (session.sid and not session and session.modified):
            if session.sid:
                self.store.delete(digest(session.sid))
            if session.sid or session.destroy_requested:
                response.delete_cookie(name, **cookie)
            return
        if not session:
            return
        from flask import request

        tenant = self._tenant_slug(request)
        if tenant is None:
            return
        moment = now()
        record, replaced = session.record, None
        if session.rotate_requested or record is None or session.sid is None:
            replaced = digest(session.sid) if session.sid else None
            session.sid = secrets.token_urlsafe(32)
            record = Record(tenant=tenant, created=moment, last_seen=moment)
        elif not session.modified and moment - record.last_seen < TOUCH_INTERVAL:
            return
        record.last_seen = moment
        # The session's contents are sealed in the store: Redis and the database hold no
        # personal data in the clear (app/sealing.py).
        record.data = {SEALED: seal(dict(session))}
        user_id = session.get("_user_id")
        record.user_id = int(user_id) if user_id and str(user_id).isdigit() else None
        record.user_agent = request.user_agent.string or ""
        record.ip = request.remote_addr or ""
        idle, absolute = _policy_limits(tenant)
        ttl = int(min(idle, absolute - (moment - record.created)))
        if replaced is None:
            self.store.save(digest(session.sid), record, ttl)
        else:
            self.store.replace(replaced, digest(session.sid), record, ttl)
        session.record = record
        response.set_cookie(name, session.sid, **cookie)
        response.vary.add("Cookie")


def current_store(app: Flask) -> Store:
    return app.session_interface.store


@dataclass(frozen=True)
class ActiveSession:
    key: str
    created: datetime
    last_seen: datetime
    user_agent: str
    ip: str
    current: bool


def active_sessions(app: Flask, tenant: str, user_id: int, current_sid: str | None):
    current_key = digest(current_sid) if current_sid else None
    sessions = [
        ActiveSession(
            key,
            datetime.fromtimestamp(r.created, UTC),
            datetime.fromtimestamp(r.last_seen, UTC),
            r.user_agent,
            r.ip,
            key == current_key,
        )
        for key, r in current_store(app).of_user(tenant, user_id).items()
    ]
    return sorted(sessions, key=lambda s: (not s.current, -s.last_seen.timestamp()))


def _refuse_without_store():
    from flask import abort, session

    if getattr(session, "unavailable", False):
        metrics.UNAVAILABLE.labels("session_store").inc()
        abort(503)


# What a person is told on their next visit after their sessions were ended (end_sessions'
# reasons), on the sign-in page instead of a bare prompt.
ENDED_NOTICES = Words(
    {
        "consent_revoked": _l(
            "Вход в дневник закрыт: согласие на обработку персональных данных "
            "отозвано. Войдите снова — портал подскажет, как дать согласие."
        ),
        "account_disabled": _l(
            "Ваша учётная запись отключена. Чтобы восстановить доступ, обратитесь в школу."
        ),
        "erased": _l(
            "Ваша учётная запись и данные удалены по запросу. Если это ошибка, обратитесь в школу."
        ),
        "password_changed": _l(
            "Пароль изменили на другом устройстве, поэтому этот сеанс завершён. "
            "Войдите с новым паролем."
        ),
        "password_reset": _l(
            "Школа выдала новый пароль, поэтому этот сеанс завершён. Войдите с новым паролем."
        ),
        "signed_out_others": _l(
            "Этот сеанс завершили с другого устройства. Если это были не вы, "
            "войдите и смените пароль или обратитесь в школу."
        ),
    }
)
ENDED_DEFAULT = _l("Ваш сеанс завершён. Войдите снова.")


def ended_notice() -> str | None:
    """Why this browser's last session was ended, in words for the sign-in page; None if it
    was not ended (expired, signed out, or never there)."""
    from flask import session

    reason = getattr(session, "ended", None)
    return None if reason is None else ENDED_NOTICES.get(reason, str(ENDED_DEFAULT))


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    store = (
        RedisStore(url, f"{app.config['REDIS_KEY_PREFIX']}:session:") if url else DatabaseStore()
    )
    app.session_interface = ServerSessionInterface(store)
    app.before_request(_refuse_without_store)
    app.jinja_env.globals["ended_notice"] = ended_notice


def end_sessions(user: User, *, keep_sid: str | None = None, reason: str) -> int:
    """End the user's sessions in this region (all but ``keep_sid``), audited."""
    keep = digest(keep_sid) if keep_sid else None
    store = current_store(current_app)
    ended = store.delete_user(user.tenant, user.id, keep=keep, reason=reason)
    audit.record("sessions_ended", tenant=user.tenant, actor_id=user.id, commit=False,
                 reason=reason, count=ended)  # fmt: skip
    db.session.commit()
    return ended
