"""The portal's pages and whole logins against bare Flask, served the same way in one run.

Targets (issue 16), each a ratio to ``bench/hello.py`` measured right beside it (the pair
interleaved, three rounds, the median kept):

- a region's login page, first visit (no cookie): ≥ 0.5×
- the apex chooser: ≥ 0.5×
- the diary of a parent with two children (P1, signed in): ≥ 0.25×
- whole ESIA logins (portal, emulator and client on this machine): ≥ 100 per second
- 89 regions configured instead of 4: the login page ≥ 0.95×, start-up ≤ 1.05×
- resident memory per portal worker: ≤ 150 MB

The portal runs as ``make demo`` runs it: the embedded SQLite database, migrated and seeded,
and the ESIA emulator beside it, both under gunicorn with ``gunicorn.conf.py``.
"""

from __future__ import annotations

import http.client
import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import yaml

from bench.serving import BIN, ROOT, BenchError, Load, Server, bytecode, free_port, gunicorn, wrk

ROUNDS = 3
REGIONS = ROOT / "config" / "regions.yaml"


def prepare(root: Path, regions_file: Path = REGIONS) -> dict[str, str]:
    """A migrated, seeded demo database and its keys under ``root``; the environment."""
    env = {
        "PORTAL_ENV": "development",
        "SECRET_KEY": "bench-" + "b" * 40,
        "DATABASE_URL": f"sqlite:///{root / 'portal.db'}",
        "REGIONS_FILE": str(regions_file),
        "TRUSTED_ACTIVATION_DELAY_HOURS": "0",
        "PORTAL_PORT": str(free_port()),
    }
    env["IDP_EMULATOR_URL"] = f"http://127.0.0.1:{free_port()}"
    # The emulator runs as the portal does, two sync workers: they share its state (logins in
    # progress, codes, granted rights) through a SQLite file and the sign-in cookie's key.
    env["EMULATOR_STATE_FILE"] = str(root / "emulator-state.db")
    env["EMULATOR_SECRET_KEY"] = "bench-emulator-" + "e" * 32

    def flask(*args: str) -> str:
        return subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", *args],
            cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip

    for line in flask("demo", "keys", str(root / "keys")).splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = value.strip("'")
    flask("db", "upgrade")
    flask("demo", "seed")
    return env


class Browser:
    """A browser's part of a login, and no more: ``http.client`` with cookies kept per host.

    A browser's work is not the portal's, and on two shared cores every millisecond the client
    spends is taken from the portal and the emulator: ``requests`` cost about 1.7 ms of CPU per
    request here (its cookie jar, hooks and the environment's proxy settings), this about a
    fifth of that. Every answer is checked, so a wrong page fails the benchmark."""

    def __init__(self) -> None:
        self.cookies: dict[str, dict[str, str]] = {}  # host (with port) → name → value

    def request(self, method: str, url: str, *, host: str = "", form: dict | None = None):
        """(status, headers) of one request to ``url``; ``host`` is the Host header when the
        address is not the name (the portal's region hosts all live on 127.0.0.1)."""
        parts = urlsplit(url)
        host = host or parts.netloc
        headers = {"Host": host}
        if jar := self.cookies.get(host):
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in jar.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        jar = self.cookies.setdefault(host, {})
        for line in response.headers.get_all("Set-Cookie") or ():
            name, _, rest = line.partition("=")
            value, _, attributes = rest.partition(";")
            if "max-age=0" in attributes.lower() or "1970" in attributes:
                jar.pop(name, None)
            else:
                jar[name] = value
        if response.status >= 400:
            raise BenchError(f"{method} {url}: {response.status}")
        return response.status, response.headers


def esia_login(portal: int, slug: str, persona: str) -> Browser:
    """One whole ESIA login the way a browser makes it; returns the signed-in browser."""
    browser = Browser()
    host = f"{slug}.localhost:{portal}"
    base = f"http://127.0.0.1:{portal}"
    _, headers = browser.request("GET", f"{base}/login/esia", host=host)
    picker = headers["Location"]
    status, headers = browser.request("GET", picker)
    while status in (302, 303):  # the authorize request leads to the persona page
        picker = urljoin(picker, headers["Location"])
        status, headers = browser.request("GET", picker)
    _, headers = browser.request("POST", picker, form={"persona": persona})
    location = headers["Location"]
    if "/rights/" in location:
        _, headers = browser.request("POST", urljoin(picker, location), form={"decision": "grant"})
        location = headers["Location"]
    callback = location.replace(host, f"127.0.0.1:{portal}")
    status, headers = browser.request("GET", callback, host=host)
    if status != 302 or "/login" in headers.get("Location", "/login"):
        raise BenchError(f"{persona} in {slug}: the login ended in {status}")
    return browser


@dataclass
class Logins:
    rate: float  # whole logins per second
    cpu_ms: dict[str, float]  # CPU per login: the portal, the emulator, the client


