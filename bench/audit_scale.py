"""The audit log at region scale: the regional administrator's login statistics and audit log
(«Журнал событий») with a thousand audit rows and with ten million (issue 21, point 3).

For each size (audit rows, a thousand or more: the pages are checked full;
``BENCH_AUDIT_SIZES``, default 1000,1000000,10000000), in a fresh database of its own,
migrated (as ``bench/registry_scale.py`` makes them):

- the region's people, the same at every size, written by SQL: 1,500 schools of 33 classes,
  ``BENCH_AUDIT_ACCOUNTS`` (default 1,000,000) registry records each enrolled in a class and
  held by an account, and a regional administrator of mosreg;
- the audit rows of mosreg over the last 30 days, written on the server by INSERT … SELECT
  from generate_series a million at a time, as the code writes them (:data:`MIX`): 45 %
  logins, 45 % diary views, 5 % failed logins with their reasons, the rest logouts, stopped
  logins, consents and refused pages; who acted and whom it is about drawn from every account;
- the login counters those rows imply, made as the product makes them, by ``flask counters
  rebuild`` (its wall time and peak memory reported), with the region's and the schools' day
  counters and the schools' running totals up to yesterday (``app/login_totals.py``);
- after VACUUM ANALYZE (run before the rebuild too), each page fetched by the signed-in
  administrator through the app, in-process by Flask's test client (2 warm-ups, then 20
  timed: median and 95th percentile): the statistics for 30 days, the log's first page, its
  first page of one kind, of one person, and a page half-way back by its keyset cursor; the
  queries of the log and of the counters those pages ran, explained (ANALYZE, BUFFERS), and
  whether any plan reads audit_event sequentially;
- audit_event's size with its indexes, per row, and for 150 million rows (a month of a large
  region).

Target: each page costs the same at 10 million rows as at a thousand (the last line's ratios
≈ 1), by index, with no sequential scan of audit_event. One JSON line per size on stdout, the
ratios last; progress on stderr. Measured up to a million rows; 10 million should take about
20 minutes in all (the writing and the rebuild most of it).
``BENCH_AUDIT_ACCOUNTS`` smaller makes the region's people quicker to write.

    BENCH_DATABASE=postgresql+psycopg://postgres@127.0.0.1:5432/test python -m bench.audit_scale
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from itertools import accumulate, pairwise

import psycopg
from sqlalchemy import event, text

from app import create_app
from app.accounts import grant_regional_admin
from app.audit import SUBJECT_PERSON_KEYS, SUBJECT_USER_KEYS
from app.audit_log import PAGE, Cursor
from app.extensions import db
from bench.registry_scale import REGION, SERVER, _database, _drop, _run, server_url
from bench.serving import BIN

SIZES = [int(n) for n in os.environ.get("BENCH_AUDIT_SIZES", "1000,1000000,10000000").split(",")]
ACCOUNTS = int(os.environ.get("BENCH_AUDIT_ACCOUNTS", "1000000"))
SCHOOLS, CLASSES = 1500, 33  # classes per school: 1А … 11В
DAYS = 30
# The statements explained: those that read the log, the counters or what is made of them.
READS_LOG = re.compile(
    r"FROM (audit_event|login_counter|login_day_counter|school_day_counter|school_login_total)\b"
)
CHUNK = 1_000_000
WARM_UPS, TIMED = 2, 20
LARGE_MONTH = 150_000_000  # audit rows a month of a large region writes
HOST = f"http://{REGION}.localhost/"
ESIA_ISSUER = "http://esia.gosuslugi.ru/"

# What the region's log holds, as shares of its rows: (share, kind, the failure's reason or the
# stopped login's outcome). The detail of each is what the code records (app/signin.py,
# app/blueprints/auth/routes.py, app/blueprints/diary/routes.py, app/consent.py).
MIX = (
    (0.45, "login_succeeded", ""),
    (0.45, "diary_viewed", ""),
    (0.025, "login_failed", "wrong_credentials"),
    (0.01, "login_failed", "provider_unavailable"),
    (0.005, "login_failed", "account_disabled"),
    (0.005, "login_failed", "refused"),
    (0.005, "login_failed", "bad_state"),
    (0.03, "logout", ""),
    (0.005, "login_stopped", "not_found"),
    (0.0025, "login_stopped", "parent_consent_needed"),
    (0.0025, "login_stopped", "own_consent_needed"),
    (0.005, "consent_given", ""),
    (0.005, "forbidden", ""),
)
LOGINS = ("login_succeeded", "login_stopped", "login_failed")


def progress(text: str) -> None:
    print(f"audit_scale: {text}", file=sys.stderr, flush=True)


# --- the region: schools, people, accounts ------------------------------------------------------

SURNAMES = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов",
            "Михайлов", "Новиков", "Фёдоров", "Морозов", "Волков"]  # fmt: skip
NAMES = ["Александр", "Мария", "Дмитрий", "Анна", "Максим", "Софья", "Иван", "Елизавета",
         "Артём", "Виктория"]  # fmt: skip


def school_of(person: str) -> str:
    """The SQL of the school whose class a registry record is enrolled in (:data:`PEOPLE`);
    ``%%`` is the modulo operator in statements with parameters."""
    return f"(1 + ({person})::bigint * 7919 %% {SCHOOLS * CLASSES} / {CLASSES})"


# Ids are given, and the sequences moved past them, so that the audit rows can name them.
SURNAME, NAME = "(%(surnames)s::text[])[1 + g %% 12]", "(%(names)s::text[])[1 + g / 12 %% 10]"
PEOPLE = (
    f"""INSERT INTO school (id, tenant, key, full_name, short_name, search_key)
    SELECT s, %(region)s, 'school-' || s, 'Средняя общеобразовательная школа № ' || s,
           'Школа № ' || s, 'средняя общеобразовательная школа № ' || s
    FROM generate_series(1, {SCHOOLS}) AS s""",  # noqa: S608
    f"""INSERT INTO school_class (id, school_id, name)
    SELECT (s - 1) * {CLASSES} + c, s,
           (1 + (c - 1) / 3) || (ARRAY['А', 'Б', 'В'])[1 + (c - 1) %% 3]
    FROM generate_series(1, {SCHOOLS}) AS s, generate_series(1, {CLASSES}) AS c""",  # noqa: S608
    f"""INSERT INTO person (id, tenant, key, last_name, first_name, middle_name, birth_date,
                            snils, name_key)
    SELECT g, %(region)s, 'person-' || g, {SURNAME}, {NAME}, '', DATE '2008-09-01' + g %% 4000,
           lpad(g::text, 11, '0'), lower({SURNAME} || ' ' || {NAME})
    FROM generate_series(1, %(accounts)s::int) AS g""",  # noqa: S608
    f"""INSERT INTO enrolment (person_id, class_id, active)
    SELECT g, 1 + g::bigint * 7919 %% {SCHOOLS * CLASSES}, true
    FROM generate_series(1, %(accounts)s::int) AS g""",  # noqa: S608
    f"""INSERT INTO user_account (id, tenant, issuer, subject, display_name, person_id,
                                  created_at, disabled, surname_key)
    SELECT g, %(region)s, %(issuer)s, 'bench-' || g, {SURNAME} || ' ' || {NAME}, g, now(),
           false, lower({SURNAME})
    FROM generate_series(1, %(accounts)s::int) AS g""",  # noqa: S608
    f"SELECT setval('school_id_seq', {SCHOOLS})",
    f"SELECT setval('school_class_id_seq', {SCHOOLS * CLASSES})",
    "SELECT setval('person_id_seq', %(accounts)s)",
    "SELECT setval('user_account_id_seq', %(accounts)s)",
)  # S608: the names and numbers are this module's constants; the values are bound


def people(connection: psycopg.Connection) -> None:
    values = {"region": REGION, "accounts": ACCOUNTS, "issuer": ESIA_ISSUER,
              "surnames": SURNAMES, "names": NAMES}  # fmt: skip
    with connection.transaction():
        for statement in PEOPLE:
            connection.execute(statement, {k: v for k, v in values.items()
                                           if f"%({k})s" in statement})  # fmt: skip


# --- the audit rows -----------------------------------------------------------------------------


def _case(column: int) -> str:
    """A CASE choosing, by the draw ``r``, the kind (column 1) or the reason (column 2)."""
    bounds = accumulate(share for share, _, _ in MIX)
    arms = [f"WHEN r < {b:.4f} THEN '{e[column]}'" for b, e in zip(bounds, MIX, strict=True)]
    return "CASE " + " ".join(arms[:-1]) + f" ELSE '{MIX[-1][column]}' END"


def _subject(keys: tuple[str, ...]) -> str:
    """The SQL of app.audit.subject_of: the first of the detail's keys that names an id."""
    return "COALESCE(" + ", ".join(f"(detail ->> '{key}')::int" for key in keys) + ")"


