"""Settings from the environment, in one place.

``PORTAL_ENV`` is ``production`` unless said otherwise: a forgotten variable must fail
closed (``SECRET_KEY`` required, HTTPS-only cookies), never open.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from app.database import engine_options

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("production", "development", "testing")


class SettingsError(RuntimeError):
    pass


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    value = environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, not {value!r}")


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name, "")
    if value == "":
        return default
    if not value.isdigit():
        raise SettingsError(f"{name} must be a whole number, not {value!r}")
    return int(value)


def _float(environ: Mapping[str, str], name: str, default: float) -> float:
    value = environ.get(name, "")
    if value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not 0 < number <= 60:
        raise SettingsError(
            f"{name} must be a number of seconds above 0 and up to 60, not {value!r}"
        )
    return number


def secret(environ: Mapping[str, str], name: str) -> str:
    """A secret from ``NAME``, or from the file ``NAME_FILE`` names (as container platforms
    hand secrets over); not both. Empty when neither is set."""
    value, path = environ.get(name, ""), environ.get(f"{name}_FILE", "")
    if value and path:
        raise SettingsError(f"{name} and {name}_FILE are both set: keep one")
    if not path:
        return value
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not text"
        raise SettingsError(f"{name}_FILE: cannot read {path} ({reason})") from None


def database_url(url: str) -> str:
    """Accept the usual ``postgres://`` spellings and drive them with psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


SECRET_KEY_MIN_LENGTH = 32
DEVELOPMENT_KEY_LENGTH = 64  # hexadecimal digits


def _development_secret(instance_path: Path) -> str:
    """A per-checkout key, kept so that every demo worker and restart shares it. Of processes
    starting at once (`make demo` starts the portal's and the emulator's together), the first
    to put its key in place wins and the others read it."""
    path = instance_path / "dev-secret-key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)  # a fresh checkout has none
        _put_new_key(path)
    for _ in range(50):  # a writer without hard links may not have written it yet
        key = path.read_text().strip()
        if len(key) >= SECRET_KEY_MIN_LENGTH:
            return key
        time.sleep(0.1)
    raise SettingsError(
        f"{path} holds no key of {SECRET_KEY_MIN_LENGTH} characters or more: delete it, "
        "and a new one is made at the next start"
    )


