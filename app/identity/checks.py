"""Checking a region's identity provider before it goes live, item by item, in words for the
region's administrator (in the page's language).

Auth0's «Try connection» for our two kinds. OpenID Connect: the discovery document, its
issuer against the configured one, the keys (JWKS) and whether they serve the signing
algorithms the provider announces and we accept, the authorization, token and userinfo
endpoints reachable, the client secret present. Госуслуги (ESIA): the authorization and token
endpoints reachable; our certificate and key read, paired (a test message signed and
verified), in date; the ``client_certificate_hash`` ESIA will see; ESIA's token certificate
read, in date, of an algorithm we verify. Any other kind: its probe and what it needs from
the environment.

The check takes a configuration as a parameter — a draft or an unsaved edit is checked
before it is published, not only the served one — and never raises for what it finds: each
finding is an item that passed, passed with a warning, or failed with what to do. Every call
out has a short timeout and the whole check a bound (``TOTAL_SECONDS``): the calls run side
by side in threads that the check stops waiting for at the bound, so a provider that hangs,
or trickles its answer a byte at a time, is a failed item in seconds, never a 500 or a
killed worker.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID
from flask import current_app, has_app_context
from flask_babel.speaklater import LazyString
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from app import audit, i18n
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l
from app.i18n import ngettext
from app.settings import SettingsError, secret
from app.tenants.schema import Emulator
from app.wording import Words

from .base import provider_class
from .deadline import Deadline, TooLarge, read_within
from .esia.gost import certificate_hash, make_signer, make_verifier, openssl_available

# A call gets at most this long (and no longer than the region's own timeout); the whole
# check at most TOTAL_SECONDS, well under gunicorn's worker timeout.
CALL_SECONDS = 3.0
TOTAL_SECONDS = 8.0
# A certificate that ends sooner than this is a warning: time to order the next one.
EXPIRY_WARNING = timedelta(days=30)
# What a discovery document or a key set may weigh; what a key or certificate file may.
MAX_BODY = 512 * 1024
MAX_FILE = 256 * 1024
# Statuses with which a gateway says that the service behind it is down.
DOWN_STATUSES = frozenset({502, 503, 504})
USER_AGENT = "myschool-portal (provider check)"
PAIR_MESSAGE = b"myschool: provider check, does this key belong to this certificate?"

logger = logging.getLogger(__name__)

GOST_256 = "1.2.643.7.1.1.1.1"
GOST_512 = "1.2.643.7.1.1.1.2"
KEY_TYPES = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC"}

NAMES = Words(
    {
        "discovery": _l("Документ discovery"),
        "issuer": _l("Издатель (issuer)"),
        "jwks": _l("Ключи подписи (JWKS)"),
        "algorithms": _l("Алгоритмы подписи токенов"),
        "authorization_endpoint": _l("Адрес авторизации"),
        "token_endpoint": _l("Адрес выдачи токенов"),
        "userinfo_endpoint": _l("Адрес сведений о пользователе"),
        "client_secret": _l("Секрет клиента"),
        "client_certificate": _l("Сертификат портала"),
        "private_key": _l("Закрытый ключ портала"),
        "key_pair": _l("Ключ и сертификат — пара"),
        "certificate_hash": _l("Отпечаток сертификата для ЕСИА"),
        "provider_certificate": _l("Сертификат ЕСИА для проверки токенов"),
        "endpoint": _l("Адрес поставщика"),
        "environment": _l("Настройки окружения"),
        "kind": _l("Вид поставщика"),
        "check": _l("Проверка"),
    }
)
WHAT_IS_CHECKED = Words(
    {
        "oidc": _l(
            "документ discovery и издатель в нём, набор ключей (JWKS) и алгоритмы подписи, "
            "адреса авторизации, выдачи токенов и сведений о пользователе, секрет клиента"
        ),
        "esia": _l(
            "адреса авторизации и выдачи токенов; сертификат и закрытый ключ портала (читаются, "
            "составляют пару, не истекли), отпечаток сертификата, который увидит ЕСИА; "
            "сертификат ЕСИА для проверки токенов"
        ),
    }
)
# A file the check reads, by the item that reads it: where the variable must point, and what a
# file too large to be one is not.
FILE_NOT_SET = Words(
    {
        "client_certificate": _l(
            "Переменная окружения %(variable)s на серверах портала не задана: укажите в ней путь "
            "к файлу сертификата портала."
        ),
        "private_key": _l(
            "Переменная окружения %(variable)s на серверах портала не задана: укажите в ней путь "
            "к файлу закрытого ключа портала."
        ),
        "provider_certificate": _l(
            "Переменная окружения %(variable)s на серверах портала не задана: укажите в ней путь "
            "к файлу сертификата ЕСИА."
        ),
    }
)
FILE_TOO_LARGE = Words(
    {
        "client_certificate": _l(
            "%(variable)s: файл больше %(size)s КБ — это не файл сертификата портала."
        ),
        "private_key": _l(
            "%(variable)s: файл больше %(size)s КБ — это не файл закрытого ключа портала."
        ),
        "provider_certificate": _l(
            "%(variable)s: файл больше %(size)s КБ — это не файл сертификата ЕСИА."
        ),
    }
)


# --- what a check gives -----------------------------------------------------------------------


@dataclass(frozen=True)
class CheckItem:
    """One thing checked: ``key`` is a stable code, ``name`` and ``detail`` are words in the
    language of the request that ran the check. A warning is an item that passed with
    something to see to soon."""

    key: str
    name: str
    ok: bool
    detail: str
    warning: bool = False

    @property
    def status(self) -> str:
        if not self.ok:
            return "failed"
        return "warning" if self.warning else "passed"


@dataclass(frozen=True)
class ProviderCheck:
    kind: str
    items: tuple[CheckItem, ...]
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """Every item passed (warnings allowed): the configuration may go live."""
        return bool(self.items) and all(item.ok for item in self.items)

    @property
    def failed(self) -> tuple[CheckItem, ...]:
        return tuple(item for item in self.items if not item.ok)

    @property
    def warnings(self) -> tuple[CheckItem, ...]:
        return tuple(item for item in self.items if item.ok and item.warning)

    def item(self, key: str) -> CheckItem:
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(key)


def passed(key: str, detail: str, *, warning: bool = False) -> CheckItem:
    return CheckItem(key, NAMES[key], True, str(detail), warning)


def failed(key: str, detail: str) -> CheckItem:
    return CheckItem(key, NAMES[key], False, str(detail))


def what_is_checked(kind: str) -> str:
    return WHAT_IS_CHECKED.get(kind) or _("адрес поставщика и настройки окружения")


# --- calls out, each bounded ------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """What a URL answered: a status (and the body, when asked for), or why nothing came.
    The calls run in threads without the request: why is lazy (``_l``), put in words when the
    check's item is made, in the request's language."""

    url: str
    status: int | None = None
    body: bytes = b""
    problem: LazyString | None = None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (requests → urllib3 → socket)."""
    seen, queue = set(), [exc]
    while queue:
        current = queue.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        queue += [e for e in (*inner, *current.args) if isinstance(e, BaseException)]


