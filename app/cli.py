"""Command-line commands, grouped in one place (``flask --app wsgi <group> <command>``)."""

from __future__ import annotations

import os
import shlex
import time
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from app.tenants import current_registry

regions = AppGroup("regions", help="The regions this deployment serves.")
registry = AppGroup("registry", help="The school registry of a region.")
esia = AppGroup("esia", help="Госуслуги (ESIA) credentials.")  # i18n-exempt: operator CLI help
demo = AppGroup("demo", help="The demo data set and its keys.")
qa = AppGroup("qa", help="Checks for QA.")
admin = AppGroup("admin", help="Regional administrators (appointed here, never self-service).")
accounts = AppGroup("accounts", help="People's portal accounts (erasure on request).")
audit_group = AppGroup("audit", help="The audit trail (retention, export, the spool).")


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
    chooser = "Выбор региона"  # i18n-exempt: operator CLI output, beside the regions' names
    click.echo(f"{chooser:<28} {scheme}://{apex}/")
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


class _Progress:
    """Lines done out of the total on standard error, every 10 000 lines or 5 seconds."""

    LINES, SECONDS = 10_000, 5.0

    def __init__(self, name: str, total: int):
        self.name, self.total = name, total
        self.lines, self.at, self.step = 0, time.monotonic(), ""

    def __call__(self, step: str, done: int) -> None:
        now = time.monotonic()
        same = step == self.step == "reading" and done < self.total
        if same and done - self.lines < self.LINES and now - self.at < self.SECONDS:
            return
        self.lines, self.at, self.step = done, now, step
        said = {"reading": f"{done:,} / {self.total:,} lines read",
                "references": "checking references",
                "writing": "writing to the registry"}  # fmt: skip
        click.echo(f"{self.name}: {said.get(step, step)}", err=True)


@registry.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_tenant_option()
@click.option("--skip-invalid", is_flag=True,
              help="Report the lines with problems and import the rest (as the web import "
                   "does); by default one problem means nothing is imported.")  # fmt: skip
@click.option("--replace", is_flag=True,
              help="The file is the complete export of the schools it lists: remove their "
                   "enrolments, staff, teachers' classes and guardians it leaves out.")  # fmt: skip
def import_registry(path: Path, tenant: str, skip_invalid: bool, replace: bool) -> None:
    """Import schools, classes, people and their links from a .jsonl or .csv file."""
    from app.schools import registry as importer

    if current_registry().get(tenant) is None:
        raise click.BadParameter(f"no region {tenant!r}", param_hint="--tenant")
    if importer.format_of(path.name) is None:
        raise click.BadParameter("the file must end in .jsonl or .csv", param_hint="PATH")
    total = importer.count_lines(path)
    started = time.monotonic()
    try:
        report = importer.import_file(
            tenant, path, skip_invalid=skip_invalid, replace=replace, lines_total=total,
            on_progress=_Progress(path.name, total),
        )  # fmt: skip
    except importer.RegistryImportError as error:
        _problems(path.name, error.problems, error.total)
        raise click.ClickException(f"nothing imported: {error.total} problem(s)") from None
    except importer.Busy as busy:
        running = f" ({busy.running.source}, job {busy.running.id})" if busy.running else ""
        raise click.ClickException(f"{tenant} is importing another file{running}: "
                                   "try again when it ends") from None  # fmt: skip
    seconds = time.monotonic() - started
    summary = ", ".join(f"{kind} {count}" for kind, count in sorted(report.counts.items()))
    click.echo(f"imported into {tenant}: {summary}")
    click.echo(f"{total:,} lines in {seconds:.1f} s ({total / max(seconds, 1e-6):,.0f} lines a "
               "second, this command's start-up left out)")  # fmt: skip
    changes = "; ".join(f"{kind} +{c['added']} ~{c['changed']} -{c['removed']}"
                        for kind, c in report.summary.items() if any(c.values()))  # fmt: skip
    click.echo(f"registry changes (+added ~changed -removed): {changes or 'none'}")
    if report.problems:
        _problems(path.name, importer.problem_texts(report.job_id), report.problems)
        click.echo(f"skipped {report.skipped_lines} line(s) with problems", err=True)


def _problems(name: str, problems: list[str], total: int) -> None:
    for problem in problems:
        click.echo(f"{name}: {problem}", err=True)
    if total > len(problems):
        click.echo(f"{name}: … and {total - len(problems)} more", err=True)


@registry.command("work")
@click.option("--wait", is_flag=True,
              help="Keep waiting for new jobs (run as a service); by default run the queued "
                   "ones and stop.")  # fmt: skip
