from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from app import audit, consent
from app.access import ROLE_LABELS
from app.accounts import (
    LAST_ROLE_STAYS,
    ONLY_ENDED_DELETABLE,
    RoleRuleBroken,
    delete_role,
    end_sessions,
    structural_roles,
)
from app.audit import mask_snils
from app.blueprints.forms import PasswordChangeForm
from app.blueprints.guards import ask_first, confirmed
from app.extensions import htmx
from app.i18n import gettext as _
from app.identity.password import credentials as passwords
from app.identity.types import format_snils
from app.sessions import active_sessions
from app.signin import current_access
from app.tenants import tenant_required

from . import bp


def _asking(confirm: dict):
    return ask_first({"back": url_for("account.settings"), **confirm})


def _consent_question(consent_id: int) -> dict:
    """What revoking this consent (one the person gave, or one given for them) will do."""
    given = {row.consent.id: row for row in consent.given_by(current_user)}
    received = {row.consent.id: row for row in consent.received_by(current_user)}
    row = given.get(consent_id) or received.get(consent_id) or abort(404)
    if consent_id in received:
        question = _("Отозвать согласие родителя (%(parent)s) на вход в дневник?", parent=row.other)
        effect = _("Без согласия родителя войти в дневник будет нельзя, пока его не дадут снова.")
    elif row.consent.kind == "own":
        question = _("Отозвать согласие на обработку персональных данных?")
        effect = _(
            "Вы сразу выйдете из дневника; при следующем входе портал снова попросит согласие."
        )
    else:
        question = _("Отозвать согласие за ребёнка: %(child)s?", child=row.other)
        effect = _(
            "Ребёнок сразу выйдет из дневника и не сможет войти, пока согласие не дадут снова."
        )
    return {"id": f"consent-{consent_id}", "title": _("Отзыв согласия"), "question": question,
            "effect": effect, "yes": _("Да, отозвать согласие"),
            "action": url_for("account.revoke_consent", consent_id=consent_id)}  # fmt: skip


def _settings_page(*, snils_shown: bool = False, status: int = 200):
    person, access = current_user.person, current_access()
    snils = person.snils if person else None
    return render_template(
        "account/settings.html",
        person=person,
        snils=snils and (format_snils(snils) if snils_shown else mask_snils(snils)),
        snils_shown=snils_shown,
        roles=structural_roles(current_user),
        labels=ROLE_LABELS,
        role_rules=(_(ONLY_ENDED_DELETABLE), _(LAST_ROLE_STAYS)),
        current=access.role if access else None,
        can_switch=bool(access and access.several_roles),
        given=consent.given_by(current_user),
        received=consent.received_by(current_user),
        sessions=active_sessions(current_app, current_user.tenant, current_user.id, session.sid),
        has_password=passwords.credential_of(current_user) is not None,
    ), status


@bp.get("/")
@tenant_required
@login_required
def settings():
    return _settings_page()


@bp.post("/snils")
@tenant_required
@login_required
def show_snils():
    """Showing one's СНИЛС whole is a deliberate act, and audited."""
    person = current_user.person
    if person is None or not person.snils:
        abort(404)
    audit.record("snils_shown", actor_id=current_user.id)
    if htmx:
        return render_template(
            "account/_snils.html", snils=format_snils(person.snils), snils_shown=True
        )
    return _settings_page(snils_shown=True)


@bp.post("/roles/<int:role_id>/delete")
@tenant_required
@login_required
def remove_role(role_id: int):
    try:
        role = delete_role(current_user, role_id)
    except LookupError:
        abort(404)
    except RoleRuleBroken as rule:
        flash(str(rule), "error")
        return _settings_page(status=409)
    flash(_("Роль «%(role)s» удалена.", role=ROLE_LABELS.get(role.kind, role.kind)), "success")
    return redirect(url_for("account.settings"))


@bp.post("/consents/<int:consent_id>/revoke")
@tenant_required
@login_required
def revoke_consent(consent_id: int):
    if not confirmed():
        return _asking(_consent_question(consent_id))
    try:
        affected = consent.revoke(current_user, consent_id)
    except LookupError:
        abort(404)
    for user in affected:
        end_sessions(user, reason="consent_revoked")
    if current_user in affected:
        # This session's record is gone with the others; a fresh anonymous one carries the note.
        logout_user()
        session.clear()
        session.rotate()
        signed_out = _(
            "Согласие отозвано, вы вышли из дневника. Чтобы войти снова, дайте согласие при входе."
        )
        flash(signed_out, "success")
        return redirect(url_for("auth.login"))
    flash(_("Согласие отозвано."), "success")
    return redirect(url_for("account.settings"))


@bp.route("/password", methods=["GET", "POST"])
@tenant_required
@login_required
def change_password():
    """For students with a school-issued login: a new password ends their other sessions."""
    credential = passwords.credential_of(current_user) or abort(404)
    form, problems = PasswordChangeForm(request.form, asks_current=True), []
    if form.is_submitted():
        problems = passwords.change_from_form(
            credential, form.data, keep_sid=session.sid, current_required=form.asks_current
        )
        if not problems:
            flash(_("Пароль изменён. Другие сеансы завершены."), "success")
            return redirect(url_for("account.settings"))
    return render_template(
        "auth/password_change.html", form=form, problems=problems, login=credential.login,
        min_length=passwords.MIN_LENGTH, action=url_for("account.change_password"),
        first_login=False,
    ), (400 if problems else 200)  # fmt: skip


@bp.post("/sessions/end-others")
@tenant_required
@login_required
def end_other_sessions():
    if not confirmed():
        return _asking({
            "id": "end-sessions", "title": _("Завершение других сеансов"),
            "question": _("Завершить все сеансы, кроме этого?"),
            "effect": _("На других устройствах и в других браузерах придётся войти снова."),
            "yes": _("Да, завершить"), "action": url_for("account.end_other_sessions"),
        })  # fmt: skip
    ended = end_sessions(current_user, keep_sid=session.sid, reason="signed_out_others")
    flash(_("Завершено других сеансов: %(num)d.", num=ended), "success")
    return redirect(url_for("account.settings"))
