"""People's words for what the portal keeps in codes, and things in the order people expect.

The audit trail, the statistics and the region check record kinds, reasons and statuses as
stable codes (``login_failed``, ``wrong_credentials``, ``reachable, HTTP 200``); administrators
read them here, in Russian. Times are kept in UTC and shown in the region's own time zone
(``timezone`` in its configuration). Classes sort as people count them: 2А before 11А.
``tests/test_wording.py`` finds every kind and reason the code can record and fails on one
without words.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import g, has_app_context

from app import i18n
from app.access.labels import FIELD_LABELS, ROLE_LABELS

DEFAULT_TIMEZONE = "Europe/Moscow"

# --- audit events -----------------------------------------------------------------------------

EVENT_KINDS = {
    "login_succeeded": "Вход в дневник",
    "login_stopped": "Вход остановлен",
    "login_failed": "Неудачный вход",
    "logout": "Выход",
    "sessions_ended": "Сеансы завершены",
    "account_disabled": "Учётная запись отключена",
    "account_erased": "Данные удалены по запросу",
    "events_purged": "Старые события удалены",
    "regional_admin_granted": "Назначен региональный администратор",
    "regional_admin_revoked": "Снято назначение регионального администратора",
    "role_ended": "Роль прекращена",
    "role_deleted": "Роль удалена",
    "roles_changed": "Роли изменились при входе",
    "config_saved": "Настройки региона сохранены",
    "config_draft_saved": "Черновик настроек сохранён",
    "config_draft_discarded": "Черновик настроек удалён",
    "config_preview_started": "Просмотр черновика на сайте региона",
    "provider_check_overridden": "Опубликовано без пройденной проверки поставщика входа",
    "login_counters_rebuilt": "Статистика входа пересчитана",
    "account_enabled": "Учётная запись снова включена",
    "consent_given": "Согласие дано",
    "consent_requested": "Родителей попросили о согласии",
    "consent_revoked": "Согласие отозвано",
    "credentials_issued": "Выданы логин и пароль",
    "credentials_reset": "Пароль сброшен школой",
    "password_changed": "Пароль изменён",
    "trusted_invited": "Приглашено доверенное лицо",
    "trusted_accepted": "Приглашение доверенного лица принято",
    "trusted_declined": "Приглашение доверенного лица отклонено",
    "trusted_revoked": "Доступ доверенного лица отозван",
    "trusted_left": "Доверенное лицо отказалось от доступа",
    "join_requested": "Запрос на присоединение к школе",
    "join_approved": "Запрос на присоединение одобрен",
    "join_rejected": "Запрос на присоединение отклонён",
    "mismatch_reported": "Сообщение о расхождении данных",
    "mismatch_rejected": "Сообщение о расхождении отклонено",
    "registry_corrected": "Школа исправила запись",
    "registry_imported": "Загружен реестр школ",
    "registry_import_uploaded": "Файл реестра загружен на проверку",
    "registry_import_started": "Начато применение файла реестра",
    "registry_import_failed": "Файл реестра не применён",
    "registry_import_discarded": "Загрузка файла реестра отменена",
    "snils_shown": "СНИЛС показан полностью",
    "audit_value_shown": "Значение из журнала показано полностью",
    "audit_exported": "Журнал событий выгружен в CSV",
    "diary_viewed": "Просмотр дневника",
    "forbidden": "Отказано в доступе к странице",
    "csrf_refused": "Форма отклонена: устаревшая страница",
}

# Why a login did not end in the diary (``reason`` of a failure, ``outcome`` of a stopped
# login) and why sessions ended (``reason`` of ``sessions_ended``).
REASONS = {
    # the access decision
    "diary": "дневник открыт",
    "choose_role": "выбор роли",
    "not_found": "дневник не найден",
    "email_missing": "нет электронной почты",
    "parent_consent_needed": "нет согласия родителя",
    "own_consent_needed": "первый вход: согласие не дано",
    "account_unconfirmed": "учётная запись не подтверждена",
    "student_profile": "ученик не зачислен",
    # the identity provider
    "wrong_credentials": "неверный логин или пароль",
    "refused": "отказ на странице прав доступа",
    "provider_unavailable": "сервис входа недоступен",
    "provider_error": "сервис входа ответил ошибкой",
    "invalid_token": "сервис входа прислал неверный ответ",
    "invalid_metadata": "сервис входа неверно описал себя",
    "mix_up": "ответ пришёл от другого сервиса входа",
    "misconfigured": "ошибка в настройках входа у портала",
    "bad_state": "устаревшая страница входа",
    "account_disabled": "учётная запись отключена",
    # sessions ended
    "signed_out_others": "человек завершил другие сеансы",
    "consent_revoked": "согласие отозвано",
    "password_changed": "пароль изменён",
    "password_reset": "школа сбросила пароль",
    "erased": "данные удалены по запросу",
}

# What Flask-WTF says when it refuses a form (``reason`` of ``csrf_refused``).
CSRF_REASONS = {
    "The CSRF token is missing.": "в форме нет защитного ключа",
    "The CSRF session token is missing.": "сеанс закончился, страница устарела",
    "The CSRF token has expired.": "страница устарела",
    "The CSRF token is invalid.": "неверный защитный ключ",
    "The CSRF tokens do not match.": "защитный ключ от другого сеанса",
    "The referrer header is missing.": "браузер не сообщил, откуда отправлена форма",
    "The referrer does not match the host.": "форма отправлена с другого сайта",
}

CONSENT_KINDS = {"own": "на обработку персональных данных", "parental": "родителя за ребёнка"}
REVOKED_BY = {"giver": "тот, кто дал согласие", "student": "ученик"}
REQUESTS = {"JoinRequest": "запрос на присоединение", "MismatchReport": "расхождение данных"}
RECORD_FIELDS = {
    "last_name": "фамилия",
    "first_name": "имя",
    "middle_name": "отчество",
    "birth_date": "дата рождения",
    "snils": "СНИЛС",
    "email": "электронная почта",
    "phone": "мобильный телефон",
    "full_name": FIELD_LABELS["full_name"],
}
# A registry import counts what it wrote by record type.
REGISTRY_RECORDS = {
    "school": "школ",
    "class": "классов",
    "person": "людей",
    "enrolment": "зачислений",
    "guardian": "связей с родителями",
    "staff": "сотрудников",
}
# An erasure counts what it removed.
ERASED_PARTS = {
    "consents": "согласий удалено",
    "notifications": "уведомлений удалено",
    "join_requests": "запросов на присоединение удалено",
    "mismatch_reports": "сообщений о расхождении удалено",
    "trusted_grant_children": "детей в доступах доверенных лиц удалено",
    "trusted_grants": "доступов доверенных лиц удалено",
    "roles": "ролей удалено",
    "regional_admin": "назначений администратором удалено",
    "config_drafts": "черновиков настроек удалено",
    "password_login": "логинов от школы удалено",
    "audit_rows_pseudonymised": "записей журнала обезличено",
}

# The labels of an event's details, in the order they are shown.
DETAILS = {
    "method": "Способ входа",
    "outcome": "Итог",
    "reason": "Причина",
    "role": "Роль",
    "consent": "Согласие",
    "by": "Отозвал",
    "user_id": "Учётная запись",
    "invitee_id": "Доверенное лицо",
    "parent_id": "Родитель",
    "student_id": "Ученик",
    "person_id": "Запись реестра",
    "children": "Дети",
    "guardians": "Родителей спросили",
    "school_id": "Школа",
    "schools": "Школы с похожей записью",
    "class_id": "Класс",
    "request": "Запрос",
    "request_id": "Номер запроса",
    "report_id": "Номер сообщения",
    "grant_id": "Номер приглашения",
    "field": "Отличается",
    "shared": "Человек приложил",
    "fields": "Исправлено",
    "version": "Версия",
    "restores": "Откат к версии",
    "comment": "Комментарий",
    "login": "Логин",
    "week": "Неделя",
    "path": "Страница",
    "count": "Количество",
    "before": "Удалены события до",
    "source": "Файл",
    "person": "Обозначение в журнале",
    "actor": "Кто",
    "detail": "Техническое описание",
    "event_id": "Событие журнала",
    "base": "На основе версии",
    "failed": "Не пройдено",
    "provider": "Поставщик входа",
    "days": "Дней пересчитано",
    "shown": "Показано полностью",
    "filters": "Отбор",
    "changes": "Изменения",
    "job": "Номер загрузки реестра",
    "added": "Записей добавлено",
    "changed": "Записей изменено",
    "removed": "Записей удалено",
    "skipped": "Строк с ошибками пропущено",
    **{key: label.capitalize() for key, label in REGISTRY_RECORDS.items()},
    **{key: label.capitalize() for key, label in ERASED_PARTS.items()},
}
# Ids that name a portal account, a registry person, a school or a class.
USER_KEYS = ("user_id", "invitee_id", "parent_id", "actor")
PERSON_KEYS = ("student_id", "person_id", "children")
SCHOOL_KEYS = ("school_id", "schools")
CLASS_KEYS = ("class_id",)


def event_kind(kind: str) -> str:
    return EVENT_KINDS.get(kind, kind)


def reason(code: str | None) -> str:
    return REASONS.get(code or "", code or "—")


def _plain(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, list | tuple):
        return ", ".join(_plain(item) for item in value)
    return str(value)


def erased_name(value: Any) -> str | None:
    """An erased person's pseudonym as it stands in the trail."""
    if isinstance(value, str) and value.startswith("erased-"):
        return f"удалённая учётная запись ({value})"
    return None


