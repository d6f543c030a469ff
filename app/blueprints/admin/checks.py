"""The identity provider check (``/admin/provider-check``) of the configuration the request
is served — the region's version, or the draft its administrator is previewing: a page that
says what will be checked, and a button that runs the check and shows a result per item.
The button is a POST: the check calls the provider, which no page view, prefetch or crawler
should set off. The check itself lives in ``app.identity.checks``.
"""

import os

from flask import g, make_response, render_template

from app.access.lookup import is_regional_admin
from app.blueprints.guards import requires
from app.extensions import htmx
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l
from app.identity import checks
from app.tenants.registry import BASELINE_VERSION

from . import bp

regional_admin_required = requires(is_regional_admin)

BUSY = _l(
    "Поставщик входа этого региона уже проверяется — возможно, по вашему же повторному "
    "нажатию или другим администратором. Подождите несколько секунд и нажмите «Проверить» "
    "снова."
)


def _served_version() -> str:
    """Which configuration this request is served, and so checks: a saved version, or the
    draft its administrator is looking at on the region's host."""
    served = g.tenant.version
    if served == BASELINE_VERSION:
        return _("версия 0, исходные из regions.yaml")
    number = served.removeprefix("v")
    if number.isdigit():
        return _("версия %(number)s", number=number)
    return _("ваш черновик, который вы сейчас просматриваете на сайте региона")


def _page(*, check=None, busy: bool = False, status: int = 200):
    template = "admin/_provider_check.html" if htmx else "admin/provider_check.html"
    page = render_template(
        template,
        check=check,
        busy=busy,
        busy_text=str(BUSY),
        version=_served_version(),
        what=checks.what_is_checked(g.tenant.config.identity_provider.kind),
        seconds=checks.TOTAL_SECONDS,
    )
    response = make_response(page, status)
    response.vary.add("HX-Request")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/provider-check")
@regional_admin_required
def provider_check():
    return _page()


@bp.post("/provider-check")
@regional_admin_required
def run_provider_check():
    try:
        check = checks.check_region_provider(g.tenant, os.environ)
    except checks.CheckRunning:
        return _page(busy=True, status=409)
    return _page(check=check)
