from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from app import passwords
from app.accounts import end_sessions
from app.blueprints.access.routes import ROLE_LABELS
from app.identity import password as password_identity
from app.sessions import active_sessions
from app.tenants import tenant_required

from . import bp


@bp.get("/")
@tenant_required
@login_required
def settings():
    roles = [role["kind"] for role in (session.get("access") or {}).get("roles", [])]
    sessions = active_sessions(current_app, current_user.tenant, current_user.id, session.sid)
    return render_template(
        "account/settings.html",
        roles=roles,
        labels=ROLE_LABELS,
        current=session.get("role"),
        sessions=sessions,
        has_password=password_identity.credential_of(current_user) is not None,
    )


@bp.route("/password", methods=["GET", "POST"])
@tenant_required
@login_required
def change_password():
    """For students with a school-issued login: a new password ends their other sessions."""
    credential = password_identity.credential_of(current_user) or abort(404)
    problems = []
    if request.method == "POST":
        problems = passwords.change_from_form(
            credential, request.form, keep_sid=session.sid, current_required=True
        )
        if not problems:
            flash("Пароль изменён. Другие сеансы завершены.", "success")
            return redirect(url_for("account.settings"))
    return render_template(
        "account/password.html", problems=problems, login=credential.login,
        min_length=passwords.MIN_LENGTH,
    ), (400 if problems else 200)  # fmt: skip


@bp.post("/sessions/end-others")
@tenant_required
@login_required
def end_other_sessions():
    ended = end_sessions(current_user, keep_sid=session.sid, reason="signed_out_others")
    flash(f"Завершено других сеансов: {ended}.", "success")
    return redirect(url_for("account.settings"))
