"""«Версия для слабовидящих» (ГОСТ Р 52872-2019): larger type, high contrast, no images.

The choice lives in a long-lived cookie of the host (no session: an anonymous visitor keeps
none), read by base.html on every page and switched by a plain link, so it works without
JavaScript. The link carries the page to come back to, and only a path on this host is
followed: anything else (another host, a scheme, a protocol-relative or backslashed address)
leads to the portal's home instead.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request, url_for

from app import cookies

COOKIE = "vision"  # its base name (app/cookies.py)
COOKIE_MAX_AGE = 365 * 24 * 3600
NEXT_MAX_LENGTH = 2000


def is_on() -> bool:
    return request.cookies.get(cookies.name_of(COOKIE)) == "on"


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this host (with its query), otherwise None."""
    if not target or len(target) > NEXT_MAX_LENGTH:
        return None
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def here() -> str:
    """The page the switch should come back to: this one, or for a page that answered a form,
    the page the form was on (a POST address cannot be opened again)."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path:
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return url_for("portal.index")


def switch_url(on: bool, back: str | None = None) -> str:
    """``back``: the address to come back to, this page's (``here()``) unless given."""
    return url_for("portal.low_vision", state="on" if on else "off", next=back or here())


def set_choice(response, on: bool):
    if on:
        cookies.set_on(response, COOKIE, "on", COOKIE_MAX_AGE)
    else:
        cookies.remove_from(response, COOKIE)
    response.cache_control.no_store = True
    return response
