from flask import render_template, session
from flask_login import login_required

from app.blueprints.access.routes import ROLE_LABELS
from app.tenants import tenant_required

from . import bp


@bp.get("/")
@tenant_required
@login_required
def settings():
    roles = [role["kind"] for role in (session.get("access") or {}).get("roles", [])]
    return render_template(
        "account/settings.html", roles=roles, labels=ROLE_LABELS, current=session.get("role")
    )