def detail_lines(
    kind: str,
    detail: dict[str, Any],
    *,
    methods: dict[str, str],
    names: dict[str, dict[int, str]],
) -> list[tuple[str, str]]:
    """An event's details as labelled lines in Russian: codes in words, ids as names.
    ``names`` holds the names found for this page: ``user``, ``person``, ``school``, ``class``
    by id."""

    def named(table: str, value: Any) -> str:
        if isinstance(value, list | tuple):
            return ", ".join(named(table, item) for item in value) or "—"
        pseudonym = erased_name(value)
        if pseudonym:
            return pseudonym
        if value is None:
            return "—"
        found = names.get(table, {}).get(value) if isinstance(value, int) else None
        return found or f"№ {value}"

    def words(key: str, value: Any) -> str:
        if key == "method":
            return methods.get(value, value)
        if key == "outcome":
            return reason(value)
        if key == "reason":
            if kind == "csrf_refused":
                return CSRF_REASONS.get(value, value)
            return _plain(value) if kind == "account_erased" else reason(value)
        if key == "role":
            return ROLE_LABELS.get(value, value)
        if key == "consent":
            return CONSENT_KINDS.get(value, value)
        if key == "by":
            return REVOKED_BY.get(value, value)
        if key == "request":
            return REQUESTS.get(value, value)
        if key in ("field", "shared", "fields"):
            values = value if isinstance(value, list) else [value]
            return ", ".join(RECORD_FIELDS.get(v, v) for v in values) or "—"
        if key in USER_KEYS:
            return named("user", value)
        if key in PERSON_KEYS:
            return named("person", value)
        if key in SCHOOL_KEYS:
            return named("school", value)
        if key in CLASS_KEYS:
            return named("class", value)
        if key == "week":
            return week_words(value)
        if key == "before":
            return local_time(value)
        return _plain(value)

    ordered = sorted(detail, key=lambda k: list(DETAILS).index(k) if k in DETAILS else len(DETAILS))
    lines = []
    for key in ordered:
        value = detail[key]
        if value is None or value == "" or value == []:
            continue  # nothing to say (no comment, no version restored, no schools)
        lines.append((DETAILS.get(key, key), words(key, value)))
    return lines


