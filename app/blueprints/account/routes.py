from flask import current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user, login_required

from app.accounts import end_sessions
from app.blueprints.access.routes import ROLE_LABELS
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
    )


@bp.post("/sessions/end-others")
@tenant_required
@login_required
def end_other_sessions():
    ended = end_sessions(current_user, keep_sid=session.sid, reason="signed_out_others")
    flash(f"Завершено других сеансов: {ended}.", "success")
    return redirect(url_for("account.settings"))
