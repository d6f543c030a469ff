"""One deadline per login: every call to a provider in a request shares it, measured as wall
time across all calls and all bytes (DESIGN.md §4: a slow provider is a branded 503 in time,
never a worker killed by gunicorn).

Per-call timeouts alone do not bound a login: several calls each just under their timeout,
or a body trickled a byte at a time (each read well within the socket timeout), add up to
minutes. :class:`DeadlineAdapter` is mounted on every provider's pooled HTTP session (and so
on Authlib's client, which borrows it): before each call it caps the socket timeout at the
time left, and it reads the body itself, a read at a time, setting the socket timeout to the
time left before each read and giving up with :class:`requests.Timeout` once the time is out.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import requests
from flask import current_app, g, has_request_context
from requests.adapters import HTTPAdapter

from app import metrics

DEFAULT_SECONDS = 10.0
READ_SIZE = 16 * 1024


class Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends = time.monotonic() + seconds

    def left(self) -> float:
        return self.ends - time.monotonic()

    def check(self) -> float:
        """The seconds left, or requests.Timeout when none are."""
        left = self.left()
        if left <= 0:
            raise requests.Timeout(f"the login's {self.seconds:g} s with the provider are up")
        return left


def current() -> Deadline | None:
    """This request's deadline, started by its first call to a provider; None outside a
    request (the CLI, the region check's probes keep their own timeouts)."""
    if not has_request_context():
        return None
    if "provider_deadline" not in g:
        seconds = current_app.config.get("LOGIN_DEADLINE_SECONDS", DEFAULT_SECONDS)
        g.provider_deadline = Deadline(seconds)
    return g.provider_deadline


def _cap(timeout, left: float):
    if timeout is None:
        return left
    if isinstance(timeout, tuple):
        return tuple(left if part is None else min(part, left) for part in timeout)
    return min(timeout, left)


def _socket(response: requests.Response):
    connection = getattr(response.raw, "connection", None)
    return getattr(connection, "sock", None)


class ProviderSession(requests.Session):
    """A pooled session that reads the environment's proxy and certificate settings
    (``HTTPS_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``…) once per host, not on every call:
    requests walks the whole process environment each time, a sixth of a login's calls. The
    settings are the process's, fixed at start, and a session lives for one configuration
    version of one region."""

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[str, str], dict] = {}

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        if proxies or stream is not None or verify is not None or cert is not None:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        settings = self._environment.get(key)
        if settings is None:
            settings = super().merge_environment_settings(url, {}, None, None, None)
            self._environment[key] = settings
        return {**settings, "proxies": dict(settings["proxies"])}


class DeadlineAdapter(HTTPAdapter):
    def send(self, request, stream=False, timeout=None, **kwargs):
        started = time.perf_counter()
        try:
            return self._send(request, stream=stream, timeout=timeout, **kwargs)
        finally:  # answered or not, the call's time is the provider's latency
            metrics.provider_call(request.url, time.perf_counter() - started)

    def _send(self, request, stream=False, timeout=None, **kwargs):
        deadline = current()
        if deadline is None:
            return super().send(request, stream=stream, timeout=timeout, **kwargs)
        left = deadline.check()
        response = super().send(request, stream=True, timeout=_cap(timeout, left), **kwargs)
        if stream:
            return response
        try:
            response._content = self._read_within(response, deadline)
        except requests.Timeout:
            response.close()
            raise
        except OSError as exc:  # the socket timed out on the time left
            response.close()
            raise requests.Timeout(f"{request.url}: {type(exc).__name__}") from None
        response._content_consumed = True
        return response

    @staticmethod
    def _read_within(response: requests.Response, deadline: Deadline) -> bytes:
        chunks = []
        while True:
            sock = _socket(response)
            if sock is not None:
                sock.settimeout(deadline.check())
            chunk = response.raw.read1(READ_SIZE, decode_content=True)
            if not chunk:
                response.raw.release_conn()  # read to the end: back to the pool
                return b"".join(chunks)
            chunks.append(chunk)
            deadline.check()