# One row per number of the series: ``r`` draws the kind and reason, ``m`` the login method,
# ``u`` the account that acts, ``p`` another registry record (a parent's child, whose login was
# mistyped, whom a record that differs is near); the rows are written in the order of time, a
# little shuffled, as concurrent requests write them.
EVENTS = f"""
INSERT INTO audit_event (created_at, tenant, kind, actor_id, ip, detail, subject_id,
                         subject_person_id)
SELECT created_at, %(region)s, kind, actor, ip, detail::json,
       {_subject(SUBJECT_USER_KEYS)}, {_subject(SUBJECT_PERSON_KEYS)}
FROM (
  SELECT created_at, kind, format('%%s.%%s.%%s.%%s', 31 + u %% 200, u / 200 %% 256,
                                  u %% 256, 1 + g %% 254) AS ip,
         CASE WHEN kind = 'login_failed' AND reason <> 'account_disabled' THEN NULL
              ELSE u END AS actor,
         CASE kind
           WHEN 'login_succeeded' THEN jsonb_build_object(
             'method', CASE WHEN m < 0.8 THEN 'esia' ELSE 'password' END, 'outcome', 'diary',
             'person_id', u, 'schools', '[]'::jsonb)
           WHEN 'diary_viewed' THEN jsonb_build_object(
             'student_id', CASE WHEN m < 0.45 THEN u ELSE p END,
             'role', CASE WHEN m < 0.45 THEN 'student' ELSE 'guardian' END,
             'week', to_char(created_at AT TIME ZONE 'Europe/Moscow', 'IYYY-"W"IW'))
           WHEN 'login_failed' THEN jsonb_build_object(
             'method', CASE WHEN reason = 'wrong_credentials' THEN 'password' ELSE 'esia' END,
             'reason', reason) || CASE reason
               WHEN 'wrong_credentials' THEN jsonb_build_object('login', 'ivanov' || p)
               WHEN 'provider_unavailable' THEN '{{"detail": "ReadTimeout"}}'::jsonb
               WHEN 'refused' THEN '{{"detail": "access_denied"}}'::jsonb
               WHEN 'bad_state' THEN '{{"detail": "state"}}'::jsonb
               ELSE '{{}}'::jsonb END
           WHEN 'login_stopped' THEN jsonb_build_object('method', 'esia', 'outcome', reason)
             || CASE WHEN reason = 'not_found'
                  THEN jsonb_build_object('schools', jsonb_build_array({school_of("p")}))
                  ELSE jsonb_build_object('person_id', u, 'schools', '[]'::jsonb) END
           WHEN 'consent_given' THEN jsonb_build_object('consent', 'own', 'user_id', u,
             'changes', '[{{"field": "consent.own", "old": null, "new": "given"}}]'::jsonb)
           WHEN 'forbidden' THEN '{{"path": "/school/requests"}}'::jsonb
           ELSE '{{}}'::jsonb
         END AS detail
  FROM (
    SELECT g, m, u, p, {_case(1)} AS kind, {_case(2)} AS reason,
           %(start)s::timestamptz + make_interval(secs => (g - random()) * %(step)s)
             AS created_at
    FROM (
      SELECT g, random() AS r, random() AS m,
             1 + floor(random() * %(accounts)s)::int AS u,
             1 + floor(random() * %(accounts)s)::int AS p
      FROM generate_series(%(first)s::int, %(last)s::int) AS g
    ) AS drawn
  ) AS chosen
) AS made
"""  # noqa: S608 -- the SQL is made from this module's constants; the values are bound


