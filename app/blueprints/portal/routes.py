from flask import abort, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from app import page_cache
from app.extensions import htmx
from app.tenants import TenantRegistry, current_registry, tenant_required
from app.tenants.assets import fetch

from . import bp, vision
from .forms import RegionFilterForm
from .service import region_rows

BRANDING_MAX_AGE = 24 * 3600


@bp.get("/")
def index():
    if g.tenant is not None:
        if current_user.is_authenticated:
            return redirect(url_for("diary.home"))
        return redirect(url_for("auth.login"))
    return chooser()


def chooser():
    registry = current_registry()
    generation = registry.generation  # before the rows: a region replaced meanwhile is seen next
    template = "portal/_regions.html" if htmx and not htmx.boosted else "portal/chooser.html"
    page = page_cache.render(template, generation, lambda: _chooser_context(registry))
    response = make_response(page)
    response.vary.add("HX-Request")
    return response


def _chooser_context(registry: TenantRegistry) -> dict:
    """What the chooser shows: the regions, filtered by the address's query."""
    form = RegionFilterForm(request.args, meta={"csrf": False})
    query = (form.q.data or "") if form.validate() else ""
    rows = region_rows(registry, query, via_host=request.host, scheme=request.scheme)
    return {"form": form, "rows": rows, "query": query}


@bp.get("/branding.css")
@tenant_required
def branding_css():
    response = make_response(render_template("portal/branding.css", branding=g.tenant.branding))
    response.mimetype = "text/css"
    if request.args.get("v") == g.tenant.version:
        response.cache_control.public = True
        response.cache_control.max_age = BRANDING_MAX_AGE
    else:
        response.cache_control.no_cache = True
    return response


@bp.get("/branding/logo/<name>")
@tenant_required
def uploaded_logo(name: str):
    """A logo the region's administrator uploaded (named by its content's hash)."""
    asset = fetch(g.tenant.slug, name) or abort(404)
    response = make_response(asset.data)
    response.mimetype = asset.content_type
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response.cache_control.public = True
    response.cache_control.max_age = BRANDING_MAX_AGE  # the name changes with the content
    return response


@bp.get("/low-vision/<any(on, off):state>")
def low_vision(state: str):
    """«Версия для слабовидящих» on or off, remembered by the browser; back to the page the
    switch was pressed on (a local path only)."""
    back = vision.local_path(request.args.get("next")) or url_for("portal.index")
    return vision.set_choice(redirect(back), state == "on")


@bp.app_template_global("low_vision")
def _low_vision() -> bool:
    return vision.is_on()


@bp.app_template_global("low_vision_url")
def _low_vision_url(on: bool) -> str:
    return vision.switch_url(on)
