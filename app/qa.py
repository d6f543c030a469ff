"""The region check for QA and regional administrators: hosts, login methods, identity
provider reachable, configuration valid, registry counts — one line per region."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import requests
from sqlalchemy import func, select

from app.extensions import db
from app.identity import offered_methods, region_provider
from app.models import Enrolment, Person, School
from app.tenants import Tenant, TenantRegistry

PROBE_TIMEOUT = 3.0


@dataclass(frozen=True)
class Probe:
    ok: bool
    detail: str
    ms: float


@dataclass(frozen=True)
class RegionCheck:
    slug: str
    name: str
    hosts: tuple[str, ...]
    methods: tuple[str, ...]
    pending_methods: tuple[str, ...]
    provider: Probe
    problems: tuple[str, ...]
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.provider.ok and not self.problems and bool(self.methods)


def probe_provider(tenant: Tenant, timeout: float = PROBE_TIMEOUT) -> Probe:
    """A lightweight request that any live provider answers (each kind says which: ESIA its
    authorize endpoint without parameters, OpenID Connect its discovery or JWKS)."""
    target = region_provider(tenant).probe(tenant.config.identity_provider)
    if target is None:
        return Probe(True, "nothing to reach", 0.0)
    url, need_ok = target
    started = time.monotonic()
    try:
        response = requests.get(url, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        return Probe(
            False, f"unreachable ({type(exc).__name__})", (time.monotonic() - started) * 1000
        )
    ms = (time.monotonic() - started) * 1000
    if response.status_code >= 500 or (need_ok and response.status_code != 200):
        return Probe(False, f"HTTP {response.status_code}", ms)
    return Probe(True, f"reachable, HTTP {response.status_code}", ms)


def config_problems(tenant: Tenant, env: Mapping[str, str]) -> list[str]:
    """What the validated configuration still needs from the environment."""
    provider = region_provider(tenant)
    return provider.environment_problems(tenant.config.identity_provider, env)


def registry_counts(tenant: Tenant) -> dict[str, int]:
    def count(query) -> int:
        return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0

    return {
        "schools": count(select(School.id).filter_by(tenant=tenant.slug)),
        "people": count(select(Person.id).filter_by(tenant=tenant.slug)),
        "enrolments": count(
            select(Enrolment.id).join(Person).where(Person.tenant == tenant.slug, Enrolment.active)
        ),
    }


def check_region(registry: TenantRegistry, tenant: Tenant, env: Mapping[str, str]) -> RegionCheck:
    offered = offered_methods(tenant)
    return RegionCheck(
        slug=tenant.slug,
        name=tenant.name,
        hosts=tuple(registry.hosts_of(tenant)),
        methods=tuple(method.label for method in offered),
        pending_methods=tuple(
            method.label for method in tenant.config.login_methods if method not in offered
        ),
        provider=probe_provider(tenant),
        problems=tuple(config_problems(tenant, env)),
        counts=registry_counts(tenant),
    )


def check_all(registry: TenantRegistry, env: Mapping[str, str] | None = None) -> list[RegionCheck]:
    env = os.environ if env is None else env
    return [check_region(registry, tenant, env) for tenant in registry]


def summary_line(check: RegionCheck) -> str:
    methods = ", ".join(check.methods) or "none offered"
    if check.pending_methods:
        methods += f" (not implemented yet: {', '.join(check.pending_methods)})"
    counts = ", ".join(f"{value} {name}" for name, value in check.counts.items())
    config = "config valid" if not check.problems else "config: " + "; ".join(check.problems)
    return (
        f"{check.slug:<10} {'OK' if check.ok else 'BROKEN':<6} hosts {', '.join(check.hosts)}"
        f" | methods {methods} | provider {check.provider.detail} ({check.provider.ms:.0f} ms)"
        f" | {config} | registry {counts}"
    )
