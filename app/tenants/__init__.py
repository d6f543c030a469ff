"""Tenants: the regions this deployment serves, and which one a request belongs to.

``init_app`` loads and validates ``regions.yaml`` (a bad file stops start-up), fixes
``TRUSTED_HOSTS`` from it, and binds ``g.tenant`` for every request from its host. A request
to a host we do not serve ends here with a plain 404 that shows no region's data.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path

from flask import Flask, Response, abort, current_app, g, request

from .loader import ConfigError, load_file
from .registry import Apex, Tenant, TenantRegistry, normalize_host, split_port
from .schema import RegionsFile, TenantConfig

__all__ = [
    "Apex",
    "ConfigError",
    "Tenant",
    "TenantRegistry",
    "apex_only",
    "current_registry",
    "init_app",
    "tenant_required",
]

UNKNOWN_HOST_PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Страница не найдена</title></head>
<body><h1>Страница не найдена</h1>
<p>По этому адресу нет портала «Моя школа». Проверьте адрес страницы входа вашего региона.</p>
</body></html>
"""


class HostNormalizer:
    """WSGI middleware: lower-case the Host header and drop a final dot, keeping the port.

    Werkzeug compares ``TRUSTED_HOSTS`` case-sensitively and literally; browsers and proxies
    may send ``MySchool.Mosreg.RU.``. Normalising once here lets both checks agree.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        host = environ.get("HTTP_HOST")
        if host:
            port = split_port(host)
            normalized = normalize_host(host)
            environ["HTTP_HOST"] = f"{normalized}:{port}" if port else normalized
        return self.wsgi_app(environ, start_response)


def with_emulator(regions: RegionsFile, url: str) -> RegionsFile:
    """Point every region at the identity-provider emulator (development and tests)."""
    changed = {slug: emulated(tenant, url) for slug, tenant in regions.regions.items()}
    return regions.model_copy(update={"regions": changed})


def emulated(tenant: TenantConfig, url: str) -> TenantConfig:
    """One region pointed at the emulator: ESIA regions at its ESIA, OpenID Connect regions
    at its mos.ru profile."""
    base = url.rstrip("/")
    provider = tenant.identity_provider
    if provider.kind == "esia":
        provider = provider.model_copy(update={"base_url": base})
    else:
        provider = provider.model_copy(update={
            "discovery_url": None,
            "authorization_endpoint": f"{base}/sps/oauth/ae",
            "token_endpoint": f"{base}/sps/oauth/te",
            "userinfo_endpoint": f"{base}/sps/oauth/me",
            "jwks_uri": f"{base}/sps/oauth/jwks",
        })  # fmt: skip
    return tenant.model_copy(update={"identity_provider": provider})


def current_registry() -> TenantRegistry:
    return current_app.extensions["tenants"]


def _bind_site() -> Response | None:
    from .versions import refresh

    refresh(current_app)  # administrators' saved versions reach every worker within seconds
    site = current_registry().resolve(request.environ.get("HTTP_HOST", ""))
    if site is None:
        return Response(UNKNOWN_HOST_PAGE, status=404, mimetype="text/html")
    g.tenant = site if isinstance(site, Tenant) else None
    g.apex = site if isinstance(site, Apex) else None
    return None


def tenant_required(view: Callable) -> Callable:
    """The view belongs to a region's host; on the apex host it does not exist."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("tenant") is None:
            abort(404)
        return view(*args, **kwargs)

    return wrapped


def apex_only(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("apex") is None:
            abort(404)
        return view(*args, **kwargs)

    return wrapped


def init_app(app: Flask) -> None:
    regions = load_file(Path(app.config["REGIONS_FILE"]), static_dir=Path(app.static_folder))
    baseline = regions
    if app.config.get("IDP_EMULATOR_URL"):
        regions = with_emulator(regions, app.config["IDP_EMULATOR_URL"])
    registry = TenantRegistry(regions, dev_hosts=app.config["DEV_HOSTS"])
    registry.baseline = baseline
    app.extensions["tenants"] = registry
    app.config["TRUSTED_HOSTS"] = registry.trusted_hosts()
    app.wsgi_app = HostNormalizer(app.wsgi_app)
    app.before_request(_bind_site)

    @app.context_processor
    def _site():
        return {"tenant": g.get("tenant"), "portal": registry.portal}
