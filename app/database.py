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

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Table, TextClause, bindparam, event, text
from sqlalchemy.engine import Engine

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
    names = [column.name for column in table.c]
    add = set(add)
    changed = ", ".join(
        f"{name} = {table.name}.{name} + excluded.{name}" if name in add
        else f"{name} = excluded.{name}"
        for name in names if name not in keys
    )  # fmt: skip
    # The names are the model's own and every value is bound: nothing here comes from input.
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)}) "  # noqa: S608
        f"VALUES ({', '.join(f':{name}' for name in names)}) "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {changed}"
    )
    return text(sql).bindparams(*(bindparam(column.name, type_=column.type) for column in table.c))
