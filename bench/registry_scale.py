"""Region-sized registries on PostgreSQL: the import, its memory, and the lookups of logins.

After a small import that warms the machine's caches and is not reported, for each size
(persons; ``BENCH_REGISTRY_SIZES``, default 20000,200000,1000000) in a fresh database of its
own: a synthetic registry (``bench/registry_data.py``) imported through the
CLI as an operator would (wall time, lines per second, the process's peak resident memory),
imported again with 1 % of the persons changed, then the access decision's lookups (the
candidates and the matched record's facts) timed for persons drawn at random, and their
plans checked for sequential scans of the registry's tables.

Targets (issue 21): the same peak memory ± 20 % whatever the size; ≥ 10,000 lines per second
for a first import, faster for a re-import with few changes; lookups of a flat cost from 20k
to millions, by index.

    BENCH_DATABASE=postgresql+psycopg://postgres@127.0.0.1:5432/test python -m bench.registry_scale
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

from bench.registry_data import write
from bench.serving import BIN, ROOT, bytecode

SERVER = os.environ.get("BENCH_DATABASE", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SIZES = [int(n) for n in os.environ.get("BENCH_REGISTRY_SIZES", "20000,200000,1000000").split(",")]
REGION = "mosreg"


def server_url() -> str:
    """The server's address as libpq takes it."""
    return SERVER.replace("postgresql+psycopg://", "postgresql://")


def _database(name: str) -> tuple[str, str]:
    """(the SQLAlchemy URL of a new database ``name``, the libpq URL of the server)."""
    server = server_url()
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return SERVER.rsplit("/", 1)[0] + f"/{name}", server


def _drop(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(env: dict[str, str], *args: str) -> tuple[float, float, str]:
    """(seconds, peak resident MB, output) of a command in its own process."""
    started = time.perf_counter()
    process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)  # the child's own peak, not the children's
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode:
        raise SystemExit(f"{' '.join(args[:6])}… failed:\n{output[-3000:]}")
    return seconds, usage.ru_maxrss / 1024, output


def _changed(source: Path, target: Path, share: float = 0.01) -> int:
    """The registry with ``share`` of its persons' phones changed; how many changed."""
    rng, changed = random.Random(11), 0
    with source.open(encoding="utf-8") as lines, target.open("w", encoding="utf-8") as out:
        for line in lines:
            record = json.loads(line)
            if record["type"] == "person" and rng.random() < share:
                record["phone"] = f"+7 999 {rng.randrange(10_000_000):07d}"
                changed += 1
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return changed


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "PORTAL_ENV": "development", "DATABASE_URL": url,
            "SECRET_KEY": "bench-" + "b" * 40}  # fmt: skip


FLASK = [str(BIN / "flask"), "--app", "wsgi"]


def warm_up(directory: Path, persons: int = 2000) -> None:
    """A small import, not reported: the first of a run would otherwise pay for what a
    serving machine has warm (the libraries read from disk, the server's catalogue and
    files), and took up to 1.7 times as long as the same import run again."""
    name = f"portal_bench_{os.getpid()}_warm"
    url, server = _database(name)
    try:
        _run(_env(url), *FLASK, "db", "upgrade")
        path = directory / "registry-warm.jsonl"
        write(path, persons)
        _run(_env(url), *FLASK, "registry", "import", str(path), "--tenant", REGION)
    finally:
        _drop(server, name)


def measure(persons: int, directory: Path) -> None:
    name = f"portal_bench_{os.getpid()}_{persons}"
    url, server = _database(name)
    env, flask = _env(url), FLASK
    try:
        _run(env, *flask, "db", "upgrade")
        first = directory / f"registry-{persons}.jsonl"
        lines = write(first, persons)
        seconds, peak, output = _run(env, *flask, "registry", "import", str(first),
                                     "--tenant", REGION)  # fmt: skip
        report(persons, "first import, s", seconds)
        report(persons, "first import, lines per second", lines / seconds, "≥ 10,000")
        report(persons, "  the import alone, lines per second", own_rate(output), "≥ 10,000")
        report(persons, "first import, peak RSS, MB", peak, "flat ± 20 %")
        again = directory / f"registry-{persons}-changed.jsonl"
        changed = _changed(first, again)
        seconds, peak, output = _run(env, *flask, "registry", "import", str(again),
                                     "--tenant", REGION)  # fmt: skip
        report(persons, f"re-import, {changed} persons changed, s", seconds)
        report(persons, "re-import, lines per second", lines / seconds, "> first import")
        report(persons, "  the import alone, lines per second", own_rate(output), "> first")
        report(persons, "re-import, peak RSS, MB", peak, "flat ± 20 %")
        _, _, output = _run(env, str(BIN / "python"), "-m", "bench.registry_lookups", REGION)
        found = json.loads(output.strip().splitlines()[-1])
        report(persons, "lookup, median ms", found["median_ms"], "flat")
        report(persons, "lookup, 95th percentile ms", found["p95_ms"], "flat")
        report(persons, f"lookup, own record found of {found['tried']}", found["found"], "all")
        report(persons, "lookup, sequential scans in the plan", len(found["seq_scans"]), "0")
    finally:
        _drop(server, name)


def own_rate(output: str) -> float:
    """The lines per second the command reports for the import itself: its wall time less
    the start-up of Python and the app (some 2 s on this machine, whatever the file)."""
    found = re.search(r"lines in [\d.]+ s \(([\d,]+) lines a second", output)
    if found is None:
        raise SystemExit(f"the import did not say its rate:\n{output[-2000:]}")
    return float(found.group(1).replace(",", ""))


def report(persons: int, name: str, value: float, goal: str = "") -> None:
    print(f"{persons:>9,} persons  {name:44} {value:10.2f}   {goal}", flush=True)


def main() -> None:
    bytecode()
    with tempfile.TemporaryDirectory() as tmp:
        warm_up(Path(tmp))
        for persons in SIZES:
            measure(persons, Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
