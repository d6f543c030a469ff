"""Drafts: an administrator's change of their region that nobody else sees until it is published.

An administrator keeps one draft per region in the database (signing out loses nothing),
made over the version served when they began (its ``base``). They may look at it on the
region's own host: their server-side session carries a preview mark, and each request of
that session — checked every time against the administrator's rights and the draft itself —
is served with the draft's configuration instead of the published one (``preview_of``).
Other visitors, the administrator's other sessions and every other region never see it.

Publishing stores the draft as the next version (``versions.save``, which every worker then
serves). It is refused when a version was published since the draft's base (the caller shows
both sides' changes; ``rebase`` carries the draft over to the new version), and, when the
identity provider's settings change, unless the provider check passes or the administrator
overrides it with a reason. The check itself belongs to ``app.identity`` and is handed in by
the caller, so that this module stays below the providers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from flask import current_app, session
from pydantic import ValidationError
from sqlalchemy import bindparam, delete, exists, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app import audit
from app.extensions import db
from app.models import RegionalAdmin, User
from app.models.base import db_id, utcnow
from app.models.tenants import ConfigDraft, TenantVersion

from . import versions
from .registry import Tenant
from .schema import Emulator, TenantConfig

# The session key of a preview: {"tenant": slug, "draft": id}.
PREVIEW = "config_preview"
COMMENT_MAX = 500


class CheckResult(Protocol):
    """What ``app.identity.checks.check_provider`` answers (its items are shown as they are)."""

    passed: bool
    items: Any


class DraftGone(LookupError):
    """No such draft any more (published or discarded meanwhile), or it changed since the
    administrator looked at it (another tab saved it again)."""


class DraftStale(Exception):
    """A version was published since the draft's base: publishing would undo it."""

    def __init__(self, draft: ConfigDraft, latest: int):
        super().__init__(latest)
        self.draft, self.base, self.latest = draft, draft.base, latest


class ProviderCheckFailed(Exception):
    """The draft changes the identity provider, and the provider check did not pass."""

    def __init__(self, check: CheckResult):
        super().__init__("provider check failed")
        self.check = check


class NotMergeable(ValueError):
    """The draft's changes, carried over to the newest version, do not make a valid region."""


@dataclass(frozen=True)
class Preview:
    """What the page frame says while a draft is previewed."""

    draft_id: int
    base: int
    revision: int


# --- reading --------------------------------------------------------------------------------


def find(slug: str, author_id: int) -> ConfigDraft | None:
    """The administrator's draft of the region, if they keep one."""
    return db.session.scalar(select(ConfigDraft).filter_by(tenant=slug, author_id=author_id))


def _validate(raw: Mapping[str, Any]) -> TenantConfig:
    static = Path(current_app.static_folder)
    return TenantConfig.model_validate(raw, context={"static_dir": static})


def config_of(draft: ConfigDraft) -> TenantConfig:
    """The draft as the schema reads it (raises ValidationError if it no longer validates)."""
    return _validate(draft.config)


def usable(draft: ConfigDraft | None) -> TenantConfig | None:
    """The draft's configuration; None without a draft or for one the schema, changed by a
    deploy since, no longer accepts (it can then only be discarded)."""
    try:
        return config_of(draft) if draft is not None else None
    except ValidationError:
        return None


def provider_changed(old: TenantConfig, new: TenantConfig) -> bool:
    return versions.dump(old)["identity_provider"] != versions.dump(new)["identity_provider"]


def sides(draft: ConfigDraft, latest: int) -> tuple[dict | None, dict, dict]:
    """For a draft over an older version: (its base, the version served now, the draft), as
    stored configurations; the base is None if it is no longer kept."""
    try:
        base = _normalised(versions.config_of(draft.tenant, draft.base))
    except LookupError:
        base = None
    return base, _normalised(versions.config_of(draft.tenant, latest)), draft.config


# --- changing -------------------------------------------------------------------------------


