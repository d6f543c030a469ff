"""The identity provider's interface, and the registry of provider kinds (DESIGN.md §4).

A provider class carries everything about its kind (python-social-auth's backends, CTFd's
plugins): the schema of its ``identity_provider`` block, its button's default label, the
traits the access decision reads, what the QA check probes and needs from the environment,
how the emulator stands in for it, and what the demo needs. The base class owns what they
share: the pending login (a sealed cookie, ``pending.py``), the timed HTTP call over one
pooled session, and the cache per (region, configuration version). Registering a class is
all it takes to add a kind; nothing outside ``app/identity/`` tests a provider's kind.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import requests
from flask import current_app

from app.tenants.schema import ProviderConfig, register_kind

from . import pending
from .deadline import DeadlineAdapter, ProviderClient, ProviderSession
from .types import ExternalIdentity, ProviderNames, ProviderTraits

if TYPE_CHECKING:
    from flask import Response

    from app.tenants import Tenant

T = TypeVar("T")

_PROVIDERS: dict[str, type[IdentityProvider]] = {}
_cache_lock = threading.Lock()


class LoginFailed(Exception):
    """The login did not produce an identity. ``reason`` is a stable code for audit and
    statistics; the person sees the page for that reason."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class ProviderUnavailable(Exception):
    """The provider is down or too slow: a branded 503, and no session."""


