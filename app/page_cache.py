"""Pages a visitor without a session sees, rendered once per what they show.

A region's login page and the region chooser are the morning peak's most frequent pages, and
for a visitor the portal keeps no session for they show nothing of that visitor: the same
site, address, language and low-vision choice make the same page. Their rendered HTML is
kept per worker, in a small LRU, under a key of everything the template reads:

- the site (the ``Host``, the scheme) and the configuration it serves (a region's
  :attr:`Tenant.serial`, or for the chooser every region's: :attr:`TenantRegistry.generation`,
  both unique in the process, where a version's name can come back with other settings), so
  an administrator's save is seen on the next request, as before;
- the page's address with its query, and the template (a partial for htmx);
- the page's language and the low-vision choice (the cookies that choose them);
- what the view adds (the login methods whose provider failed lately, say).

A request with anything in its session (a flash, a login under way, a signed-in person, a
session that was just ended, a draft preview) is rendered every time, and never kept: those
are the parts of a page that are someone's. The response around the kept body (its headers,
the security and cache ones included) is made for every request as before.

A signed-in person's page (:func:`framed`, the diary) keeps its frame instead: the page around
its content, rendered with markers where it shows something of that person (their name, the
unread count, the CSRF token, the address to come back to) and shared by everyone it looks
the same for. Each request fills the markers in, escaped as the template escapes them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Flask, current_app, g, render_template, request, session
from flask.globals import request_ctx
from flask_login import current_user
from markupsafe import Markup, escape

from app import i18n
from app.blueprints.portal import vision
from app.kept import Kept
from app.security import csrf_token

# Pages kept per worker: a region's few pages in each language and look, and room for the
# addresses with a query (?next=…); a flood of distinct queries only pushes out the oldest.
# A page repeats its address in its links (the languages, the low-vision switch), so an
# address with a longer query is rendered every time instead: 512 pages of some 15 KB at
# most, under 8 MB a worker.
KEPT = 512
QUERY_KEPT = 256  # bytes


def _anonymous() -> bool:
    """Nothing of this visitor's on the page: no session content, no preview, nobody
    signed in."""
    return (
        not session
        and getattr(session, "ended", None) is None
        and g.get("draft_preview") is None
        and not current_user.is_authenticated
    )


def render(
    template: str, version: Hashable, context: Callable[[], Mapping], *, shows: Hashable = ()
) -> str:
    """``render_template(template, **context())``, kept for visitors without a session.
    ``version`` names the configuration the site serves; ``shows`` is what else the view puts
    on the page besides the request's address and the configuration (everything ``context``
    gives must follow from these). ``context`` is called only when the page is rendered: a
    kept page costs none of the work that makes its values."""
    if request.method != "GET" or len(request.query_string) > QUERY_KEPT or not _anonymous():
        return render_template(template, **context())
    key = (
        template, request.host, request.scheme, request.full_path, version,
        i18n.current(), vision.is_on(), shows,
    )  # fmt: skip
    pages: Kept[str] = current_app.extensions["page_cache"]
    page = pages.get(key)
    if page is None:
        page = render_template(template, **context())
        pages.put(key, page)
    return page


# --- the frame around a signed-in person's page ------------------------------------------------

# What a frame shows of the person, as markers of letters and digits only (no escaping
# changes them), random per process so that no content can contain one.
_MARKERS = {part: f"frame{secrets.token_hex(8)}{part}" for part in
            ("content", "csrf", "name", "unread", "next")}  # fmt: skip
_BETWEEN_MARKERS = re.compile("(" + "|".join(_MARKERS.values()) + ")")
# Query values in links, as Werkzeug's url_for writes them (werkzeug.urls._urlencode).
_QUERY_SAFE = "!$'()*,/:;?@"


@dataclass(frozen=True)
class _Someone:
    """The signed-in person a frame is rendered for: anyone, named by a marker."""

    display_name: str
    is_authenticated: bool = True


def _signed_in_plainly() -> bool:
    """Someone signed in, with nothing else of theirs on the page: no flash (in the session,
    or already read by this request), no preview."""
    return (
        request.method == "GET"
        and current_user.is_authenticated
        and "_flashes" not in session
        and not request_ctx.flashes
        and g.get("draft_preview") is None
        and g.get("tenant") is not None
    )


def framed(template: str, slot: str, content: Markup, *, shows: Hashable, **context) -> str:
    """``render_template(template, **{slot: content}, **context)`` for a signed-in person,
    with the page around ``content`` kept. ``shows`` is what else the view puts on the page
    (everything in ``context`` must follow from it, the region and the language). The frame's
    key holds the region's configuration, the language and look, the view, whether there is
    an unread item and an administrator's menu, and ``shows``; never the person, nor the host
    (the frame's addresses are all relative)."""
    if not _signed_in_plainly():
        return render_template(template, **{slot: content}, **context)
    from app.notifications import unread_count
    from app.signin import current_access

    unread, access = unread_count(current_user), current_access()
    key = (
        template, g.tenant.serial, i18n.current(), vision.is_on(),
        request.endpoint, bool(unread), bool(access and access.acting_as_regional_admin), shows,
    )  # fmt: skip
    frames: Kept[tuple[str, ...]] = current_app.extensions["page_frames"]
    pieces = frames.get(key)
    if pieces is None:
        mark = _MARKERS
        page = render_template(
            template,
            **{slot: escape(mark["content"])},  # letters and digits: as they are
            csrf_token=lambda: mark["csrf"],
            current_user=_Someone(mark["name"]),
            unread_notifications=mark["unread"] if unread else 0,
            low_vision_url=lambda on: vision.switch_url(on, back=mark["next"]),
            language_links=lambda: i18n.switch_links(back=mark["next"]),
            **context,
        )
        token = g.get(current_app.config["WTF_CSRF_FIELD_NAME"])
        if token and token in page:  # something wrote the real token: the page is the person's
            return render_template(template, **{slot: content}, **context)
        pieces = tuple(_BETWEEN_MARKERS.split(page))
        frames.put(key, pieces)
    back = urlencode({"next": vision.here()}, safe=_QUERY_SAFE).removeprefix("next=")
    values = {
        _MARKERS["content"]: escape(content),  # as it is if it is Markup, as the template does
        _MARKERS["csrf"]: escape(csrf_token()),
        _MARKERS["name"]: escape(current_user.display_name),
        _MARKERS["unread"]: escape(unread),
        _MARKERS["next"]: escape(back),
    }
    return "".join(values.get(piece, piece) for piece in pieces)


def init_app(app: Flask) -> None:
    app.extensions["page_cache"] = Kept(KEPT)
    app.extensions["page_frames"] = Kept(KEPT)