def week_words(value: Any) -> str:
    """``2026-W48`` as «с 23 ноября 2026»."""
    match = re.fullmatch(r"(\d{4})-W(\d{2})", str(value))
    if not match:
        return _plain(value)
    monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    return f"с {day_words(monday)}"


# --- the region check -------------------------------------------------------------------------

PROBE_WORDS = (
    (r"^reachable, HTTP (\d+)$", "отвечает (HTTP {0})"),
    (r"^unreachable \((\w*Timeout\w*)\)$", "не отвечает: истекло время ожидания ({0})"),
    (r"^unreachable \((\w+)\)$", "не отвечает: нет соединения ({0})"),
    (r"^HTTP (\d+)$", "отвечает ошибкой HTTP {0}"),
    (r"^nothing to reach$", "проверять нечего: вход без внешнего сервиса"),
)
PROBLEM_WORDS = (
    (r"^(\w+) \(or (\w+)\) is not set$", "не задана переменная окружения {0} (или {1})"),
    (r"^(\w+) is not set$", "не задана переменная окружения {0}"),
    (r"^(\w+): no file at that path$", "{0}: по этому пути нет файла"),
    (r"^(\w+): not a GOST private key$", "{0}: это не закрытый ключ ГОСТ"),
    (r"^(\w+): not a PEM certificate$", "{0}: это не сертификат PEM"),
)


