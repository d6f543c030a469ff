"""What this worker last saw of its regions' identity providers, for the login page's notice.

The login page is served without calling the provider (and without the database): it only
reads what this worker has already found out. Three things find out: a login that ended
because the provider did not answer marks the region's provider «may be down» for
``DOWN_SECONDS``, and one the provider completed clears the mark; a press of the provider's
button asks the provider first (``answers``: its probe, at most every ``RECHECK_SECONDS``),
so that a provider that is down is said on our page instead of the browser's connection
error, and one that is back works at once; and the region check (app/qa.py) records what its
probe found. Each worker keeps its own marks in its app (nothing shared, nothing stored).
"""

from __future__ import annotations

import threading
from time import monotonic

from flask import current_app

from app.tenants import Tenant

DOWN_SECONDS = 60.0
# A press of the button asks the provider again once the last answer is this old.
RECHECK_SECONDS = 10.0
# ... and waits this long for it: a person is waiting.
PROBE_SECONDS = 2.0
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


def record(tenant: Tenant, kind: str, ok: bool) -> None:
    """What a probe of the region's provider found."""
    if not _own(tenant, kind):
        return
    current_app.extensions.setdefault("provider_probes", {})[(tenant.slug, kind)] = (
        monotonic(),
        ok,
    )
    if ok:
        provider_answered(tenant, kind)
    else:
        provider_failed(tenant, kind)


def answers(tenant: Tenant, kind: str) -> bool:
    """Whether the region's own provider answers, asked at most every ``RECHECK_SECONDS`` by
    this worker (the last answer otherwise); other login methods always "answer"."""
    if not _own(tenant, kind):
        return True
    last = current_app.extensions.setdefault("provider_probes", {}).get((tenant.slug, kind))
    if last is None or monotonic() - last[0] >= RECHECK_SECONDS:
        from app.qa import probe_provider

        ok = probe_provider(tenant, timeout=PROBE_SECONDS).ok
        record(tenant, kind, ok)
        return ok
    return last[1]