def _why(exc: BaseException, url: str, seconds: float) -> LazyString:
    """Why ``url`` gave no answer, and what to do, in words (lazy: this runs in a call's
    thread)."""
    host = urlsplit(url).hostname or url
    causes = list(_chain(exc))

    def caused_by(*kinds: type[BaseException]) -> bool:
        return any(isinstance(cause, kinds) for cause in causes)

    if caused_by(requests.exceptions.SSLError):
        return _l(
            "не удалось установить защищённое соединение с %(host)s (ошибка TLS): сертификат "
            "сервера не прошёл проверку или сервер не говорит по HTTPS. Проверьте адрес и что "
            "на серверах портала есть корневой сертификат, которым подписан сертификат %(host)s.",
            host=host,
        )
    if caused_by(socket.gaierror, urllib3.exceptions.NameResolutionError):
        return _l(
            "имя %(host)s не найдено в DNS. Проверьте, что адрес в настройках написан верно и "
            "что DNS-серверы портала знают это имя.",
            host=host,
        )
    # Before timeouts: urllib3 counts a refused connection among them.
    if caused_by(ConnectionRefusedError):
        return _l(
            "%(host)s отклонил соединение: по этому адресу и порту запросы никто не принимает. "
            "Проверьте адрес и порт в настройках.",
            host=host,
        )
    if caused_by(requests.Timeout, TimeoutError, urllib3.exceptions.TimeoutError):
        return _l(
            "%(host)s не ответил за %(seconds)s с. Поставщик перегружен или недоступен из сети "
            "портала: проверьте доступ с серверов портала (межсетевой экран, прокси) и "
            "повторите проверку позже.",
            host=host,
            seconds=f"{seconds:g}",
        )
    if caused_by(requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                 requests.exceptions.InvalidSchema):  # fmt: skip
        return _l("адрес записан неверно: нужен полный адрес, начинающийся с https://.")
    return _l(
        "нет соединения с %(host)s. Проверьте адрес в настройках и доступ к нему из сети портала.",
        host=host,
    )


