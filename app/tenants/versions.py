"""Regional administrators' versions of their region's configuration, and serving them.

``regions.yaml`` is version 0 of every region. Each save stores the whole region as the
schema validated it (never the development emulator's rewrite), numbered per region; the
unique (tenant, number) pair makes a save based on a stale version fail (409) instead of
overwriting someone else's. Every worker checks the latest numbers at most every
``TENANT_REFRESH_SECONDS`` (default 2) on its next request and swaps in what changed, so a
saved version is served everywhere within seconds without a deploy.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from flask import Flask, current_app
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app import audit, metrics
from app.extensions import db
from app.i18n import gettext as _
from app.models import TenantVersion, User

from .schema import Emulator, TenantConfig

BASELINE = 0
# A rollback's comment, as the version keeps it (data, in Russian; ``comment_words`` shows it
# in the page's language), and the diff's headers.
RESTORE_COMMENT = "Откат к версии {number}"  # i18n-exempt: stored as the version's comment
DIFF_SIDE = "версия {number}"  # i18n-exempt: stored in the version's diff


def _state(app: Flask) -> dict:
    return app.extensions.setdefault("tenant_versions", {"checked": 0.0, "numbers": {}})


def source_config(app: Flask, slug: str) -> TenantConfig:
    """The region as its administrators see and edit it (not rewritten for the emulator)."""
    sources = _state(app).setdefault("sources", {})
    return sources.get(slug) or app.extensions["tenants"].baseline.regions[slug]


def _validate(raw: dict[str, Any], app: Flask) -> TenantConfig:
    return TenantConfig.model_validate(raw, context={"static_dir": Path(app.static_folder)})


def _serve(app: Flask, slug: str, number: int, config: TenantConfig) -> None:
    state = _state(app)
    state.setdefault("sources", {})[slug] = config
    state["numbers"][slug] = number
    emulator = Emulator.from_config(app.config)
    served = config.emulated(emulator) if emulator else config
    app.extensions["tenants"].replace(slug, served, f"v{number}" if number else "baseline")


def refresh(app: Flask, *, force: bool = False) -> None:
    """Serve each region's latest version; cheap (one grouped query) and rate-limited."""
    state = _state(app)
    moment = time.monotonic()
    if not force and moment - state["checked"] < app.config.get("TENANT_REFRESH_SECONDS", 2):
        return
    state["checked"] = moment
    try:
        latest = dict(
            db.session.execute(
                select(TenantVersion.tenant, func.max(TenantVersion.number)).group_by(
                    TenantVersion.tenant
                )
            ).all()
        )
    except SQLAlchemyError:
        # The database does not answer: keep serving the versions this worker has, so that
        # the request still knows its region (and its branded 503 page).
        db.session.rollback()
        current_app.logger.warning("region versions not refreshed: the database did not answer")
        return
    registry = app.extensions["tenants"]
    for tenant in list(registry):
        number = latest.get(tenant.slug, BASELINE)
        metrics.CONFIG_VERSION.labels(tenant.slug).set(number)
        if number == state["numbers"].get(tenant.slug, BASELINE):
            continue
        if number == BASELINE:  # its versions were removed: back to regions.yaml
            _serve(app, tenant.slug, BASELINE, registry.baseline.regions[tenant.slug])
            continue
        row = db.session.scalar(select(TenantVersion).filter_by(tenant=tenant.slug, number=number))
        try:
            _serve(app, tenant.slug, number, _validate(row.config, app))
        except ValidationError:
            current_app.logger.exception(
                "version %s of %s no longer validates", number, tenant.slug
            )


# --- saving -----------------------------------------------------------------------------------


class StaleVersion(Exception):
    """Someone saved a newer version since the form was opened."""

    def __init__(self, latest: int):
        super().__init__(latest)
        self.latest = latest


def as_yaml(config: TenantConfig | dict) -> str:
    raw = config if isinstance(config, dict) else dump(config)
    return yaml.safe_dump(raw, allow_unicode=True, sort_keys=False, width=100)


def dump(config: TenantConfig) -> dict[str, Any]:
    return config.model_dump(mode="json", exclude_none=True)


