"""Gunicorn's access line through gunicorn_access: the same line as gunicorn writes, only the
atoms its format names computed, and no work at all where nothing writes the line
(production's JSON logs); gunicorn's master imports nothing of the portal's."""

from __future__ import annotations

import datetime
import logging
import os
import runpy
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn import glogging
from gunicorn.config import Config

from app.settings import PROJECT_ROOT
from gunicorn_access import AccessLogger, Atoms

EVERY_ATOM = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(m)s %(U)s %(q)s %(H)s %(b)s %(B)s "%(f)s" '
    '"%(a)s" %(T)s %(D)s %(M)s %(L)s %(p)s | %({X-Request-ID}o)s %({x-request-id}O)s '
    "%({user-agent}i)s %({Cookie}i)s %({x-repeated}i)s %({absent}i)s %({REMOTE_ADDR}e)s "
    "%({raw_uri}e)s %({absent}e)s %(x)s %({broken)s %({x-request-id}z)s %(Z)s"
)
NOW = "[07/Dec/2026:08:00:00 +0000]"


def _request(status="302 Found", sent: int | None = 1234, auth="Basic ZGVtbzpzZWNyZXQ="):
    environ = {
        "REMOTE_ADDR": "203.0.113.7", "REQUEST_METHOD": "GET", "RAW_URI": "/callback?code=1",
        "PATH_INFO": "/callback", "QUERY_STRING": "code=1", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": 'https://example.test/"quoted"', "HTTP_USER_AGENT": 'Agent "007"',
        "HTTP_AUTHORIZATION": auth,
    }  # fmt: skip
    req = SimpleNamespace(headers=[
        ("USER-AGENT", 'Agent "007"'), ("COOKIE", "session=abc"),
        ("X-REPEATED", "first"), ("X-REPEATED", "last"),
    ])  # fmt: skip
    resp = SimpleNamespace(
        status=status, sent=sent, headers=[("X-Request-ID", "req-1"), ("Content-Type", "text/html")]
    )
    return resp, req, environ, datetime.timedelta(seconds=2, microseconds=345678)


class _Watched(Mapping):
    """An environ that counts every read of it."""

    def __init__(self, data):
        self.data, self.reads = data, 0

    def __getitem__(self, key):
        self.reads += 1
        return self.data[key]

    def __iter__(self) -> Iterator:
        self.reads += 1
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def _written(logger_class, cfg: Config, *request) -> str:
    """The line ``logger_class`` writes of ``request`` to the file ``cfg`` names."""
    logger_class(cfg).access(*request)
    return Path(cfg.accesslog).read_text().splitlines()[-1]


@pytest.fixture
def clocks(monkeypatch) -> list[str]:
    """Gunicorn's clock fixed; each reading of it listed."""
    readings: list[str] = []

    def now(self) -> str:
        readings.append(NOW)
        return NOW

    monkeypatch.setattr(glogging.Logger, "now", now)
    return readings


@pytest.fixture
def text_config(tmp_path, clocks):
    """Gunicorn writing access lines of every atom to a file."""
    cfg = Config()
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("access_log_format", EVERY_ATOM)
    yield cfg
    for handler in list(logging.getLogger("gunicorn.access").handlers):
        logging.getLogger("gunicorn.access").removeHandler(handler)
        handler.close()


@pytest.mark.parametrize(
    "request_",
    [_request(), _request(status=200, sent=None, auth=""), _request(sent=0, auth="Basic !!")],
    ids=["a redirect", "nothing sent", "an empty body, a broken authorization"],
)
def test_the_line_is_gunicorns_own(text_config, request_):
    theirs = _written(glogging.Logger, text_config, *request_)
    ours = _written(AccessLogger, text_config, *request_)
    assert ours == theirs
    assert "req-1" in ours and "203.0.113.7" in ours and 'Agent \\"007\\"' in ours


def test_the_projects_own_format_is_written_the_same(text_config, monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "development")
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    settings = runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))
    text_config.set("access_log_format", settings["access_log_format"])
    theirs = _written(glogging.Logger, text_config, *_request())
    assert _written(AccessLogger, text_config, *_request()) == theirs
    assert theirs == '203.0.113.7 "GET /callback HTTP/1.1" 302 1234 2345ms req-1'


