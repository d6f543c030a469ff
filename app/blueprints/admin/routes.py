import os
import secrets
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
from app.blueprints.guards import ask_first, confirmed, requires
from app.erasure import erase_user
from app.errors import render_error
from app.extensions import db, htmx
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l
from app.identity import availability, checks, offered_methods
from app.models import User
from app.models.base import db_id
from app.qa import check_region
from app.tenants import assets, current_registry, drafts, editing, versions
from app.tenants.schema import TenantConfig

from . import bp, forms

regional_admin_required = requires(is_regional_admin)
# The in-page preview's colours, for its stylesheet.
FORM_PREVIEW = "config_form_preview"
DRAFT_SAVED = _l(
    "Черновик сохранён. Посетители региона его не видят: посмотрите его на сайте региона и "
    "опубликуйте, когда всё готово."
)
DRAFT_GONE = _l(
    "Черновик изменился или его уже нет: возможно, его опубликовали, удалили или сохранили "
    "заново в другой вкладке. Посмотрите его ещё раз."
)
PREVIEW_ENDED = _l("Просмотр черновика завершён: вы снова видите действующие настройки региона.")
REBASED = _l(
    "Ваши изменения перенесены на действующую версию. Проверьте черновик и опубликуйте его."
)
NOT_MERGEABLE = _l(
    "Перенести изменения не получилось: вместе с опубликованными они дают недопустимые "
    "настройки. Откройте форму, внесите изменения заново и сохраните черновик."
)


def _stale(latest: int) -> str:
    return _(
        "Пока вы редактировали, другой администратор сохранил версию %(latest)s. Ваши "
        "изменения не сохранены и остались в форме: сверьтесь с историей и сохраните снова.",
        latest=latest,
    )


def _published(number: int) -> str:
    return _("Сохранена версия %(number)s. Её видят все посетители региона.", number=number)


@bp.context_processor
def _version_words():
    """A version's comment in the page's language (a rollback's own is words for a code)."""
    return {"version_comment": versions.comment_words}


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


def _source() -> tuple[int, TenantConfig]:
    """The version a submitted form was made from (its ``base``), as stored; the latest when
    the form names none that exists."""
    named = request.form.get("base", "")
    number = int(named) if named.isascii() and named.isdigit() and len(named) < 10 else None
    try:
        return versions.at(g.tenant.slug, number)
    except LookupError:
        return versions.at(g.tenant.slug)


def _form_page(form, *, problems=None, preview=None, notice=None, draft=None, status=200):
    page = render_template("admin/config.html", form=form, problems=problems or {},
                           preview=preview, notice=notice, draft=draft,
                           latest=versions.latest_number(g.tenant.slug))  # fmt: skip
    return page, status


def _edited(form, source: TenantConfig):
    """The form's configuration (with an uploaded logo stored), or its problems."""
    problems = {}
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


def _submitted():
    """The submitted form, the version it was made from, and its configuration or problems."""
    base, source = _source()
    form = forms.submitted_config_form(source)
    config, problems = _edited(form, source)
    return form, base, config, problems


def _provider_check(config: TenantConfig):
    """The identity provider's check, which a changed provider must pass to be published."""
    return checks.check_provider(config, os.environ)


def _record_override(check, reason: str) -> None:
    """An administrator published a provider change whose check failed: in the audit log."""
    checks.record_override(g.tenant.slug, check, current_user._get_current_object(), reason,
                           commit=False)  # fmt: skip


def _override():
    """Publishing despite a failed provider check: only ticked and with a reason, recorded
    (with the failed items) in the same transaction as the version."""
    reason = request.form.get("reason", "").strip()[:500]
    if request.form.get("override") != "yes" or not reason:
        return None
    return lambda check: _record_override(check, reason)


@bp.get("/config")
@regional_admin_required
def config():
    """The form, filled in from the administrator's draft if they keep one."""
    draft = drafts.find(g.tenant.slug, current_user.id)
    source = drafts.usable(draft)
    if source is None:
        base, source = versions.at(g.tenant.slug)
        return _form_page(forms.filled_config_form(source, base=base))
    form = forms.filled_config_form(source, base=draft.base)
    form.comment.data = draft.comment
    return _form_page(form, draft=draft)


