"""Identity providers behind one interface, registered by ``kind`` (DESIGN.md §4).

A region's login page offers only the methods whose kind has an implementation registered
here; the configuration may name a method before its provider lands.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from flask import session

from .types import ExternalChild, ExternalIdentity, FullName

if TYPE_CHECKING:
    from flask import Response

    from app.tenants import Tenant

__all__ = [
    "ExternalChild",
    "ExternalIdentity",
    "FullName",
    "IdentityProvider",
    "LoginFailed",
    "ProviderUnavailable",
    "offered_methods",
    "provider_class",
    "register",
]

_PROVIDERS: dict[str, type[IdentityProvider]] = {}


class LoginFailed(Exception):
    """The login did not produce an identity. ``reason`` is a stable code for audit and
    statistics; the person sees the page for that reason."""

    def __init__(self, reason: str, detail: str = ""):
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


class ProviderUnavailable(Exception):
    """The provider is down or too slow: a branded 503, and no session."""


class IdentityProvider(ABC):
    """One way of logging in. Subclasses declare ``kind`` and are built per tenant."""

    kind: ClassVar[str]
    # A login that has gone to the provider and not come back within this is void.
    PENDING_TTL: ClassVar[int] = 600

    def __init__(self, tenant: Tenant, env: Mapping[str, str] | None = None):
        self.tenant = tenant
        self.config = tenant.config.identity_provider
        self.env = os.environ if env is None else env

    @property
    def _pending_key(self) -> str:
        return f"{self.kind}_login"

    def remember_pending(self, state: str, **secrets_of_the_login: str) -> None:
        """Keep the login's state (and nonce, PKCE verifier…) in the server-side session."""
        session[self._pending_key] = {"state": state, "tenant": self.tenant.slug,
                                      "expires": time.time() + self.PENDING_TTL,
                                      **secrets_of_the_login}  # fmt: skip

    def take_pending(self, args: Mapping[str, str]) -> dict:
        """The pending login the callback's ``state`` names: once, in time, in this region."""
        pending = session.pop(self._pending_key, None)
        if (
            not pending
            or pending.get("tenant") != self.tenant.slug
            or pending.get("expires", 0) < time.time()
            or not args.get("state")
            or args.get("state") != pending.get("state")
        ):
            raise LoginFailed("bad_state", "unknown, reused or expired state")
        return pending

    @abstractmethod
    def start_login(self) -> Response:
        """Begin a login: usually a redirect to the provider."""

    @abstractmethod
    def finish_login(self, args: Mapping[str, str]) -> ExternalIdentity:
        """Complete it from the callback's parameters, or raise LoginFailed/ProviderUnavailable."""

    def logout_url(self, identity_session: str | None, return_to: str) -> str | None:
        """Where to send the browser to end the provider's own session, if it has one."""
        return None


def load_providers() -> None:
    """Import the provider modules so that each registers its kind."""
    from . import oidc, password  # noqa: F401
    from .esia import provider  # noqa: F401


def register(cls: type[IdentityProvider]) -> type[IdentityProvider]:
    _PROVIDERS[cls.kind] = cls
    return cls


def provider_class(kind: str) -> type[IdentityProvider] | None:
    return _PROVIDERS.get(kind)


def is_implemented(kind: str) -> bool:
    return kind in _PROVIDERS


def offered_methods(tenant: Tenant) -> list:
    """The region's login methods, in its order, that have a provider to run them."""
    return [method for method in tenant.config.login_methods if is_implemented(method.kind)]
