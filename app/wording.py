"""People's words for what the portal keeps in codes, and things in the order people expect.

The audit trail, the statistics and the region check record kinds, reasons and statuses as
stable codes (``login_failed``, ``wrong_credentials``, ``reachable, HTTP 200``); administrators
read them here, in the page's language: the tables are marked for translation lazily
(``Words``), so the words are chosen when shown and the codes stay what is stored. Times are
kept in UTC and shown in the region's own time zone (``timezone`` in its configuration), days
as Babel writes them (``app.i18n``). Classes sort as people count them: 2А before 11А.
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
from flask_babel.speaklater import LazyString

from app import i18n
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l

DEFAULT_TIMEZONE = "Europe/Moscow"


class Words(dict):
    """A table of codes and their words, marked for translation (``_l``): the words are
    chosen in the page's language when they are read (``table[code]``, ``table.get(code,
    code)``, ``values()``, ``items()`` give plain ``str``, which join, compare, search and
    format as text), never at import. The keys stay codes."""

    def __getitem__(self, key: Any) -> str:
        return str(super().__getitem__(key))

    def get(self, key: Any, default: Any = None) -> Any:
        return str(super().__getitem__(key)) if key in self else default

    def values(self) -> list[str]:  # type: ignore[override]
        return [str(words) for words in super().values()]

    def items(self) -> list[tuple[Any, str]]:  # type: ignore[override]
        return [(key, str(words)) for key, words in super().items()]


# --- the access decision's roles and matching fields (app.access.labels) ---------------------
# Every page that names one reads these: the role choice, the diary, account settings, the
# school's queue, the audit trail. Keyed by the codes of ``app.access.RoleKind`` (which
# app.access.labels checks on import) and of the region's ``match_fields``.

ROLE_LABELS = Words(
    {
        "student": _l("Ученик"),
        "guardian": _l("Родитель"),
        "teacher": _l("Педагогический работник"),
        "school_admin": _l("Администратор ОО"),
        "regional_admin": _l("Региональный администратор"),
        "trusted": _l("Доверенное лицо"),
    }
)
FIELD_LABELS = Words(
    {
        "full_name": _l("фамилия, имя или отчество"),
        "snils": _l("СНИЛС"),
        "birth_date": _l("дата рождения"),
        "email": _l("адрес электронной почты"),
        "phone": _l("номер мобильного телефона"),
    }
)


# --- audit events -----------------------------------------------------------------------------

EVENT_KINDS = Words(
    {
        "login_succeeded": _l("Вход в дневник"),
        "login_stopped": _l("Вход остановлен"),
        "login_failed": _l("Неудачный вход"),
        "logout": _l("Выход"),
        "sessions_ended": _l("Сеансы завершены"),
        "account_disabled": _l("Учётная запись отключена"),
        "account_erased": _l("Данные удалены по запросу"),
        "events_purged": _l("Старые события удалены"),
        "regional_admin_granted": _l("Назначен региональный администратор"),
        "regional_admin_revoked": _l("Снято назначение регионального администратора"),
        "role_ended": _l("Роль прекращена"),
        "role_deleted": _l("Роль удалена"),
        "roles_changed": _l("Роли изменились при входе"),
        "config_saved": _l("Настройки региона сохранены"),
        "config_draft_saved": _l("Черновик настроек сохранён"),
        "config_draft_discarded": _l("Черновик настроек удалён"),
        "config_preview_started": _l("Просмотр черновика на сайте региона"),
        "provider_check_overridden": _l("Опубликовано без пройденной проверки поставщика входа"),
        "login_counters_rebuilt": _l("Статистика входа пересчитана"),
        "account_enabled": _l("Учётная запись снова включена"),
        "consent_given": _l("Согласие дано"),
        "consent_requested": _l("Родителей попросили о согласии"),
        "consent_revoked": _l("Согласие отозвано"),
        "credentials_issued": _l("Выданы логин и пароль"),
        "credentials_reset": _l("Пароль сброшен школой"),
        "password_changed": _l("Пароль изменён"),
        "trusted_invited": _l("Приглашено доверенное лицо"),
        "trusted_accepted": _l("Приглашение доверенного лица принято"),
        "trusted_declined": _l("Приглашение доверенного лица отклонено"),
        "trusted_revoked": _l("Доступ доверенного лица отозван"),
        "trusted_left": _l("Доверенное лицо отказалось от доступа"),
        "join_requested": _l("Запрос на присоединение к школе"),
        "join_approved": _l("Запрос на присоединение одобрен"),
        "join_rejected": _l("Запрос на присоединение отклонён"),
        "mismatch_reported": _l("Сообщение о расхождении данных"),
        "mismatch_rejected": _l("Сообщение о расхождении отклонено"),
        "registry_corrected": _l("Школа исправила запись"),
        "registry_imported": _l("Загружен реестр школ"),
        "registry_import_uploaded": _l("Файл реестра загружен на проверку"),
        "registry_import_started": _l("Начато применение файла реестра"),
        "registry_import_failed": _l("Файл реестра не применён"),
        "registry_import_discarded": _l("Загрузка файла реестра отменена"),
        "snils_shown": _l("СНИЛС показан полностью"),
        "audit_value_shown": _l("Значение из журнала показано полностью"),
        "audit_exported": _l("Журнал событий выгружен в CSV"),
        "diary_viewed": _l("Просмотр дневника"),
        "forbidden": _l("Отказано в доступе к странице"),
        "csrf_refused": _l("Форма отклонена: устаревшая страница"),
    }
)

# Why a login did not end in the diary (``reason`` of a failure, ``outcome`` of a stopped
# login) and why sessions ended (``reason`` of ``sessions_ended``).
REASONS = Words(
    {
        # the access decision
        "diary": _l("дневник открыт"),
        "choose_role": _l("выбор роли"),
        "not_found": _l("дневник не найден"),
        "email_missing": _l("нет электронной почты"),
        "parent_consent_needed": _l("нет согласия родителя"),
        "own_consent_needed": _l("первый вход: согласие не дано"),
        "account_unconfirmed": _l("учётная запись не подтверждена"),
        "student_profile": _l("ученик не зачислен"),
        # the identity provider
        "wrong_credentials": _l("неверный логин или пароль"),
        "refused": _l("отказ на странице прав доступа"),
        "provider_unavailable": _l("сервис входа недоступен"),
        "provider_error": _l("сервис входа ответил ошибкой"),
        "invalid_token": _l("сервис входа прислал неверный ответ"),
        "invalid_metadata": _l("сервис входа неверно описал себя"),
        "mix_up": _l("ответ пришёл от другого сервиса входа"),
        "misconfigured": _l("ошибка в настройках входа у портала"),
        "bad_state": _l("устаревшая страница входа"),
        "account_disabled": _l("учётная запись отключена"),
        # sessions ended
        "signed_out_others": _l("человек завершил другие сеансы"),
        "consent_revoked": _l("согласие отозвано"),
        "password_changed": _l("пароль изменён"),
        "password_reset": _l("школа сбросила пароль"),
        "erased": _l("данные удалены по запросу"),
    }
)

# What Flask-WTF says when it refuses a form (``reason`` of ``csrf_refused``).
CSRF_REASONS = Words(
    {
        "The CSRF token is missing.": _l("в форме нет защитного ключа"),
        "The CSRF session token is missing.": _l("сеанс закончился, страница устарела"),
        "The CSRF token has expired.": _l("страница устарела"),
        "The CSRF token is invalid.": _l("неверный защитный ключ"),
        "The CSRF tokens do not match.": _l("защитный ключ от другого сеанса"),
        "The referrer header is missing.": _l("браузер не сообщил, откуда отправлена форма"),
        "The referrer does not match the host.": _l("форма отправлена с другого сайта"),
    }
)

CONSENT_KINDS = Words({"own": _l("на обработку персональных данных"),
                      "parental": _l("родителя за ребёнка")})  # fmt: skip
REVOKED_BY = Words({"giver": _l("тот, кто дал согласие"), "student": _l("ученик")})
REQUESTS = Words({"JoinRequest": _l("запрос на присоединение"),
                  "MismatchReport": _l("расхождение данных")})  # fmt: skip
RECORD_FIELDS = Words(
    {
        "last_name": _l("фамилия"),
        "first_name": _l("имя"),
        "middle_name": _l("отчество"),
        "birth_date": _l("дата рождения"),
        "snils": _l("СНИЛС"),
        "email": _l("электронная почта"),
        "phone": _l("мобильный телефон"),
        "full_name": dict.get(FIELD_LABELS, "full_name"),
    }
)
# A registry import counts what it wrote by record type.
REGISTRY_RECORDS = Words(
    {
        "school": _l("школ"),
        "class": _l("классов"),
        "person": _l("людей"),
        "enrolment": _l("зачислений"),
        "guardian": _l("связей с родителями"),
        "staff": _l("сотрудников"),
    }
)
# An erasure counts what it removed.
ERASED_PARTS = Words(
    {
        "consents": _l("согласий удалено"),
        "notifications": _l("уведомлений удалено"),
        "join_requests": _l("запросов на присоединение удалено"),
        "mismatch_reports": _l("сообщений о расхождении удалено"),
        "trusted_grant_children": _l("детей в доступах доверенных лиц удалено"),
        "trusted_grants": _l("доступов доверенных лиц удалено"),
        "roles": _l("ролей удалено"),
        "regional_admin": _l("назначений администратором удалено"),
        "config_drafts": _l("черновиков настроек удалено"),
        "password_login": _l("логинов от школы удалено"),
        "audit_rows_pseudonymised": _l("записей журнала обезличено"),
    }
)


def _capitalized(label: Any) -> str:
    text = str(label)
    return text[:1].upper() + text[1:]


# The labels of an event's details, in the order they are shown.
DETAILS = Words(
    {
        "method": _l("Способ входа"),
        "outcome": _l("Итог"),
        "reason": _l("Причина"),
        "role": _l("Роль"),
        "consent": _l("Согласие"),
        "by": _l("Отозвал"),
        "user_id": _l("Учётная запись"),
        "invitee_id": _l("Доверенное лицо"),
        "parent_id": _l("Родитель"),
        "student_id": _l("Ученик"),
        "person_id": _l("Запись реестра"),
        "children": _l("Дети"),
        "guardians": _l("Родителей спросили"),
        "school_id": _l("Школа"),
        "schools": _l("Школы с похожей записью"),
        "class_id": _l("Класс"),
        "request": _l("Запрос"),
        "request_id": _l("Номер запроса"),
        "report_id": _l("Номер сообщения"),
        "grant_id": _l("Номер приглашения"),
        "field": _l("Отличается"),
        "shared": _l("Человек приложил"),
        "fields": _l("Исправлено"),
        "version": _l("Версия"),
        "restores": _l("Откат к версии"),
        "comment": _l("Комментарий"),
        "login": _l("Логин"),
        "week": _l("Неделя"),
        "path": _l("Страница"),
        "count": _l("Количество"),
        "before": _l("Удалены события до"),
        "source": _l("Файл"),
        "person": _l("Обозначение в журнале"),
        "actor": _l("Кто"),
        "detail": _l("Техническое описание"),
        "event_id": _l("Событие журнала"),
        "base": _l("На основе версии"),
        "failed": _l("Не пройдено"),
        "provider": _l("Поставщик входа"),
        "days": _l("Дней пересчитано"),
        "shown": _l("Показано полностью"),
        "filters": _l("Отбор"),
        "changes": _l("Изменения"),
        "job": _l("Номер загрузки реестра"),
        "added": _l("Записей добавлено"),
        "changed": _l("Записей изменено"),
        "removed": _l("Записей удалено"),
        "skipped": _l("Строк с ошибками пропущено"),
        **{key: LazyString(_capitalized, label) for key, label in dict.items(REGISTRY_RECORDS)},
        **{key: LazyString(_capitalized, label) for key, label in dict.items(ERASED_PARTS)},
    }
)
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
        return _("да") if value else _("нет")
    if isinstance(value, list | tuple):
        return ", ".join(_plain(item) for item in value)
    return str(value)


def erased_name(value: Any) -> str | None:
    """An erased person's pseudonym as it stands in the trail."""
    if isinstance(value, str) and value.startswith("erased-"):
        return _("удалённая учётная запись (%(pseudonym)s)", pseudonym=value)
    return None


