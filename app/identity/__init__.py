"""Identity providers behind one interface, registered by ``kind`` (DESIGN.md §4).

Importing this package registers the built-in kinds: ``esia`` (Госуслуги), ``oidc`` (mos.ru
and any OpenID Connect provider) and ``password`` (the school-issued login). A region's login
page offers only the methods whose kind is registered.
"""

from .base import (
    IdentityProvider,
    LoginFailed,
    ProviderUnavailable,
    is_implemented,
    offered_methods,
    provider_class,
    provider_label,
    provider_names,
    region_provider,
    register,
)
from .types import ExternalChild, ExternalIdentity, FullName, ProviderNames, ProviderTraits

__all__ = [
    "ExternalChild",
    "ExternalIdentity",
    "FullName",
    "IdentityProvider",
    "LoginFailed",
    "ProviderNames",
    "ProviderTraits",
    "ProviderUnavailable",
    "is_implemented",
    "load_providers",
    "offered_methods",
    "provider_class",
    "provider_label",
    "provider_names",
    "region_provider",
    "register",
]


def load_providers() -> None:
    """Import the built-in provider modules, each of which registers its kind."""
    from . import oidc, password  # noqa: F401
    from .esia import provider  # noqa: F401


load_providers()