def registry_work(wait: bool) -> None:
    """Check and apply the registry files uploaded on the web (when the portal is set to
    leave them to this command: REGISTRY_IMPORT_WORKER = "cli")."""
    from app.schools import import_jobs

    ran = import_jobs.work(wait=wait, on_job=lambda job_id: click.echo(f"job {job_id} done"))
    click.echo(f"{ran} job(s) run")


@esia.command("make-test-cert")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--name",
    default="Тестовая информационная система",  # i18n-exempt: data, a certificate's name
    show_default=True,
)
def make_test_cert(directory: Path, name: str) -> None:
    """Make a GOST key pair and self-signed certificate; print its client_certificate_hash."""
    from app.identity.esia.gost import certificate_hash, make_test_certificate

    key, cert = make_test_certificate(directory, name)
    click.echo(f"key:  {key}\ncert: {cert}")
    click.echo(f"client_certificate_hash: {certificate_hash(cert.read_bytes())}")


def demo_environment(directory: Path) -> dict[str, str]:
    """The environment the demo needs: the emulator's signing key, and what each region's
    provider needs (its keys or client secret), made once under ``directory``."""
    from app.identity import region_provider
    from idp_emulator.keys import make_signing_key

    if not (directory / "emulator" / "key.pem").exists():
        make_signing_key(directory / "emulator")
    environment = {"EMULATOR_SIGNING_KEY_FILE": str((directory / "emulator" / "key.pem").resolve())}
    for tenant in current_registry():
        environment.update(region_provider(tenant).demo_environment(tenant, directory))
    return environment


@demo.command("keys")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def demo_keys(directory: Path) -> None:
    """Make the demo's keys and client secrets (once) and print the environment that names
    them, for `eval`."""
    for name, value in demo_environment(directory).items():
        click.echo(f"export {name}={shlex.quote(value)}")


@demo.command("seed")
def demo_seed() -> None:
    """Load the personas' school records into every region (idempotent)."""
    from app.demo import seed

    for tenant in current_registry():
        counts = seed(tenant).counts
        click.echo(f"{tenant.slug}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


def _regions(slugs: tuple[str, ...]) -> list:
    """The regions a command's ``--region`` options name (all when none); an unknown one is
    a usage error."""
    tenants = current_registry()
    unknown = [slug for slug in slugs if tenants.get(slug) is None]
    if unknown:
        raise click.BadParameter(f"no region {', '.join(unknown)}", param_hint="--region")
    return [tenants.get(slug) for slug in slugs] or list(tenants)


@qa.command("check")
@click.option("--region", "slugs", multiple=True, help="Only these regions (repeatable).")
def qa_check(slugs: tuple[str, ...]) -> None:
    """One line per region; exits non-zero when any region is broken."""
    from app.qa import check_region, summary_line

    checks = [check_region(current_registry(), tenant, os.environ) for tenant in _regions(slugs)]
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
@click.option(
    "--name",
    default="Администратор региона",  # i18n-exempt: data, the account's name until its login
    show_default=True,
)
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


@accounts.command("erase")
@_admin_options
@click.option("--reason", default="", help="Why (the request's number, say); audited.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def accounts_erase(tenant: str, issuer: str | None, subject: str, reason: str, yes: bool) -> None:
    """Destroy a person's portal data on their request (152-ФЗ art. 21); the audit trail
    stays, with the person pseudonymised."""
    from sqlalchemy import select

    from app.erasure import erase_user
    from app.extensions import db
    from app.models import User

    user = db.session.scalar(select(User).filter_by(
        tenant=tenant, issuer=_issuer(tenant, issuer), subject=subject))  # fmt: skip
    if user is None:
        raise click.ClickException(f"no account {subject} in {tenant}")
    if not yes:
        click.confirm(f"Erase the portal data of user {user.id} in {tenant}?", abort=True)
    erased = erase_user(user, by=None, reason=reason)
    removed = ", ".join(f"{key} {count}" for key, count in erased.removed.items() if count)
    click.echo(f"{tenant}: erased as {erased.pseudonym} ({removed or 'nothing else kept'})")


@audit_group.command("purge")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Keep this many days (default: AUDIT_RETENTION_DAYS).")  # fmt: skip
def audit_purge(days: int | None) -> None:
    """Delete audit and login events older than the retention (meant for cron)."""
    from datetime import timedelta

    from app.erasure import purge_events

    deleted = purge_events(older_than=timedelta(days=days) if days else None)
    click.echo(f"deleted {deleted} events")


@audit_group.command("drain")
def audit_drain() -> None:
    """Move the audit spool's rows into the database now (on SQLite: before copying its
    file, say); the portal does it by itself before anyone reads the trail."""
    from app import audit_spool

    click.echo(f"moved {audit_spool.settle()} spooled audit rows into the database")


@audit_group.command("export")
@click.option("--region", "slugs", multiple=True,
              help="Only this region (repeatable); default: every region.")  # fmt: skip
@click.option("--kind", default=None, help="Only events of this kind (e.g. config_saved).")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="From this day (YYYY-MM-DD; days in UTC across regions).")  # fmt: skip
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="To this day, included.")  # fmt: skip
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")  # fmt: skip
def audit_export(slugs, kind, start, end, output: Path | None) -> None:
    """The portal operator's view of the audit trail across regions: the CSV the regional
    administrators export (personal values masked, formulas neutralised), for one region,
    several or all. The export itself is recorded in the trail."""
    from app import audit, audit_log

    tenants = current_registry()
    known = {tenant.slug: tenant for tenant in tenants}
    unknown = [slug for slug in slugs if slug not in known]
    if unknown:
        raise click.UsageError(f"no such region: {', '.join(unknown)}")
    chosen = tuple(slugs) or tuple(known)
    days = (start and start.date(), end and end.date())
    wanted = audit_log.Filter(regions=chosen, kind=audit_log.kind_of(kind),
                              start=days[0], end=days[1])  # fmt: skip
    methods: dict[str, str] = {}
    for slug in chosen:
        methods |= audit_log.method_words(known[slug].config.login_methods)
    first = audit_log.snapshot(wanted)
    total = audit_log.count(wanted)
    # The trail's data, in Russian whatever the language (as audit_log.Filter.words).
    where = f"регионы: {', '.join(chosen)}; из командной строки"  # i18n-exempt: audit row data
    audit.record("audit_exported", tenant=chosen[0] if len(chosen) == 1 else None,
                 filters=f"{wanted.words()}; {where}", count=total)  # fmt: skip
    names = {slug: known[slug].config.name for slug in chosen}
    rows = audit_log.export_rows(wanted, first, methods=methods, region_names=names)
    with output.open("w", encoding="utf-8", newline="") if output else nullcontext() as file:
        for chunk in audit_log.export_lines(rows):
            if file is None:
                click.echo(chunk, nl=False)
            else:
                file.write(chunk)
    if output is not None:
        click.echo(f"{output}: {total} events", err=True)


