"""Migrations: the schema they build is the schema the models describe, on either database.

The session fixture has already run ``flask db upgrade`` on this run's database (SQLite by
default; PostgreSQL when TEST_DATABASE_URL names one, as in CI's second pass).
"""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from app.extensions import db


def test_migrated_schema_matches_the_models(app):
    with app.app_context(), db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_every_table_is_created_by_migrations(app):
    with app.app_context():
        tables = set(inspect(db.engine).get_table_names())
    assert {table.name for table in db.metadata.sorted_tables} <= tables
    assert "alembic_version" in tables


def test_downgrade_to_base_and_up_again(app):
    with app.app_context():
        downgrade(revision="base")
        assert inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade()
        assert "audit_event" in inspect(db.engine).get_table_names()


def test_a_downgrade_below_the_audit_spool_waits_for_its_rows(app, caplog, capfd):
    """The code before the spool never moves its rows: the downgrade refuses while it holds
    any, and goes once they are drained."""
    import pytest

    from app import audit_spool

    with app.app_context():
        spool = app.extensions.get("audit_spool")
        if spool is None:
            pytest.skip("PostgreSQL: no spool (the rows are committed by the views)")
        spool.append({"created_at": "2026-12-07T03:00:00+00:00", "kind": "spool_migration",
                      "tenant": "mosreg", "actor_id": 1, "ip": None, "detail": {},
                      "subject_id": None, "subject_person_id": None})  # fmt: skip
        with pytest.raises(SystemExit):  # Flask-Migrate's way to fail a command
            downgrade(revision="0017")
        said = caplog.text + "".join(capfd.readouterr())  # (where alembic's logging sends it)
        assert "run `flask --app wsgi audit drain` before this downgrade" in said
        assert "audit_spool_batch" in inspect(db.engine).get_table_names()
        assert audit_spool.settle() == 1
        downgrade(revision="0017")
        assert "audit_spool_batch" not in inspect(db.engine).get_table_names()
        upgrade()