def _flat(raw: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat |= _flat(value, f"{path}.")
        else:
            flat[path] = value
    return flat


def _normalised(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A stored version as the schema reads it now (defaults of later fields filled in), so
    that a field added since does not show as a change; as stored if it no longer validates."""
    try:
        return dump(TenantConfig.model_validate(raw))
    except ValidationError:
        return dict(raw)


def field_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[audit.FieldChange]:
    """The fields (dotted paths) that differ between two versions' configurations, old and
    new, in the order the configuration lists them."""
    before, after = _flat(_normalised(old)), _flat(_normalised(new))
    paths = [*after, *(path for path in before if path not in after)]
    return [audit.FieldChange(path, before.get(path), after.get(path))
            for path in paths if before.get(path) != after.get(path)]  # fmt: skip


def latest_number(slug: str) -> int:
    number = db.session.scalar(
        select(func.max(TenantVersion.number)).where(TenantVersion.tenant == slug)
    )
    return number or BASELINE


def save(
    slug: str,
    config: TenantConfig,
    *,
    base: int,
    author: User,
    comment: str,
    restores: int | None = None,
) -> TenantVersion:
    """Store ``config`` as the next version after ``base``; raise StaleVersion if ``base`` is
    not the latest any more. Served by this worker at once, by the others within seconds."""
    app = current_app._get_current_object()
    latest = latest_number(slug)
    if base != latest:
        raise StaleVersion(latest)
    previous, new = config_of(slug, latest), dump(config)
    diff = "".join(difflib.unified_diff(
        as_yaml(previous).splitlines(keepends=True), as_yaml(new).splitlines(keepends=True),
        fromfile=DIFF_SIDE.format(number=latest), tofile=DIFF_SIDE.format(number=latest + 1),
    ))  # fmt: skip
    version = TenantVersion(
        tenant=slug,
        number=latest + 1,
        config=new,
        author_id=author.id,
        comment=comment.strip()[:500],
        diff=diff,
        restores=restores,
    )
    db.session.add(version)
    try:
        db.session.flush()
    except IntegrityError:  # another administrator's save won the same number
        db.session.rollback()
        raise StaleVersion(latest_number(slug)) from None
    audit.record("config_saved", tenant=slug, actor_id=author.id, commit=False,
                 version=version.number, restores=restores, comment=version.comment,
                 changes=field_changes(previous, new))  # fmt: skip
    db.session.commit()
    _serve(app, slug, version.number, config)
    return version


def at(slug: str, number: int | None = None) -> tuple[int, TenantConfig]:
    """A version of the region as its administrators edit it, read from the database (never
    from this worker's copy, which may be seconds behind): ``number``, or the latest. The
    form shows exactly the version it names, and saves over it or not at all."""
    query = select(TenantVersion).filter_by(tenant=slug)
    if number is None:
        query = query.order_by(TenantVersion.number.desc()).limit(1)
    elif number == BASELINE:
        return BASELINE, current_app.extensions["tenants"].baseline.regions[slug]
    else:
        query = query.filter_by(number=number)
    row = db.session.scalars(query).first()
    if row is None:
        if number is None:
            return BASELINE, current_app.extensions["tenants"].baseline.regions[slug]
        raise LookupError(number)
    return row.number, _validate(row.config, current_app)


def config_of(slug: str, number: int) -> dict[str, Any]:
    """A version's configuration (0: regions.yaml)."""
    if number == BASELINE:
        return dump(current_app.extensions["tenants"].baseline.regions[slug])
    row = db.session.scalar(select(TenantVersion).filter_by(tenant=slug, number=number))
    if row is None:
        raise LookupError(number)
    return row.config


def restore(slug: str, number: int, *, base: int, author: User) -> TenantVersion:
    """Roll back: a new version equal to version ``number``."""
    config = _validate(config_of(slug, number), current_app)
    return save(slug, config, base=base, author=author,
                comment=RESTORE_COMMENT.format(number=number), restores=number)  # fmt: skip


def comment_words(version: TenantVersion) -> str:
    """A version's comment as a page shows it: what its author typed, or a rollback's own
    comment in the page's language."""
    restores = version.restores
    if restores is not None and version.comment == RESTORE_COMMENT.format(number=restores):
        return _("Откат к версии %(number)s", number=restores)
    return version.comment or ""


@dataclass(frozen=True)
class HistoryRow:
    number: int
    version: TenantVersion | None  # None: regions.yaml


def history(slug: str) -> list[HistoryRow]:
    rows = db.session.scalars(
        select(TenantVersion).filter_by(tenant=slug).order_by(TenantVersion.number.desc())
    ).all()
    return [HistoryRow(row.number, row) for row in rows] + [HistoryRow(BASELINE, None)]


def effective_regions(app: Flask) -> dict[str, Any]:
    """The whole file as served now: regions.yaml's portal, each region's latest version."""
    refresh(app, force=True)
    registry = app.extensions["tenants"]
    return {
        "portal": registry.baseline.portal.model_dump(mode="json", exclude_none=True),
        "regions": {t.slug: dump(source_config(app, t.slug)) for t in registry},
    }
