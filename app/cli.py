"""Command-line commands, grouped in one place (``flask --app wsgi <group> <command>``)."""

from __future__ import annotations

import os
import secrets
import shlex
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from app.tenants import current_registry

regions = AppGroup("regions", help="The regions this deployment serves.")
registry = AppGroup("registry", help="The school registry of a region.")
esia = AppGroup("esia", help="Госуслуги (ESIA) credentials.")
demo = AppGroup("demo", help="The demo data set and its keys.")
qa = AppGroup("qa", help="Checks for QA.")
admin = AppGroup("admin", help="Regional administrators (appointed here, never self-service).")


def _tenant_option():
    return click.option("--tenant", required=True, help="The region's slug, e.g. kaluga.")


@regions.command("urls")
@click.option("--port", default=8000, show_default=True, help="The port the portal listens on.")
@click.option("--scheme", default="http", show_default=True)
def urls(port: int, scheme: str) -> None:
    """Print the chooser's and every region's login address (development hosts when on)."""
    tenants = current_registry()
    apex = (
        f"{tenants.portal.dev_domain}:{port}" if tenants.dev_hosts else tenants.portal.apex_hosts[0]
    )
    click.echo(f"{'Выбор региона':<28} {scheme}://{apex}/")
    for tenant in tenants:
        click.echo(f"{tenant.name:<28} {tenants.login_url(tenant, via_host=apex, scheme=scheme)}")


@regions.command("export")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")  # fmt: skip
def export(output: Path | None) -> None:
    """Write the effective configuration — regions.yaml with every region's latest saved
    version — as YAML that validates as regions.yaml."""
    from flask import current_app

    from app.tenants.versions import as_yaml, effective_regions

    text = "# The effective configuration, exported by `flask regions export`.\n" + as_yaml(
        effective_regions(current_app)
    )
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"written: {output}", err=True)


@registry.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_tenant_option()
def import_registry(path: Path, tenant: str) -> None:
    """Import schools, classes, people and their links from a .jsonl or .csv file."""
    from app.school_registry import RegistryImportError, import_text

    if current_registry().get(tenant) is None:
        raise click.BadParameter(f"no region {tenant!r}", param_hint="--tenant")
    fmt = {".jsonl": "jsonl", ".csv": "csv"}.get(path.suffix.lower())
    if fmt is None:
        raise click.BadParameter("the file must end in .jsonl or .csv", param_hint="PATH")
    try:
        report = import_text(tenant, path.read_text(encoding="utf-8-sig"), fmt, source=path.name)
    except RegistryImportError as error:
        for problem in error.problems:
            click.echo(f"{path.name}: {problem}", err=True)
        raise click.ClickException(f"nothing imported: {len(error.problems)} problem(s)") from None
    summary = ", ".join(f"{kind} {count}" for kind, count in sorted(report.counts.items()))
    click.echo(f"imported into {tenant}: {summary}")


@esia.command("make-test-cert")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", default="Тестовая информационная система", show_default=True)
def make_test_cert(directory: Path, name: str) -> None:
    """Make a GOST key pair and self-signed certificate; print its client_certificate_hash."""
    from app.identity.esia.gost import certificate_hash, make_test_certificate

    key, cert = make_test_certificate(directory, name)
    click.echo(f"key:  {key}\ncert: {cert}")
    click.echo(f"client_certificate_hash: {certificate_hash(cert.read_bytes())}")


def demo_key_paths(directory: Path) -> dict[str, Path]:
    """The environment variables regions.yaml names, pointed at the demo's key files."""
    paths = {"EMULATOR_SIGNING_KEY_FILE": directory / "emulator" / "key.pem"}
    for tenant in current_registry():
        provider = tenant.config.identity_provider
        if provider.kind == "esia":
            paths[provider.client_certificate_file_env] = directory / tenant.slug / "cert.pem"
            paths[provider.private_key_file_env] = directory / tenant.slug / "key.pem"
            paths[provider.provider_certificate_file_env] = directory / "emulator" / "cert.pem"
    return paths


