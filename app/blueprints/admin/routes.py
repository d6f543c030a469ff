import os
from functools import wraps

from flask import abort, g, render_template, request
from flask_login import current_user, login_required

from app import audit
from app.access.lookup import is_regional_admin
from app.qa import check_region
from app.tenants import current_registry, tenant_required

from . import bp


def regional_admin_required(view):
    """Checked against the database on every request, so a revoked grant ends at once."""

    @wraps(view)
    @tenant_required
    @login_required
    def wrapped(*args, **kwargs):
        if not is_regional_admin(current_user):
            audit.record("forbidden", actor_id=current_user.id, path=request.path)
            abort(403)
        return view(*args, **kwargs)

    return wrapped


@bp.get("/")
@regional_admin_required
def home():
    return render_template("admin/home.html")


@bp.get("/qa")
@regional_admin_required
def qa():
    check = check_region(current_registry(), g.tenant, os.environ)
    return render_template("admin/qa.html", check=check)
