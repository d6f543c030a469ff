"""Statements run by the driver's own cursor (``app.database.Prepared``): the same rows and the
same writes as SQLAlchemy's own execution, in the ORM session's transaction, seen by the
statement listeners, and failing as SQLAlchemy fails. Run on the suite's database: SQLite,
and PostgreSQL in CI."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import pytest
from sqlalchemy import Integer, String, bindparam, event, func, insert, literal, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, PendingRollbackError, StatementError

from app.database import Prepared
from app.extensions import db
from app.models import AuditEvent, ServerSession, User
from app.sessions import DatabaseStore, Record

_audit = AuditEvent.__table__
_WRITTEN = {name: bindparam(name) for name in ("kind", "tenant", "detail")}
_WRITE = Prepared(insert(_audit).values(_WRITTEN).inline())
_READ = select(_audit.c.id, _audit.c.created_at, _audit.c.kind, _audit.c.detail).where(
    _audit.c.tenant == bindparam("tenant")
)
DETAIL = {"текст": "Проверка «кавычек»", "числа": [1, 2.5, None], "вложено": {"да": True}}


def test_rows_and_writes_are_sqlalchemys_own(app):
    with app.app_context():
        before = datetime.now(UTC).replace(tzinfo=None)
        _WRITE.execute({"kind": "checked", "tenant": "mosreg", "detail": DETAIL})
        db.session.commit()
        # Read back by SQLAlchemy's own execution and by the prepared statement: equal rows,
        # a JSON value as written, and the time the column's default gave, as a datetime.
        own = [tuple(row) for row in db.session.execute(_READ, {"tenant": "mosreg"})]
        prepared = Prepared(_READ).all({"tenant": "mosreg"})
        assert prepared == own
        [(_id, created, kind, detail)] = prepared
        assert kind == "checked" and detail == DETAIL
        assert isinstance(created, datetime)
        assert created.replace(tzinfo=None) >= before.replace(microsecond=0)
        assert Prepared(_READ).first({"tenant": "kaluga"}) is None


def test_a_statements_own_values_are_bound(app):
    with app.app_context():
        statement = select(literal(7) + bindparam("n", type_=Integer),
                           literal("Да, ") + bindparam("s", type_=String))  # fmt: skip
        assert Prepared(statement).first({"n": 5, "s": "верно"}) == (12, "Да, верно")
        assert Prepared(select(func.count()).select_from(_audit)).scalar() == 0
        assert Prepared(text("SELECT :a + 1").bindparams(a=1)).scalar() == 2  # untyped text


def test_it_runs_in_the_orm_sessions_transaction(app):
    with app.app_context():
        count = Prepared(select(func.count()).select_from(_audit))
        _WRITE.execute({"kind": "undone", "tenant": "mosreg", "detail": {}})
        assert db.session.scalar(select(func.count()).select_from(_audit)) == 1  # seen inside
        db.session.rollback()
        assert count.scalar() == 0
        _WRITE.execute({"kind": "kept", "tenant": "mosreg", "detail": {}})
        db.session.commit()
        db.session.remove()
        assert count.scalar() == 1


def test_a_failed_transaction_must_be_rolled_back_first(app):
    """As with SQLAlchemy's own statements: after a failed flush, nothing runs in that
    transaction until it is rolled back."""
    count = Prepared(select(func.count()).select_from(_audit))
    with app.app_context():
        assert count.scalar() == 0  # the transaction's connection, now known
        db.session.add(AuditEvent(kind=None, tenant="mosreg"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        with pytest.raises(PendingRollbackError):
            count.scalar()
        db.session.rollback()
        assert count.scalar() == 0


def test_statement_listeners_see_every_statement_with_its_context(app):
    """Listened to (counted by a test, recorded, traced), a statement runs through
    SQLAlchemy's own execution: the listeners get its execution context too."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

        def note(_connection, _cursor, statement, _parameters, context, _many):
            context.noted = True  # what Flask-SQLAlchemy's query recording does
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", note)
        try:
            Prepared(_READ).all({"tenant": "mosreg"})
            _WRITE.execute({"kind": "seen", "tenant": "mosreg", "detail": {}})
        finally:
            event.remove(engine, "before_cursor_execute", note)
        db.session.rollback()
    assert [statement.split()[0] for statement in seen] == ["SELECT", "INSERT"]


