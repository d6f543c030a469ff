"""One deadline per login: every call to a provider in a request shares it, measured as wall
time across all calls and all bytes (DESIGN.md §4: a slow provider is a branded 503 in time,
never a worker killed by gunicorn).

Per-call timeouts alone do not bound a login: several calls each just under their timeout,
or a body trickled a byte at a time (each read well within the socket timeout), add up to
minutes. :class:`DeadlineAdapter` is mounted on every provider's pooled HTTP session (and so
on Authlib's client, which borrows it): before each call it caps the socket timeout at the
time left, and it reads the body itself, a read at a time, setting the socket timeout to the
time left before each read and giving up with :class:`requests.Timeout` once the time is out
(and, in a request, with :class:`TooLarge` once the answer passes :data:`MAX_ANSWER`,
whatever its speed).

The status line and headers are read by http.client, a socket read at a time, each within
the socket's timeout: a provider trickling them a byte at a time would hold the call until
gunicorn's worker timeout. So every pool the adapter makes is watched (:class:`_Reaper`):
when the login's time is up while a call waits for its answer, one thread of the process
shuts the call's socket down, and the call fails as a read timeout.

A provider's own calls (:meth:`IdentityProvider.call <app.identity.base.IdentityProvider.call>`,
four per ESIA login) go through :class:`ProviderClient`: the same pools, settings and deadline,
without requests' session around each call.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json as json_module
import os
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import urllib3
from flask import current_app, g, has_request_context
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import check_header_validity, get_encoding_from_headers

from app import metrics

DEFAULT_SECONDS = 10.0
READ_SIZE = 16 * 1024
# A provider's answer is a few kilobytes (a person, their contacts, their children, a token):
# one larger than this is not read on, whatever its speed.
MAX_ANSWER = 1024 * 1024


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


class TooLarge(requests.ConnectionError):
    """An answer longer than its limit: the call failed, as if the connection had."""


def read_within(raw: urllib3.BaseHTTPResponse, deadline: Deadline, limit: int) -> bytes:
    """A response's body, a read at a time, each read given only the time left: a body
    trickled a byte at a time still ends at the deadline (:class:`requests.Timeout`), and one
    longer than ``limit`` bytes is not read on (:class:`TooLarge`). A body read to its end
    gives its connection back to the pool."""
    chunks, size = [], 0
    while True:
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        if sock is not None:
            sock.settimeout(deadline.check())
        chunk = raw.read1(READ_SIZE, decode_content=True)
        if not chunk:
            raw.release_conn()
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the answer is over {limit // 1024} KB")
        chunks.append(chunk)
        deadline.check()


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


class _Watch:
    """A call waiting for its answer on ``connection``, until ``done``."""

    def __init__(self, connection) -> None:
        self.connection, self.done, self.fired = connection, False, False

    def fire(self) -> None:
        if self.done:
            return
        self.fired = True
        sock = getattr(self.connection, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):  # closed meanwhile
                sock.shutdown(socket.SHUT_RDWR)  # the blocked read returns at once


class _Reaper:
    """One thread per process that ends the calls still waiting when their login's time is
    up: watching a call costs a heap entry, not a thread."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._pid: int | None = None

    def watch(self, ends: float, connection) -> _Watch:
        """``ends``: the moment (``time.monotonic``) the call's login is out of time."""
        watch = _Watch(connection)
        with self._changed:
            if self._pid != os.getpid():  # the first call of this process (a forked worker)
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="provider-deadline", daemon=True).start()
            heapq.heappush(self._due, (ends, next(self._order), watch))
            if self._due[0][2] is watch:  # sooner than the thread waits for: it must know
                self._changed.notify()
        return watch

    def _run(self) -> None:
        with self._changed:
            while True:
                if not self._due:
                    self._changed.wait()
                    continue
                ends, _, watch = self._due[0]
                left = ends - time.monotonic()
                if watch.done:
                    heapq.heappop(self._due)
                elif left > 0:
                    self._changed.wait(left)
                else:
                    heapq.heappop(self._due)
                    watch.fire()


_REAPER = _Reaper()


def _watched(pool_class: type) -> type:
    """``pool_class`` whose calls, in a request with a login's deadline, are ended when it
    passes while they wait for the status line and headers (connecting included)."""

    def _make_request(self, conn, method, url, *args, **kwargs):
        deadline = current()
        if deadline is None:
            return pool_class._make_request(self, conn, method, url, *args, **kwargs)
        watch = _REAPER.watch(deadline.ends, conn)
        try:
            return pool_class._make_request(self, conn, method, url, *args, **kwargs)
        except Exception as error:  # a socket shut down mid-line is any of http.client's
            if watch.fired:
                raise urllib3.exceptions.ReadTimeoutError(
                    self, url, f"the login's {deadline.seconds:g} s with the provider are up"
                ) from error
            raise
        finally:
            watch.done = True

    return type(f"Watched{pool_class.__name__}", (pool_class,), {"_make_request": _make_request})


_WATCHED_POOLS = {"http": _watched(urllib3.HTTPConnectionPool),
                  "https": _watched(urllib3.HTTPSConnectionPool)}  # fmt: skip


class DeadlineAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is urllib3.ProxyManager:  # a SOCKS proxy's pools are its own
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager

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
        response._content = _read_body(response.raw, deadline, request.url)
        response._content_consumed = True
        return response


