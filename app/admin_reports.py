"""What a regional administrator reads about their region: what each version of its
configuration changed, in words (``app.wording``); the audit log itself is ``app.audit_log``,
the login statistics ``app.login_stats``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app import i18n, wording
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l
from app.tenants import editing, versions


def method_labels(methods) -> dict[str, str]:
    """The region's login methods by kind, with their buttons' words; ``consent``: a stopped
    login that the person's own consent let in (the «method» of its success row)."""
    return {method.kind: method.label for method in methods} | {"consent": _("после согласия")}


# --- what a version changed -------------------------------------------------------------------

# The configuration's fields that the form does not edit (``editing.FIELDS`` names the rest).
CONFIG_LABELS = {
    "name": _l("Название региона"),
    "hosts": _l("Адреса"),
    "timezone": _l("Часовой пояс"),
    "login_methods": _l("Способы входа и их порядок"),
    "branding.logo": _l("Логотип"),
    "policy.match_fields": _l("Поля для сверки с записью школы"),
    "identity_provider.kind": _l("Поставщик входа"),
    "identity_provider.base_url": _l("Адрес поставщика входа"),
    "identity_provider.issuer": _l("Издатель токенов (issuer)"),
    **{f.path: f.label for f in editing.FIELDS},
}
# The heading of a group's field that has no label of its own (``identity_provider.foo``).
GROUP_HEADINGS = {"identity_provider": _l("Поставщик входа")}
COLOUR_PATHS = {f.path for f in editing.FIELDS if f.kind == "colour"}


@dataclass(frozen=True)
class Change:
    path: str
    label: str
    old: str  # in words; a colour as #rrggbb
    new: str
    kind: str = "text"  # text, colour, logo


def _value_words(path: str, value: Any) -> str:
    if value is None or value == [] or value == "":
        return _("не задано")
    if isinstance(value, bool):
        return _("да") if value else _("нет")
    if path == "login_methods":
        return ", ".join(m.get("label") or m.get("kind", "?") for m in value)
    if path == "policy.match_fields":
        return ", ".join(str(wording.RECORD_FIELDS.get(v, v)) for v in value)
    if isinstance(value, list):
        return " ".join(str(v) for v in value) if path.endswith("scopes") else ", ".join(
            str(v) for v in value)  # fmt: skip
    return str(value)


def _label(path: str) -> str:
    """A field's name in the page's language."""
    if path in CONFIG_LABELS:
        return str(CONFIG_LABELS[path])
    if path.startswith("translations."):  # translations.en.full_name: «Полное название (English)»
        language, *rest = path.split(".")[1:]
        texts = dict(editing.TRANSLATED)
        name = (_("Кнопка «%(label)s»", label=rest[-1]) if rest[:1] == ["labels"]
                else str(texts.get(rest[0], rest[0])) if rest else language)  # fmt: skip
        return f"{name} ({i18n.LANGUAGES.get(language, language)})"
    group, _dot, name = path.rpartition(".")
    heading = CONFIG_LABELS.get(group) or GROUP_HEADINGS.get(group)
    return f"{heading}: {name}" if heading else path


def config_change(path: str, old: Any, new: Any) -> Change:
    """One field of the configuration changed, in words (also as the audit log shows it)."""
    kind = "colour" if path in COLOUR_PATHS else "logo" if path == "branding.logo" else "text"
    return Change(path, _label(path), _value_words(path, old), _value_words(path, new), kind)


def config_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """The fields that differ between two versions' configurations, old → new, in the order
    the configuration lists them (``versions.field_changes``, as the audit records them)."""
    return [config_change(c.field, c.old, c.new) for c in versions.field_changes(old, new)]


def history_changes(slug: str) -> list[tuple[versions.HistoryRow, list[Change]]]:
    """The region's versions, newest first, each with what it changed from the one before."""
    rows = versions.history(slug)
    configs = [row.version.config if row.version else versions.config_of(slug, row.number)
               for row in rows]  # fmt: skip
    return [
        (row, config_changes(configs[i + 1], configs[i]) if i + 1 < len(rows) else [])
        for i, row in enumerate(rows)
    ]


def version_changes(slug: str, number: int) -> list[Change]:
    """What version ``number`` changed from the one before it (raises LookupError)."""
    current = versions.config_of(slug, number)
    try:
        previous = versions.config_of(slug, number - 1) if number else None
    except LookupError:  # the version before it is no longer kept
        previous = None
    return config_changes(previous, current) if previous is not None else []


def restore_changes(slug: str, number: int) -> list[Change]:
    """What rolling back to version ``number`` would change in the version served now."""
    target = versions.config_of(slug, number)
    return config_changes(versions.config_of(slug, versions.latest_number(slug)), target)