def _put_new_key(path: Path) -> None:
    """A new key at ``path`` unless one is there: written whole under a name of its own (its
    owner's alone from the start) and linked into place, which fails where a key exists."""
    key = secrets.token_hex(DEVELOPMENT_KEY_LENGTH // 2)
    handle, draft = tempfile.mkstemp(dir=path.parent, prefix=".dev-secret-key.")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(key)
        try:
            os.link(draft, path)
            return
        except FileExistsError:
            return
        except OSError:  # a file system without hard links
            pass
    finally:
        Path(draft).unlink(missing_ok=True)
    try:  # created only if absent, then written (readers wait for it)
        created = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(created, "w") as file:
        file.write(key)


def from_environ(environ: Mapping[str, str], instance_path: Path) -> dict[str, Any]:
    env = environ.get("PORTAL_ENV", "production")
    if env not in ENVIRONMENTS:
        raise SettingsError(f"PORTAL_ENV must be one of {', '.join(ENVIRONMENTS)}, not {env!r}")
    development = env != "production"

    secret_key = secret(environ, "SECRET_KEY")
    if not secret_key:
        if not development:
            raise SettingsError("SECRET_KEY must be set outside development (PORTAL_ENV)")
        secret_key = _development_secret(instance_path)
    elif len(secret_key) < SECRET_KEY_MIN_LENGTH:
        raise SettingsError(f"SECRET_KEY must be at least {SECRET_KEY_MIN_LENGTH} characters")

    data_key = secret(environ, "DATA_ENCRYPTION_KEY") or None
    if data_key:
        try:
            Fernet(data_key)
        except ValueError:
            raise SettingsError(
                "DATA_ENCRYPTION_KEY must be a Fernet key (32 bytes, url-safe base64)"
            ) from None
    log_format = environ.get("LOG_FORMAT") or ("text" if development else "json")
    if log_format not in ("json", "text"):
        raise SettingsError(f"LOG_FORMAT must be json or text, not {log_format!r}")
    https = _flag(environ, "PORTAL_HTTPS", default=not development)
    database = database_url(
        secret(environ, "DATABASE_URL") or f"sqlite:///{instance_path / 'portal.db'}"
    )
    redis_url = secret(environ, "REDIS_URL") or None
    emulator = environ.get("IDP_EMULATOR_URL") or None
    backchannel = environ.get("IDP_EMULATOR_BACKCHANNEL_URL") or None
    if (emulator or backchannel) and not development:
        raise SettingsError("IDP_EMULATOR_URL is for development and tests, never production")
    return {
        "PORTAL_ENV": env,
        "SECRET_KEY": secret_key,
        "REGIONS_FILE": environ.get("REGIONS_FILE", str(PROJECT_ROOT / "config" / "regions.yaml")),
        "DEV_HOSTS": _flag(environ, "DEV_HOSTS", default=development),
        "SQLALCHEMY_DATABASE_URI": database,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database, environ),
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_STRATEGY": "moving-window",
        # Redis gone: the limits go on in this worker's memory rather than failing requests.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        # One prefix for every Redis key of this deployment (sessions, limits).
        "REDIS_KEY_PREFIX": environ.get("REDIS_KEY_PREFIX", "myschool"),
        "RATELIMIT_KEY_PREFIX": environ.get("REDIS_KEY_PREFIX", "myschool") + ":limits",
        # Development and tests: every ESIA region talks to the emulator at this address.
        "IDP_EMULATOR_URL": emulator,
        # ... and the address the portal itself calls it at, when that differs (a stack).
        "IDP_EMULATOR_BACKCHANNEL_URL": backchannel,
        "TRUSTED_PROXY_HOPS": _int(environ, "TRUSTED_PROXY_HOPS", 0),
        # One JSON object per log line (production), or readable lines (development).
        "LOG_FORMAT": log_format,
        "PORTAL_HTTPS": https,
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        # Cookies: host-only (no Domain), so one region's cookie never reaches another host.
        # `__Host-` requires Secure, which browsers honour only over HTTPS.
        "SESSION_COOKIE_NAME": "__Host-session" if https else "session",
        "SESSION_COOKIE_SECURE": https,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_DOMAIN": None,
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
        "REMEMBER_COOKIE_NAME": "__Host-remember" if https else "remember",
        "REMEMBER_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": timedelta(hours=12),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session that holds it
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # Overrides every region's trusted-person activation delay (the demo sets 0).
        "TRUSTED_ACTIVATION_DELAY_HOURS": (
            _int(environ, "TRUSTED_ACTIVATION_DELAY_HOURS", 0)
            if environ.get("TRUSTED_ACTIVATION_DELAY_HOURS")
            else None
        ),
        # Every call to a provider in one request shares this much wall time (seconds); the
        # gunicorn timeout (gunicorn.conf.py) stays well above it.
        "LOGIN_DEADLINE_SECONDS": _float(environ, "LOGIN_DEADLINE_SECONDS", 10.0),
        # Past the per-login backstop (100 failures an hour from any addresses), each further
        # failed password attempt on that login is answered this late (seconds).
        "LOGIN_BACKSTOP_DELAY_SECONDS": _float(environ, "LOGIN_BACKSTOP_DELAY_SECONDS", 1.0),
        # Audit and login events are kept this long, then `flask audit purge` (cron) deletes
        # them (152-ФЗ: no longer than the purpose needs; the region's rules may say longer).
        "AUDIT_RETENTION_DAYS": _int(environ, "AUDIT_RETENTION_DAYS", 3 * 365),
        # The key that seals personal data at rest (app/sealing.py); derived from SECRET_KEY
        # when not given.
        "DATA_ENCRYPTION_KEY": data_key,
        # How often a worker looks for regions' newly saved versions (seconds).
        "TENANT_REFRESH_SECONDS": _int(environ, "TENANT_REFRESH_SECONDS", 2),
        # The journal system behind the diary pages ("module:Class", a DiaryBackend).
        "DIARY_BACKEND": environ.get("DIARY_BACKEND", "app.diary.stub:StubDiary"),
    }


def load(instance_path: Path) -> dict[str, Any]:
    return from_environ(os.environ, instance_path)