@bp.post("/config/preview")
@regional_admin_required
def preview():
    """The login page in the edited branding, before anything is saved."""
    form, _, config, problems = _submitted()
    if config is None:
        if htmx:
            return render_template("admin/_preview.html", problems=problems), 400
        return _form_page(form, problems=problems, status=400)
    key = secrets.token_urlsafe(8)  # a new stylesheet address for every preview
    session[FORM_PREVIEW] = {"key": key, "primary": config.branding.primary_color,
                      "accent": config.branding.accent_color}  # fmt: skip
    shown = {"config": config, "key": key}
    if htmx:
        return render_template("admin/_preview.html", preview=shown, problems={})
    return _form_page(form, preview=shown)


@bp.get("/config/preview.css")
@regional_admin_required
def preview_css():
    shown = session.get(FORM_PREVIEW) or {}
    if not shown or shown["key"] != request.args.get("d"):
        abort(404)
    response = make_response(render_template("admin/preview.css", draft=shown))
    response.mimetype = "text/css"
    return response


@bp.post("/config")
@regional_admin_required
def save_config():
    """«Опубликовать сразу»: the form becomes the served version, through the same checks as
    a draft's publication; the draft it was opened from, if any, is then done with."""
    form, source, config, problems = _submitted()
    if config is None:
        return _form_page(form, problems=problems, status=400)
    comment, slug = form.comment.data or "", g.tenant.slug
    try:
        version = drafts.publish_config(slug, config, base=form.base.data, author=current_user,
                                        comment=comment, check=_provider_check,
                                        replaces=db_id(request.form.get("draft")))  # fmt: skip
    except versions.StaleVersion as stale:
        return _form_page(form, notice=_stale(stale.latest), status=409)
    except drafts.ProviderCheckFailed as failed:
        # Nothing typed is lost: it waits as the draft, for the check or an override.
        drafts.save(slug, config, base=source, author=current_user, comment=comment)
        return _refused(drafts.find(slug, current_user.id), check=failed.check)
    flash(_published(version.number), "success")
    return redirect(url_for("admin.history"))


# --- drafts: saved, looked at on the region's own host, published or discarded ----------------


def _draft_changes(draft) -> dict:
    """What publishing the draft would change; for a draft over an older version, what was
    published since (``theirs``) and what the draft changes (``mine``) from their base."""
    latest = versions.latest_number(draft.tenant)
    if draft.base == latest:
        served = versions.config_of(draft.tenant, latest)
        return {"latest": latest, "changes": admin_reports.config_changes(served, draft.config)}
    base, served, mine = drafts.sides(draft, latest)
    theirs = admin_reports.config_changes(base, served) if base is not None else []
    own = admin_reports.config_changes(base if base is not None else served, mine)
    both = {c.path for c in theirs} & {c.path for c in own}
    published = [r for r in versions.history(draft.tenant) if r.version and r.number > draft.base]
    return {"latest": latest, "theirs": theirs, "mine": own, "both": both,
            "published": published[::-1]}  # fmt: skip


def _refused(draft, *, check=None, reason_missing=False):
    """Publishing refused, the draft kept: what changed meanwhile, or the provider check."""
    status = 422 if check is not None else 409
    page = render_template("admin/draft_refused.html", draft=draft, check=check,
                           reason_missing=reason_missing, **_draft_changes(draft))  # fmt: skip
    return page, status


def _draft_gone():
    flash(str(DRAFT_GONE), "error")
    return redirect(url_for("admin.draft")), 303


@bp.post("/config/draft")
@regional_admin_required
def save_draft():
    """«Сохранить черновик»: kept for this administrator only; visitors see nothing of it."""
    form, base, config, problems = _submitted()
    if config is None:
        return _form_page(form, problems=problems, status=400)
    drafts.save(g.tenant.slug, config, base=base, author=current_user,
                comment=form.comment.data or "")  # fmt: skip
    flash(str(DRAFT_SAVED), "success")
    return redirect(url_for("admin.draft")), 303


@bp.get("/config/draft")
@regional_admin_required
def draft():
    mine = drafts.find(g.tenant.slug, current_user.id)
    if mine is None:
        return render_template("admin/draft.html", draft=None)
    return render_template("admin/draft.html", draft=mine, **_draft_changes(mine))


@bp.post("/config/draft/preview")
@regional_admin_required
def preview_draft():
    """«Посмотреть на сайте региона»: this browser's session sees the region as the draft
    makes it, on every page, until the administrator leaves the preview or signs out."""
    try:
        drafts.start_preview(g.tenant.slug, current_user)
    except drafts.DraftGone:
        return _draft_gone()
    return redirect(url_for("admin.draft_login")), 303


@bp.get("/config/draft/login")
@regional_admin_required
def draft_login():
    """The login page as the draft makes it (a signed-in person is otherwise sent past it)."""
    if g.get("draft_preview") is None:
        return redirect(url_for("admin.draft"))
    return render_template("auth/login.html", methods=offered_methods(g.tenant), asked_for=None,
                           providers_down=availability.kinds_down(g.tenant))  # fmt: skip


