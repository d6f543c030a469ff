"""``/healthz`` (the process answers) and ``/readyz`` (its database and Redis answer).

Served by WSGI middleware in front of the tenant resolution, so probes work by IP address or
any host name, and cost no session, no template and no tenant lookup. Both say up or down and
nothing more: which dependency failed, and how, goes to the log, not to whoever asks.
"""

from __future__ import annotations

import json
import logging

from flask import Flask
from sqlalchemy import text

from app.extensions import db

HEADERS = [
    ("Content-Type", "application/json"),
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
]
REDIS_TIMEOUT = 2.0


log = logging.getLogger("portal.health")


def check_database(app: Flask) -> bool:
    try:
        with app.app_context():
            db.session.execute(text("SELECT 1"))
            db.session.remove()
    except Exception as exc:
        log.warning("not ready: the database did not answer", extra={"error": type(exc).__name__})
        return False
    return True


def check_redis(url: str | None) -> bool:
    if not url:
        return True
    import redis

    try:
        client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )
        client.ping()
        client.close()
    except redis.RedisError as exc:
        log.warning("not ready: Redis did not answer", extra={"error": type(exc).__name__})
        return False
    return True


class HealthMiddleware:
    def __init__(self, wsgi_app, flask_app: Flask):
        self.wsgi_app, self.flask_app = wsgi_app, flask_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO")
        if path == "/healthz":
            return self._answer(start_response, 200, {"status": "ok"})
        if path == "/readyz":
            database = check_database(self.flask_app)
            ready = check_redis(self.flask_app.config.get("REDIS_URL")) and database
            body = {"status": "ok" if ready else "unavailable"}
            return self._answer(start_response, 200 if ready else 503, body)
        return self.wsgi_app(environ, start_response)

    @staticmethod
    def _answer(start_response, status: int, body: dict):
        payload = json.dumps(body).encode()
        reason = {200: "OK", 503: "Service Unavailable"}[status]
        start_response(f"{status} {reason}", [*HEADERS, ("Content-Length", str(len(payload)))])
        return [payload]


def init_app(app: Flask) -> None:
    app.wsgi_app = HealthMiddleware(app.wsgi_app, app)
