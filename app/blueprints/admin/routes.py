import os
import secrets
from datetime import date
from pathlib import Path

from flask import (
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from app import admin_reports, wording
from app.access.lookup import is_regional_admin
from app.blueprints.guards import requires
from app.erasure import erase_user
from app.errors import render_error
from app.extensions import db, htmx
from app.identity import availability
from app.models import User
from app.qa import check_region
from app.tenants import assets, current_registry, editing, versions

from . import bp, forms

regional_admin_required = requires(is_regional_admin)
DRAFT = "config_draft"
STALE = (
    "Пока вы редактировали, другой администратор сохранил версию {latest}. Ваши изменения не "
    "сохранены и остались в форме: сверьтесь с историей и сохраните снова."
)


@bp.get("/")
@regional_admin_required
def home():
    return render_template("admin/home.html")


@bp.get("/qa")
@regional_admin_required
def qa():
    check = check_region(current_registry(), g.tenant, os.environ)
    # What the check found is what this worker's login page says about the provider.
    availability.record(g.tenant, g.tenant.config.identity_provider.kind, check.provider.ok)
    return render_template(
        "admin/qa.html",
        check=check,
        probe=wording.probe_words(check.provider.detail),
        problems=[wording.problem_words(p) for p in check.problems],
    )


# --- the region's configuration --------------------------------------------------------------


def _source():
    """The version a submitted form was made from (its ``base``), as stored; the latest when
    the form names none that exists."""
    named = request.form.get("base", "")
    try:
        return versions.at(g.tenant.slug, int(named) if named.isdigit() else None)[1]
    except LookupError:
        return versions.at(g.tenant.slug)[1]


def _form_page(form, *, problems=None, preview=None, notice=None, status=200):
    page = render_template("admin/config.html", form=form, problems=problems or {},
                           preview=preview, notice=notice)  # fmt: skip
    return page, status


def _edited(form):
    """The form's configuration (with an uploaded logo stored), or its problems."""
    source, problems = _source(), {}
    logo, upload = form.logo_path.data or None, form.logo.data
    if upload and upload.filename:
        try:
            logo = assets.store(g.tenant.slug, upload.read(assets.MAX_BYTES + 1))
        except assets.LogoRefused as refused:
            problems["branding.logo"] = str(refused)
    config, invalid = editing.config_from_form(
        source, form.data, logo=logo, static_dir=Path(current_app.static_folder)
    )
    form.logo_path.data = logo or source.branding.logo  # shown, and kept for the next submit
    problems |= invalid
    return (None if problems else config), problems


@bp.get("/config")
@regional_admin_required
def config():
    base, source = versions.at(g.tenant.slug)
    return _form_page(forms.filled_config_form(source, base=base))


@bp.post("/config/preview")
@regional_admin_required
def preview():
    """The login page in the edited branding, before anything is saved."""
    form = forms.submitted_config_form(_source())
    config, problems = _edited(form)
    if config is None:
        if htmx:
            return render_template("admin/_preview.html", problems=problems), 400
        return _form_page(form, problems=problems, status=400)
    key = secrets.token_urlsafe(8)  # a new stylesheet address for every preview
    session[DRAFT] = {"key": key, "primary": config.branding.primary_color,
                      "accent": config.branding.accent_color}  # fmt: skip
    shown = {"config": config, "key": key}
    if htmx:
        return render_template("admin/_preview.html", preview=shown, problems={})
    return _form_page(form, preview=shown)


@bp.get("/config/preview.css")
@regional_admin_required
def preview_css():
    draft = session.get(DRAFT) or {}
    if not draft or draft["key"] != request.args.get("d"):
        abort(404)
    response = make_response(render_template("admin/preview.css", draft=draft))
    response.mimetype = "text/css"
    return response


@bp.post("/config")
@regional_admin_required
def save_config():
    form = forms.submitted_config_form(_source())
    config, problems = _edited(form)
    if config is None:
        return _form_page(form, problems=problems, status=400)
    try:
        version = versions.save(g.tenant.slug, config, base=form.base.data, author=current_user,
                                comment=form.comment.data or "")  # fmt: skip
    except versions.StaleVersion as stale:
        return _form_page(form, notice=STALE.format(latest=stale.latest), status=409)
    flash(f"Сохранена версия {version.number}. Её видят все посетители региона.", "success")
    return redirect(url_for("admin.history"))


@bp.get("/config/history")
@regional_admin_required
def history():
    return render_template(
        "admin/history.html",
        rows=admin_reports.history_changes(g.tenant.slug),
        latest=versions.latest_number(g.tenant.slug),
    )


@bp.get("/config/versions/<int(min=0):number>")
@regional_admin_required
def version(number: int):
    try:
        config = versions.config_of(g.tenant.slug, number)
    except LookupError:
        abort(404)
    row = next((r for r in versions.history(g.tenant.slug) if r.number == number), None)
    return render_template("admin/version.html", number=number, row=row,
                           changes=admin_reports.version_changes(g.tenant.slug, number),
                           text=versions.as_yaml(config),
                           latest=versions.latest_number(g.tenant.slug))  # fmt: skip


@bp.post("/config/versions/<int(min=0):number>/restore")
@regional_admin_required
def restore(number: int):
    """The first POST shows what rolling back would change and asks; a confirmed one acts."""
    form = forms.RestoreForm()
    try:
        if not form.confirm.data:
            changes = admin_reports.restore_changes(g.tenant.slug, number)
            return render_template("admin/restore.html", number=number, base=form.base.data,
                                   changes=changes)  # fmt: skip
        restored = versions.restore(g.tenant.slug, number, author=current_user,
                                    base=form.base.data)  # fmt: skip
    except LookupError:
        abort(404)
    except versions.StaleVersion as stale:
        flash(STALE.format(latest=stale.latest), "error")
        return redirect(url_for("admin.history")), 303
    flash(f"Версия {number} восстановлена как версия {restored.number}.", "success")
    return redirect(url_for("admin.history"))


# --- statistics and the audit log ------------------------------------------------------------


@bp.get("/stats")
@regional_admin_required
def stats():
    days = min(max(request.args.get("days", 14, type=int), 1), 92)
    zone = wording.zone()
    report = admin_reports.login_stats(g.tenant.slug, days, wording.today(zone), zone)
    methods = admin_reports.method_labels(g.tenant.config.login_methods)
    return render_template(
        "admin/stats.html", report=report, days=days, bars=admin_reports.bars(report),
        methods=methods, reasons=admin_reports.REASON_LABELS,
    )  # fmt: skip


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.get("/audit")
@regional_admin_required
def audit_log():
    kind = request.args.get("kind") or None
    offset = min(max(request.args.get("offset", 0, type=int), 0), 1_000_000)
    methods = admin_reports.method_labels(g.tenant.config.login_methods)
    page = admin_reports.audit_page(g.tenant.slug, kind, _day("from"), _day("to"), offset,
                                    methods=methods, zone=wording.zone())  # fmt: skip
    return render_template("admin/audit.html", page=page, kind=kind, offset=offset,
                           start=_day("from"), end=_day("to"), step=admin_reports.PAGE,
                           zone_name=wording.zone_words(g.tenant.config.timezone))  # fmt: skip


# --- the right to erasure ---------------------------------------------------------------------


OWN_ACCOUNT = (
    "Свою учётную запись здесь удалить нельзя: её удалит другой администратор региона "
    "или оператор портала."
)


def _person_of_region(user_id: int) -> User:
    """An account of this region (404 otherwise), not the administrator's own (409)."""
    user = db.session.get(User, user_id)
    if user is None or user.tenant != g.tenant.slug:
        abort(404)
    if user.id == current_user.id:
        abort(make_response(render_error(409, OWN_ACCOUNT)))
    return user


@bp.route("/people/<int:user_id>/erase", methods=["GET", "POST"])
@regional_admin_required
def erase_person(user_id: int):
    """A person's request to destroy their portal data (152-ФЗ art. 21), carried out here and
    audited; the audit trail stays, with the person pseudonymised."""
    person = _person_of_region(user_id)
    form = forms.ErasureForm(request.form)
    if request.method == "POST" and form.validate():
        erased = erase_user(person, by=current_user, reason=form.reason.data)
        flash(f"Данные удалены. В журнале человек теперь обозначен как {erased.pseudonym}.",
              "success")  # fmt: skip
        return redirect(url_for("admin.audit_log"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/erase.html", person=person, form=form), status
