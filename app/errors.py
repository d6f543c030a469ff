"""Error pages in the region's branding: 4xx and 5xx alike, with the support contacts."""

from __future__ import annotations

from flask import Flask, Response, has_request_context, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

TITLES = {
    400: "Запрос не выполнен",
    403: "Доступ запрещён",
    404: "Страница не найдена",
    405: "Действие недоступно",
    409: "Данные изменились",
    413: "Файл слишком большой",
    429: "Слишком много попыток",
    500: "Внутренняя ошибка",
    503: "Сервис временно недоступен",
}
MESSAGES = {
    400: "Проверьте введённые данные и попробуйте ещё раз.",
    403: "У вас нет доступа к этой странице.",
    404: "Такой страницы нет. Проверьте адрес или вернитесь на страницу входа.",
    405: "Это действие здесь недоступно.",
    409: "Пока вы редактировали, данные изменились. Обновите страницу.",
    413: "Загружаемый файл слишком большой.",
    429: "Подождите немного и попробуйте снова.",
    500: "Мы уже знаем о проблеме. Попробуйте ещё раз через несколько минут.",
    503: "Сервис временно недоступен. Попробуйте ещё раз через несколько минут.",
}


# An error page answering an htmx request replaces the page's main area, whatever part the
# request meant to update (base.html lets htmx swap 4xx and 5xx answers).
HTMX_WHOLE_MAIN = [("HX-Retarget", "#main"), ("HX-Reselect", "#main"), ("HX-Reswap", "outerHTML")]


def render_error(code: int, message: str | None = None, headers=()):
    body = render_template(
        "errors/error.html",
        code=code,
        title=TITLES.get(code, "Ошибка"),
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


def _http_error(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    # Keep what the exception says about the response (Allow, Retry-After), not its body type.
    headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
    return render_error(error.code, headers=headers)


def _server_error(error: InternalServerError):
    return render_error(500)


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _server_error)
    app.after_request(htmx_redirects)