class IdentityProvider(ABC):
    """One way of logging in. Subclasses declare ``kind`` and are built per request."""

    kind: ClassVar[str]
    # The schema of the region's ``identity_provider`` block for this kind; None for a method
    # that needs none (the school-issued login works beside any provider).
    config_model: ClassVar[type[ProviderConfig] | None] = None
    # The button's text when regions.yaml gives none (the seeds' words); None: a label is
    # required.
    default_label: ClassVar[str | None] = None
    traits: ClassVar[ProviderTraits] = ProviderTraits()
    # What the login page says when the person refused to share their data at the provider;
    # None: the general words, naming the provider.
    refused_message: ClassVar[str | None] = None
    # Which of the emulator's persona sets a region of this kind is seeded with (demo).
    demo_personas: ClassVar[str | None] = None
    # A login that has gone to the provider and not come back within this is void.
    PENDING_TTL: ClassVar[int] = 600

    def __init__(self, tenant: Tenant, env: Mapping[str, str] | None = None):
        self.tenant = tenant
        self.config = tenant.config.identity_provider
        self.env = os.environ if env is None else env

    # --- what is kept per region and configuration version --------------------------------

    def cached(self, name: str, build: Callable[[], T]) -> T:
        """What ``build()`` gives, kept per (kind, region, configuration version, name) in this
        process; a saved configuration version starts afresh. ``build`` runs outside the lock
        (it may call the provider, or ``cached`` again): two first requests may both build,
        and the first to finish is kept."""
        cache = current_app.extensions.setdefault("identity_providers", {})
        key = (self.kind, self.tenant.slug, self.tenant.version, name)
        with _cache_lock:
            if key in cache:
                return cache[key]
        built = build()
        with _cache_lock:
            return cache.setdefault(key, built)

    def _new_http(self) -> requests.Session:
        http = ProviderSession()
        http.headers["User-Agent"] = "myschool-portal"
        # Shared by every login of the region: it must carry nothing of one person's to the
        # next, so it keeps no cookies.
        http.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        adapter = DeadlineAdapter()
        http.mount("https://", adapter)
        http.mount("http://", adapter)
        return http

    @property
    def http(self) -> requests.Session:
        """One pooled HTTP session per provider (region and version): connections are reused."""
        return self.cached("http", self._new_http)

    def call(
        self, method: str, url: str, *, down_on_5xx: bool = False, **kwargs: Any
    ) -> requests.Response:
        """An HTTP call to the provider within the region's timeout and the login's deadline,
        over the session's pooled connections (``deadline.py``: :class:`ProviderClient`, which
        takes ``params``, ``data``, ``json`` and ``headers``). No answer in time, an answer
        over a megabyte (or, with ``down_on_5xx``, a server error) is ProviderUnavailable; a
        redirect is not followed, and is LoginFailed."""
        client = self.cached("http_client", lambda: ProviderClient(self.http))
        try:
            response = client.request(method, url, timeout=self.config.timeout_seconds, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ProviderUnavailable(f"{url}: {type(exc).__name__}") from None
        if down_on_5xx and response.status_code >= 500:
            raise ProviderUnavailable(f"{url}: HTTP {response.status_code}")
        if response.is_redirect:
            where = response.headers.get("Location", "")[:200]
            raise LoginFailed("provider_error", f"{url}: HTTP {response.status_code} to {where!r}, "
                              "not followed")  # fmt: skip
        return response

    # --- the pending login ----------------------------------------------------------------

    def remember_pending(self, state: str, **secrets_of_the_login: str) -> None:
        """Keep the login's state (and nonce, PKCE verifier…) until the callback: sealed, in
        a cookie of the answer (app/identity/pending.py), so starting a login writes nothing
        on the server."""
        pending.keep(self.kind, {"state": state, "tenant": self.tenant.slug,
                                 **secrets_of_the_login}, self.PENDING_TTL)  # fmt: skip

    def forget_pending(self) -> None:
        pending.forget(self.kind)

    def withdraw_pending(self) -> None:
        """This answer keeps no pending login after all; one the browser holds stays."""
        pending.withdraw(self.kind)

    def take_pending(self, args: Mapping[str, str]) -> dict:
        """The pending login the callback's ``state`` names: once, in time, in this region."""
        kept = pending.take(self.kind)
        if (
            not kept
            or kept.get("tenant") != self.tenant.slug
            or not args.get("state")
            or args.get("state") != kept.get("state")
        ):
            raise LoginFailed("bad_state", "unknown, reused or expired state")
        return kept

    # --- the login ------------------------------------------------------------------------

    @abstractmethod
    def start_login(self) -> Response:
        """Begin a login: usually a redirect to the provider."""

    @abstractmethod
    def finish_login(self, args: Mapping[str, str]) -> ExternalIdentity:
        """Complete it from the callback's parameters, or raise LoginFailed/ProviderUnavailable."""

    def logout_url(self, identity_session: str | None, return_to: str) -> str | None:
        """Where to send the browser to end the provider's own session, if it has one."""
        return None

    # --- what people read -----------------------------------------------------------------

    @classmethod
    def names(cls, tenant: Tenant) -> ProviderNames:
        """The provider's name on the region's pages: its login button's words."""
        return ProviderNames.indeclinable(provider_label(tenant) or cls.kind)

    # --- operating it: the QA check, the emulator, the demo -------------------------------

    @classmethod
    def probe(cls, config: ProviderConfig) -> tuple[str, bool] | None:
        """A URL any live provider of this kind answers, and whether only HTTP 200 counts as
        alive; None when there is nothing to reach."""
        return None

    @classmethod
    def environment_problems(cls, config: ProviderConfig, env: Mapping[str, str]) -> list[str]:
        """What the validated configuration still needs from the environment (secrets, key
        files), in words for the operator."""
        return []

    @classmethod
    def issuer_of(cls, config: ProviderConfig) -> str:
        """The issuer of the identities this kind gives: users are keyed by it."""
        return config.issuer

    @classmethod
    def demo_environment(cls, tenant: Tenant, directory: Path) -> dict:
        """The environment the demo needs for this region's provider (keys made once under
        ``directory``): variable name → value."""
        return {}


def register(cls: type[IdentityProvider]) -> type[IdentityProvider]:
    """Add a provider kind: its login method and, if it has one, its configuration block."""
    _PROVIDERS[cls.kind] = cls
    register_kind(cls.kind, cls.config_model, cls.default_label)
    return cls


def provider_class(kind: str) -> type[IdentityProvider] | None:
    return _PROVIDERS.get(kind)


def is_implemented(kind: str) -> bool:
    return kind in _PROVIDERS


def offered_methods(tenant: Tenant) -> list:
    """The region's login methods, in its order, that have a provider to run them."""
    return [method for method in tenant.shown.login_methods if is_implemented(method.kind)]


def region_provider(tenant: Tenant) -> type[IdentityProvider]:
    """The class of the region's own identity provider (``identity_provider.kind``)."""
    return _PROVIDERS[tenant.config.identity_provider.kind]


def provider_names(tenant: Tenant) -> ProviderNames:
    """The name of the region's own identity provider, in the cases pages need (its kind's
    words while no class runs that kind)."""
    provider = _PROVIDERS.get(tenant.config.identity_provider.kind)
    if provider is None:
        return ProviderNames.indeclinable(tenant.config.identity_provider.kind)
    return provider.names(tenant)


def provider_label(tenant: Tenant) -> str | None:
    """The button of the region's own identity provider (not a school-issued login), if the
    region offers it: where a person must hold an account."""
    kind = tenant.config.identity_provider.kind
    return next((m.label for m in offered_methods(tenant) if m.kind == kind), None)
