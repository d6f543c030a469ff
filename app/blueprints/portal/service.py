"""What the region chooser lists: each region and its login address, optionally filtered."""

from __future__ import annotations

from dataclasses import dataclass

from app.tenants import TenantRegistry


@dataclass(frozen=True)
class RegionRow:
    name: str
    login_url: str

    @property
    def address(self) -> str:
        return self.login_url.rstrip("/")


def region_rows(
    registry: TenantRegistry, query: str, *, via_host: str, scheme: str
) -> list[RegionRow]:
    needle = " ".join(query.split()).casefold()
    return [
        RegionRow(tenant.name, registry.login_url(tenant, via_host=via_host, scheme=scheme))
        for tenant in registry
        # in the page's language or as the region writes itself: «Kaluga» or «Калуга»
        if needle in tenant.name.casefold() or needle in tenant.config.name.casefold()
    ]