@bp.post("/config/draft/preview/end")
@regional_admin_required
def end_preview():
    """«Выйти из просмотра»: one press, back to the served version."""
    drafts.end_preview()
    flash(str(PREVIEW_ENDED), "success")
    return redirect(url_for("admin.draft")), 303


def _ask_publish(draft):
    changes = _draft_changes(draft)
    if "changes" not in changes:  # made over an older version: refused before it is asked
        return _refused(draft)
    names = "; ".join(c.label for c in changes["changes"])
    if names:
        effect = _("Её сразу увидят все посетители региона. Изменится: %(names)s.", names=names)
    else:
        effect = _("Её сразу увидят все посетители региона. Настройки останутся прежними.")
    return ask_first({
        "id": "publish-draft", "title": _("Опубликовать черновик?"),
        "question": _("Опубликовать черновик как версию %(number)s?",
                      number=changes["latest"] + 1),
        "effect": effect,
        "yes": _("Да, опубликовать"), "action": url_for("admin.publish_draft"),
        "back": url_for("admin.draft"), "keep": {"revision": draft.revision},
    })  # fmt: skip


@bp.post("/config/draft/publish")
@regional_admin_required
def publish_draft():
    """«Опубликовать»: asks first; refused, with the draft kept, over a version published
    meanwhile or with a changed provider that fails its check (unless overridden)."""
    mine, revision = drafts.find(g.tenant.slug, current_user.id), request.form.get("revision")
    if mine is None or (revision and revision != str(mine.revision)):
        return _draft_gone()
    if not confirmed():
        return _ask_publish(mine)
    try:
        version = drafts.publish(g.tenant.slug, current_user, revision=mine.revision,
                                 check=_provider_check, override=_override())  # fmt: skip
    except drafts.DraftGone:
        return _draft_gone()
    except drafts.DraftStale:
        return _refused(mine)
    except drafts.ProviderCheckFailed as failed:
        return _refused(mine, check=failed.check,
                        reason_missing=request.form.get("override") == "yes")  # fmt: skip
    flash(_published(version.number), "success")
    return redirect(url_for("admin.history")), 303


@bp.post("/config/draft/rebase")
@regional_admin_required
def rebase_draft():
    """«Перенести мои изменения на версию N»: the draft over the version served now."""
    try:
        drafts.rebase(g.tenant.slug, current_user)
    except drafts.DraftGone:
        return _draft_gone()
    except drafts.NotMergeable:
        flash(str(NOT_MERGEABLE), "error")
    else:
        flash(str(REBASED), "success")
    return redirect(url_for("admin.draft")), 303


@bp.post("/config/draft/discard")
@regional_admin_required
def discard_draft():
    if not confirmed():
        return ask_first({
            "id": "discard-draft", "title": _("Удалить черновик?"),
            "question": _("Удалить ваш черновик настроек?"),
            "effect": _("Его изменения пропадут. Действующие настройки региона не изменятся."),
            "yes": _("Да, удалить черновик"), "action": url_for("admin.discard_draft"),
            "back": url_for("admin.draft"),
        })  # fmt: skip
    if not drafts.discard(g.tenant.slug, current_user):
        return _draft_gone()
    flash(_("Черновик удалён. Действующие настройки региона не изменились."), "success")
    return redirect(url_for("admin.config")), 303


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
        flash(_stale(stale.latest), "error")
        return redirect(url_for("admin.history")), 303
    flash(_("Версия %(number)s восстановлена как версия %(new)s.", number=number,
            new=restored.number), "success")  # fmt: skip
    return redirect(url_for("admin.history"))


# --- the right to erasure ---------------------------------------------------------------------


OWN_ACCOUNT = _l(
    "Свою учётную запись здесь удалить нельзя: её удалит другой администратор региона "
    "или оператор портала."
)


def _person_of_region(user_id: int) -> User:
    """An account of this region (404 otherwise), not the administrator's own (409)."""
    user = db.session.get(User, user_id)
    if user is None or user.tenant != g.tenant.slug:
        abort(404)
    if user.id == current_user.id:
        abort(make_response(render_error(409, str(OWN_ACCOUNT))))
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
        flash(_("Данные удалены. В журнале человек теперь обозначен как %(pseudonym)s.",
                pseudonym=erased.pseudonym), "success")  # fmt: skip
        return redirect(url_for("admin.audit_log"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/erase.html", person=person, form=form), status