def fetch(url: str, *, check: Deadline, call_seconds: float, body: bool = True) -> Answer:
    """A GET of ``url`` within ``call_seconds`` and what is left of the check. Redirects are
    not followed: any answer is an answer."""
    seconds = min(call_seconds, max(check.left(), 0.0))
    if seconds <= 0:
        return Answer(url, problem=_l("не проверено: время, отведённое проверке, вышло."))
    this_call = Deadline(seconds)
    try:
        with requests.Session() as http:
            http.headers["User-Agent"] = USER_AGENT
            response = http.get(url, timeout=(seconds, seconds), stream=True, allow_redirects=False)
            with response:
                content = read_within(response.raw, this_call, MAX_BODY) if body else b""
    except TooLarge:
        return Answer(url, problem=_l("ответ больше %(size)s КБ: это не то, что ждали.",
                                      size=MAX_BODY // 1024))  # fmt: skip
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
        return Answer(url, problem=_why(exc, url, seconds))
    return Answer(url, response.status_code, content)


class Calls:
    """Calls that run side by side, each in a thread, started at once and collected within
    what the check has left. A call still running then (a server that trickles even its
    headers) is given up: a failed item, and its thread ends on its own."""

    def __init__(self, urls: Mapping[str, str | None], check: Deadline, call: float,
                 *, bodies: frozenset[str] = frozenset()):  # fmt: skip
        self.urls = {name: url for name, url in urls.items() if url}
        self.check, self.futures = check, {}
        if not self.urls:
            return
        pool = ThreadPoolExecutor(max_workers=len(self.urls), thread_name_prefix="provider-check")
        for name, url in self.urls.items():
            self.futures[name] = pool.submit(
                fetch, url, check=check, call_seconds=call, body=name in bodies
            )
        pool.shutdown(wait=False)

    def answers(self) -> dict[str, Answer]:
        wait_for(self.futures.values(), timeout=max(self.check.left(), 0.0) + 0.5)
        answers = {}
        for name, future in self.futures.items():
            url = self.urls[name]
            if not future.done():
                answers[name] = Answer(url, problem=_l("не ответил за время, отведённое проверке."))
                continue
            try:
                answers[name] = future.result()
            except Exception as exc:  # whatever went wrong is a finding, never a 500
                answers[name] = Answer(url, problem=_why(exc, url, 0))
        return answers


def _reachable(key: str, url: str | None, answer: Answer | None) -> CheckItem:
    """Any HTTP answer counts (an endpoint asked without parameters answers with an error),
    except a gateway saying that the service behind it is down."""
    if url is None or answer is None:
        return failed(
            key, _("Адрес неизвестен: его нет ни в настройках, ни в документе discovery.")
        )
    if answer.problem:
        return failed(key, f"{url}: {answer.problem}")
    if answer.status in DOWN_STATUSES:
        return failed(key, _(
            "%(url)s отвечает «HTTP %(status)s»: сервис поставщика сейчас недоступен. "
            "Повторите проверку позже; если так и останется, обратитесь к поставщику.",
            url=url, status=answer.status,
        ))  # fmt: skip
    return passed(key, _("%(url)s отвечает (HTTP %(status)s).", url=url, status=answer.status))


# --- OpenID Connect ---------------------------------------------------------------------------


def _json_object(answer: Answer) -> tuple[dict | None, str | None]:
    if answer.problem:
        return None, answer.problem
    if answer.status != 200:
        return None, _("отвечает HTTP %(status)s вместо 200.", status=answer.status)
    try:
        document = json.loads(answer.body)
    except ValueError:
        return None, _("ответ — не JSON.")
    if not isinstance(document, dict):
        return None, _("ответ — не объект JSON.")
    return document, None


def _short(value: Any, limit: int = 200) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _endpoint(config, document: dict | None, name: str) -> str | None:
    """The configured address, else the discovery document's."""
    value = getattr(config, name, None) or (document or {}).get(name)
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return value
    return None


def _discovery_items(config, check: Deadline, call: float) -> tuple[list[CheckItem], dict | None]:
    if not config.discovery_url:
        return [
            passed("discovery", _("Не используется: адреса поставщика заданы в настройках явно.")),
            passed("issuer", _(
                "Задан в настройках: %(issuer)s. Документа discovery, чтобы сверить его, "
                "нет; при входе издатель сверяется с каждым токеном.",
                issuer=config.issuer,
            )),
        ], None  # fmt: skip
    url = config.discovery_url
    document, problem = _json_object(
        Calls({"d": url}, check, call, bodies=frozenset({"d"})).answers()["d"]
    )
    if problem:
        return [
            failed("discovery", _(
                "%(url)s: %(problem)s Без него неизвестны адреса поставщика: проверьте "
                "discovery_url и доступ к нему.",
                url=url, problem=problem,
            )),
            failed("issuer", _("Не проверен: документ discovery не получен.")),
        ], None  # fmt: skip
    found = document.get("issuer")
    if found == config.issuer:
        issuer = passed("issuer", _("Совпадает с настройками: %(issuer)s.", issuer=config.issuer))
    else:
        issuer = failed("issuer", _(
            "Документ discovery называет издателем «%(found)s», а в настройках — "
            "«%(issuer)s»: вход будет отклонён. Исправьте issuer (он должен совпадать до "
            "знака, включая «/» в конце) или проверьте, что discovery_url ведёт к нужному "
            "поставщику.",
            found=_short(found), issuer=config.issuer,
        ))  # fmt: skip
    return [passed("discovery", _("Получен с %(url)s.", url=url)), issuer], document


def _keys_item(url: str | None, answer: Answer | None) -> tuple[CheckItem, list[dict] | None]:
    """The key set fetched and read as our login reads it; its keys as the provider wrote them."""
    if url is None or answer is None:
        return failed("jwks", _(
            "Адрес набора ключей неизвестен: его нет ни в настройках (jwks_uri), ни в "
            "документе discovery."
        )), None  # fmt: skip
    document, problem = _json_object(answer)
    if problem:
        return failed("jwks", f"{url}: {problem}"), None
    if not document.get("keys"):
        return failed("jwks", _("%(url)s: в наборе нет ни одного ключа.", url=url)), None
    try:
        keys = KeySet.import_key_set(document)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        return failed("jwks", _(
            "%(url)s: набор ключей не читается (%(error)s). Проверьте, что адрес "
            "ведёт к JWKS поставщика.",
            url=url, error=type(exc).__name__,
        )), None  # fmt: skip
    kinds = ", ".join(sorted({key.key_type for key in keys.keys}))
    raw = [key for key in document.get("keys", []) if isinstance(key, dict)]
    count = ngettext("Получен с %(url)s: ключей %(num)d (%(kinds)s).",
                     "Получен с %(url)s: ключей %(num)d (%(kinds)s).",
                     len(keys.keys), url=url, kinds=kinds)  # fmt: skip
    return passed("jwks", count), raw


def _fits(key: Mapping[str, Any], algorithm: str) -> bool:
    """Whether a JWK can check a signature made with ``algorithm``."""
    if key.get("use") not in (None, "sig") or key.get("alg") not in (None, algorithm):
        return False
    if key.get("kty") != KEY_TYPES.get(algorithm):
        return False
    return key.get("kty") != "EC" or key.get("crv") == "P-256"


def _algorithms_item(config, document: dict | None, keys: list[dict] | None) -> CheckItem:
    """The algorithms both the provider announces and we accept, each with a key to check it."""
    accepted = list(config.id_token_algorithms)
    announced = (document or {}).get("id_token_signing_alg_values_supported")
    if isinstance(announced, list) and all(isinstance(a, str) for a in announced):
        candidates = [a for a in accepted if a in announced]
        source = _("объявлены поставщиком и разрешены порталом")
        if not candidates:
            return failed("algorithms", _(
                "Поставщик подписывает токены алгоритмами %(announced)s, а "
                "портал принимает только %(accepted)s: вход будет отклонён. Добавьте "
                "общий алгоритм в id_token_algorithms в regions.yaml.",
                announced=_short(", ".join(announced)), accepted=", ".join(accepted),
            ))  # fmt: skip
    else:
        candidates, source = accepted, _("разрешены в настройках портала")
    if keys is None:
        return failed("algorithms", _("Не проверены: набор ключей (JWKS) не получен."))
    keyed = [a for a in candidates if any(_fits(key, a) for key in keys)]
    missing = [a for a in candidates if a not in keyed]
    if not keyed:
        return failed("algorithms", _(
            "В наборе ключей нет ключа ни для одного из алгоритмов %(algorithms)s "
            "(%(source)s): подпись токенов не пройдёт проверку. Проверьте jwks_uri и "
            "id_token_algorithms или попросите поставщика опубликовать ключ.",
            algorithms=", ".join(candidates), source=source,
        ))  # fmt: skip
    if missing:
        return passed("algorithms", _(
            "Ключи есть для %(keyed)s, для %(missing)s ключа нет: токены, "
            "подписанные так, будут отклонены. Уберите этот алгоритм из id_token_algorithms, "
            "если поставщик им не подписывает.",
            keyed=", ".join(keyed), missing=", ".join(missing),
        ), warning=True)  # fmt: skip
    return passed("algorithms", _("%(algorithms)s (%(source)s): ключи для проверки есть.",
                                  algorithms=", ".join(keyed), source=source))  # fmt: skip


def _secret_item(config, env: Mapping[str, str]) -> CheckItem:
    variable = config.client_secret_env
    if not variable:
        return passed("client_secret", _("Не нужен: портал обращается к поставщику без секрета."))
    try:
        found = secret(env, variable)
    except SettingsError:
        if env.get(variable) and env.get(f"{variable}_FILE"):
            return failed("client_secret", _(
                "Заданы и %(variable)s, и %(variable)s_FILE: оставьте одно.", variable=variable
            ))  # fmt: skip
        return failed("client_secret", _(
            "Файл, названный в %(variable)s_FILE, не читается: проверьте путь и права на него.",
            variable=variable,
        ))  # fmt: skip
    if not found:
        return failed("client_secret", _(
            "Переменная окружения %(variable)s (или %(variable)s_FILE) на серверах портала не "
            "задана: задайте в ней секрет клиента, выданный поставщиком.",
            variable=variable,
        ))  # fmt: skip
    return passed("client_secret", _("Задан (%(variable)s).", variable=variable))


def _check_oidc(config, env: Mapping[str, str], check: Deadline, call: float,
                now: datetime) -> list[CheckItem]:  # fmt: skip
    items, document = _discovery_items(config, check, call)
    names = ("jwks_uri", "authorization_endpoint", "token_endpoint", "userinfo_endpoint")
    urls = {name: _endpoint(config, document, name) for name in names}
    answers = Calls(urls, check, call, bodies=frozenset({"jwks_uri"})).answers()
    keys_item, keys = _keys_item(urls["jwks_uri"], answers.get("jwks_uri"))
    items += [keys_item, _algorithms_item(config, document, keys)]
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint"):
        if name != "userinfo_endpoint" or urls[name]:  # userinfo is optional
            items.append(_reachable(name, urls[name], answers.get(name)))
    items.append(_secret_item(config, env))
    return items


# --- Госуслуги (ESIA) -------------------------------------------------------------------------


def _read_file(env: Mapping[str, str], variable: str, what: str) -> tuple[bytes | None, str]:
    """The file the variable names, or why not (in words, with what to do). ``what``: the
    key of the item that reads it (``client_certificate``, ``private_key``,
    ``provider_certificate``)."""
    path = env.get(variable)
    if not path:
        return None, FILE_NOT_SET[what] % {"variable": variable}
    try:
        with Path(path).open("rb") as file:
            data = file.read(MAX_FILE + 1)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            return None, _("%(variable)s: по указанному пути файла нет. Проверьте путь и права "
                           "на файл.", variable=variable)  # fmt: skip
        return None, _("%(variable)s: по указанному пути файл не читается. Проверьте путь и "
                       "права на файл.", variable=variable)  # fmt: skip
    if len(data) > MAX_FILE:
        return None, FILE_TOO_LARGE[what] % {"variable": variable, "size": MAX_FILE // 1024}
    return data, ""


def _certificate(data: bytes, variable: str) -> tuple[x509.Certificate | None, str]:
    """A PEM certificate (our signer and ESIA's checks read PEM), or why not."""
    try:
        return x509.load_pem_x509_certificate(data), ""
    except ValueError:
        pass
    try:
        x509.load_der_x509_certificate(data)
    except ValueError:
        return None, _("%(variable)s: в файле не сертификат X.509.", variable=variable)
    return None, _(
        "%(variable)s: сертификат в формате DER, а портал читает PEM. Переведите его: "
        "openssl x509 -inform DER -in файл.cer -out cert.pem.",
        variable=variable,
    )


def _dates(cert: x509.Certificate, now: datetime) -> tuple[bool, bool, str]:
    """(in date, ends soon, the dates in words; the days as they are in UTC)."""
    ends, starts = cert.not_valid_after_utc, cert.not_valid_before_utc
    if ends < now:
        return False, False, _("истёк %(day)s", day=i18n.day(ends))
    if starts > now:
        return False, False, _("начнёт действовать только %(day)s", day=i18n.day(starts))
    if ends - now < EXPIRY_WARNING:
        return True, True, _("действует до %(day)s, осталось дней: %(days)s",
                             day=i18n.day(ends), days=(ends - now).days)  # fmt: skip
    return True, False, _("действует до %(day)s", day=i18n.day(ends))


def _our_certificate(config, env, now) -> tuple[CheckItem, bytes | None]:
    """Our certificate (its PEM when it reads), GOST R 34.10-2012 256-bit, in date."""
    variable = config.client_certificate_file_env
    data, problem = _read_file(env, variable, "client_certificate")
    if data is None:
        return failed("client_certificate", problem), None
    cert, problem = _certificate(data, variable)
    if cert is None:
        return failed("client_certificate", problem), None
    algorithm = cert.public_key_algorithm_oid.dotted_string
    if algorithm != GOST_256:
        if algorithm == GOST_512:
            return failed("client_certificate", _(
                "%(variable)s: ключ сертификата на 512 бит, а ЕСИА принимает только "
                "ГОСТ Р 34.10-2012 с ключом 256 бит: нужен такой сертификат.",
                variable=variable,
            )), data  # fmt: skip
        return failed("client_certificate", _(
            "%(variable)s: ключ сертификата не по ГОСТ Р 34.10-2012, а ЕСИА принимает только "
            "ГОСТ Р 34.10-2012 с ключом 256 бит: нужен такой сертификат.",
            variable=variable,
        )), data  # fmt: skip
    in_date, soon, dates = _dates(cert, now)
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    owner = _short(names[0].value, 100) if names else _("без имени")
    about = _("%(variable)s: ГОСТ Р 34.10-2012 (256 бит), «%(owner)s», %(dates)s.",
              variable=variable, owner=owner, dates=dates)  # fmt: skip
    renew = " " + _(
        "Выпустите новый сертификат, зарегистрируйте его для системы %(client_id)s на "
        "технологическом портале ЕСИА и укажите путь к нему в %(variable)s.",
        client_id=config.client_id, variable=variable,
    )  # fmt: skip
    if not in_date:
        return failed("client_certificate", about + renew), data
    if soon:
        return passed("client_certificate", about + renew, warning=True), data
    return passed("client_certificate", about), data


def _our_key(config, env) -> tuple[CheckItem, Any]:
    """Our private key, read by the signer the region uses."""
    variable = config.private_key_file_env
    data, problem = _read_file(env, variable, "private_key")
    if data is None:
        return failed("private_key", problem), None
    if config.signer == "openssl" and not openssl_available():
        return failed("private_key", _(
            "На сервере нет модуля ГОСТ для OpenSSL (пакет libengine-gost-openssl): установите "
            "его или выберите signer: python."
        )), None  # fmt: skip
    try:
        signer = make_signer(config.signer, data)
    except Exception:  # whatever the file holds, a finding
        return failed("private_key", _(
            "%(variable)s: не читается как закрытый ключ ГОСТ Р 34.10-2012 (256 бит) в PEM без "
            "пароля.",
            variable=variable,
        )), None  # fmt: skip
    read = _("%(variable)s: читается, ГОСТ Р 34.10-2012 (256 бит).", variable=variable)
    return passed("private_key", read), signer


def _pair_item(config, signer, cert_pem: bytes | None) -> CheckItem:
    """The key signs, the certificate verifies: they are one pair, as ESIA will find."""
    if signer is None or cert_pem is None:
        return failed("key_pair", _("Не проверено: ключ или сертификат не прочитан."))
    try:
        pairs = make_verifier().verify(cert_pem, PAIR_MESSAGE, signer.sign(PAIR_MESSAGE))
    except Exception:  # a signer or verifier that fails is a finding
        pairs = False
    if not pairs:
        return failed("key_pair", _(
            "Подпись ключа из %(key)s не проверяется сертификатом из "
            "%(certificate)s: это ключ и сертификат разных пар, и ЕСИА "
            "отклонит вход (ESIA-007053). Укажите ключ, на который выпущен сертификат.",
            key=config.private_key_file_env, certificate=config.client_certificate_file_env,
        ))  # fmt: skip
    return passed("key_pair", _("Тестовое сообщение подписано ключом и проверено сертификатом."))


def _hash_item(config, cert_pem: bytes | None) -> CheckItem:
    if cert_pem is None:
        return failed("certificate_hash", _("Не вычислен: сертификат портала не прочитан."))
    return passed("certificate_hash", _(
        "ЕСИА получит client_certificate_hash %(hash)s. Он должен "
        "совпадать с отпечатком сертификата, зарегистрированного для системы "
        "%(client_id)s на технологическом портале ЕСИА.",
        hash=certificate_hash(cert_pem), client_id=config.client_id,
    ))  # fmt: skip


def _esia_certificate(config, env: Mapping[str, str], now: datetime) -> CheckItem:
    """ESIA's certificate: read, in date, with a key our token check uses (RSA, RS256)."""
    variable = config.provider_certificate_file_env
    data, problem = _read_file(env, variable, "provider_certificate")
    if data is None:
        return failed("provider_certificate", problem)
    cert, problem = _certificate(data, variable)
    if cert is None:
        return failed("provider_certificate", problem)
    try:
        public = cert.public_key()
    except UnsupportedAlgorithm:
        public = None
    if not isinstance(public, rsa.RSAPublicKey):
        kind = "ECDSA" if isinstance(public, ec.EllipticCurvePublicKey) else _("не RSA")
        if cert.public_key_algorithm_oid.dotted_string in (GOST_256, GOST_512):
            kind = _("ГОСТ Р 34.10-2012")
        return failed("provider_certificate", _(
            "%(variable)s: ключ сертификата — %(kind)s, а портал проверяет подпись токенов ЕСИА "
            "алгоритмом RS256 (RSA). Возьмите сертификат ЕСИА для RS256 на технологическом "
            "портале.",
            variable=variable, kind=kind,
        ))  # fmt: skip
    try:
        RSAKey.import_key(public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    except (JoseError, ValueError, TypeError):
        return failed("provider_certificate", _("%(variable)s: ключ не читается как ключ RSA.",
                                                variable=variable))  # fmt: skip
    if "RS256" not in config.token_algorithms:
        return failed("provider_certificate", _(
            "%(variable)s: ключ RSA, но RS256 нет в token_algorithms: добавьте его, иначе токены "
            "ЕСИА не пройдут проверку.",
            variable=variable,
        ))  # fmt: skip
    in_date, soon, dates = _dates(cert, now)
    about = _("%(variable)s: RSA %(bits)s бит, токены RS256, %(dates)s.",
              variable=variable, bits=public.key_size, dates=dates)  # fmt: skip
    if not in_date:
        return failed("provider_certificate", about + " " + _(
            "Возьмите действующий сертификат ЕСИА на технологическом портале."
        ))  # fmt: skip
    if soon:
        return passed("provider_certificate", about + " " + _(
            "Скоро понадобится новый: возьмите его на технологическом портале ЕСИА."
        ), warning=True)  # fmt: skip
    return passed("provider_certificate", about)


def _check_esia(config, env: Mapping[str, str], check: Deadline, call: float,
                now: datetime) -> list[CheckItem]:  # fmt: skip
    base = config.base_url.rstrip("/")
    urls = {"authorization_endpoint": base + config.authorize_path,
            "token_endpoint": base + config.token_path}  # fmt: skip
    calls = Calls(urls, check, call)  # under way while the files are read
    certificate, cert_pem = _our_certificate(config, env, now)
    key, signer = _our_key(config, env)
    local = [
        certificate,
        key,
        _pair_item(config, signer, cert_pem),
        _hash_item(config, cert_pem),
        _esia_certificate(config, env, now),
    ]
    answers = calls.answers()
    return [*(_reachable(name, url, answers.get(name)) for name, url in urls.items()), *local]


# --- any other kind ---------------------------------------------------------------------------


def _check_other(config, env: Mapping[str, str], check: Deadline, call: float,
                 now: datetime) -> list[CheckItem]:  # fmt: skip
    """A kind without a check of its own: its probe answers, its environment is complete."""
    provider = provider_class(config.kind)
    if provider is None:
        return [failed("kind", _("Портал не умеет работать с поставщиком вида «%(kind)s».",
                                 kind=config.kind))]  # fmt: skip
    target = provider.probe(config)
    if target is None:
        reach = passed("endpoint", _("Внешнего сервиса нет: проверять нечего."))
    else:
        url, need_ok = target
        answer = Calls({"endpoint": url}, check, call).answers()["endpoint"]
        reach = _reachable("endpoint", url, answer)
        if reach.ok and need_ok and answer.status != 200:
            reach = failed("endpoint", _("%(url)s отвечает HTTP %(status)s вместо 200.",
                                         url=url, status=answer.status))  # fmt: skip
    problems = provider.environment_problems(config, env)
    if problems:
        return [reach, failed("environment", "; ".join(problems))]
    return [reach, passed("environment", _("Всё нужное задано."))]


# The checks by kind; a kind without one gets its probe and its environment checked.
CHECKS: dict[str, Callable[..., list[CheckItem]]] = {"oidc": _check_oidc, "esia": _check_esia}


# --- the check --------------------------------------------------------------------------------


def _as_served(provider_config):
    """The provider block as this deployment would serve it: in development and tests,
    pointed at the emulator like every served version."""
    if has_app_context():
        emulator = Emulator.from_config(current_app.config)
        if emulator is not None:
            return provider_config.emulated(emulator)
    return provider_config


def check_provider(
    config,
    environ: Mapping[str, str],
    *,
    now: datetime | None = None,
    seconds: float = TOTAL_SECONDS,
) -> ProviderCheck:
    """Check the identity provider of ``config`` — a region's configuration as
    ``versions.at`` gives it (served, saved or a draft), or its ``identity_provider`` block —
    with the secrets and key files ``environ`` names. Takes at most ``seconds`` for the calls
    out (and a moment for the local files); never raises for what it finds."""
    started = time.monotonic()
    provider = _as_served(getattr(config, "identity_provider", config))
    check = Deadline(seconds)
    call = min(CALL_SECONDS, provider.timeout_seconds)
    run = CHECKS.get(provider.kind, _check_other)
    try:
        items = run(provider, environ, check, call, now or datetime.now(UTC))
    except Exception:  # a check that breaks is a failed check, never a 500 in a publication
        logger.exception("the check of %s's provider broke", provider.kind)
        items = [failed("check", _(
            "Проверку не удалось довести до конца из-за ошибки портала. Повторите её; если "
            "ошибка повторится, сообщите оператору портала."
        ))]  # fmt: skip
    return ProviderCheck(provider.kind, tuple(items), seconds=time.monotonic() - started)


# --- one check at a time per region, and the audited override ---------------------------------


class CheckRunning(Exception):
    """This region's provider is being checked by another request of this process."""


_running: set[str] = set()
_running_lock = threading.Lock()


def check_region_provider(tenant, environ: Mapping[str, str]) -> ProviderCheck:
    """The served configuration's check, one at a time per region in this process: a double
    submit or a second administrator gets :class:`CheckRunning` rather than tying up another
    worker thread for the same answer."""
    with _running_lock:
        if tenant.slug in _running:
            raise CheckRunning(tenant.slug)
        _running.add(tenant.slug)
    try:
        return check_provider(tenant.config, environ)
    finally:
        with _running_lock:
            _running.discard(tenant.slug)


def record_override(
    tenant_slug: str, check: ProviderCheck, author, reason: str, *, commit: bool = True
) -> None:
    """Audit that ``author`` puts a configuration live although its provider check failed:
    which items failed, and the reason given. ValueError when the check passed (nothing to
    override) or no reason is given. ``commit=False`` leaves the row in the caller's
    transaction (it stands or falls with the publication)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("overriding the provider check needs a reason")
    if check.passed:
        raise ValueError("the provider check passed: there is nothing to override")
    audit.record(
        "provider_check_overridden",
        tenant=tenant_slug,
        actor_id=getattr(author, "id", None),
        commit=commit,
        provider=check.kind,
        failed=[f"{item.name}: {item.detail}" for item in check.failed],
        reason=reason[:500],
    )
