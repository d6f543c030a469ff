"""The part of a region's configuration its administrator edits, as form fields.

Input names are the configuration's own dotted paths (``branding.support.phone``), so the
schema's error locations point straight at the field to mark. What is not listed here —
hosts, the provider's kind, endpoints, key and secret names, matching rules — is changed in
``regions.yaml`` by a deploy, not in a browser.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.numbers import get_decimal_symbol
from flask_babel import LazyString
from pydantic import ValidationError

from app import i18n
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l
from app.i18n import ngettext

from .loader import message_of
from .schema import PROVIDER_KINDS, TenantConfig


@dataclass(frozen=True)
class Field:
    path: str
    kind: str  # text, colour, int, bool, list
    label: LazyString  # words, chosen in the page's language when shown
    group: str  # a code of GROUP_LABELS


# The form's groups of fields, by code, with their headings.
GROUP_LABELS = {
    "branding": _l("Оформление"),
    "support": _l("Служба поддержки"),
    "policy": _l("Правила"),
    "provider": _l("Поставщик входа"),
}

FIELDS = (
    Field("branding.full_name", "text", _l("Полное название"), "branding"),
    Field("branding.short_name", "text", _l("Краткое название"), "branding"),
    Field("branding.primary_color", "colour", _l("Основной цвет"), "branding"),
    Field("branding.accent_color", "colour", _l("Акцентный цвет"), "branding"),
    Field("branding.footer_text", "text", _l("Текст внизу страницы"), "branding"),
    Field("branding.support.phone", "text", _l("Телефон"), "support"),
    Field("branding.support.email", "text", _l("Электронная почта"), "support"),
    Field("branding.support.hours", "text", _l("Часы работы"), "support"),
    Field("policy.require_email", "bool",
          _l("Вход через Госуслуги только с подтверждённой почтой"), "policy"),
    Field("policy.parent_consent_under_age", "int",
          _l("Согласие родителя нужно ученикам младше, лет"), "policy"),
    Field("policy.self_registration_min_age", "int",
          _l("«Профиль обучающегося» доступен с возраста, лет"), "policy"),
    Field("policy.trusted_persons.enabled", "bool", _l("Доверенные лица"), "policy"),
    Field("policy.trusted_persons.activation_delay_hours", "int",
          _l("Доступ доверенного лица открывается через, часов"), "policy"),
    Field("policy.session.idle_timeout_minutes", "int",
          _l("Сеанс без действий завершается через, мин"), "policy"),
    Field("policy.session.absolute_timeout_hours", "int",
          _l("Сеанс длится не дольше, часов"), "policy"),
    Field("identity_provider.client_id", "text", _l("Идентификатор клиента (client_id)"),
          "provider"),
    Field("identity_provider.scopes", "list", _l("Запрашиваемые права (scope), через пробел"),
          "provider"),
)  # fmt: skip
# The region's own texts, which it translates into each of its other languages
# (``translations.<language>.<text>``; docs/languages.md). Left empty: shown untranslated.
TRANSLATED = (
    ("name", _l("Название региона")),
    ("full_name", _l("Полное название")),
    ("short_name", _l("Краткое название")),
    ("footer_text", _l("Текст внизу страницы")),
    ("support_hours", _l("Часы работы службы поддержки")),
)


def fields_of(config: TenantConfig) -> tuple[Field, ...]:
    """The form's fields for this region: the common ones, then its texts in each of its other
    languages, the login buttons' labels among them."""
    extra = []
    for language in config.languages[1:]:
        group = f"language.{language}"
        extra += [Field(f"translations.{language}.{name}", "text", label, group)
                  for name, label in TRANSLATED]  # fmt: skip
        extra += [
            Field(f"translations.{language}.labels.{kind}", "text",
                  _l("Кнопка «%(label)s»", label=method_label(config, kind)), group)
            for kind in available_methods(config)
        ]  # fmt: skip
    return FIELDS + tuple(extra)


def group_heading(group: str) -> str:
    """A group's heading in the page's language: «Тексты на языке: English»."""
    if group.startswith("language."):
        code = group.removeprefix("language.")
        return _("Тексты на языке: %(language)s", language=i18n.LANGUAGES.get(code, code))
    return str(GROUP_LABELS[group])


BY_PATH = {f.path: f for f in FIELDS}
GROUPS = tuple(dict.fromkeys(f.group for f in FIELDS))


def _at_most_characters(number: str) -> str:
    return ngettext("Не длиннее %(num)d знака.", "Не длиннее %(num)d знаков.", int(number))


