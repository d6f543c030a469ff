"""Logs an operator can search: JSON lines with the request id, region and account, never
personal data; the request id returned to the client, and believed only from a proxy."""

from __future__ import annotations

import io
import json
import logging
import runpy

import pytest

from app import create_app, logs
from app.logs import configure
from app.settings import PROJECT_ROOT, SettingsError
from log_lines import JsonFormatter
from tests.conftest import test_environ
from tests.live import CSRF_RE

TYPED_LOGIN = "neverlogged.login"


@pytest.fixture
def json_logs(database_uri):
    stream = io.StringIO()
    app = create_app(test_environ(database_uri, LOG_FORMAT="json"))
    configure("json", stream)
    yield app, stream
    configure("text", logging.sys.stderr)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line]


def test_every_line_is_a_json_object_with_the_request_id(json_logs):
    app, stream = json_logs
    response = app.test_client().get("/login?next=/diary/", headers={"Host": "kaluga.localhost"})
    request_id = response.headers["X-Request-ID"]
    assert len(request_id) == 32
    [entry] = [e for e in _lines(stream) if e["event"] == "request"]
    assert entry["request_id"] == request_id
    assert entry["region"] == "kaluga" and "user_id" not in entry
    assert entry["path"] == "/login" and entry["status"] == 200  # never the query string
    assert entry["level"] == "info" and entry["time"].endswith("+00:00")


def test_what_a_person_types_is_not_logged(json_logs):
    app, stream = json_logs
    client = app.test_client()
    host = {"Host": "kaluga.localhost"}
    page = client.get("/login/password", headers=host).get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    answer = client.post("/login/password", headers=host,
                         data={"csrf_token": token, "login": TYPED_LOGIN, "password": "wrong-pw"})  # fmt: skip
    assert answer.status_code == 200 and "Неверный логин или пароль" in answer.get_data(
        as_text=True
    )
    assert TYPED_LOGIN not in stream.getvalue() and "wrong-pw" not in stream.getvalue()
    assert all("request_id" in entry for entry in _lines(stream) if entry["event"] == "request")


def test_an_exception_is_logged_by_type_and_place_never_its_message(json_logs):
    app, stream = json_logs

    @app.get("/_probe/boom")
    def boom():
        raise ValueError("775-398-922 80 is in this message")

    response = app.test_client().get("/_probe/boom", headers={"Host": "kaluga.localhost"})
    assert response.status_code == 500
    [entry] = [e for e in _lines(stream) if e.get("error")]
    assert entry["error"] == "ValueError" and "test_logs.py" in entry["where"][-1]
    assert entry["request_id"] == response.headers["X-Request-ID"]
    assert "775-398-922" not in stream.getvalue()


def test_a_client_cannot_choose_its_request_id(app, region_client):
    response = region_client("kaluga").get("/login", headers={"X-Request-ID": "chosen-by-me"})
    assert response.headers["X-Request-ID"] != "chosen-by-me"


@pytest.mark.parametrize(("offered", "kept"), [("lb-4f2a.17", True), ("bad id; drop", False)])
def test_the_proxys_request_id_is_kept_behind_a_trusted_proxy(database_uri, offered, kept):
    app = create_app(test_environ(database_uri, TRUSTED_PROXY_HOPS="1"))
    response = app.test_client().get(
        "/login", headers={"Host": "kaluga.localhost", "X-Request-ID": offered}
    )
    assert (response.headers["X-Request-ID"] == offered) is kept


def test_development_writes_readable_lines(database_uri):
    stream = io.StringIO()
    app = create_app(test_environ(database_uri, PORTAL_ENV="development"))
    configure(app.config["LOG_FORMAT"], stream)

    @app.get("/_probe/warn")
    def warn():
        app.logger.warning("something to see")
        return "ok"

    try:
        response = app.test_client().get("/_probe/warn", headers={"Host": "mosreg.localhost"})
    finally:
        configure("text", logging.sys.stderr)
    [line] = stream.getvalue().splitlines()  # no access record: gunicorn writes those
    assert "WARNING app: something to see" in line
    assert f"[request_id={response.headers['X-Request-ID']} region=mosreg]" in line


def test_production_logs_json_and_a_wrong_format_is_refused(database_uri):
    app = create_app(test_environ(database_uri, PORTAL_ENV="production", SECRET_KEY="p" * 40))
    assert app.config["LOG_FORMAT"] == "json"
    with pytest.raises(SettingsError, match="LOG_FORMAT must be json or text"):
        create_app(test_environ(database_uri, LOG_FORMAT="xml"))


def test_gunicorn_logs_json_in_production(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    settings = runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))
    assert settings["accesslog"] is None  # the portal writes access records with the id
    formatter = settings["logconfig_dict"]["formatters"]["json"]["()"]
    # the portal's own, from outside its package (gunicorn's master imports none of it)
    assert formatter == "log_lines.JsonFormatter" and logs.JsonFormatter is JsonFormatter
