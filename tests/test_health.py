"""/healthz and /readyz: on any host, with the database and (when configured) Redis checked."""

import pytest

from app import create_app
from tests.conftest import test_environ


@pytest.mark.parametrize("host", ["10.0.0.5:8000", "localhost", "evil.example"])
def test_healthz_answers_on_any_host(client, host):
    response = client.get("/healthz", base_url=f"http://{host}/")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_checks_the_database_and_redis(client):
    response = client.get("/readyz", base_url="http://10.0.0.5/")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_fails_when_the_database_is_unreachable(caplog):
    app = create_app(test_environ("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable"}  # nothing about what or how
    assert "the database did not answer" in caplog.text


def test_readyz_fails_when_redis_is_unreachable(database_uri, caplog):
    app = create_app(test_environ(database_uri, REDIS_URL="redis://127.0.0.1:1/0"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable"}
    assert "Redis did not answer" in caplog.text