# The schema speaks to operators in English; administrators read their page's language.
# A message with a number found in the English one says it as ``%(value)s`` (or is a
# function of it, when the number counts something).
MESSAGES = (
    (r"^not a colour", _l("Укажите цвет в виде #rrggbb.")),
    (r"^too light for white text on it \(contrast ([\d.]+):1",
     _l("Слишком светлый: белый текст на нём не читается (контраст %(value)s:1, нужно не "
        "меньше 4,5:1).")),
    (r"^(required|must not be empty)", _l("Заполните поле.")),
    (r"^must be a whole number", _l("Введите целое число.")),
    (r"^must be at least (\d+)", _l("Не меньше %(value)s.")),
    (r"^must be at most (\d+)", _l("Не больше %(value)s.")),
    (r"^must be true or false", _l("Отметьте или снимите флажок.")),
    (r"^idle_timeout_minutes is longer",
     _l("Сеанс без действий не может быть дольше всего сеанса.")),
    (r"^self_registration_min_age is above",
     _l("Возраст «Профиля обучающегося» не может быть больше возраста согласия родителя.")),
    (r"^has the wrong form", _l("Проверьте формат.")),
    (r"^String should have at least", _l("Заполните поле.")),
    (r"^String should have at most (\d+)", _at_most_characters),
)  # fmt: skip


def russian(message: str) -> str:
    """The schema's English message in the administrator's words (in the page's language;
    the name is from when they were Russian only)."""
    for pattern, text in MESSAGES:
        match = re.search(pattern, message)
        if match:
            if callable(text):
                return text(*match.groups())
            if not match.groups():
                return str(text)
            # A decimal as the page's language writes it: 3,2 in Russian, 3.2 in English.
            point = get_decimal_symbol(i18n.locale())
            return str(text) % {"value": match[1].replace(".", point)}
    return _("Проверьте значение.")


def _get(raw: Mapping[str, Any], path: str) -> Any:
    value: Any = raw
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _set(raw: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        raw = raw.setdefault(part, {})
    raw[last] = value


def _drop(raw: dict[str, Any], path: str) -> None:
    *parents, last = path.split(".")
    for part in parents:
        raw = raw.get(part)
        if not isinstance(raw, dict):
            return
    raw.pop(last, None)


def available_methods(config: TenantConfig) -> list[str]:
    """The login methods this region could offer: its provider's, and those that need no
    provider of their own (the school-issued login)."""
    standalone = [kind for kind, known in PROVIDER_KINDS.items() if known.config_model is None]
    return [config.identity_provider.kind, *standalone]


def method_label(config: TenantConfig, kind: str) -> str:
    current = next((m.label for m in config.login_methods if m.kind == kind), None)
    return current or PROVIDER_KINDS[kind].default_label or kind


def form_values(config: TenantConfig) -> dict[str, str]:
    """The form filled in from a configuration."""
    raw = config.model_dump(mode="json")
    values: dict[str, str] = {}
    for field in fields_of(config):
        value = _get(raw, field.path)
        if field.kind == "bool":
            values[field.path] = "on" if value else ""
        elif field.kind == "list":
            values[field.path] = " ".join(value or [])
        else:
            values[field.path] = "" if value is None else str(value)
    for position, method in enumerate(config.login_methods, 1):
        values[f"method.{method.kind}"] = "on"
        values[f"method.{method.kind}.position"] = str(position)
    values["branding.logo"] = config.branding.logo
    return values


def config_from_form(
    current: TenantConfig, data: Mapping[str, Any], *, logo: str | None, static_dir: Path
) -> tuple[TenantConfig | None, dict[str, str]]:
    """The edited configuration, or the problems by field (input name → message in words).

    ``data`` is the form's, by input name, already read from text: each field's value (a
    whole-number field that was not one is ``None``), ``method.<kind>`` whether a login method
    is on and ``method.<kind>.position`` its place (``None``: last).
    """
    raw = current.model_dump(mode="json", exclude_none=True)
    problems: dict[str, str] = {}
    fields = fields_of(current)
    for field in fields:
        value = data.get(field.path)
        if field.kind == "int" and value is None:
            problems[field.path] = _("Введите целое число.")
            continue  # the current value stands in while the rest is checked
        if field.path.startswith("translations.") and not (value or "").strip():
            _drop(raw, field.path)  # not translated: shown in the default language
            continue
        _set(raw, field.path, value)
    chosen = []
    for kind in available_methods(current):
        if data.get(f"method.{kind}"):
            position = data.get(f"method.{kind}.position")
            chosen.append((99 if position is None else position, kind))
    if not chosen:
        problems["login_methods"] = _("Оставьте хотя бы один способ входа.")
    raw["login_methods"] = [
        {"kind": kind, "label": method_label(current, kind)} for _, kind in sorted(chosen)
    ]
    for translation in raw.get("translations", {}).values():  # a method turned off: no label
        labels = translation.get("labels", {})
        for kind in [kind for kind in labels if not data.get(f"method.{kind}")]:
            del labels[kind]
    if logo:
        raw["branding"]["logo"] = logo
    paths = {field.path for field in fields}
    try:  # even with problems found above, so that every field's problem shows at once
        config = TenantConfig.model_validate(raw, context={"static_dir": static_dir})
    except ValidationError as error:
        for item in error.errors():
            path = ".".join(str(p) for p in item["loc"])
            message = message_of(item)
            key = path if path in paths or path == "login_methods" else "form"
            problems.setdefault(key, russian(message.removeprefix("Value error, ")))
        return None, problems
    return (None, problems) if problems else (config, {})