def test_only_the_atoms_the_format_names_are_computed(text_config, clocks):
    text_config.set("access_log_format", "%(s)s %(M)s %({x-request-id}o)s")
    resp, req, environ, took = _request()
    ours, theirs = _Watched(environ), _Watched(environ)
    assert _written(AccessLogger, text_config, resp, req, ours, took) == "302 2345 req-1"
    assert ours.reads == 0 and clocks == []
    assert _written(glogging.Logger, text_config, resp, req, theirs, took) == "302 2345 req-1"
    assert theirs.reads > 0 and clocks == [NOW]  # gunicorn's: every atom, the time included


def test_the_atoms_answer_as_gunicorns_dictionary(text_config):
    resp, req, environ, took = _request()
    logger = AccessLogger(text_config)
    expected = glogging.SafeAtoms(glogging.Logger.atoms(logger, resp, req, environ, took))
    atoms = Atoms(logger, resp, req, environ, took)
    assert atoms["t"] == NOW and atoms["{X-Request-ID}o"] == "req-1"  # read before the rest
    assert dict(atoms) == dict(expected) and len(atoms) == len(expected)
    assert ("h" in atoms, "{absent}i" in atoms) == (True, False)
    assert atoms.get("{absent}i", "none") == "none" and atoms.get("h") == "203.0.113.7"
    # Formatted as logging formats (%): a format of "%s" gives the whole dictionary.
    assert "%s" % atoms == "%s" % expected  # noqa: UP031
    atoms["U"] = "/redacted"  # a filter may change what is written
    assert atoms["U"] == "/redacted" and "%(U)s %(s)s" % atoms == "/redacted 302"  # noqa: UP031


@pytest.fixture
def production_logging(monkeypatch):
    """Gunicorn set up as gunicorn.conf.py sets it up in production; the process's logging
    as it was afterwards."""
    root = logging.getLogger()
    kept = {name: (logger.handlers[:], logger.filters[:], logger.level, logger.propagate)
            for name, logger in (("", root),
                                 ("gunicorn.error", logging.getLogger("gunicorn.error")),
                                 ("gunicorn.access", logging.getLogger("gunicorn.access")))}  # fmt: skip
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.delenv("LOG_FORMAT", raising=False)
    settings = runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))
    cfg = Config()
    for name in ("accesslog", "logconfig_dict", "logger_class"):
        cfg.set(name, settings[name])
    yield cfg
    for name, (handlers, filters, level, propagate) in kept.items():
        logger = logging.getLogger(name) if name else root
        logger.handlers[:], logger.filters[:] = handlers, filters
        logger.setLevel(level)
        logger.propagate = propagate


def test_nothing_is_made_where_nothing_writes_the_line(production_logging):
    cfg = production_logging
    assert cfg.logger_class is AccessLogger  # what gunicorn.conf.py names
    records: list[logging.LogRecord] = []
    logging.getLogger("gunicorn.access").addFilter(lambda record: records.append(record))
    resp, req, environ, took = _request()
    ours, theirs = _Watched(environ), _Watched(environ)
    AccessLogger(cfg).access(resp, req, ours, took)
    assert ours.reads == 0 and records == []
    glogging.Logger(cfg).access(resp, req, theirs, took)
    # gunicorn's own built every atom and a record, which no handler wrote
    assert theirs.reads > 0 and len(records) == 1


@pytest.mark.parametrize("environment", ["development", "production"])
def test_gunicorns_master_imports_nothing_of_the_portals(tmp_path, environment):
    """Upgrading is the migrations, then a HUP (docs/operations.md): the workers it starts
    are forked from the master, so whatever the master had imported of the portal they
    would run as it was when the master started. The settings check at its start runs in a
    process of its own; the logger and the log lines (JSON in production) are modules of
    their own, outside the portal's package."""
    probe = (
        "import runpy, sys\n"
        "settings = runpy.run_path('gunicorn.conf.py')\n"
        "settings['on_starting'](None)\n"
        "from gunicorn.config import Config\n"
        "config = Config()\n"
        "for name in ('accesslog', 'logconfig_dict', 'logger_class'):\n"
        "    if name in settings:\n"
        "        config.set(name, settings[name])\n"
        "assert config.logger_class(config).__class__.__name__ == 'AccessLogger'\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('app', 'flask')))\n"
    )
    environ = {**os.environ, "PORTAL_ENV": environment, "SECRET_KEY": "m" * 40,
               "REDIS_URL": "", "DATABASE_URL": f"sqlite:///{tmp_path / 'db'}"}  # fmt: skip
    environ.pop("LOG_FORMAT", None)  # each environment's own
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe], cwd=PROJECT_ROOT, env=environ,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
