"""What this worker last saw of its regions' identity providers, for the login page's notice.

The login page is served without calling the provider (and without the database): it only
reads what logins here have already found out. A login that ended because the provider did
not answer marks the region's provider «may be down» for ``DOWN_SECONDS``; a login that the
provider completed clears the mark at once. Each worker keeps its own marks in its app
(nothing shared, nothing stored): a worker that saw nothing says nothing.
"""

from __future__ import annotations

import threading
from time import monotonic

from flask import current_app

from app.tenants import Tenant

DOWN_SECONDS = 60.0
_lock = threading.Lock()


def _marks() -> dict[tuple[str, str], float]:
    return current_app.extensions.setdefault("provider_down_since", {})


def _own(tenant: Tenant, kind: str) -> bool:
    """Only the region's own identity provider is marked (the notice names it)."""
    return kind == tenant.config.identity_provider.kind


def provider_failed(tenant: Tenant, kind: str) -> None:
    if _own(tenant, kind):
        with _lock:
            _marks()[(tenant.slug, kind)] = monotonic()


def provider_answered(tenant: Tenant, kind: str) -> None:
    marks = _marks()
    if (tenant.slug, kind) in marks:
        with _lock:
            marks.pop((tenant.slug, kind), None)


def kinds_down(tenant: Tenant) -> frozenset[str]:
    """The login methods of ``tenant`` whose provider failed a login here in the last
    ``DOWN_SECONDS`` and has not completed one since."""
    marks = _marks()
    if not marks:
        return frozenset()
    now = monotonic()
    return frozenset(
        kind
        for (slug, kind), since in list(marks.items())
        if slug == tenant.slug and now - since < DOWN_SECONDS
    )