def write_events(connection: psycopg.Connection, rows: int, start: datetime) -> float:
    """``rows`` audit rows of the region from ``start`` to now, a chunk a transaction; their
    wall time."""
    step = DAYS * 86400 / rows
    started = time.perf_counter()
    for first in range(1, rows + 1, CHUNK):
        last = min(first + CHUNK - 1, rows)
        with connection.transaction():
            connection.execute(EVENTS, {"region": REGION, "accounts": ACCOUNTS, "start": start,
                                        "step": step, "first": first, "last": last})  # fmt: skip
        seconds = time.perf_counter() - started
        progress(f"{last:,} of {rows:,} audit rows written ({seconds:.0f} s, "
                 f"{last / seconds:,.0f} a second)")  # fmt: skip
    return time.perf_counter() - started


# --- the pages ----------------------------------------------------------------------------------


class Statements:
    """The statements the app sends while ``on``: how many a page runs, and which, to explain
    those that read the log or the counters."""

    def __init__(self) -> None:
        self.on, self.seen = False, []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if self.on:
            self.seen.append((statement, parameters))

    def fetch(self, client, path: str):
        self.on, self.seen = True, []
        try:
            return client.get(path, base_url=HOST)
        finally:
            self.on = False


def shown(page: str) -> list[tuple[str, int]]:
    """The (kind, id) of each event a page of the log lists."""
    return [(kind, int(n)) for kind, n in re.findall(r'<tr data-kind="([^"]*)" data-id="(\d+)"',
                                                     page)]  # fmt: skip


