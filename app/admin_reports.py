"""What a regional administrator reads about their region: login statistics and the audit log.

Both are read from the audit events (``app.audit``), which never hold secrets or a full
СНИЛС; the log viewer cleans each event's detail once more before showing it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from app.audit import clean
from app.extensions import db
from app.models import AuditEvent, School

# A stopped login that the person's own consent let in (the «method» of its success row).
AFTER_CONSENT = {"consent": "после согласия"}


def method_labels(methods) -> dict[str, str]:
    """The region's login methods by kind, with their buttons' words."""
    return {method.kind: method.label for method in methods} | AFTER_CONSENT


REASON_LABELS = {
    "not_found": "дневник не найден",
    "email_missing": "нет электронной почты",
    "parent_consent_needed": "нет согласия родителя",
    "own_consent_needed": "первый вход: согласие не дано",
    "account_unconfirmed": "учётная запись не подтверждена",
    "student_profile": "ученик не зачислен",
    "wrong_credentials": "неверный логин или пароль",
    "refused": "отказ на странице прав доступа",
    "provider_unavailable": "сервис входа недоступен",
    "account_disabled": "учётная запись отключена",
    "bad_state": "устаревшая страница входа",
}
FAILURE_KINDS = ("login_failed", "login_stopped")


@dataclass
class LoginStats:
    days: list[date]
    by_method: dict[str, Counter] = field(default_factory=dict)  # method → day → count
    by_reason: dict[str, Counter] = field(default_factory=dict)  # reason → day → count
    not_found_schools: list[tuple[str, int]] = field(default_factory=list)

    def total(self, table: dict[str, Counter], day: date) -> int:
        return sum(counter[day] for counter in table.values())


def _since(days: int, today: date) -> datetime:
    return datetime.combine(today - timedelta(days=days - 1), time.min, tzinfo=UTC)


def login_stats(tenant: str, days: int, today: date) -> LoginStats:
    """Logins per method and failures per reason, per day, over the last ``days`` days."""
    stats = LoginStats([today - timedelta(days=n) for n in reversed(range(days))])
    by_method: dict[str, Counter] = defaultdict(Counter)
    by_reason: dict[str, Counter] = defaultdict(Counter)
    schools: Counter = Counter()
    query = select(AuditEvent.created_at, AuditEvent.kind, AuditEvent.detail).where(
        AuditEvent.tenant == tenant,
        AuditEvent.kind.in_(("login_succeeded", *FAILURE_KINDS)),
        AuditEvent.created_at >= _since(days, today),
    )
    for created, kind, detail in db.session.execute(query.execution_options(yield_per=1000)):
        day = created.date()
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
class AuditPage:
    events: list[tuple[AuditEvent, dict]]
    kinds: list[str]
    more: bool


def audit_page(tenant: str, kind: str | None, start: date | None, end: date | None,
               offset: int = 0) -> AuditPage:  # fmt: skip
    query = select(AuditEvent).where(AuditEvent.tenant == tenant)
    if kind:
        query = query.where(AuditEvent.kind == kind)
    if start:
        query = query.where(AuditEvent.created_at >= datetime.combine(start, time.min, tzinfo=UTC))
    if end:
        after = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
        query = query.where(AuditEvent.created_at < after)
    rows = db.session.scalars(
        query.order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .offset(offset).limit(PAGE + 1)
    ).all()  # fmt: skip
    kinds = db.session.scalars(
        select(AuditEvent.kind).where(AuditEvent.tenant == tenant).group_by(AuditEvent.kind)
        .order_by(func.min(AuditEvent.kind))
    ).all()  # fmt: skip
    return AuditPage([(e, clean(e.detail or {})) for e in rows[:PAGE]], list(kinds),
                     len(rows) > PAGE)  # fmt: skip
