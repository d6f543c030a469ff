"""Identity providers behind one interface, registered by ``kind`` (DESIGN.md §4).

A region's login page offers only the methods whose kind has an implementation registered
here; the configuration may name a method before its provider lands.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from flask import Response

    from app.tenants import Tenant

_PROVIDERS: dict[str, type[IdentityProvider]] = {}


class IdentityProvider(ABC):
    """One way of logging in. Subclasses declare ``kind`` and are built per tenant."""

    kind: ClassVar[str]

    def __init__(self, tenant: Tenant):
        self.tenant = tenant

    @abstractmethod
    def start_login(self) -> Response:
        """Begin a login: usually a redirect to the provider."""


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
