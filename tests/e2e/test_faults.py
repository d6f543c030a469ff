"""Faults give a clear page, never a 500 (issue: nothing lost, nobody locked out, item 7).
Each test starts a Redis or a PostgreSQL cluster of its own on another port than the shared
services, stops it while the portal runs, starts it again, and removes it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from tests.conftest import test_environ

UNAVAILABLE = "Сервис временно недоступен"
BASE = "http://kaluga.localhost/"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _need(program: str) -> str:
    found = shutil.which(program)
    if not found:
        message = f"{program} is needed for this fault test"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def _wait_for(check, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail("the service did not come up")


# --- Redis --------------------------------------------------------------------------------


class OwnRedis:
    def __init__(self, directory: Path):
        self.program, self.port, self.directory = _need("redis-server"), _free_port(), directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [self.program, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_for(self._answers)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis(tmp_path):
    redis = OwnRedis(tmp_path)
    redis.start()
    yield redis
    redis.stop()


def _password_page(client):
    return client.get("/login/password", base_url=BASE)


def test_redis_down_gives_the_branded_503_and_up_again_serves(database_uri, own_redis):
    app = create_app(test_environ(database_uri, REDIS_URL=own_redis.url))
    client = app.test_client()
    assert _password_page(client).status_code == 200  # a session now lives in Redis
    own_redis.stop()
    for path in ("/login", "/login/password", "/diary/", "/account/"):
        page = client.get(path, base_url=BASE)  # with the session's cookie
        body = page.get_data(as_text=True)
        assert page.status_code == 503, path
        assert UNAVAILABLE in body and "Моя школа — Калуга и Калужская область" in body
    fresh = app.test_client()  # no session yet: the page that needs one cannot keep it
    page = _password_page(fresh)
    assert page.status_code == 503 and UNAVAILABLE in page.get_data(as_text=True)
    assert fresh.get("/login", base_url=BASE).status_code == 200  # a page that needs none
    own_redis.start()
    assert _password_page(app.test_client()).status_code == 200


# --- PostgreSQL ---------------------------------------------------------------------------


class OwnPostgres:
    """A cluster of the test's own (pg_createcluster), never the shared one."""

    def __init__(self):
        _need("pg_createcluster")
        self.version = sorted(os.listdir("/usr/lib/postgresql"))[-1]
        self.name, self.port = f"faults{uuid.uuid4().hex[:8]}", _free_port()

    def _ctl(self, *args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, timeout=60)  # noqa: S603

    def create(self) -> None:
        self._ctl("pg_createcluster", "--port", str(self.port), self.version, self.name, "--",
                  "--auth=trust")  # fmt: skip
        self.start()
        self._ctl("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "portal")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/portal"

    def start(self) -> None:
        self._ctl("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, "start")

    def stop(self) -> None:
        self._ctl("pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, "stop",
                  "-m", "fast")  # fmt: skip

    def drop(self) -> None:
        subprocess.run(["pg_dropcluster", "--stop", self.version, self.name],  # noqa: S603, S607
                       capture_output=True, timeout=60, check=False)  # fmt: skip


@pytest.fixture
def own_postgres():
    if os.geteuid() != 0 and not os.environ.get("CI"):
        pytest.skip("pg_createcluster needs root here")
    cluster = OwnPostgres()
    try:
        cluster.create()
        yield cluster
    finally:
        cluster.drop()


def test_postgres_restarting_gives_the_branded_503_then_the_pool_recovers(own_postgres):
    # Sessions in this database too (not in a shared Redis the suite may be given).
    app = create_app(test_environ(own_postgres.url, REDIS_URL=""))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    client = app.test_client()
    assert _password_page(client).status_code == 200  # pooled connections are open now
    # Under load: four threads ask for pages the whole time the database goes down and up.
    seen: list[int] = []
    running = threading.Event()
    running.set()

    def load():
        visitor = app.test_client()
        while running.is_set():
            for path in ("/login/password", "/diary/", "/login"):
                try:
                    seen.append(visitor.get(path, base_url=BASE).status_code)
                except Exception as error:  # a response that never came: as bad as a 500
                    seen.append(type(error).__name__)

    threads = [threading.Thread(target=load) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        own_postgres.stop()
        for path in ("/login/password", "/diary/", "/account/"):
            page = client.get(path, base_url=BASE)
            body = page.get_data(as_text=True)
            assert page.status_code == 503, path
            assert UNAVAILABLE in body and "Моя школа — Калуга и Калужская область" in body
        own_postgres.start()
        time.sleep(1)
    finally:
        running.clear()
        for thread in threads:
            thread.join(timeout=30)
    assert 503 in seen and set(seen) <= {200, 302, 503}, sorted(set(map(str, seen)))
    # The pool notices its dead connections by itself (pre-ping): no 500, no restart.
    statuses = [_password_page(client).status_code for _ in range(5)]
    assert statuses == [200] * 5
    with app.app_context():
        db.engine.dispose()