def timed(client, statements: Statements, path: str, check) -> dict:
    """Median, 95th percentile and fastest of ``path`` after warm-ups; each answer checked."""
    timings = []
    for n in range(WARM_UPS + TIMED):
        started = time.perf_counter()
        response = statements.fetch(client, path)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}")
        page = response.get_data(as_text=True)
        check(page)
        if n >= WARM_UPS:
            timings.append(elapsed)
    timings.sort()
    # The fastest too: on a busy machine it says more of the page than of the neighbours.
    result = {"median_ms": round(statistics.median(timings), 2),
              "p95_ms": round(timings[int(len(timings) * 0.95)], 2),
              "min_ms": round(timings[0], 2),
              "queries": len(statements.seen)}  # fmt: skip
    if listed := len(shown(page)):  # the log's pages: how many events the last one listed
        result["events_listed"] = listed
    return result


def explained(statement: str, parameters) -> dict:
    """The plan of a page's query as PostgreSQL runs it: time, buffers, the rows its filters
    threw away, its nodes, and whether it reads audit_event whole."""
    cursor = db.session.connection().connection.cursor()
    cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, parameters)
    plan = cursor.fetchone()[0][0]
    nodes, stack = [], [plan["Plan"]]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.get("Plans", []))
    top = plan["Plan"]
    return {
        "ms": round(plan["Execution Time"], 2),
        "buffers": top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0),
        "rows_removed_by_filter": sum(n.get("Rows Removed by Filter", 0) for n in nodes),
        "nodes": [n["Node Type"] + (f" on {n['Index Name']}" if "Index Name" in n else "")
                  for n in nodes],
        "seq_scan_on_audit_event": any(n["Node Type"] == "Seq Scan"
                                       and n.get("Relation Name") == "audit_event"
                                       for n in nodes),
    }  # fmt: skip


