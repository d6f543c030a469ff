"""Serving apps the way production does, and loading them the way a morning peak would.

Every measured app runs under gunicorn with the project's own ``gunicorn.conf.py`` (2 sync
workers unless said otherwise), and every page is loaded by wrk from Debian's packages
(``apt-get install -y wrk``). The bare Flask app in ``bench/hello.py`` is served the same way
in the same run, so the figures are ratios that mean the same on any machine.
"""

from __future__ import annotations

import compileall
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


class BenchError(RuntimeError):
    pass


def bytecode() -> None:
    """Compile the project's modules as the image does (deploy/Containerfile): where Python
    is told not to write bytecode (PYTHONDONTWRITEBYTECODE), every process would otherwise
    compile them again as it starts, which no production worker does."""
    for part in ("app", "idp_emulator", "bench", "wsgi.py", "gunicorn_access.py", "log_lines.py"):
        path = ROOT / part
        compiled = (compileall.compile_dir(path, quiet=1) if path.is_dir()
                    else compileall.compile_file(path, quiet=1))  # fmt: skip
        if not compiled:
            raise BenchError(f"{part} does not compile")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    port: int
    process: subprocess.Popen

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def workers(self) -> list[int]:
        """The master's children: gunicorn's workers."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def worker_rss_mb(self) -> list[float]:
        """Resident memory of each worker, in MB."""
        sizes = []
        for pid in self.workers():
            status = Path(f"/proc/{pid}/status").read_text()
            kilobytes = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
            sizes.append(kilobytes / 1024)
        return sizes

    def cpu_seconds(self) -> float:
        """CPU time the master and its workers have used so far (user and system)."""
        return sum(cpu_seconds(pid) for pid in [self.process.pid, *self.workers()])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def gunicorn(
    app: str,
    env: Mapping[str, str],
    *,
    workers: int = 2,
    threads: int = 1,
    log: Path,
    port: int | None = None,
) -> Iterator[Server]:
    """``app`` ("module:name") under gunicorn with the project's config (on a free port)."""
    port = port or free_port()
    environ = {**os.environ, **env, "PORT": str(port), "WORKERS": str(workers)}
    environ["THREADS"] = str(threads)
    with open(log, "ab") as errors:
        process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), app],
            cwd=ROOT,
            env=environ,
            stdout=subprocess.DEVNULL,  # the access log: written, as in production, not kept
            stderr=errors,
        )
    server = Server(port, process)
    try:
        _wait_until_serving(server, log)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_serving(server: Server, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"gunicorn exited with {server.process.returncode}; see {log}")
        try:
            requests.get(server.url("/healthz"), timeout=2)
            return
        except requests.RequestException:  # not listening yet, or still importing
            time.sleep(0.1)
    raise BenchError(f"gunicorn did not answer within {seconds:.0f} s; see {log}")


@dataclass
class Load:
    """What wrk measured: requests per second, and how many requests in all."""

    rate: float
    requests: int


def wrk(
    url: str,
    *,
    headers: Mapping[str, str] = {},
    seconds: int = 5,
    connections: int = 8,
    threads: int = 1,
) -> Load:
    """Load ``url`` with wrk; any error or non-2xx/3xx answer fails the benchmark rather than
    counting as a fast answer."""
    if shutil.which("wrk") is None:
        raise BenchError("wrk is not installed (apt-get install -y wrk)")
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    for problem in ("Non-2xx or 3xx responses", "Socket errors"):
        if problem in output:
            raise BenchError(f"{url}: {problem}\n{output}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    return Load(rate, int(re.search(r"(\d+) requests in", output).group(1)))
