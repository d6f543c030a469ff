"""Identity providers behind one interface, registered by ``kind`` (DESIGN.md §4).

A region's login page offers only the methods whose kind has an implementation registered
here; the configuration may name a method before its provider lands.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

from .types import ExternalChild, ExternalIdentity, FullName

if TYPE_CHECKING:
    from collections.abc import Mapping

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

    def __init__(self, tenant: Tenant):
        self.tenant = tenant

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