def pages(url: str, rows: int) -> tuple[dict, dict]:
    """(each page's timings, the plans of its queries of the log or the counters), as the
    administrator reads them."""
    app = create_app({"PORTAL_ENV": "development", "DATABASE_URL": url,
                      "SECRET_KEY": "bench-" + "b" * 40})  # fmt: skip
    statements = Statements()
    try:
        with app.app_context():
            admin = grant_regional_admin(REGION, "urn:bench", "bench-admin", "Админова Рита")
            admin_id = admin.id
            event.listen(db.engine, "before_cursor_execute", statements)
            # A person with events at every size: who logged in last.
            person = db.session.execute(text(
                "SELECT actor_id FROM audit_event WHERE tenant = :region "
                "AND kind = 'login_succeeded' ORDER BY created_at DESC LIMIT 1"
            ), {"region": REGION}).scalar_one()  # fmt: skip
            # Half-way back: the cursor a reader who paged through half the log would hold.
            middle = db.session.execute(text(
                "SELECT created_at, id FROM audit_event WHERE tenant = :region "
                "ORDER BY created_at DESC, id DESC OFFSET :half LIMIT 1"
            ), {"region": REGION, "half": rows // 2}).one()  # fmt: skip
            db.session.rollback()
        after = Cursor(middle.created_at.astimezone(UTC), middle.id)
        client = app.test_client()
        with client.session_transaction(base_url=HOST) as session:
            session["_user_id"], session["_fresh"] = str(admin_id), True

        def full(page: str) -> None:
            assert len(shown(page)) == PAGE, "a page of the log is not full"

        def logins(page: str) -> None:
            assert {kind for kind, _ in shown(page)} == {"login_succeeded"}, "not logins"
            full(page)

        def someone(page: str) -> None:
            assert shown(page), "none of the person's events listed"

        def deeper(page: str) -> None:
            events = shown(page)
            assert len(events) == PAGE and events[0][1] != middle.id, "not the page past it"

        def stats(page: str) -> None:
            assert 'id="stats-summary"' in page and "login-chart" in page, "no statistics"

        # Filtered by a kind that fills a page at every size: a page of 50 events costs less
        # to show than one of 100, whatever the log holds.
        wanted = {
            "stats_30_days": (f"/admin/stats?days={DAYS}", stats),
            "log_first_page": ("/admin/audit", full),
            "log_by_kind": ("/admin/audit?kind=login_succeeded", logins),
            "log_by_person": (f"/admin/audit?who=u{person}", someone),
            "log_half_way_back": (f"/admin/audit?after={after.token}", deeper),
        }
        timings, plans = {}, {}
        for name, (path, check) in wanted.items():
            progress(f"{rows:,} rows: {path}")
            timings[name] = timed(client, statements, path, check)
            with app.app_context():
                plans[name] = [explained(statement, parameters)
                               for statement, parameters in statements.seen
                               if READS_LOG.search(statement)
                               ]  # fmt: skip
                db.session.rollback()
        return timings, plans
    finally:
        with app.app_context():
            db.engine.dispose()


# --- one size -----------------------------------------------------------------------------------


def counted(connection: psycopg.Connection, since: datetime) -> tuple[int, int, int]:
    """(login events since ``since``, what the counters add up to, counter rows)."""
    events = connection.execute(
        "SELECT count(*) FROM audit_event WHERE tenant = %s AND kind = ANY(%s) "
        "AND created_at >= %s", (REGION, list(LOGINS), since)
    ).fetchone()[0]  # fmt: skip
    total, counters = connection.execute(
        "SELECT coalesce(sum(count), 0), count(*) FROM login_counter WHERE tenant = %s", (REGION,)
    ).fetchone()  # fmt: skip
    return events, total, counters


def measure(rows: int) -> dict:
    name = f"portal_bench_audit_{os.getpid()}_{rows}"
    url, server = _database(name)
    env = {**os.environ, "PORTAL_ENV": "development", "DATABASE_URL": url,
           "SECRET_KEY": "bench-" + "b" * 40}  # fmt: skip
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    result: dict = {"rows": rows, "accounts": ACCOUNTS, "schools": SCHOOLS}
    try:
        _run(env, *flask, "db", "upgrade")
        libpq = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(libpq, autocommit=True) as connection:
            started = time.perf_counter()
            people(connection)
            result["people_s"] = round(time.perf_counter() - started, 1)
            progress(f"{ACCOUNTS:,} people and accounts in {result['people_s']} s")
            start = datetime.now(UTC) - timedelta(days=DAYS)
            seconds = write_events(connection, rows, start)
            result["write_s"] = round(seconds, 1)
            result["write_rows_per_s"] = round(rows / seconds)

            started = time.perf_counter()
            connection.execute("VACUUM ANALYZE")  # as autovacuum would have, before anything
            result["vacuum_analyze_s"] = round(time.perf_counter() - started, 1)

            # The counters, as an operator makes them: a day more than the rows span, so that
            # the first day (in the region's zone) is counted whole. (On tables never analysed
            # it takes about six times as long: the plans of its school lookups go wrong.)
            seconds, peak, output = _run(env, *flask, "counters", "rebuild", "--region", REGION,
                                         "--days", str(DAYS + 1))  # fmt: skip
            progress(output.strip())
            events, total, counters = counted(connection, start - timedelta(days=1))
            if total != events:
                raise SystemExit(f"the counters add up to {total}, the login events are {events}")
            result |= {"rebuild_s": round(seconds, 1), "rebuild_peak_rss_mb": round(peak),
                       "login_events": events, "counter_rows": counters}  # fmt: skip
            connection.execute("VACUUM ANALYZE")

            stored, table, indexes, kept = connection.execute(
                "SELECT pg_total_relation_size('audit_event'), pg_relation_size('audit_event'), "
                "pg_indexes_size('audit_event'), (SELECT count(*) FROM audit_event)"
            ).fetchone()  # fmt: skip
            per_row = stored / kept
            result |= {"audit_event_mb": round(stored / 2**20, 1),
                       "table_mb": round(table / 2**20, 1), "indexes_mb": round(indexes / 2**20, 1),
                       "bytes_per_row": round(per_row),
                       "gb_per_150m_rows": round(per_row * LARGE_MONTH / 2**30, 1)}  # fmt: skip

        result["pages"], result["plans"] = pages(url, rows)
        result["seq_scan_on_audit_event"] = any(
            plan["seq_scan_on_audit_event"] for plans in result["plans"].values() for plan in plans
        )
        return result
    finally:
        _drop(server, name)


def main() -> None:
    try:
        psycopg.connect(server_url(), connect_timeout=3).close()
    except psycopg.OperationalError as error:
        print(f"left out: PostgreSQL at {SERVER} did not answer ({error})")
        return
    results = []
    for rows in SIZES:
        results.append(measure(rows))
        print(json.dumps(results[-1], ensure_ascii=False), flush=True)
    # Each size against the smallest, and against the one before: once every school of the
    # region has logins on every day, the counters stop growing, whatever the log's size.
    for before, after in pairwise(results):
        for base, label in ((results[0], "smallest"), (before, "previous")):
            print(json.dumps({
                "rows": after["rows"], f"against_{label}": base["rows"],
                "ratio_of_medians": {
                    page: round(after["pages"][page]["median_ms"] / timing["median_ms"], 2)
                    for page, timing in base["pages"].items()
                },
            }, ensure_ascii=False), flush=True)  # fmt: skip
            if base is before:
                break  # the size before is the smallest


if __name__ == "__main__":
    sys.exit(main())
