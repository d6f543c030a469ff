"""Tenants: the regions this deployment serves, and which one a request belongs to.

``init_app`` loads and validates ``regions.yaml`` (a bad file stops start-up), refuses every
host it does not name, and binds ``g.tenant`` for every request from its host. A request to
a host we do not serve ends here with a plain 404 that shows no region's data.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from urllib.parse import quote

from flask import Flask, Response, abort, current_app, g, request, session

from app import i18n
from app.headers import page_headers

from .loader import ConfigError, load_file
from .registry import Apex, Tenant, TenantRegistry, normalize_host, split_port
from .schema import Emulator

__all__ = [
    "Apex",
    "ConfigError",
    "Tenant",
    "TenantRegistry",
    "apex_only",
    "current_registry",
    "init_app",
    "tenant_required",
]

# Served before Flask, where no region and so no language is known (nor any catalogue read):
# one plain page in Russian, and the same in English beneath it for whoever reads no Russian.
UNKNOWN_HOST_PAGE = (  # i18n-exempt: static page served before any region or language is known
    "<!doctype html>\n"
    '<html lang="ru"><head><meta charset="utf-8">'
    "<title>Страница не найдена · Page not found</title></head>\n"
    "<body><h1>Страница не найдена</h1>\n"
    "<p>По этому адресу нет портала «Моя школа». "
    "Проверьте адрес страницы входа вашего региона.</p>\n"
    '<div lang="en"><h2>Page not found</h2>\n'
    "<p>There is no “My School” portal at this address. "
    "Check the address of your region’s sign-in page.</p></div>\n"
    "</body></html>\n"
)


class HostNormalizer:
    """WSGI middleware: one spelling per host. A request to a served host written another way
    (``MySchool.Mosreg.RU.``) is sent to its canonical spelling (308, method and body kept),
    so the pages, the cookies and the identity provider's return all live on one host: a login
    started on the other spelling would otherwise come back to a host without its cookie.
    A host we do not serve ends here, before Flask, with a plain 404 that shows no region's
    data: this is the portal's trusted-hosts check, one dictionary lookup however many regions
    are served (Werkzeug's ``TRUSTED_HOSTS`` walks and IDNA-encodes every host per request).
    """

    def __init__(self, wsgi_app, serves: Callable[[str], bool], refusal: Callable[[], Response]):
        self.wsgi_app, self.serves, self.refusal = wsgi_app, serves, refusal

    def __call__(self, environ, start_response):
        host = environ.get("HTTP_HOST")
        if host:
            port = split_port(host)
            normalized = normalize_host(host)
            canonical = f"{normalized}:{port}" if port else normalized
            if not self.serves(canonical):
                return self.refusal()(environ, start_response)
            if canonical != host:
                return self._redirect(environ, canonical)(environ, start_response)
        return self.wsgi_app(environ, start_response)

    @staticmethod
    def _redirect(environ, host: str) -> Response:
        path = quote((environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode(
            "latin-1"), safe="/;:@&=+$,!~*'()%")  # fmt: skip
        query = environ.get("QUERY_STRING")
        url = f"{environ['wsgi.url_scheme']}://{host}{path}" + (f"?{query}" if query else "")
        return Response(status=308, headers={"Location": url})


def _unknown_host() -> Response:
    headers = page_headers(current_app.config["PORTAL_HTTPS"])
    return Response(UNKNOWN_HOST_PAGE, status=404, mimetype="text/html", headers=headers)


def current_registry() -> TenantRegistry:
    return current_app.extensions["tenants"]


def _bind_site() -> Response | None:
    from .versions import refresh

    refresh(current_app)  # administrators' saved versions reach every worker within seconds
    site = current_registry().resolve(request.environ.get("HTTP_HOST", ""))
    if site is None:
        return _unknown_host()
    g.tenant = site if isinstance(site, Tenant) else None
    g.apex = site if isinstance(site, Apex) else None
    if g.tenant is not None and session.get("config_preview"):  # drafts.PREVIEW
        _bind_draft_preview()
    return None


def _bind_draft_preview() -> None:
    """An administrator looking at their draft on the region's host: this session (and no
    other) is served the draft's configuration, while their rights and the draft hold."""
    from .drafts import preview_of

    previewed = preview_of(g.tenant)
    if previewed is not None:
        g.tenant, g.draft_preview = previewed


def _draft_never_cached(response: Response) -> Response:
    """A page in a draft's colours and words is one person's: no cache may keep it."""
    if g.get("draft_preview") is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


def tenant_required(view: Callable) -> Callable:
    """The view belongs to a region's host; on the apex host it does not exist."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("tenant") is None:
            abort(404)
        return view(*args, **kwargs)

    return wrapped


def apex_only(view: Callable) -> Callable:
    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("apex") is None:
            abort(404)
        return view(*args, **kwargs)

    return wrapped


def init_app(app: Flask) -> None:
    regions = load_file(Path(app.config["REGIONS_FILE"]), static_dir=Path(app.static_folder))
    baseline = regions
    emulator = Emulator.from_config(app.config)
    if emulator:
        regions = regions.emulated(emulator)
    registry = TenantRegistry(regions, dev_hosts=app.config["DEV_HOSTS"])
    registry.baseline = baseline
    app.extensions["tenants"] = registry

    def refusal() -> Response:
        with app.app_context():
            return _unknown_host()

    app.wsgi_app = HostNormalizer(
        app.wsgi_app, lambda host: registry.resolve(host) is not None, refusal
    )
    app.before_request(_bind_site)
    app.after_request(_draft_never_cached)

    @app.context_processor
    def _site():
        return {"tenant": g.get("tenant"), "portal": registry.portal.in_language(i18n.current())}
