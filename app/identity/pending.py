"""A login on its way to the provider, kept in a cookie of its own until the callback.

What the callback must find again (the ``state``, the region, the OIDC nonce, the PKCE
verifier, the moment it expires) is sealed (encrypted and authenticated: app/sealing.py) into
a cookie set on the redirect to the provider, and spent by the callback. Starting a login
therefore writes nothing on the server: asking for a login again and again fills no session
store, and the callback finds the login without reading a session (docs/security.md,
docs/performance.md).

The cookie is host-only and HttpOnly, SameSite=Lax (the provider sends the browser back with
a top-level GET, which carries it), ``__Host-`` and Secure over HTTPS, as the session's. It
is spent whatever the callback brings: answered, refused or forged, and an answer that sets
or removes it is stored by no cache.

What the cookie cannot do is remember that it was spent. A browser drops it when told to,
but a copy taken from the browser, sent again with the callback's address within its 10
minutes, passes these checks: the provider then refuses the code it has already exchanged
(ESIA and mos.ru take each code once), and no session is made. Whoever can take this cookie
could as well have taken the session cookie that held the pending login before.
"""

from __future__ import annotations

import time
from typing import Any

from flask import after_this_request, request

from app import cookies
from app.sealing import InvalidToken, seal, unseal

_CHANGES = "myschool.login_cookies"


def cookie_name(kind: str) -> str:
    """``login-<kind>`` (``__Host-login-<kind>`` over HTTPS: app/cookies.py)."""
    return cookies.name_of(_base(kind))


def _base(kind: str) -> str:
    return f"login-{kind}"


def _answer_sets(name: str, value: str | None, max_age: int = 0) -> None:
    """The answer sets the cookie ``name`` (its base name) to ``value`` (or removes it: None);
    of what one request says about a cookie, the last is written, once. (Kept in the
    request's environ: ``g`` lives as long as the app context, which requests made inside one
    share.)"""
    changes: dict[str, tuple[str | None, int]] | None = request.environ.get(_CHANGES)
    if changes is None:
        changes = request.environ[_CHANGES] = {}

        @after_this_request
        def write(response):
            response.cache_control.no_store = True  # a login's secrets: kept by no cache
            for base, (kept, age) in changes.items():
                if kept is None:
                    cookies.remove_from(response, base)
                else:
                    cookies.set_on(response, base, kept, age)
            return response

    changes[name] = (value, max_age)


def sealed(kind: str, pending: dict[str, Any], ttl: int) -> str:
    """The cookie's value: ``pending``, a login of ``kind`` that expires in ``ttl`` seconds."""
    return seal({"kind": kind, "expires": time.time() + ttl, **pending})


def keep(kind: str, pending: dict[str, Any], ttl: int) -> None:
    """The login's secrets, in the cookie of ``kind`` for ``ttl`` seconds."""
    _answer_sets(_base(kind), sealed(kind, pending, ttl), ttl)


def take(kind: str) -> dict[str, Any] | None:
    """The pending login of ``kind`` this browser brings, if it is one, unaltered and in
    time; the cookie is removed by the answer in any case."""
    brought = request.cookies.getlist(cookie_name(kind))
    forget(kind)
    if len(brought) != 1:  # none, or a second one planted beside ours (a longer Path)
        return None
    try:
        pending = unseal(brought[0])
    except (InvalidToken, ValueError):  # altered, another key's, or not ours at all
        return None
    if (
        not isinstance(pending, dict)
        or pending.get("kind") != kind
        or not isinstance(pending.get("expires"), int | float)
        or pending["expires"] < time.time()
    ):
        return None
    return pending


def forget(kind: str) -> None:
    """The pending login of ``kind`` ends with this answer."""
    if cookie_name(kind) in request.cookies or _base(kind) in request.environ.get(_CHANGES, ()):
        _answer_sets(_base(kind), None)


def withdraw(kind: str) -> None:
    """What this answer was to say of the cookie of ``kind`` is not said: a pending login the
    browser already holds stays as it was."""
    request.environ.get(_CHANGES, {}).pop(_base(kind), None)