def test_a_drivers_error_is_sqlalchemys_and_the_session_goes_on(app):
    with app.app_context():
        with pytest.raises(IntegrityError):  # kind may not be NULL
            _WRITE.execute({"kind": None, "tenant": "mosreg", "detail": {}})
        db.session.rollback()
        with pytest.raises(StatementError, match="kind"):  # a value missing
            _WRITE.execute({"tenant": "mosreg", "detail": {}})
        with pytest.raises(StatementError, match="serializable"):  # one JSON cannot take
            _WRITE.execute({"kind": "odd", "tenant": "mosreg", "detail": {"x": object()}})
        db.session.rollback()
        _WRITE.execute({"kind": "after", "tenant": "mosreg", "detail": {}})
        db.session.commit()
        assert Prepared(_READ).first({"tenant": "mosreg"})[2] == "after"


def test_a_parameter_that_expands_is_refused_when_prepared():
    with pytest.raises(TypeError, match="expands"):
        Prepared(
            select(User.__table__.c.id).where(
                User.__table__.c.id.in_(bindparam("ids", expanding=True))
            )
        )
    with pytest.raises(TypeError, match="expands"):
        Prepared(select(User.__table__.c.id).where(User.__table__.c.id.in_([1, 2])))


def test_the_session_stores_statements_on_this_database(app):
    """The demo's session store: saved, loaded, replaced and deleted by prepared statements."""
    store = DatabaseStore()
    record = Record("mosreg", 1000.0, 1001.5, {"sealed": "x", "список": [1, 2]}, 7, "UA", "::1")
    with app.test_request_context("/", headers={"Host": "mosreg.localhost"}):
        store.save("a" * 64, record, ttl=3600)
        db.session.remove()
        assert store.load("a" * 64) == record
        store.save("a" * 64, Record("mosreg", 1000.0, 1200.25, {"b": 1}, None), ttl=3600)
        assert store.load("a" * 64) == Record("mosreg", 1000.0, 1200.25, {"b": 1}, None)
        store.replace("a" * 64, "b" * 64, record, ttl=3600)
        assert store.load("a" * 64) is None and store.load("b" * 64) == record
        store.delete("b" * 64)
        assert store.load("b" * 64) is None
        assert db.session.scalar(select(func.count()).select_from(ServerSession)) == 0


def test_a_dropped_connection_is_invalidated_and_replaced(app):
    """A database restart drops the connection under a request: the error is SQLAlchemy's,
    the connection is marked invalid, and the pool gives the next request a new one."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("needs PostgreSQL (CI's second run): SQLite has no server to drop us")
        backend = Prepared(select(func.pg_backend_pid()))
        pid = backend.scalar()  # the request's connection, held by its transaction
        with db.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as raised:
            backend.scalar()
        assert raised.value.connection_invalidated
        db.session.rollback()
        assert backend.scalar() != pid


def test_a_forgotten_database_takes_its_forms_with_it():
    """Forms are kept per dialect, weakly: an engine dropped (a test's app) leaves nothing."""
    statements = [Prepared(_READ), Prepared(insert(_audit).values(_WRITTEN).inline())]
    dialect = sqlite.dialect()
    read, write = (statement._form(dialect) for statement in statements)
    assert read.types and write.in_  # with the conversions of JSON and of dates
    assert [len(statement._forms) for statement in statements] == [1, 1]
    del dialect, read, write
    gc.collect()
    assert [len(statement._forms) for statement in statements] == [0, 0]
