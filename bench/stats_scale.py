"""The login statistics page with a region's counters nearly empty and full, interleaved in one
run (issue 21, point 3): the page should cost the same.

Two fresh databases on PostgreSQL, each with a region of 1,500 schools (as
``bench/audit_scale.py`` makes it), and login counters written by SQL as logins leave them:

- sparse: 460 counter rows, as a thousand audit events leave them;
- full: every school on every one of the last 31 days with six kinds of login end, 279,186
  counter rows — more than the 192,601 of ten million audit events in ``audit_scale``;

their day counters made from them as ``flask counters rebuild`` makes them, and the schools'
running totals written as ``flask counters close`` writes them. Then the regional
administrator's page for 30 days is fetched in-process, alternately from each database
(``ROUNDS`` rounds of 2 warm-ups and ``TIMED`` timed fetches), and the medians compared: the
ratio full / sparse ≈ 1.

    BENCH_DATABASE=postgresql+psycopg://postgres@127.0.0.1:5432/test python -m bench.stats_scale
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import date, datetime, timedelta

import psycopg

from app import create_app, login_totals
from app.accounts import grant_regional_admin
from app.extensions import db
from app.login_stats import zone_of
from bench.audit_scale import HOST, SCHOOLS
from bench.registry_scale import REGION, _database, _drop, _run, server_url
from bench.serving import BIN

ROUNDS, WARM_UPS, TIMED = 5, 2, 20
DAYS = 31  # the counters' days, today's included
ENDS = (
    "('esia', 'succeeded', ''), ('mosru', 'succeeded', ''), ('password', 'succeeded', ''), "
    "('esia', 'failed', 'not_found'), ('esia', 'stopped', 'student_profile'), "
    "('password', 'failed', 'bad_password')"
)
SCHOOLS_SQL = f"""INSERT INTO school (id, tenant, key, full_name, short_name, search_key)
    SELECT s, %(region)s, 'school-' || s, 'Средняя общеобразовательная школа № ' || s,
           'Школа № ' || s, 'школа ' || s
    FROM generate_series(1, {SCHOOLS}) AS s"""  # noqa: S608
COUNTERS = {
    "sparse": f"""INSERT INTO login_counter (tenant, day, method, outcome, reason, school_id,
        count)
        SELECT DISTINCT ON (d, s, m, o, r) %(region)s, current_date - d, m, o, r, s, 1
        FROM (SELECT (g * 7) %% {DAYS} AS d, (g * 7919) %% {SCHOOLS + 1} AS s, e.m, e.o, e.r
              FROM generate_series(1, 460) AS g,
              LATERAL (SELECT * FROM (VALUES {ENDS}) AS e (m, o, r) OFFSET g %% 6 LIMIT 1) AS e
        ) AS x""",  # noqa: S608
    "full": f"""INSERT INTO login_counter (tenant, day, method, outcome, reason, school_id,
        count)
        SELECT %(region)s, current_date - d, m, o, r, s, 1 + (s * d) %% 17
        FROM generate_series(0, {DAYS - 1}) AS d, generate_series(0, {SCHOOLS}) AS s,
             (VALUES {ENDS}) AS e (m, o, r)""",  # noqa: S608
}


def region(kind: str) -> tuple[str, str, int]:
    """(the database's URL, the server's, its counter rows), the region made."""
    url, server = _database(f"portal_bench_stats_{os.getpid()}_{kind}")
    env = {**os.environ, "PORTAL_ENV": "development", "DATABASE_URL": url,
           "SECRET_KEY": "bench-" + "b" * 40}  # fmt: skip
    _run(env, str(BIN / "flask"), "--app", "wsgi", "db", "upgrade")
    libpq = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq, autocommit=True) as connection:
        connection.execute(SCHOOLS_SQL, {"region": REGION})
        connection.execute(COUNTERS[kind], {"region": REGION})
        rows = connection.execute("SELECT count(*) FROM login_counter").fetchone()[0]
    app = create_app({"PORTAL_ENV": "development", "DATABASE_URL": url,
                      "SECRET_KEY": "bench-" + "b" * 40})  # fmt: skip
    with app.app_context():
        # The day counters made from the counters as a recount makes them, and the running
        # totals written as the daily command writes them.
        login_totals.recount(REGION, date.today() - timedelta(days=DAYS))
        db.session.commit()
        login_totals.close_all(REGION, login_totals.last_day_over(datetime.now(zone_of(REGION))))
        db.engine.dispose()
    with psycopg.connect(libpq, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    return url, server, rows


def client_of(url: str):
    app = create_app({"PORTAL_ENV": "development", "DATABASE_URL": url,
                      "SECRET_KEY": "bench-" + "b" * 40})  # fmt: skip
    with app.app_context():
        admin_id = grant_regional_admin(REGION, "urn:bench", "bench-admin", "Админова Рита").id
        db.session.commit()
    client = app.test_client()
    with client.session_transaction(base_url=HOST) as session:
        session["_user_id"], session["_fresh"] = str(admin_id), True
    return app, client


def fetch_ms(client) -> float:
    started = time.perf_counter()
    page = client.get("/admin/stats?days=30", base_url=HOST)
    elapsed = (time.perf_counter() - started) * 1000
    if page.status_code != 200 or 'id="stats-summary"' not in page.get_data(as_text=True):
        raise SystemExit(f"the statistics page answered {page.status_code}")
    return elapsed


def main() -> None:
    try:
        psycopg.connect(server_url(), connect_timeout=3).close()
    except psycopg.OperationalError as error:
        print(f"left out: PostgreSQL did not answer ({error})")
        return
    made: dict[str, tuple] = {}
    try:
        for kind in COUNTERS:
            made[kind] = region(kind)
        clients = {kind: client_of(url) for kind, (url, _, _) in made.items()}
        medians: dict[str, list[float]] = {kind: [] for kind in made}
        for _ in range(ROUNDS):
            for kind, (_, client) in clients.items():
                timings = [fetch_ms(client) for _ in range(WARM_UPS + TIMED)][WARM_UPS:]
                medians[kind].append(statistics.median(timings))
        for kind, (_, _, rows) in made.items():
            print(f"statistics page, 30 days, {rows:>7,} counter rows: medians "
                  f"{', '.join(f'{m:.1f}' for m in medians[kind])} ms")  # fmt: skip
        ratio = statistics.median(medians["full"]) / statistics.median(medians["sparse"])
        print(f"{'full / sparse, median of the rounds':44} {ratio:8.3f}   goal ≈ 1", flush=True)
        for app, _ in clients.values():
            with app.app_context():
                db.engine.dispose()
    finally:
        for url, server, _ in made.values():
            _drop(server, url.rsplit("/", 1)[1])


if __name__ == "__main__":
    sys.exit(main())
