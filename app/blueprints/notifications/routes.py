from flask import abort, flash, g, redirect, render_template, url_for
from flask_login import current_user, login_required

from app import trusted
from app.consent import NotAGuardian, give_parental
from app.i18n import gettext as _
from app.notifications import for_user, mark_read, owned_item
from app.tenants import tenant_required

from . import bp


@bp.get("/")
@tenant_required
@login_required
def index():
    invitations = {}
    if g.tenant.policy.trusted_persons.enabled:
        invitations = {row.grant.id: row for row in trusted.received_by(current_user)}
    return render_template(
        "notifications/index.html", items=for_user(current_user), invitations=invitations
    )


@bp.post("/<int:item_id>/read")
@tenant_required
@login_required
def read(item_id: int):
    mark_read(owned_item(current_user, item_id) or abort(404))
    return redirect(url_for("notifications.index"))


@bp.post("/<int:item_id>/consent")
@tenant_required
@login_required
def consent(item_id: int):
    item = owned_item(current_user, item_id) or abort(404)
    try:
        give_parental(current_user, item.about_id)
    except NotAGuardian:
        abort(404)
    given = _("Согласие дано: %(name)s теперь может войти в дневник.", name=item.about.full_name)
    flash(given, "success")
    return redirect(url_for("notifications.index"))
