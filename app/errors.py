"""Error pages in the region's branding: 4xx and 5xx alike, with the support contacts."""

from __future__ import annotations

from flask import Flask, render_template
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


def render_error(code: int, message: str | None = None, headers=()):
    body = render_template(
        "errors/error.html",
        code=code,
        title=TITLES.get(code, "Ошибка"),
        message=message or MESSAGES.get(code, MESSAGES[500]),
    )
    return body, code, list(headers)


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
