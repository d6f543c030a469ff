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

from pydantic import ValidationError

from .loader import message_of
from .schema import PROVIDER_KINDS, TenantConfig


@dataclass(frozen=True)
class Field:
    path: str
    kind: str  # text, colour, int, bool, list
    label: str
    group: str


FIELDS = (
    Field("branding.full_name", "text", "Полное название", "Оформление"),
    Field("branding.short_name", "text", "Краткое название", "Оформление"),
    Field("branding.primary_color", "colour", "Основной цвет", "Оформление"),
    Field("branding.accent_color", "colour", "Акцентный цвет", "Оформление"),
    Field("branding.footer_text", "text", "Текст внизу страницы", "Оформление"),
    Field("branding.support.phone", "text", "Телефон", "Служба поддержки"),
    Field("branding.support.email", "text", "Электронная почта", "Служба поддержки"),
    Field("branding.support.hours", "text", "Часы работы", "Служба поддержки"),
    Field("policy.require_email", "bool", "Вход через Госуслуги только с подтверждённой почтой",
          "Правила"),
    Field("policy.parent_consent_under_age", "int", "Согласие родителя нужно ученикам младше, лет",
          "Правила"),
    Field("policy.self_registration_min_age", "int",
          "«Профиль обучающегося» доступен с возраста, лет", "Правила"),
    Field("policy.trusted_persons.enabled", "bool", "Доверенные лица", "Правила"),
    Field("policy.trusted_persons.activation_delay_hours", "int",
          "Доступ доверенного лица открывается через, часов", "Правила"),
    Field("policy.session.idle_timeout_minutes", "int", "Сеанс без действий завершается через, мин",
          "Правила"),
    Field("policy.session.absolute_timeout_hours", "int", "Сеанс длится не дольше, часов",
          "Правила"),
    Field("identity_provider.client_id", "text", "Идентификатор клиента (client_id)",
          "Поставщик входа"),
    Field("identity_provider.scopes", "list", "Запрашиваемые права (scope), через пробел",
          "Поставщик входа"),
)  # fmt: skip
BY_PATH = {f.path: f for f in FIELDS}
GROUPS = tuple(dict.fromkeys(f.group for f in FIELDS))

# The schema speaks to operators in English; administrators read Russian.
MESSAGES = (
    (r"^not a colour", "Укажите цвет в виде #rrggbb."),
    (r"^too light for white text on it \(contrast ([\d.]+):1",
     "Слишком светлый: белый текст на нём не читается (контраст {0}:1, нужно не меньше 4,5:1)."),
    (r"^(required|must not be empty)", "Заполните поле."),
    (r"^must be a whole number", "Введите целое число."),
    (r"^must be at least (\d+)", "Не меньше {0}."),
    (r"^must be at most (\d+)", "Не больше {0}."),
    (r"^must be true or false", "Отметьте или снимите флажок."),
    (r"^idle_timeout_minutes is longer", "Сеанс без действий не может быть дольше всего сеанса."),
    (r"^self_registration_min_age is above",
     "Возраст «Профиля обучающегося» не может быть больше возраста согласия родителя."),
    (r"^has the wrong form", "Проверьте формат."),
    (r"^String should have at least", "Заполните поле."),
    (r"^String should have at most (\d+)", "Не длиннее {0} знаков."),
)  # fmt: skip


def russian(message: str) -> str:
    for pattern, text in MESSAGES:
        match = re.search(pattern, message)
        if match:
            return text.format(*[g.replace(".", ",") for g in match.groups()])
    return "Проверьте значение."


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
    for field in FIELDS:
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
    """The edited configuration, or the problems by field (input name → Russian message).

    ``data`` is the form's, by input name, already read from text: each field's value (a
    whole-number field that was not one is ``None``), ``method.<kind>`` whether a login method
    is on and ``method.<kind>.position`` its place (``None``: last).
    """
    raw = current.model_dump(mode="json", exclude_none=True)
    problems: dict[str, str] = {}
    for field in FIELDS:
        value = data.get(field.path)
        if field.kind == "int" and value is None:
            problems[field.path] = "Введите целое число."
            continue  # the current value stands in while the rest is checked
        _set(raw, field.path, value)
    chosen = []
    for kind in available_methods(current):
        if data.get(f"method.{kind}"):
            position = data.get(f"method.{kind}.position")
            chosen.append((99 if position is None else position, kind))
    if not chosen:
        problems["login_methods"] = "Оставьте хотя бы один способ входа."
    raw["login_methods"] = [
        {"kind": kind, "label": method_label(current, kind)} for _, kind in sorted(chosen)
    ]
    if logo:
        raw["branding"]["logo"] = logo
    try:  # even with problems found above, so that every field's problem shows at once
        config = TenantConfig.model_validate(raw, context={"static_dir": static_dir})
    except ValidationError as error:
        for item in error.errors():
            path = ".".join(str(p) for p in item["loc"])
            message = message_of(item)
            key = path if path in BY_PATH or path == "login_methods" else "form"
            problems.setdefault(key, russian(message.removeprefix("Value error, ")))
        return None, problems
    return (None, problems) if problems else (config, {})
