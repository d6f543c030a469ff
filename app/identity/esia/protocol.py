"""ESIA's wire format, shared by our client and the emulator (ESIA.md)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import uuid
from datetime import datetime

TIMESTAMP_FORMAT = "%Y.%m.%d %H:%M:%S %z"  # 2025.09.02 13:00:29 +0300
ISSUER = "http://esia.gosuslugi.ru/"
UUID4_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

# Error codes worth emulating, with the wording our pages and logs use. ESIA's own texts: the
# emulator sends them as error_description; the logs and the audit's technical detail keep
# them as they came, and the pages show words for the reason's code (app.wording).
ERRORS = {  # i18n-exempt: ESIA's wire-format error texts
    "007002": "Несоответствие сертификата и мнемоники информационной системы",
    "007004": "Владелец ресурса или сервер авторизации отклонил запрос",
    "007011": "Авторизационный код недействителен или уже использован",
    "007014": "Отсутствует обязательный параметр запроса",
    "007015": "Неверное время запроса",
    "007023": "Адрес перенаправления не зарегистрирован",
    "007053": "Ошибка проверки client_secret",
    "007055": "Вход в систему возможен только с подтверждённой учётной записью",
}


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(SHA-256(verifier)) without padding."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def new_pkce_verifier() -> str:
    """43 to 128 unreserved characters (RFC 7636 §4.1): 64 here."""
    return secrets.token_urlsafe(48)


def new_state() -> str:
    return str(uuid.uuid4())


def is_state(value: str | None) -> bool:
    return bool(value and UUID4_RE.match(value))


def format_timestamp(moment: datetime) -> str:
    return moment.strftime(TIMESTAMP_FORMAT)


def parse_timestamp(value: str) -> datetime:
    return datetime.strptime(value, TIMESTAMP_FORMAT)


def authorize_message(p: dict[str, str]) -> bytes:
    """client_id + scope + scope_org + timestamp + state + redirect_uri, UTF-8, no separators."""
    fields = ("client_id", "scope", "scope_org", "timestamp", "state", "redirect_uri")
    return "".join(p.get(name, "") for name in fields).encode()


def token_message(p: dict[str, str]) -> bytes:
    return authorize_message(p) + p.get("code", "").encode()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def error_description(code: str) -> str:
    return f"ESIA-{code}: {ERRORS[code]}"


def error_code(description: str | None) -> str | None:
    match = re.match(r"ESIA-(\d{6})", description or "")
    return match.group(1) if match else None