def detail_lines(
    kind: str,
    detail: dict[str, Any],
    *,
    methods: dict[str, str],
    names: dict[str, dict[int, str]],
) -> list[tuple[str, str]]:
    """An event's details as labelled lines in the page's language: codes in words, ids as names.
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
        return found or _("№ %(number)s", number=value)

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
    return _("с %(day)s", day=day_words(monday))


# --- the region check -------------------------------------------------------------------------

# The probe and the check write in English for operators (``app.qa``, the logs); an
# administrator reads the pattern's words, the matched parts (a status, an exception, a
# variable's name) kept as they are.
PROBE_WORDS = (
    (r"^reachable, HTTP (?P<status>\d+)$", _l("отвечает (HTTP %(status)s)")),
    (
        r"^unreachable \((?P<error>\w*Timeout\w*)\)$",
        _l("не отвечает: истекло время ожидания (%(error)s)"),
    ),
    (r"^unreachable \((?P<error>\w+)\)$", _l("не отвечает: нет соединения (%(error)s)")),
    (r"^HTTP (?P<status>\d+)$", _l("отвечает ошибкой HTTP %(status)s")),
    (r"^nothing to reach$", _l("проверять нечего: вход без внешнего сервиса")),
)
PROBLEM_WORDS = (
    (
        r"^(?P<name>\w+) \(or (?P<other>\w+)\) is not set$",
        _l("не задана переменная окружения %(name)s (или %(other)s)"),
    ),
    (r"^(?P<name>\w+) is not set$", _l("не задана переменная окружения %(name)s")),
    (r"^(?P<name>\w+): no file at that path$", _l("%(name)s: по этому пути нет файла")),
    (r"^(?P<name>\w+): not a GOST private key$", _l("%(name)s: это не закрытый ключ ГОСТ")),
    (r"^(?P<name>\w+): not a PEM certificate$", _l("%(name)s: это не сертификат PEM")),
)


def _translated(text: str, table) -> str:
    for pattern, words in table:
        match = re.match(pattern, text)
        if match:
            return str(words) % match.groupdict()
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


ZONE_NAMES = Words(
    {
        "Europe/Kaliningrad": _l("калининградское время"),
        "Europe/Moscow": _l("московское время"),
        "Europe/Samara": _l("самарское время"),
        "Asia/Yekaterinburg": _l("екатеринбургское время"),
        "Asia/Omsk": _l("омское время"),
        "Asia/Krasnoyarsk": _l("красноярское время"),
        "Asia/Irkutsk": _l("иркутское время"),
        "Asia/Yakutsk": _l("якутское время"),
        "Asia/Vladivostok": _l("владивостокское время"),
        "Asia/Magadan": _l("магаданское время"),
        "Asia/Kamchatka": _l("камчатское время"),
    }
)


def zone_words(name: str) -> str:
    """How the region's zone is called: «московское время», or its offset from UTC."""
    if name in ZONE_NAMES:
        return ZONE_NAMES[name]
    minutes = int(datetime.now(ZoneInfo(name)).utcoffset().total_seconds()) // 60
    sign, minutes = ("-", -minutes) if minutes < 0 else ("+", minutes)
    return _("время UTC%(offset)s", offset=f"{sign}{minutes // 60:02d}:{minutes % 60:02d}")


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
    return text.casefold().replace("ё", "е\U0010ffff")  # i18n-exempt: a sort key's letters
