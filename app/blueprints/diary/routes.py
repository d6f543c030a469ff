from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import (
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from app import audit, i18n, page_cache
from app.access import ROLE_LABELS
from app.diary import parse_week
from app.diary.calendar import week_param
from app.diary.people import NotYours, diary_page, taught_classes
from app.errors import render_error
from app.extensions import htmx
from app.i18n import lazy_gettext as _l
from app.identity import provider_names
from app.signin import current_access
from app.tenants import tenant_required
from app.trusted import no_access_reason

from . import bp

BAD_WEEK = _l("Неделя указана неверно. Откройте дневник заново или выберите неделю стрелками.")


# Roles whose home is another part of the portal.
ELSEWHERE = {"regional_admin": "admin.home", "school_admin": "school.students"}


@bp.get("/")
@tenant_required
@login_required
def home():
    access = current_access()
    current = access.current if access else None
    if current is None:
        return redirect(url_for("access.choose_role"))
    if current.kind in ELSEWHERE:
        return redirect(url_for(ELSEWHERE[current.kind]))
    common = {"role": current.kind, "role_label": ROLE_LABELS[current.kind],
              "several_roles": access.several_roles}  # fmt: skip
    if current.kind == "teacher":
        return render_template("diary/home.html", classes=taught_classes(current_user), **common)
    return _children_diary(current, common)


def _school_now() -> datetime:
    """The region's local time, as the school's journal keeps it (naive)."""
    zone = ZoneInfo(g.tenant.config.timezone)
    return datetime.now(zone).replace(tzinfo=None)


def _children_diary(current, common: dict):
    """A student's own diary, or a parent's or trusted person's child's, for one week."""
    now = _school_now()
    monday = parse_week(request.args.get("week"), now.date())
    child_id = request.args.get("child", type=int)
    if monday is None:
        return render_error(400, str(BAD_WEEK))
    if "child" in request.args and child_id is None:
        abort(404)
    try:
        page = diary_page(
            current_app.extensions["diary"], current_user, current, child_id, monday, now
        )
    except NotYours:
        # A trusted person is told why a child's diary they were given is closed; anyone
        # else learns nothing about a child that is not theirs.
        reason = current.kind == "trusted" and no_access_reason(g.tenant, current_user, child_id)
        if not reason:
            abort(404)
        return render_error(403, reason)
    if current.kind == "trusted" and page.student is None:
        page = replace(page, notice=no_access_reason(g.tenant, current_user))
    render_body = current_app.extensions["diary_bodies"]
    body = render_body(page, current.kind, now.date(), provider_names(g.tenant), i18n.current())
    if htmx and not htmx.boosted:
        response = make_response(body)
    else:
        shows = (common["role"], common["several_roles"])
        html = page_cache.framed("diary/home.html", "diary_body", body, shows=shows, **common)
        response = make_response(html)
    response.vary.add("HX-Request")
    if page.student is not None:
        # 152-ФЗ: who looked at which child's diary (by id), as what, and when.
        audit.record_view("diary_viewed", actor_id=current_user.id, student_id=page.student.id,
                          role=current.kind, week=week_param(monday))  # fmt: skip
    return response
