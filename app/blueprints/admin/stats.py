"""The region's login statistics (``/admin/stats``): per day, method, reason and school, read
from the login counters (``app.login_stats``), with what the school can do about each reason.

A GET filter (school, period): the whole page without JavaScript; with htmx the report part
alone (``admin/_stats.html``) is swapped in.
"""

from datetime import date

from babel.dates import format_date
from flask import abort, g, make_response, render_template, request

from app import admin_reports, i18n, login_stats, wording
from app.access.lookup import is_regional_admin
from app.blueprints.guards import requires
from app.extensions import htmx

from . import bp

regional_admin_required = requires(is_regional_admin)
# A day in the chart and the tables' heads, short: «05.12»; in English the month is named.
SHORT_DAY = {"ru": "dd.MM", "tt": "dd.MM", "en": "d MMM"}


def short_day(day: date) -> str:
    return format_date(day, SHORT_DAY.get(i18n.current(), SHORT_DAY["ru"]), locale=i18n.locale())


@bp.get("/stats")
@regional_admin_required
def stats():
    slug, zone = g.tenant.slug, wording.zone()
    today = wording.today(zone)
    period, problems = login_stats.period_from(request.args, today)
    try:
        school = login_stats.school_filter(slug, request.args.get("school", ""))
    except LookupError:
        abort(404)  # another region's school, or none at all
    report = login_stats.report(slug, period, school)
    schools = login_stats.schools_of_region(slug)
    page = render_template(
        "admin/_stats.html" if htmx and not htmx.boosted else "admin/stats.html",
        report=report, period=period, problems=problems, school=school, today=today,
        schools=schools, school_name=login_stats.filter_name(school, schools),
        bars=login_stats.bars(report), short_day=short_day,
        methods=admin_reports.method_labels(g.tenant.config.login_methods),
        reasons=wording.REASONS, advice=login_stats.ADVICE, no_school=login_stats.NO_SCHOOL,
        zone_name=wording.zone_words(g.tenant.config.timezone),
    )  # fmt: skip
    response = make_response(page, 400 if problems else 200)
    response.vary.add("HX-Request")
    return response
