from flask import redirect, render_template, session, url_for
from flask_login import login_required

from app.blueprints.access.routes import ROLE_LABELS, children_names
from app.tenants import tenant_required

from . import bp


@bp.get("/")
@tenant_required
@login_required
def home():
    access = session.get("access") or {}
    role = session.get("role")
    if role is None:
        return redirect(url_for("access.choose_role"))
    current = next((r for r in access.get("roles", []) if r["kind"] == role), None)
    if current is None:
        return redirect(url_for("access.choose_role"))
    if role == "regional_admin":
        return redirect(url_for("admin.home"))
    if role == "school_admin":
        return redirect(url_for("school.students"))
    return render_template(
        "diary/home.html",
        role=role,
        role_label=ROLE_LABELS[role],
        children=children_names(current["children"]),
        waiting=children_names(current["waiting"]),
        several_roles=len(access["roles"]) > 1,
    )
