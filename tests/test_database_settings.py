"""The database is set up for a server, and the hot pages ask it only what they must.

Speed itself is measured by ``make bench`` (bench/pages.py), never here; these tests keep
the settings and the query counts that the figures depend on.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from app import create_app
from app.database import BUSY_TIMEOUT_SECONDS, engine_options
from app.extensions import db
from tests.conftest import test_environ


def test_sqlite_runs_in_wal_with_a_busy_timeout(tmp_path):
    app = create_app(test_environ(f"sqlite:///{tmp_path / 'portal.db'}"))
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        timeout_ms = db.session.execute(text("PRAGMA busy_timeout")).scalar()
        assert timeout_ms == BUSY_TIMEOUT_SECONDS * 1000
        db.engine.dispose()


@pytest.mark.parametrize(("threads", "pool"), [("", 1), ("4", 4)])
def test_postgresql_pool_is_sized_to_the_worker(threads, pool):
    options = engine_options("postgresql+psycopg://db/portal", {"THREADS": threads})
    assert options["pool_size"] == pool
    assert options["max_overflow"] == pool
    assert options["pool_pre_ping"] is True


def test_postgresql_settings_reach_the_engine():
    app = create_app(
        test_environ("postgresql+psycopg://nobody@127.0.0.1:1/none"), {"TESTING": True}
    )
    with app.app_context():
        assert db.engine.pool.size() == 1  # one sync worker, one connection


def _statements(app, fetch) -> list[str]:
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        fetch()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


@pytest.mark.parametrize(("host", "path"), [("mosreg.localhost", "/login"), ("localhost", "/")])
def test_an_anonymous_page_reads_nothing_but_the_region_versions(app, host, path):
    client = app.test_client()
    client.get(path, headers={"Host": host})  # the first request refreshes the versions
    statements = _statements(app, lambda: client.get(path, headers={"Host": host}))
    assert statements == []  # the versions are not asked again within TENANT_REFRESH_SECONDS
    app.config["TENANT_REFRESH_SECONDS"] = 0
    statements = _statements(app, lambda: client.get(path, headers={"Host": host}))
    assert len(statements) == 1 and "tenant_version" in statements[0]
