"""The identity-provider emulator: ESIA and mos.ru, for development, demos and tests.

A separate WSGI app on its own port (``make demo`` starts it). Never part of production:
the portal refuses ``IDP_EMULATOR_URL`` when ``PORTAL_ENV`` is production.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from joserfc.jwk import RSAKey

from app.identity.esia.gost import make_verifier
from app.tenants.loader import load_file

from .esia import Client
from .esia import bp as esia_bp
from .misbehaviour import Middleware, Misbehaviour
from .mosru import OidcClient
from .mosru import bp as mosru_bp
from .personas import load_personas
from .state import make_state


def _callbacks(
    regions, slug: str, tenant, kind: str, portal_port: int | None, scheme: str
) -> frozenset[str]:
    """The region's production callbacks, and with ``portal_port`` the one of its development
    host (over ``scheme``: http, or https behind a development stack's TLS)."""
    path = f"/login/{kind}/callback"
    uris = {f"https://{host}{path}" for host in tenant.hosts}
    if portal_port is not None:
        uris.add(f"{scheme}://{slug}.{regions.portal.dev_domain}:{portal_port}{path}")
    return frozenset(uris)


def clients_from_regions(
    regions_file: Path,
    environ: Mapping[str, str],
    portal_port: int | None,
    scheme: str = "http",
) -> dict[str, Client]:
    """Register every ESIA region of the portal as a client, with its certificate and hosts."""
    regions = load_file(regions_file)
    clients = {}
    for slug, tenant in regions.regions.items():
        provider = tenant.identity_provider
        if provider.kind != "esia":
            continue
        certificate = Path(environ[provider.client_certificate_file_env]).read_bytes()
        uris = _callbacks(regions, slug, tenant, "esia", portal_port, scheme)
        clients[provider.client_id] = Client(provider.client_id, certificate, uris)
    return clients


def oidc_clients_from_regions(
    regions_file: Path,
    environ: Mapping[str, str],
    portal_port: int | None,
    scheme: str = "http",
) -> dict[str, OidcClient]:
    """Register every OpenID Connect region as a mos.ru client, with its secret and hosts."""
    regions = load_file(regions_file)
    clients = {}
    for slug, tenant in regions.regions.items():
        provider = tenant.identity_provider
        if provider.kind != "oidc" or not provider.client_secret_env:
            continue
        secret = environ.get(provider.client_secret_env)
        if secret:
            uris = _callbacks(regions, slug, tenant, "oidc", portal_port, scheme)
            clients[provider.client_id] = OidcClient(
                provider.client_id, secret, uris, provider.issuer
            )
    return clients


def create_app(config: Mapping[str, Any]) -> Flask:
    """``config``: clients (ESIA), oidc_clients (mos.ru), signing_key (RSAKey), kid, issuer,
    max_skew_seconds, personas, secret_key and state_file (both needed to run as several
    processes: the persona's sign-in cookie and the logins in progress are then shared)."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = config.get("secret_key") or secrets.token_hex(32)
    app.config["SESSION_COOKIE_NAME"] = "esia_emulator"
    app.config["PERSONAS"] = config.get("personas") or load_personas()
    app.config["ESIA"] = {
        "clients": config["clients"],
        "signing_key": config["signing_key"],
        "kid": config.get("kid", "esia-emulator"),
        "issuer": config.get("issuer", "http://esia.gosuslugi.ru/"),
        "max_skew_seconds": config.get("max_skew_seconds", 300),
    }
    app.config["MOSRU"] = {
        "clients": config.get("oidc_clients", {}),
        "signing_key": config["signing_key"],
        "kid": config.get("oidc_kid", "mosru-emulator"),
    }
    # In memory for one process, or a SQLite file that several processes share.
    app.extensions["emulator_state"] = make_state(config.get("state_file"))
    app.extensions["gost_verifier"] = make_verifier()
    app.extensions["misbehaviour"] = misbehaviour = Misbehaviour()
    app.wsgi_app = Middleware(app.wsgi_app, misbehaviour)
    app.register_blueprint(esia_bp)
    app.register_blueprint(mosru_bp)
    # The image's health check (the development stack runs the emulator from it).
    app.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
    return app


def create_app_from_environ(environ: Mapping[str, str] = os.environ) -> Flask:
    """For ``make demo`` and the development stack: keys and the portal's regions named by
    environment variables; the portal's development hosts on ``PORTAL_PORT`` over
    ``PORTAL_SCHEME`` (http unless the portal is behind TLS)."""
    port = environ.get("PORTAL_PORT")
    regions_file = Path(environ.get("REGIONS_FILE", "config/regions.yaml"))
    portal_port = int(port) if port else None
    scheme = environ.get("PORTAL_SCHEME", "http")
    return create_app(
        {
            "clients": clients_from_regions(regions_file, environ, portal_port, scheme),
            "oidc_clients": oidc_clients_from_regions(regions_file, environ, portal_port, scheme),
            "signing_key": RSAKey.import_key(
                Path(environ["EMULATOR_SIGNING_KEY_FILE"]).read_bytes()
            ),
            "secret_key": environ.get("EMULATOR_SECRET_KEY"),
            "state_file": environ.get("EMULATOR_STATE_FILE"),
        }
    )