counters = AppGroup("counters", help="The login counters behind the statistics page.")


@counters.command("rebuild")
@click.option("--region", "slugs", multiple=True,
              help="Only this region (repeatable); default: every region.")  # fmt: skip
@click.option("--days", type=click.IntRange(min=1), default=92, show_default=True,
              help="Recount this many days up to today, in the region's time zone.")  # fmt: skip
def counters_rebuild(slugs: tuple[str, ...], days: int) -> None:
    """Recount the login statistics from the audit events: for the events written before the
    counters existed, or after a repair. Days older than AUDIT_RETENTION_DAYS are kept as
    they are (their events are gone)."""
    from flask import current_app

    from app import audit
    from app.login_stats import rebuild

    days = min(days, current_app.config["AUDIT_RETENTION_DAYS"])
    for tenant in _regions(slugs):
        rebuilt = rebuild(tenant.slug, days)
        audit.record("login_counters_rebuilt", tenant=tenant.slug, days=days, count=rebuilt.events)
        click.echo(f"{tenant.slug}: {rebuilt.events} logins from {rebuilt.start} to "
                   f"{rebuilt.end} recounted into {rebuilt.rows} counters")  # fmt: skip
        _write_totals(tenant.slug)


@counters.command("close")
@click.option("--region", "slugs", multiple=True,
              help="Only this region (repeatable); default: every region.")  # fmt: skip
def counters_close(slugs: tuple[str, ...]) -> None:
    """Sum up the login counters of the days that are over, for the statistics page (daily,
    after midnight in the regions' zones; the page itself sums up only a few days)."""
    for tenant in _regions(slugs):
        _write_totals(tenant.slug)


def _write_totals(slug: str) -> None:
    from app import login_totals
    from app.login_stats import zone_of

    through = login_totals.last_day_over(datetime.now(zone_of(slug)))
    summed = login_totals.close_all(slug, through)
    click.echo(f"{slug}: login counters summed up to {summed or 'no day yet'}")


def register_commands(app: Flask) -> None:
    for group in (regions, registry, esia, demo, qa, admin, accounts, audit_group, counters):
        app.cli.add_command(group)
