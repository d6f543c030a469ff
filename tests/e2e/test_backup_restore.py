"""The runbook's backup and restore (deploy/*-postgres.sh): a dump of a live database comes
back whole in a fresh one, and a restore never lands on top of data."""

from __future__ import annotations

import os
import subprocess

import pytest
from sqlalchemy import create_engine, func, select, text

from app.demo import seed
from app.extensions import db
from app.models import Person
from app.settings import PROJECT_ROOT
from tests.conftest import fresh_postgres

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(
    not ADMIN_URL.startswith("postgres"),
    reason="PostgreSQL backups: make test-pg (and CI) run this with TEST_DATABASE_URL",
)


def script(name: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [str(PROJECT_ROOT / "deploy" / name), *args], env={**os.environ, **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_backup_restores_into_a_fresh_database(app, database_uri, tmp_path):
    with app.app_context():
        seed(app.extensions["tenants"].get("kaluga"))
        people = db.session.scalar(select(func.count(Person.id)))
        snils = db.session.scalar(select(Person.snils).where(Person.snils.is_not(None)).limit(1))
    dump = tmp_path / "portal.dump"
    made = script("backup-postgres.sh", str(dump), DATABASE_URL=database_uri)
    assert made.returncode == 0, made.stderr
    assert dump.stat().st_size > 0

    fresh = fresh_postgres(ADMIN_URL)
    target = next(fresh)
    try:
        restored = script("restore-postgres.sh", str(dump), target)
        assert restored.returncode == 0, restored.stderr
        engine = create_engine(target.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.connect() as conn:
            assert (
                conn.execute(select(func.count()).select_from(Person.__table__)).scalar() == people
            )
            assert (
                conn.execute(
                    select(func.count()).select_from(Person.__table__).where(Person.snils == snils)
                ).scalar()
                >= 1
            )
            version = conn.execute(text("select version_num from alembic_version")).scalar()
        engine.dispose()
        assert f"schema version {version}" in restored.stdout
        again = script("restore-postgres.sh", str(dump), target)
        assert again.returncode == 2 and "not empty" in again.stderr
    finally:
        next(fresh, None)