def save(slug: str, config: TenantConfig, *, base: int, author: User, comment: str) -> ConfigDraft:
    """Keep ``config`` as the administrator's draft made over version ``base``, replacing the
    draft they had. Two saves at once (two tabs, a double click) leave the later one."""
    values = {"base": base, "config": versions.dump(config),
              "comment": comment.strip()[:COMMENT_MAX], "updated_at": utcnow()}  # fmt: skip
    created = False
    if find(slug, author.id) is None:
        db.session.add(ConfigDraft(tenant=slug, author_id=author.id, revision=1, **values))
        try:
            db.session.flush()
            created = True
        except IntegrityError:  # the same administrator's other request created it first
            db.session.rollback()
    if not created:
        db.session.execute(
            update(ConfigDraft)
            .where(ConfigDraft.tenant == slug, ConfigDraft.author_id == author.id)
            .values(revision=ConfigDraft.revision + 1, **values)
        )
    audit.record("config_draft_saved", tenant=slug, actor_id=author.id, commit=False,
                 base=base, comment=values["comment"])  # fmt: skip
    db.session.commit()
    return find(slug, author.id)


def discard(slug: str, author: User) -> bool:
    """Remove the administrator's draft (and end its preview); False if there was none."""
    removed = db.session.execute(
        delete(ConfigDraft).where(ConfigDraft.tenant == slug, ConfigDraft.author_id == author.id)
    ).rowcount
    if removed:
        audit.record("config_draft_discarded", tenant=slug, actor_id=author.id, commit=False)
    db.session.commit()
    session.pop(PREVIEW, None)
    return bool(removed)


