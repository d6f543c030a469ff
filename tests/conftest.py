"""Fixtures: one database per test run (SQLite, or PostgreSQL via TEST_DATABASE_URL), an app
per test, and a client per region host, in the manner of Flask's tutorial."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import audit_spool, catalogues, create_app
from app.extensions import db
from app.settings import PROJECT_ROOT, database_url

REGION_SLUGS = ("mosreg", "kaluga", "tatarstan", "moscow")
# Redis keys of this run (sessions, rate limits) carry this prefix and are removed at the end.
REDIS_PREFIX = f"myschool-test-{uuid.uuid4().hex[:12]}"


def fresh_postgres(admin_url: str) -> Iterator[str]:
    """CREATE a uniquely named database on the server of ``admin_url``; DROP it afterwards."""
    admin = make_url(database_url(admin_url))
    name = f"portal_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def pytest_configure(config):
    # The app reads the compiled catalogues: compile those older than their .po (make does too).
    catalogues.compile_all(only_stale=True)


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory) -> Iterator[str]:
    """A migrated, empty database for this run."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured and configured.startswith("postgres"):
        source = fresh_postgres(configured)
        uri = next(source)
    else:
        source = None
        uri = f"sqlite:///{tmp_path_factory.mktemp('db') / 'portal.db'}"
    app = create_app(test_environ(uri))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield uri
    if source is not None:
        next(source, None)


def test_environ(uri: str, **extra: str) -> dict[str, str]:
    environ = {
        "PORTAL_ENV": "testing",
        "DATABASE_URL": uri,
        "SECRET_KEY": "t" * 40,
        "REGIONS_FILE": str(Path(__file__).parent.parent / "config" / "regions.yaml"),
    }
    if os.environ.get("REDIS_URL"):
        environ["REDIS_URL"] = os.environ["REDIS_URL"]
    environ["REDIS_KEY_PREFIX"] = REDIS_PREFIX
    environ.update(extra)
    return environ


test_environ.__test__ = False  # a helper, not a test


@pytest.fixture(scope="session", autouse=True)
def redis_cleanup():
    yield
    if os.environ.get("REDIS_URL"):
        import redis

        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        # The sessions', and the limits' (the `limits` library puts its own words first).
        for pattern in (f"{REDIS_PREFIX}*", f"LIMITS:LIMITER/{REDIS_PREFIX}*"):
            for key in client.scan_iter(pattern):
                client.delete(key)


def regions_file(directory: Path, change) -> Path:
    """config/regions.yaml as ``change(raw)`` leaves it (a region added, a field set), written
    under ``directory``."""
    raw = yaml.safe_load((PROJECT_ROOT / "config" / "regions.yaml").read_text(encoding="utf-8"))
    change(raw)
    path = directory / "regions.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def empty_tables(app) -> None:
    """What a test wrote, gone: the next one starts from a migrated, empty database (and an
    empty audit spool)."""
    with app.app_context():
        audit_spool.settle()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()


@pytest.fixture
def app(database_uri):
    app = create_app(test_environ(database_uri), {"TESTING": True})
    yield app
    empty_tables(app)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A client on the apex (region chooser) host."""
    return app.test_client()


class HostClient(FlaskClient):
    """A test client whose requests go to one host unless a request names another."""

    host_url = "http://localhost/"

    def open(self, *args, **kwargs):
        kwargs.setdefault("base_url", self.host_url)
        return super().open(*args, **kwargs)


@pytest.fixture
def region_client(app):
    """``region_client("kaluga")``: a client whose requests go to that region's dev host."""

    def make(slug: str, host: str | None = None):
        app.test_client_class = HostClient
        client = app.test_client()
        client.host_url = f"http://{host or slug + '.localhost'}/"
        return client

    return make


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def require_gost_engine() -> None:
    """Skip (or, under CI, fail) when OpenSSL's GOST engine is missing."""
    from app.identity.esia.gost import openssl_available

    if not openssl_available():
        message = "OpenSSL's gost engine is missing (apt-get install libengine-gost-openssl)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def gost_pair(tmp_path_factory):
    """A GOST key and self-signed certificate made by openssl, as a region would hold them."""
    from app.identity.esia.gost import make_test_certificate

    require_gost_engine()
    return make_test_certificate(tmp_path_factory.mktemp("gost"), "Тестовая система")