def logins(portal: Server, emulator: Server, seconds: float = 8, clients: int = 6) -> Logins:
    """Whole logins (P1, rights already granted) by ``clients`` concurrent browsers, and the
    CPU each party spent on one."""
    esia_login(portal.port, "mosreg", "P1")  # keys loaded, rights granted, caches warm
    done, errors = [0] * clients, []
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        while time.monotonic() < stop:
            try:
                esia_login(portal.port, "mosreg", "P1")
            except Exception as error:  # a failed login fails the benchmark
                errors.append(error)
                return
            done[index] += 1

    before = portal.cpu_seconds(), emulator.cpu_seconds(), _own_cpu()
    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    after = portal.cpu_seconds(), emulator.cpu_seconds(), _own_cpu()
    if errors:
        raise BenchError(f"{len(errors)} logins failed, the first: {errors[0]!r}")
    count = sum(done)
    spent = [(b - a) / count * 1000 for a, b in zip(before, after, strict=True)]
    return Logins(count / elapsed, dict(zip(("portal", "emulator", "client"), spent, strict=True)))


def _own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def interleaved(measure: Callable[[], Load], yardstick: Callable[[], Load]) -> float:
    """The median over ``ROUNDS`` of measure / yardstick, each pair taken one after the other."""
    ratios = []
    for _ in range(ROUNDS):
        base = yardstick().rate
        ratios.append(measure().rate / base)
    return statistics.median(ratios)


def cpu_per_request_ms(server: Server, load: Callable[[], Load]) -> float:
    before = server.cpu_seconds()
    done = load()
    return (server.cpu_seconds() - before) / done.requests * 1000


def many_regions(count: int, directory: Path) -> Path:
    """regions.yaml with ``count`` regions: the four real ones and copies of Moscow Oblast."""
    config = yaml.safe_load(REGIONS.read_text())
    template = config["regions"]["mosreg"]
    for number in range(count - len(config["regions"])):
        slug = f"region{number:02d}"
        region = yaml.safe_load(yaml.safe_dump(template))
        region["name"] = f"Регион № {number}"
        region["hosts"] = [f"myschool.region{number:02d}.example.ru"]
        region["identity_provider"]["client_id"] = f"MSHR{number:04d}"
        config["regions"][slug] = region
    path = directory / f"regions-{count}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return path


def start_up_seconds(env: dict[str, str]) -> float:
    """Wall time of a new process that builds the portal (imports included)."""
    started = time.perf_counter()
    subprocess.run(
        [str(BIN / "python"), "-c", "import wsgi"],
        cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - started


def timed(function: Callable[[], float]) -> Callable[[], Load]:
    """A duration as a Load, so that start-up times share the interleaving."""
    return lambda: Load(1 / function(), 1)


def report(name: str, value: float, goal: str) -> None:
    print(f"{name:44} {value:8.3f}   goal {goal}", flush=True)


def main() -> None:
    bytecode()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        log = root / "gunicorn.log"
        env = prepare(root)
        many = {**env, "REGIONS_FILE": str(many_regions(89, root))}
        emulator_port = int(env["IDP_EMULATOR_URL"].rsplit(":", 1)[1])
        try:
            with (
                gunicorn("bench.hello:app", {}, log=log) as hello,
                gunicorn("idp_emulator.wsgi:app", env, log=log, port=emulator_port) as emulator,
                gunicorn("wsgi:app", env, log=log, port=int(env["PORTAL_PORT"])) as portal,
            ):  # fmt: skip

                def page(path: str, slug: str | None = "mosreg", cookie: str = "", server=portal):
                    host = f"{slug}.localhost" if slug else "localhost"
                    headers = {"Host": f"{host}:{server.port}"}
                    if cookie:
                        headers["Cookie"] = cookie
                    return lambda: wrk(server.url(path), headers=headers)

                bare = lambda: wrk(hello.url())  # noqa: E731
                parent = esia_login(portal.port, "mosreg", "P1")
                signed_in = parent.cookies[f"mosreg.localhost:{portal.port}"]["session"]
                diary = page("/diary/", cookie=f"session={signed_in}")
                login, chooser = page("/login"), page("/", slug=None)
                report("login page, first visit / hello", interleaved(login, bare), "≥ 0.5")
                report("apex chooser / hello", interleaved(chooser, bare), "≥ 0.5")
                report("diary, parent with 2 children / hello", interleaved(diary, bare), "≥ 0.25")
                rounds = [logins(portal, emulator) for _ in range(ROUNDS)]
                middle = sorted(rounds, key=lambda r: r.rate)[ROUNDS // 2]
                report("whole ESIA logins per second", middle.rate, "≥ 100")
                for party, spent in middle.cpu_ms.items():
                    report(f"  CPU per login, {party}, ms", spent, "(cost model)")
                report(
                    "  CPU per diary view, portal, ms",
                    cpu_per_request_ms(portal, diary),
                    "(cost model)",
                )
                report(
                    "  CPU per login page, portal, ms",
                    cpu_per_request_ms(portal, login),
                    "(cost model)",
                )
                report("RSS per portal worker, MB", max(portal.worker_rss_mb()), "≤ 150")
                with gunicorn("wsgi:app", many, log=log) as portal_89:
                    ratio = interleaved(page("/login", server=portal_89), login)
                report("login page, 89 regions / 4 regions", ratio, "≥ 0.95")
            # A duration's Load is its inverse, so this is start-up(89) / start-up(4).
            ratio = interleaved(timed(lambda: start_up_seconds(env)),
                                timed(lambda: start_up_seconds(many)))  # fmt: skip
            report("start-up, 89 regions / 4 regions", ratio, "≤ 1.05")
        except BenchError:
            print(log.read_text()[-3000:])
            raise


if __name__ == "__main__":
    main()