def _translated(text: str, table) -> str:
    for pattern, words in table:
        match = re.match(pattern, text)
        if match:
            return words.format(*match.groups())
    return text


def probe_words(detail: str) -> str:
    """The provider probe's result (``app.qa``) in words."""
    return _translated(detail, PROBE_WORDS)


def problem_words(problem: str) -> str:
    """A configuration problem the region check found, in words where it has them (an
    unknown one is shown as the operator's message)."""
    return _translated(problem, PROBLEM_WORDS)


# --- time in the region's zone ----------------------------------------------------------------

def zone() -> ZoneInfo:
    """The time zone of the request's region (Moscow time outside a region)."""
    tenant = g.get("tenant") if has_app_context() else None
    name = tenant.config.timezone if tenant is not None else DEFAULT_TIMEZONE
    return ZoneInfo(name)


def local(value: datetime | str | None, tz: ZoneInfo | None = None) -> datetime | None:
    """A moment stored in UTC (naive means UTC, as SQLite gives it back) in the zone."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz or zone())


ZONE_NAMES = {
    "Europe/Kaliningrad": "калининградское время",
    "Europe/Moscow": "московское время",
    "Europe/Samara": "самарское время",
    "Asia/Yekaterinburg": "екатеринбургское время",
    "Asia/Omsk": "омское время",
    "Asia/Krasnoyarsk": "красноярское время",
    "Asia/Irkutsk": "иркутское время",
    "Asia/Yakutsk": "якутское время",
    "Asia/Vladivostok": "владивостокское время",
    "Asia/Magadan": "магаданское время",
    "Asia/Kamchatka": "камчатское время",
}


def zone_words(name: str) -> str:
    """How the region's zone is called: «московское время», or its offset from UTC."""
    if name in ZONE_NAMES:
        return ZONE_NAMES[name]
    offset = datetime.now(ZoneInfo(name)).strftime("%z")
    return f"время UTC{offset[:3]}:{offset[3:]}"


def day_words(day: date) -> str:
    return i18n.day_in_words(day)


def local_time(value: datetime | str | None, tz: ZoneInfo | None = None) -> str:
    """«23 ноября 2026, 14:05» in the region's zone."""
    moment = local(value, tz)
    if moment is None:
        return "—" if value is None else str(value)
    return i18n.moment(moment)


def local_date(value: datetime | str | None, tz: ZoneInfo | None = None) -> str:
    """«23.11.2026»: the day it was in the region."""
    moment = local(value, tz)
    return i18n.day(moment) if moment else "—"


def today(tz: ZoneInfo | None = None) -> date:
    return datetime.now(tz or zone()).date()


# --- classes ----------------------------------------------------------------------------------

CLASS_RE = re.compile(r"\s*(\d+)\s*[-–—]?\s*(.*)")


def class_order(name: str | None) -> tuple:
    """The sort key of a class name: its number, then its letter (2А, 9В, 10Б, 11А); a name
    without a number after all numbered ones."""
    text = (name or "").strip()
    match = CLASS_RE.fullmatch(text)
    if match is None:
        return (1, math.inf, _letters(text))
    return (0, int(match[1]), _letters(match[2]))


def _letters(text: str) -> str:
    # ё sorts after е in the alphabet, not before а as its code point would have it.
    return text.casefold().replace("ё", "е\U0010ffff")