def _read_body(raw: urllib3.BaseHTTPResponse, deadline: Deadline, url: str) -> bytes:
    """:func:`read_within`; a body not read to its end closes its connection (and gives the
    pool its place back), and a failure is requests' (:func:`_as_requests`)."""
    try:
        return read_within(raw, deadline, MAX_ANSWER)
    except BaseException as error:
        raw.close()
        raw.release_conn()
        if isinstance(error, OSError | urllib3.exceptions.HTTPError) and not isinstance(
            error, requests.RequestException
        ):
            raise _as_requests(error, url) from error
        raise


# urllib3's and the socket's failures, first match wins, and requests' names for them.
_REQUESTS_NAMES: tuple[tuple[type | tuple[type, ...], type[requests.RequestException]], ...] = (
    (urllib3.exceptions.SSLError, requests.exceptions.SSLError),
    (urllib3.exceptions.ProxyError, requests.exceptions.ProxyError),
    # A refused connection is urllib3's ConnectTimeoutError too: requests says neither.
    (urllib3.exceptions.NewConnectionError, requests.ConnectionError),
    (urllib3.exceptions.ConnectTimeoutError, requests.ConnectTimeout),
    ((urllib3.exceptions.ReadTimeoutError, TimeoutError), requests.ReadTimeout),
    (urllib3.exceptions.TimeoutError, requests.Timeout),
)


def _as_requests(error: BaseException, url: str) -> requests.RequestException:
    """A failure of urllib3 or the socket as requests' adapter names it
    (``HTTPAdapter.send``): the name is what the audit row and the log say (a certificate
    refused is an ``SSLError``, not a provider that is down)."""
    if isinstance(error, urllib3.exceptions.MaxRetryError) and error.reason is not None:
        error = error.reason
    message = f"{url}: {error}"
    return next((kind(message) for found, kind in _REQUESTS_NAMES if isinstance(error, found)),
                requests.ConnectionError(message))  # fmt: skip


def _given(values: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A query's or form's fields without the values of None, as requests leaves them out."""
    return [
        (name, [item for item in value if item is not None] if isinstance(value, list) else value)
        for name, value in values.items()
        if value is not None
    ]


class ProviderClient:
    """A provider's calls straight over the pools of its session's adapter.

    Requests' session costs about 0.4 ms of CPU around each call, against some 0.7 ms for the
    call itself (preparing the request, merging the session's settings, the cookie jars, the
    hooks, the response's cookies), and an ESIA login makes four. The call here is the adapter's own
    (``HTTPAdapter.send``) without that: the same pool for the host, set up as requests sets it
    up (the environment's proxy and certificate settings, read once per host by
    :class:`ProviderSession`), the session's headers (not its auth, hooks or parameters), the
    same timeouts and deadline. It takes what a provider's call needs (a query, a form or
    JSON, headers; values of None left out, headers checked, as requests does); redirects
    are not followed (an API's answer is the answer), and the body is read within the
    deadline and up to :data:`MAX_ANSWER`. The answer is a :class:`requests.Response`, and a
    failure of the connection requests' error of the same name (:func:`_as_requests`); a
    setting that cannot work (a CA bundle that is not there, an address that is no address)
    fails as it did in requests."""

    def __init__(self, session: ProviderSession):
        self.session = session

    def request(
        self,
        method: str,
        url: str,
        *,
        timeout: float,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | str | bytes | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        if params:
            query = urlencode(_given(params), doseq=True)
            url = f"{url}{'&' if urlsplit(url).query else '?'}{query}"
        sent = CaseInsensitiveDict(self.session.headers)
        body: bytes | None = None
        if json is not None:
            body = json_module.dumps(json, allow_nan=False).encode()
            sent["Content-Type"] = "application/json"
        elif isinstance(data, Mapping):
            body = urlencode(_given(data), doseq=True).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif data is not None:
            body = data.encode() if isinstance(data, str) else data
        sent.update(headers or {})
        for header in sent.items():
            check_header_validity(header)
        if body is not None or method.upper() not in ("GET", "HEAD"):
            sent["Content-Length"] = str(len(body or b""))
        prepared = requests.PreparedRequest()
        prepared.method, prepared.url, prepared.headers, prepared.body = (
            method.upper(), url, sent, body
        )  # fmt: skip
        adapter = self.session.get_adapter(url)
        settings = self.session.merge_environment_settings(url, {}, None, None, None)
        verify, cert, proxies = settings["verify"], settings["cert"], settings["proxies"]
        pool = adapter.get_connection_with_tls_context(prepared, verify, proxies, cert)
        adapter.cert_verify(pool, url, verify, cert)
        started = time.perf_counter()
        try:
            target = adapter.request_url(prepared, proxies)
            return self._send(prepared, timeout, pool, target, adapter.max_retries)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            if isinstance(error, requests.RequestException):
                raise
            raise _as_requests(error, url) from error
        finally:  # answered or not, the call's time is the provider's latency
            metrics.provider_call(url, time.perf_counter() - started)

    def _send(
        self, prepared: requests.PreparedRequest, timeout: float, pool, target: str, retries
    ) -> requests.Response:
        url = prepared.url
        deadline = current()
        seconds = timeout if deadline is None else _cap(timeout, deadline.check())
        raw = pool.urlopen(
            method=prepared.method, url=target, body=prepared.body, headers=prepared.headers,
            redirect=False, assert_same_host=False, preload_content=False,
            decode_content=False, retries=retries,
            timeout=urllib3.Timeout(connect=seconds, read=seconds),
        )  # fmt: skip
        content = _read_body(raw, deadline or Deadline(seconds), url)
        response = requests.Response()
        response.status_code, response.reason, response.url = raw.status, raw.reason, url
        response.headers = CaseInsensitiveDict(raw.headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw, response.request = raw, prepared
        response._content, response._content_consumed = content, True
        return response
