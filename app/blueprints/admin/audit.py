"""The region's audit log («Журнал событий», ``/admin/audit``): filters, pages by keyset,
the changes of each event, the audited reveal of a masked value and the audited CSV export.

The filters travel in the address as codes and ids only; a person is found by name through
a POST (a name is personal data and never goes into an address). A regional administrator
reads their own region: naming another (``region=``) or another region's person or event is
a 404. The rules live in ``app.audit_log``.
"""

from flask import (
    Response,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import format_decimal
from flask_login import current_user

from app import audit_log as trail
from app import wording
from app.access.lookup import is_regional_admin
from app.blueprints.guards import requires
from app.extensions import htmx
from app.i18n import gettext as _

from . import bp

regional_admin_required = requires(is_regional_admin)


def _number(value: int) -> str:
    """A number as the page's language writes it: 100 000 in Russian (a no-break space
    between thousands), 100,000 in English."""
    return format_decimal(value)


def _too_many() -> str:
    return _(
        "Под отбор попало больше %(limit)s событий, а выгрузить можно не больше %(limit)s. "
        "Сузьте отбор: выберите событие, даты или человека.",
        limit=_number(trail.EXPORT_LIMIT),
    )


def _filter(values) -> trail.Filter:
    """The filter a request names (its query, or a form that carries it), in this region."""
    region = values.get("region")
    if region and region != g.tenant.slug:
        abort(404)  # another region's log does not exist here
    regions = (g.tenant.slug,)
    who = None
    if values.get("who"):
        who = trail.who_of(regions, values.get("who")) or abort(404)
    return trail.Filter(regions, kind=trail.kind_of(values.get("kind")),
                        start=trail.day_of(values.get("from")),
                        end=trail.day_of(values.get("to")), who=who,
                        zone=wording.zone())  # fmt: skip


def _methods() -> dict[str, str]:
    return trail.method_words(g.tenant.config.login_methods)


def _page(f: trail.Filter, *, people=None, query: str = "", problem: str | None = None,
          status: int = 200) -> Response:  # fmt: skip
    after = trail.Cursor.parse(request.args.get("after")) if request.method == "GET" else None
    page = trail.audit_page(f, after, methods=_methods())
    partial = (htmx and not htmx.boosted and not htmx.history_restore_request
               and request.method == "GET")  # fmt: skip
    template = "admin/_audit_results.html" if partial else "admin/audit.html"
    args = f.args()
    others = {key: value for key, value in args.items() if key != "who"}
    body = render_template(template, page=page, filter=f, args=args, others=others, after=after,
                           people=people, query=query, problem=problem, step=trail.PAGE,
                           query_max=trail.QUERY_MAX, export_limit=_number(trail.EXPORT_LIMIT),
                           zone_name=wording.zone_words(g.tenant.config.timezone))  # fmt: skip
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


@bp.get("/audit")
@regional_admin_required
def audit_log():
    return _page(_filter(request.args))


@bp.post("/audit/people")
@regional_admin_required
def audit_people():
    """People of the region by name or account number, each a link to their events."""
    f = _filter(request.form)
    query = " ".join(request.form.get("person", "").split())[: trail.QUERY_MAX]
    people = trail.find_people(f.regions, query)
    if not people and len(query) < 2 and not query.isdigit():
        nobody = _("Введите фамилию (или фамилию и имя) либо номер учётной записи.")
        return _page(f, people=None, query=query, problem=nobody, status=400)
    return _page(f, people=people, query=query)


@bp.post("/audit/<int:event_id>/changes/<int:number>/reveal")
@regional_admin_required
def audit_reveal(event_id: int, number: int):
    """A masked value (the event's ``number``-th change) shown whole: a deliberate act,
    recorded before it is shown."""
    f = _filter(request.form)  # the log as it was filtered, to go back to
    try:
        row, change = trail.reveal(f.regions, event_id, number - 1, current_user)
    except LookupError:
        abort(404)
    if htmx and not htmx.boosted:
        return render_template("admin/_audit_change.html", event=row.event, change=change,
                               revealed=True)  # fmt: skip
    back = url_for("admin.audit_log", **f.args())
    return render_template("admin/audit_reveal.html", row=row, change=change, back=back)


@bp.post("/audit/export")
@regional_admin_required
def audit_export():
    """The filtered events as CSV (masked as the page shows them); the export is audited."""
    f = _filter(request.form)
    total = trail.count(f, at_most=trail.EXPORT_LIMIT)
    if total > trail.EXPORT_LIMIT:
        flash(_too_many(), "error")
        return redirect(url_for("admin.audit_log", **f.args()), 303)
    start = trail.snapshot(f)
    trail.record_export(f, current_user, total)
    rows = trail.export_rows(f, start, methods=_methods(),
                             region_names={g.tenant.slug: g.tenant.config.name})  # fmt: skip
    name = f"audit-{g.tenant.slug}-{wording.today().isoformat()}.csv"
    return Response(
        stream_with_context(trail.export_lines(rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
