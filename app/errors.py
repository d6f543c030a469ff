"""Error pages in the region's branding: 4xx and 5xx alike, with the support contacts."""

from __future__ import annotations

import contextlib
import time

from flask import Flask, Response, has_request_context, render_template, request
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError

from app import metrics
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l
from app.i18n import ngettext
from app.sessions import StoreUnavailable

# What a database or session store that does not answer raises: a 503, never a 500.
UNAVAILABLE_ERRORS = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    RedisConnectionError,
    RedisTimeoutError,
    StoreUnavailable,
)

TITLES = {
    400: _l("Запрос не выполнен"),
    403: _l("Доступ запрещён"),
    404: _l("Страница не найдена"),
    405: _l("Действие недоступно"),
    409: _l("Данные изменились"),
    413: _l("Файл слишком большой"),
    429: _l("Слишком много попыток"),
    500: _l("Внутренняя ошибка"),
    503: _l("Сервис временно недоступен"),
}
MESSAGES = {
    400: _l("Проверьте введённые данные и попробуйте ещё раз."),
    403: _l("У вас нет доступа к этой странице."),
    404: _l("Такой страницы нет. Проверьте адрес или вернитесь на страницу входа."),
    405: _l("Это действие здесь недоступно."),
    409: _l("Пока вы редактировали, данные изменились. Обновите страницу."),
    413: _l("Загружаемый файл слишком большой."),
    429: _l("Подождите немного и попробуйте снова."),
    500: _l("Мы уже знаем о проблеме. Попробуйте ещё раз через несколько минут."),
    503: _l("Сервис временно недоступен. Попробуйте ещё раз через несколько минут."),
}


# An error page answering an htmx request replaces the page's main area, whatever part the
# request meant to update (base.html lets htmx swap 4xx and 5xx answers).
HTMX_WHOLE_MAIN = [("HX-Retarget", "#main"), ("HX-Reselect", "#main"), ("HX-Reswap", "outerHTML")]


def render_error(code: int, message: str | None = None, headers=()):
    body = render_template(
        "errors/error.html",
        code=code,
        title=TITLES.get(code) or _("Ошибка"),
        message=message or MESSAGES.get(code, MESSAGES[500]),
    )
    if has_request_context() and request.headers.get("HX-Request") == "true":
        headers = [*headers, *HTMX_WHOLE_MAIN]
    return body, code, list(headers)


def htmx_redirects(response: Response) -> Response:
    """A redirect answering an htmx request (to the login page when a session ended, say) is a
    change of page, not a fragment to swap in: tell htmx to navigate."""
    if response.status_code in (301, 302, 303, 307, 308) and (
        request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"
    ):
        location = response.headers["Location"]
        response = Response(status=200, headers={"HX-Redirect": location})
    return response


def retry_in(seconds: int) -> str:
    """``Retry-After`` in words, rounded up: «Попробуйте снова через 45 секунд.», «… через
    2 минуты.», «… через 1 час.»"""
    minutes = -(-seconds // 60)
    if seconds < 60:
        return ngettext("Попробуйте снова через %(num)d секунду.",
                        "Попробуйте снова через %(num)d секунд.", max(seconds, 1))  # fmt: skip
    if minutes < 60:
        return ngettext("Попробуйте снова через %(num)d минуту.",
                        "Попробуйте снова через %(num)d минут.", minutes)  # fmt: skip
    return ngettext("Попробуйте снова через %(num)d час.",
                    "Попробуйте снова через %(num)d часов.", -(-minutes // 60))  # fmt: skip


def _http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    # Keep what the exception says about the response (Allow, Retry-After), not its body type.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    message = None
    if error.code == 429:
        seconds = _seconds_to_wait(error)
        message = _("Слишком много неудачных попыток. %(retry)s", retry=retry_in(seconds))
        headers = [(k, v) for k, v in headers if k.lower() != "retry-after"]
        headers.append(("Retry-After", str(seconds)))
    return render_error(error.code, message, headers=headers)


def _seconds_to_wait(error: HTTPException) -> int:
    """Until the limit that refused this request lets the next attempt through, counted as
    Flask-Limiter counts the Retry-After it sets on the response, so that the page and the
    header say the same. Without the limiter's window, the whole period of the limit hit."""
    from app.extensions import limiter

    current = limiter.current_limit
    if current is not None:
        return max(1, int(current.reset_at - time.time()))
    limit = getattr(error, "limit", None)  # Flask-Limiter's RateLimitExceeded
    return int(limit.limit.get_expiry()) if limit is not None else 60


def _unavailable(error: Exception):
    """The database or the session store did not answer: the branded 503, rendered without
    asking either of them again (the person is shown as not signed in, nothing is saved)."""
    from flask import current_app, g

    from app.extensions import db

    with contextlib.suppress(SQLAlchemyError):
        db.session.rollback()
    g._login_user = current_app.login_manager.anonymous_user()
    cause = _cause(error)
    metrics.UNAVAILABLE.labels(cause.removeprefix("the ").replace(" ", "_")).inc()
    current_app.logger.warning("503: %s did not answer (%s)", cause,
                               type(error).__name__)  # fmt: skip
    return render_error(503, headers=[("Retry-After", "30")])


def _cause(error: Exception) -> str:
    return "the database" if isinstance(error, SQLAlchemyError) else "the session store"


def _server_error(error: InternalServerError):
    if isinstance(error.original_exception, UNAVAILABLE_ERRORS):
        return _unavailable(error.original_exception)
    return render_error(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _server_error)
    for unavailable in UNAVAILABLE_ERRORS:
        app.register_error_handler(unavailable, _unavailable)
    app.after_request(htmx_redirects)
