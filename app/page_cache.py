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
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from flask import Flask, current_app, g, render_template, request, session
from flask_login import current_user

from app import i18n
from app.blueprints.portal import vision

# Pages kept per worker: a region's few pages in each language and look, and room for the
# addresses with a query (?next=…); a flood of distinct queries only pushes out the oldest.
# A page repeats its address in its links (the languages, the low-vision switch), so an
# address with a longer query is rendered every time instead: 512 pages of some 15 KB at
# most, under 8 MB a worker.
KEPT = 512
QUERY_KEPT = 256  # bytes


class PageCache:
    """A bounded, thread-safe map of rendered pages, the least recently used dropped first."""

    def __init__(self, size: int = KEPT):
        self.size = size
        self._pages: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: Hashable, page: str) -> None:
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pages)


def _anonymous() -> bool:
    """Nothing of this visitor's on the page: no session content, no preview, nobody
    signed in."""
    return (
        not session
        and getattr(session, "ended", None) is None
        and g.get("draft_preview") is None
        and not current_user.is_authenticated
    )


def render(template: str, version: Hashable, *, shows: Hashable = (), **context) -> str:
    """``render_template(template, **context)``, kept for visitors without a session.
    ``version`` names the configuration the site serves; ``shows`` is what else the view puts
    on the page besides the request's address and the configuration (everything in
    ``context`` must follow from these)."""
    if request.method != "GET" or len(request.query_string) > QUERY_KEPT or not _anonymous():
        return render_template(template, **context)
    key = (
        template, request.host, request.scheme, request.full_path, version,
        i18n.current(), vision.is_on(), shows,
    )  # fmt: skip
    pages: PageCache = current_app.extensions["page_cache"]
    page = pages.get(key)
    if page is None:
        page = render_template(template, **context)
        pages.put(key, page)
    return page


def init_app(app: Flask) -> None:
    app.extensions["page_cache"] = PageCache()
