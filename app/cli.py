"""Command-line commands, grouped in one place (``flask --app wsgi <group> <command>``)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app.tenants import current_registry

regions = AppGroup("regions", help="The regions this deployment serves.")


@regions.command("urls")
@click.option("--port", default=8000, show_default=True, help="The port the portal listens on.")
@click.option("--scheme", default="http", show_default=True)
def urls(port: int, scheme: str) -> None:
    """Print the chooser's and every region's login address (development hosts when on)."""
    registry = current_registry()
    apex = (
        f"{registry.portal.dev_domain}:{port}"
        if registry.dev_hosts
        else registry.portal.apex_hosts[0]
    )
    click.echo(f"{'Выбор региона':<28} {scheme}://{apex}/")
    for tenant in registry:
        click.echo(f"{tenant.name:<28} {registry.login_url(tenant, via_host=apex, scheme=scheme)}")


def register_commands(app: Flask) -> None:
    app.cli.add_command(regions)
