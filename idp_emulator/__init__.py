"""The identity-provider emulator: ESIA (and later mos.ru) for development, demos and tests.

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

from .esia import Client, Store
from .esia import bp as esia_bp
from .personas import load_personas

CALLBACK_PATH = "/login/esia/callback"


def clients_from_regions(
    regions_file: Path, environ: Mapping[str, str], portal_port: int | None
) -> dict[str, Client]:
    """Register every ESIA region of the portal as a client, with its certificate and hosts."""
    regions = load_file(regions_file)
    clients = {}
    for slug, tenant in regions.regions.items():
        provider = tenant.identity_provider
        if provider.kind != "esia":
            continue
        uris = {f"https://{host}{CALLBACK_PATH}" for host in tenant.hosts}
        if portal_port is not None:
            uris.add(f"http://{slug}.{regions.portal.dev_domain}:{portal_port}{CALLBACK_PATH}")
        certificate = Path(environ[provider.client_certificate_file_env]).read_bytes()
        clients[provider.client_id] = Client(provider.client_id, certificate, frozenset(uris))
    return clients


def create_app(config: Mapping[str, Any]) -> Flask:
    """``config``: clients, signing_key (RSAKey), kid, issuer, max_skew_seconds, personas."""
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
    app.extensions["esia_store"] = Store()
    app.extensions["gost_verifier"] = make_verifier()
    app.register_blueprint(esia_bp)
    return app


def create_app_from_environ(environ: Mapping[str, str] = os.environ) -> Flask:
    """For ``make demo``: keys and the portal's regions named by environment variables."""
    port = environ.get("PORTAL_PORT")
    return create_app(
        {
            "clients": clients_from_regions(
                Path(environ.get("REGIONS_FILE", "config/regions.yaml")),
                environ,
                int(port) if port else None,
            ),
            "signing_key": RSAKey.import_key(
                Path(environ["EMULATOR_SIGNING_KEY_FILE"]).read_bytes()
            ),
        }
    )
