"""How the portal talks to its database: set up for a server, not for a script.

- SQLite, the embedded default (the demo, a small region): write-ahead logging, so readers
  never wait for the writer and a commit is an append rather than a journal rewrite;
  ``synchronous=NORMAL``, which in WAL mode loses no committed transaction on a crash of the
  process (only, at worst, the last ones on a power cut, and never corrupts the file); a
  busy timeout, so two workers writing at once wait for each other instead of failing.
- PostgreSQL: a pool per worker process sized to the threads that share it (gunicorn's
  ``THREADS``), with a short wait for a connection and a liveness check on checkout, so a
  restarted database costs one retried checkout instead of a failed request.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Table, TextClause, bindparam, event, text
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql.expression import Executable

from app.extensions import db

# Seconds a writer waits for another worker's transaction before giving up.
BUSY_TIMEOUT_SECONDS = 5
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL")


def engine_options(url: str, environ: Mapping[str, str]) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": BUSY_TIMEOUT_SECONDS}}
    threads = int(environ.get("THREADS") or 1)
    return {
        "pool_pre_ping": True,
        "pool_size": threads,
        "max_overflow": threads,  # commands and background work beside the requests
        "pool_timeout": BUSY_TIMEOUT_SECONDS,
    }


@event.listens_for(Engine, "connect")
def _server_pragmas(connection, _record) -> None:
    """Every new SQLite connection, whichever engine made it (the app's, Alembic's)."""
    if type(connection).__module__.split(".")[0] not in ("sqlite3", "pysqlite2"):
        return
    cursor = connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def upsert(table: Table, add: Iterable[str] = ()) -> TextClause:
    """One statement that writes a row of ``table`` (a value for every column) whether or not
    its key exists yet, which two writers at once cannot both take for a new row (both
    databases the portal runs on say ON CONFLICT … DO UPDATE): an existing row's columns
    in ``add`` are added to, the others replaced.

    Written as text with typed parameters because SQLAlchemy's dialect-specific INSERT cannot
    be cached: it would be compiled again on every request that writes."""
    keys = [column.name for column in table.primary_key.columns]
    add = set(add)
    changed = ", ".join(
        f"{name} = {table.name}.{name} + excluded.{name}" if name in add
        else f"{name} = excluded.{name}"
        for name in (column.name for column in table.c) if name not in keys
    )  # fmt: skip
    return _insert(table, list(table.c), f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {changed}")


def insert_new(table: Table, unique: Iterable[str]) -> TextClause:
    """One statement that writes a new row of ``table`` (a value for every column but its
    generated key) unless a row with the same ``unique`` columns is there: of two writers at
    once, the later waits for the earlier and writes nothing (ON CONFLICT … DO NOTHING), with
    no error to recover from. Text with typed parameters, as :func:`upsert`."""
    columns = [column for column in table.c if not column.primary_key]
    return _insert(table, columns, f"ON CONFLICT ({', '.join(unique)}) DO NOTHING")


def _insert(table: Table, columns: list, conflict: str) -> TextClause:
    names = [column.name for column in columns]
    # The names are the model's own and every value is bound: nothing here comes from input.
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) "  # noqa: S608
        f"VALUES ({', '.join(f':{name}' for name in names)}) {conflict}"
    )
    return text(sql).bindparams(*(bindparam(column.name, type_=column.type) for column in columns))


class Prepared:
    """A Core statement the portal runs on every request, compiled once for each database and
    run with the driver's own cursor on the ORM session's connection, in its transaction.

    SQLAlchemy's execution of even a cached statement (the ORM session's bookkeeping, the
    execution context, the result's wrapping) costs several times the database's own work
    for a small indexed read; a diary view runs five of them. This keeps what SQLAlchemy
    does that matters here and nothing else:

    - the values go through the columns' own types (a JSON column is written and read as
      JSON, a date as SQLite stores it), and an INSERT fills in the columns' Python-side
      defaults, as SQLAlchemy would;
    - a driver's error is raised as SQLAlchemy's (``DBAPIError``), a value that cannot be
      bound as ``StatementError``, and a connection the database dropped (or a worker stopped
      in the middle of a statement) is invalidated so that the pool replaces it;
    - when anything listens to the connection's statements (the tests that count a page's
      statements, ``SQLALCHEMY_RECORD_QUERIES``, a tracer), the statement runs through
      SQLAlchemy's own execution instead, so that the listeners get all they expect.

    What it does not do: parameters that expand (``IN`` lists) or are rendered into the SQL,
    which would need compiling per call (refused when the statement is prepared); defaults
    that read the execution context; SQL echo (``SQLALCHEMY_ECHO`` does not show these)."""

    def __init__(self, statement: Executable):
        self.statement = statement
        # A form holds no reference to its dialect: it goes with the engine it came from.
        self._forms: weakref.WeakKeyDictionary[Dialect, _Form] = weakref.WeakKeyDictionary()
        _refuse_what_it_cannot_run(statement.compile())  # now, not on the first request

    def _form(self, dialect: Dialect) -> _Form:
        form = self._forms.get(dialect)
        if form is None:
            form = self._forms[dialect] = _Form(self.statement, dialect)
        return form

    def _rows(self, params: Mapping[str, Any], first: bool):
        connection = _session_connection()
        if _listened(connection):
            result = connection.execute(self.statement, params)
            rows = [result.first()] if first else result.all()
            return [None if row is None else tuple(row) for row in rows]
        dialect = connection.dialect
        form = self._form(dialect)
        cursor = form.run(connection, params)
        try:
            rows = [cursor.fetchone()] if first else cursor.fetchall()
            if first and rows[0] is None:
                return [None]
            return form.rows(dialect, cursor, rows)
        finally:
            _close(cursor)

    def all(self, params: Mapping[str, Any] = {}) -> list[tuple]:
        return self._rows(params, first=False)

    def first(self, params: Mapping[str, Any] = {}) -> tuple | None:
        return self._rows(params, first=True)[0]

    def scalar(self, params: Mapping[str, Any] = {}) -> Any:
        row = self.first(params)
        return None if row is None else row[0]

    def execute(self, params: Mapping[str, Any] = {}) -> int:
        """A statement that returns no rows; the number of rows it changed."""
        connection = _session_connection()
        if _listened(connection):
            return connection.execute(self.statement, params).rowcount
        cursor = self._form(connection.dialect).run(connection, params)
        try:
            return cursor.rowcount
        finally:
            _close(cursor)


def _unbound(error: Exception, sql: str, params) -> StatementError:
    return StatementError(f"({type(error).__name__}) {error}", sql, params, error)


def _listened(connection: Connection) -> bool:
    dispatch = connection.dispatch
    return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute)


def _close(cursor) -> None:
    """A cursor closed without raising: its connection may be gone already."""
    if cursor is not None:
        with contextlib.suppress(Exception):
            cursor.close()


def _session_connection() -> Connection:
    """The ORM session's connection in its transaction (begun if none is): asked of the
    session once per transaction, since each asking costs as much as a small statement."""
    session = db.session()
    transaction = session.get_transaction()
    kept = session.info.get(_KEPT_CONNECTION)
    if (
        kept is not None
        and transaction is not None
        and kept[0] is transaction
        and transaction.is_active
    ):
        connection = kept[1]
        if not (connection.closed or connection.invalidated):
            return connection
    connection = session.connection()
    session.info[_KEPT_CONNECTION] = (session.get_transaction(), connection)
    return connection


_KEPT_CONNECTION = "prepared: the transaction's connection"


def _refuse_what_it_cannot_run(compiled) -> None:
    if any(bind.expanding or bind.literal_execute for bind in compiled.binds.values()):
        raise TypeError("a prepared statement cannot take a parameter that expands")
    if getattr(compiled, "update_prefetch", ()) or getattr(compiled, "postfetch", ()):
        raise TypeError("a prepared statement cannot compute a column's value on update")


class _Form:
    """A statement as one database runs it: its SQL, the order of its parameters, and the
    conversions of its columns' types."""

    def __init__(self, statement: Executable, dialect: Dialect):
        compiled = statement.compile(dialect=dialect)
        _refuse_what_it_cannot_run(compiled)
        self.sql = str(compiled)
        binds = compiled.binds
        self.names = list(compiled.positiontup) if dialect.positional else None
        # The columns' defaults an INSERT computes, and the statement's own values (a literal
        # compared with).
        self.defaults = {column.key: column.default
                         for column in getattr(compiled, "insert_prefetch", ())}  # fmt: skip
        self.constants = {name: bind.effective_value for name, bind in binds.items()
                          if not bind.required and name not in self.defaults}  # fmt: skip
        self.required = {name for name, bind in binds.items() if bind.required}
        self.in_ = {
            name: processor
            for name, bind in binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
        }
        self.types = [column.type.dialect_impl(dialect)
                      for column in getattr(statement, "selected_columns", ())]  # fmt: skip
        # The conversions of the results, found at the first run: some depend on the type the
        # database says a column has (PostgreSQL's numbers).
        self.out: list | None = None

    def values(self, params: Mapping[str, Any]) -> dict[str, Any] | list[Any]:
        values = {**self.constants, **params}
        for key, default in self.defaults.items():
            if key not in values:
                values[key] = default.arg(None) if default.is_callable else default.arg
        if missing := self.required - values.keys():
            raise KeyError(f"no value for {', '.join(sorted(missing))}")
        for name, processor in self.in_.items():
            values[name] = processor(values[name])
        return values if self.names is None else [values[name] for name in self.names]

    def run(self, connection: Connection, params: Mapping[str, Any]):
        """The statement executed on ``connection``'s driver connection: its cursor."""
        dialect = connection.dialect
        try:
            values = self.values(params)
        except Exception as error:  # a value missing, or one its type cannot take
            raise _unbound(error, self.sql, params) from error
        fairy = connection.connection
        cursor = None
        try:
            cursor = fairy.cursor()
            cursor.execute(self.sql, values)
        except dialect.loaded_dbapi.Error as error:
            gone = dialect.is_disconnect(error, fairy.dbapi_connection, cursor)
            _close(cursor)
            if gone:
                connection.invalidate(error)
            raise DBAPIError.instance(self.sql, values, error, dialect.loaded_dbapi.Error,
                                      connection_invalidated=gone,
                                      dialect=dialect) from error  # fmt: skip
        except Exception as error:  # a value the driver could not send (psycopg dumps JSON)
            _close(cursor)
            raise _unbound(error, self.sql, values) from error
        except BaseException as error:  # stopped mid-statement: the protocol is in an
            _close(cursor)  # unknown state
            connection.invalidate(error)
            raise
        return cursor

    def rows(self, dialect: Dialect, cursor, rows: Iterable[tuple]) -> list[tuple]:
        out = self.out
        if out is None:  # a text statement has no columns to say its types: taken as they come
            described = [entry[1] for entry in cursor.description or ()] if self.types else []
            out = [kind.result_processor(dialect, code)
                   for kind, code in zip(self.types, described, strict=True)]  # fmt: skip
            out = self.out = out if any(out) else []
        if not out:
            return list(rows)
        return [tuple(value if convert is None else convert(value)
                      for convert, value in zip(out, row, strict=True))
                for row in rows]  # fmt: skip
