"""Gunicorn's access line, made of what its format names and nothing else.

For every request gunicorn's logger builds a dictionary of every atom it knows: the time
formatted, the user of a Basic authorization, each request and response header and every
WSGI environ entry, each copied with its quotes escaped. It then formats the line from the
few its format names, or, where no handler writes the line, throws all of it away. That is
production's case: with JSON logs gunicorn's access log is off (``accesslog = None``) and
the portal writes its own access record, yet the atoms were built for every request.

:class:`AccessLogger` (``logger_class`` in ``gunicorn.conf.py``) makes no record where no
handler would write it, and computes only the atoms the format asks for, each as gunicorn
computes it and once: the same line, the same ``-`` for what is missing, the same escaping.

This module imports nothing of the portal's: gunicorn's master loads it, and a master that
had imported the portal's code would start the workers of a ``HUP`` on the old code.
"""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

from gunicorn import glogging


def _status(resp) -> Any:
    status = resp.status
    return status.split(None, 1)[0] if isinstance(status, str) else status


def _sent(resp) -> Any:
    return getattr(resp, "sent", None)


# Gunicorn's atoms by their letter (glogging.Logger.atoms): (logger, resp, environ, took).
_LETTERS: dict[str, Callable[..., Any]] = {
    "h": lambda log, resp, env, took: env.get("REMOTE_ADDR", "-"),
    "l": lambda log, resp, env, took: "-",
    "u": lambda log, resp, env, took: log._get_user(env) or "-",
    "t": lambda log, resp, env, took: log.now(),
    "r": lambda log, resp, env, took: (
        f"{env['REQUEST_METHOD']} {env['RAW_URI']} {env['SERVER_PROTOCOL']}"
    ),
    "s": lambda log, resp, env, took: _status(resp),
    "m": lambda log, resp, env, took: env.get("REQUEST_METHOD"),
    "U": lambda log, resp, env, took: env.get("PATH_INFO"),
    "q": lambda log, resp, env, took: env.get("QUERY_STRING"),
    "H": lambda log, resp, env, took: env.get("SERVER_PROTOCOL"),
    "b": lambda log, resp, env, took: str(resp.sent) if _sent(resp) is not None else "-",
    "B": lambda log, resp, env, took: _sent(resp),
    "f": lambda log, resp, env, took: env.get("HTTP_REFERER", "-"),
    "a": lambda log, resp, env, took: env.get("HTTP_USER_AGENT", "-"),
    "T": lambda log, resp, env, took: took.seconds,
    "D": lambda log, resp, env, took: took.seconds * 1000000 + took.microseconds,
    "M": lambda log, resp, env, took: took.seconds * 1000 + int(took.microseconds / 1000),
    "L": lambda log, resp, env, took: f"{took.seconds:d}.{took.microseconds:06d}",
    "p": lambda log, resp, env, took: f"<{os.getpid()}>",
}


def _pairs(headers) -> Any:
    return headers.items() if hasattr(headers, "items") else headers


class Atoms(MutableMapping):
    """Gunicorn's atoms of one request (``glogging.Logger.atoms`` in its ``SafeAtoms``).

    Reading an atom by its name (what a ``%(name)s`` format does) computes that atom alone,
    once. Anything else asked of the mapping (iterating it, ``in``, ``get``, changing it, its
    text) is answered by gunicorn's own dictionary of every atom, made then, with the atoms
    already read kept as they were read. A handler that formats later (a buffered one) sees
    the request as it is then."""

    def __init__(self, logger: glogging.Logger, resp, req, environ, request_time):
        self._logger, self._resp, self._req = logger, resp, req
        self._environ, self._took = environ, request_time
        self._read: dict[str, Any] = {}
        self._every: glogging.SafeAtoms | None = None

    def _value(self, key: str) -> Any:
        letter = _LETTERS.get(key)
        if letter is not None:
            return letter(self._logger, self._resp, self._environ, self._took)
        lowered = key.lower()  # "{name}i", "{name}o", "{name}e", in any case
        if not lowered.startswith("{") or len(lowered) < 3 or lowered[-2] != "}":
            return "-"
        name, source = lowered[1:-2], lowered[-1]
        if source == "i":
            req = self._req
            pairs = _pairs(req.headers if hasattr(req, "headers") else req)
        elif source == "o":
            pairs = _pairs(self._resp.headers)
        elif source == "e":
            pairs = self._environ.items()
        else:
            return "-"
        found = "-"
        for header, value in pairs:  # the last of a repeated name, as gunicorn's dict keeps
            if header.lower() == name:
                found = value
        return found

    def __getitem__(self, key: str) -> Any:
        if self._every is not None:
            return self._every[key]
        try:
            return self._read[key]
        except KeyError:
            value = self._value(key)
            if isinstance(value, str):
                value = value.replace('"', '\\"')
            self._read[key] = value
            return value

    def __bool__(self) -> bool:  # logging takes a mapping argument only if it is true
        return True

    def _all(self) -> glogging.SafeAtoms:
        if self._every is None:
            every = glogging.SafeAtoms(glogging.Logger.atoms(
                self._logger, self._resp, self._req, self._environ, self._took
            ))  # fmt: skip
            # The time, say, as the line already written has it.
            every.update({key: value for key, value in self._read.items() if key in _LETTERS})
            self._every = every
        return self._every

    def __contains__(self, key: object) -> bool:
        return key in self._all()

    def get(self, key: str, default: Any = None) -> Any:
        every = self._all()
        return dict.get(every, key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self._all()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())

    def __repr__(self) -> str:  # a format of "%s" writes the whole dictionary, as gunicorn's
        return repr(dict(self._all()))


class AccessLogger(glogging.Logger):
    """Gunicorn's logger, whose access line costs what it writes (see the module).

    Set as ``logger_class``, it also stands where gunicorn would have put its statsd logger
    when ``statsd_host`` is set: the portal's metrics are Prometheus' (app/metrics.py)."""

    def access(self, resp, req, environ, request_time) -> None:
        log = self.access_log
        if not (self.access_log_enabled and log.isEnabledFor(logging.INFO)
                and log.hasHandlers()):  # fmt: skip
            return
        try:
            log.info(self.cfg.access_log_format, Atoms(self, resp, req, environ, request_time))
        except Exception:
            self.error(traceback.format_exc())
