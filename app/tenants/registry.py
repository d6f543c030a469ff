"""The tenant registry: which region a host belongs to, and that region's configuration.

Resolution is one dictionary lookup on the normalised host, so it costs the same for four
regions or four hundred. An unknown host resolves to nothing, never to a default region.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from app import i18n

from .schema import Branding, Policy, PortalConfig, RegionsFile, TenantConfig

BASELINE_VERSION = "baseline"


def normalize_host(host: str) -> str:
    """``Mosreg.LOCALHOST.:8000`` → ``mosreg.localhost``: case, port, final dot don't matter."""
    host = host.strip().lower()
    bracketed = host.startswith("[")  # [::1]:8000
    host = host[: host.find("]") + 1] if bracketed else host.partition(":")[0]
    return host.rstrip(".")


def split_port(host: str) -> str | None:
    """The port of a ``Host`` header value, if any, written one way (``00080`` is ``80``);
    None for anything but a port number (``:²``, ``:99999``), so that such a host is sent
    to its one spelling rather than served under endless names."""
    tail = host.rsplit("]", 1)[-1]
    _, sep, port = tail.rpartition(":")
    if not (sep and port.isascii() and port.isdigit() and len(port) <= 5):
        return None
    number = int(port)
    return str(number) if 0 < number <= 65535 else None


_SERIALS = itertools.count()


@dataclass(frozen=True)
class Tenant:
    """One region as served now: its slug, its configuration and that configuration's version."""

    slug: str
    config: TenantConfig
    version: str = BASELINE_VERSION
    # This object's own number, unique in the process: a version's name can come back with
    # other settings (a region's versions removed, a database restored), this number cannot.
    serial: int = field(default_factory=lambda: next(_SERIALS), compare=False)
    # The configuration as each language's pages show it, made once per language.
    _shown: dict[str, TenantConfig] = field(default_factory=dict, compare=False, repr=False)

    @property
    def shown(self) -> TenantConfig:
        """The configuration in the page's language (its texts translated where the region
        translated them); ``config`` is the configuration as written."""
        language = i18n.current()
        shown = self._shown.get(language)
        if shown is None:
            shown = self._shown[language] = self.config.in_language(language)
        return shown

    @property
    def name(self) -> str:
        return self.shown.name

    @property
    def branding(self) -> Branding:
        return self.shown.branding

    @property
    def policy(self) -> Policy:
        return self.config.policy


@dataclass(frozen=True)
class Apex:
    """The portal's own host, serving the region chooser."""

    portal: PortalConfig


Site = Tenant | Apex


class TenantRegistry:
    def __init__(self, regions: RegionsFile, *, dev_hosts: bool):
        self.portal = regions.portal
        self.dev_hosts = dev_hosts
        # regions.yaml as written (before any development rewrite): version 0 of each region.
        self.baseline = regions
        self._tenants: dict[str, Tenant] = {
            slug: Tenant(slug, config) for slug, config in regions.regions.items()
        }
        self._apex = Apex(regions.portal)
        self._by_host: dict[str, str | None] = {host: None for host in self.apex_hosts()}
        for slug, tenant in self._tenants.items():
            for host in self.hosts_of(tenant):
                self._by_host[host] = slug
        # Which regions, in which versions, this registry serves: another number, unique in
        # the process, whenever a region is replaced (what the chooser's kept page is for).
        self.generation = next(_SERIALS)

    def replace(self, slug: str, config: TenantConfig, version: str) -> Tenant:
        """Serve another version of a region. Hosts are not editable, so the host map holds."""
        tenant = Tenant(slug, config, version)
        self._tenants[slug] = tenant
        self.generation = tenant.serial
        return tenant

    def __iter__(self) -> Iterator[Tenant]:
        return iter(self._tenants.values())

    def __len__(self) -> int:
        return len(self._tenants)

    def get(self, slug: str) -> Tenant | None:
        return self._tenants.get(slug)

    def apex_hosts(self) -> list[str]:
        hosts = list(self.portal.apex_hosts)
        if self.dev_hosts:
            hosts.append(self.portal.dev_domain)
        return hosts

    def dev_host(self, tenant: Tenant) -> str:
        return f"{tenant.slug}.{self.portal.dev_domain}"

    def hosts_of(self, tenant: Tenant) -> list[str]:
        hosts = list(tenant.config.hosts)
        if self.dev_hosts:
            hosts.append(self.dev_host(tenant))
        return hosts

    def resolve(self, host: str) -> Site | None:
        """The site a ``Host`` header names, or ``None`` for a host we do not serve."""
        key = normalize_host(host)
        if key not in self._by_host:
            return None
        slug = self._by_host[key]
        return self._apex if slug is None else self._tenants[slug]

    def trusted_hosts(self) -> list[str]:
        """Every host served: any other is refused before Flask sees the request."""
        return list(self._by_host)

    def login_url(self, tenant: Tenant, *, via_host: str, scheme: str) -> str:
        """Where a region's login page is, seen from the apex host the request came to.

        From the development apex (``localhost:8000``) the link stays on this machine
        (``mosreg.localhost:8000``); from the production apex it is the region's own host.
        """
        if self.dev_hosts and normalize_host(via_host) == self.portal.dev_domain:
            port = split_port(via_host)
            return f"{scheme}://{self.dev_host(tenant)}{':' + port if port else ''}/"
        return f"https://{tenant.config.hosts[0]}/"