def _normalised(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A stored configuration as the schema reads it now (later fields' defaults filled in)."""
    try:
        return versions.dump(_validate(raw))
    except ValidationError:
        return dict(raw)


def _flat(raw: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, Mapping):
            flat |= _flat(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _nested(flat: Mapping[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for path, value in flat.items():
        *parents, last = path.split(".")
        node = raw
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return raw


def rebase(slug: str, author: User) -> ConfigDraft:
    """Carry the draft's own changes over to the version served now: every field the draft
    changed from its base takes the draft's value, every other field the served one's."""
    draft = find(slug, author.id)
    if draft is None:
        raise DraftGone(slug)
    latest = versions.latest_number(slug)
    if draft.base == latest:
        return draft
    base, served, mine = (_flat(side or {}) for side in sides(draft, latest))
    merged = dict(served)
    for path in {*base, *mine}:
        if mine.get(path) != base.get(path):
            if path in mine:
                merged[path] = mine[path]
            else:
                merged.pop(path, None)
    try:
        config = _validate(_nested(merged))
    except ValidationError as error:
        raise NotMergeable(str(error)) from None
    return save(slug, config, base=latest, author=author, comment=draft.comment)


def publish_config(
    slug: str,
    config: TenantConfig,
    *,
    base: int,
    author: User,
    comment: str,
    check: Callable[[TenantConfig], CheckResult],
    override: Callable[[CheckResult], None] | None = None,
    replaces: int | None = None,
) -> TenantVersion:
    """Serve ``config`` as the next version after ``base`` (StaleVersion if ``base`` is not
    the latest). A changed identity provider must pass ``check`` first; a failed check is
    published only with an ``override``, which records it (uncommitted: it is kept only with
    the version).
    ``replaces``: the revision of the author's draft the configuration was edited from, which
    is then done with (a newer save of it, from another tab, stays)."""
    latest, served = versions.at(slug)
    if base != latest:
        raise versions.StaleVersion(latest)
    result = check(config) if provider_changed(served, config) else None
    if result is not None and not result.passed and override is None:
        raise ProviderCheckFailed(result)
    if result is not None and not result.passed:
        override(result)  # written in the version's own transaction: both stand, or neither
    try:
        version = versions.save(slug, config, base=base, author=author, comment=comment)
    except versions.StaleVersion:
        db.session.rollback()
        raise
    if replaces is not None:
        _remove(slug, author, replaces)
    return version


def _remove(slug: str, author: User, revision: int) -> None:
    """A published draft, as it was published (a newer save of it stays)."""
    db.session.execute(
        delete(ConfigDraft).where(
            ConfigDraft.tenant == slug,
            ConfigDraft.author_id == author.id,
            ConfigDraft.revision == revision,
        )
    )
    db.session.commit()
    session.pop(PREVIEW, None)


def publish(
    slug: str,
    author: User,
    *,
    revision: int | None,
    check: Callable[[TenantConfig], CheckResult],
    override: Callable[[CheckResult], None] | None = None,
) -> TenantVersion:
    """Publish the administrator's draft as they last saw it (``revision``), then remove it.
    Refused, with the draft kept: DraftStale, ProviderCheckFailed; DraftGone if it is not
    there as seen (published, discarded or saved again meanwhile)."""
    draft = find(slug, author.id)
    config = usable(draft)
    if config is None or (revision is not None and draft.revision != revision):
        raise DraftGone(slug)
    try:
        return publish_config(slug, config, base=draft.base, author=author,
                              comment=draft.comment, check=check, override=override,
                              replaces=draft.revision)  # fmt: skip
    except versions.StaleVersion as stale:
        db.session.expire_all()
        if find(slug, author.id) is None:  # a double submit: the first one published it
            raise DraftGone(slug) from None
        raise DraftStale(draft, stale.latest) from None


# --- previewing -----------------------------------------------------------------------------


def start_preview(slug: str, author: User) -> ConfigDraft:
    """From now on this session sees the region as the draft would make it."""
    draft = find(slug, author.id)
    if draft is None:
        raise DraftGone(slug)
    session[PREVIEW] = {"tenant": slug, "draft": draft.id}
    audit.record("config_preview_started", tenant=slug, actor_id=author.id, base=draft.base)
    return draft


def end_preview() -> bool:
    """Back to the published version; False if this session was not previewing."""
    return session.pop(PREVIEW, None) is not None


_PREVIEWED = (
    select(ConfigDraft)
    .join(User, User.id == ConfigDraft.author_id)
    .where(
        ConfigDraft.id == bindparam("draft"),
        ConfigDraft.tenant == bindparam("tenant"),
        ConfigDraft.author_id == bindparam("user"),
        User.tenant == ConfigDraft.tenant,
        User.disabled.is_(False),
        exists().where(
            RegionalAdmin.tenant == ConfigDraft.tenant,
            RegionalAdmin.user_id == ConfigDraft.author_id,
        ),
    )
)


def preview_of(tenant: Tenant) -> tuple[Tenant, Preview] | None:
    """The region as this request's session previews it: the draft's configuration, if the
    session is marked for one of ``tenant``'s drafts and its signed-in user is that draft's
    author and still the region's administrator. Otherwise None, and a mark that no longer
    holds is removed (the next requests do not ask again)."""
    mark = session.get(PREVIEW)
    if not isinstance(mark, dict):
        return None
    user, draft_id = db_id(session.get("_user_id")), db_id(mark.get("draft"))
    if mark.get("tenant") != tenant.slug or user is None or draft_id is None:
        session.pop(PREVIEW, None)
        return None
    params = {"draft": draft_id, "tenant": tenant.slug, "user": user}
    try:
        draft = db.session.scalar(_PREVIEWED, params)
    except SQLAlchemyError:  # the database does not answer: the published version, as for all
        db.session.rollback()
        return None
    try:
        config = config_of(draft) if draft is not None else None
    except ValidationError:
        config = None
    if config is None:
        session.pop(PREVIEW, None)
        return None
    emulator = Emulator.from_config(current_app.config)
    served = config.emulated(emulator) if emulator else config
    shown = Tenant(tenant.slug, served, f"draft-{draft.id}-{draft.revision}")
    return shown, Preview(draft.id, draft.base, draft.revision)
