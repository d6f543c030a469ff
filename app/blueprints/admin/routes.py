import os

from flask import g, render_template

from app.access.lookup import is_regional_admin
from app.blueprints.guards import requires
from app.qa import check_region
from app.tenants import current_registry

from . import bp

regional_admin_required = requires(is_regional_admin)


@bp.get("/")
@regional_admin_required
def home():
    return render_template("admin/home.html")


@bp.get("/qa")
@regional_admin_required
def qa():
    check = check_region(current_registry(), g.tenant, os.environ)
    return render_template("admin/qa.html", check=check)
