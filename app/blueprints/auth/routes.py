from flask import abort, g, render_template

from app.identity import offered_methods, provider_class
from app.tenants import tenant_required

from . import bp


@bp.get("/login")
@tenant_required
def login():
    return render_template("auth/login.html", methods=offered_methods(g.tenant))


@bp.get("/login/<kind>")
@tenant_required
def start(kind: str):
    if kind not in {method.kind for method in offered_methods(g.tenant)}:
        abort(404)
    return provider_class(kind)(g.tenant).start_login()