@demo.command("keys")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def demo_keys(directory: Path) -> None:
    """Make the demo's keys and client secrets (once) and print the environment that names
    them, for `eval`."""
    from app.identity.esia.gost import make_test_certificate
    from idp_emulator.keys import make_signing_key

    if not (directory / "emulator" / "key.pem").exists():
        make_signing_key(directory / "emulator")
    for tenant in current_registry():
        if (
            tenant.config.identity_provider.kind == "esia"
            and not (directory / tenant.slug / "cert.pem").exists()
        ):
            make_test_certificate(directory / tenant.slug, f"Моя школа ({tenant.name})")
    for name, path in demo_key_paths(directory).items():
        click.echo(f"export {name}={shlex.quote(str(path.resolve()))}")
    for tenant in current_registry():
        provider = tenant.config.identity_provider
        if provider.kind == "oidc" and provider.client_secret_env:
            secret_file = directory / tenant.slug / "client-secret"
            if not secret_file.exists():
                secret_file.parent.mkdir(parents=True, exist_ok=True)
                secret_file.write_text(secrets.token_urlsafe(32))
                secret_file.chmod(0o600)
            click.echo(
                f"export {provider.client_secret_env}={shlex.quote(secret_file.read_text())}"
            )


@demo.command("seed")
def demo_seed() -> None:
    """Load the personas' school records into every region (idempotent)."""
    from app.demo import seed

    for tenant in current_registry():
        counts = seed(tenant).counts
        click.echo(f"{tenant.slug}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


@qa.command("check")
@click.option("--region", "slugs", multiple=True, help="Only these regions (repeatable).")
def qa_check(slugs: tuple[str, ...]) -> None:
    """One line per region; exits non-zero when any region is broken."""
    from app.qa import check_region, summary_line

    tenants = current_registry()
    unknown = [slug for slug in slugs if tenants.get(slug) is None]
    if unknown:
        raise click.BadParameter(f"no region {', '.join(unknown)}", param_hint="--region")
    chosen = [tenants.get(slug) for slug in slugs] or list(tenants)
    checks = [check_region(tenants, tenant, os.environ) for tenant in chosen]
    for check in checks:
        click.echo(summary_line(check))
    broken = [check.slug for check in checks if not check.ok]
    if broken:
        raise click.ClickException(f"broken: {', '.join(broken)}")


def _admin_options(command):
    command = click.option("--subject", required=True, help="The person's id at the provider.")(
        command
    )
    command = click.option("--issuer", default=None, help="Default: the region's provider.")(
        command
    )
    return _tenant_option()(command)


def _issuer(tenant_slug: str, issuer: str | None) -> str:
    tenant = current_registry().get(tenant_slug)
    if tenant is None:
        raise click.BadParameter(f"no region {tenant_slug!r}", param_hint="--tenant")
    return issuer or tenant.config.identity_provider.issuer


@admin.command("grant")
@_admin_options
@click.option("--name", default="Администратор региона", show_default=True)
def admin_grant(tenant: str, issuer: str | None, subject: str, name: str) -> None:
    """Appoint a regional administrator of one region."""
    from app.accounts import grant_regional_admin

    user = grant_regional_admin(tenant, _issuer(tenant, issuer), subject, name)
    click.echo(f"{tenant}: user {user.id} ({subject}) is a regional administrator")


@admin.command("revoke")
@_admin_options
def admin_revoke(tenant: str, issuer: str | None, subject: str) -> None:
    from app.accounts import revoke_regional_admin

    if not revoke_regional_admin(tenant, _issuer(tenant, issuer), subject):
        raise click.ClickException(f"{subject} is not a regional administrator of {tenant}")
    click.echo(f"{tenant}: {subject} is no longer a regional administrator")


def register_commands(app: Flask) -> None:
    for group in (regions, registry, esia, demo, qa, admin):
        app.cli.add_command(group)
