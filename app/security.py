"""The security baseline every response carries (SECURITY.md, "Sessions and accounts" 3.4.x).

Headers are set here rather than by Flask-Talisman (unmaintained since 2023). The CSP has no
``unsafe-inline``: styles and scripts come from our static files only, branding colours from
a stylesheet route, and htmx is configured not to inject inline styles or evaluate code.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, abort, g, request, session
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from app import audit
from app.errors import render_error

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'{form_targets}",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
HSTS = "max-age=31536000; includeSubDomains"


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def form_targets(tenant) -> str:
    """Origins a form on this region's pages may lead to: logout ends at the provider's."""
    if tenant is None:
        return ""
    provider = tenant.config.identity_provider
    urls = [getattr(provider, "base_url", None), getattr(provider, "issuer", None)]
    urls += [getattr(provider, "authorization_endpoint", None)]
    origins = sorted({o for o in map(_origin, urls) if o})
    return "".join(f" {origin}" for origin in origins)


def _set_headers(https: bool):
    def set_headers(response: Response) -> Response:
        from app.signin import current_access

        csp = CONTENT_SECURITY_POLICY.format(form_targets=form_targets(g.get("tenant")))
        response.headers.setdefault("Content-Security-Policy", csp)
        for name, value in BASE_HEADERS.items():
            response.headers.setdefault(name, value)
        if https:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        # Pages for a signed-in (or half signed-in) person carry personal data: never cached.
        if request.endpoint != "static" and (session.get("_user_id") or current_access()):
            response.cache_control.no_store = True
            response.cache_control.public = False
        return response

    return set_headers


def _csrf_refused(error: CSRFError):
    audit.record("csrf_refused", path=request.path, reason=error.description)
    return render_error(
        400,
        "Форма устарела или отправлена не с этой страницы. Обновите страницу и попробуйте ещё раз.",
    )


def _refuse_nul_bytes():
    """No path, form field or query parameter has a reason to hold a NUL byte, and PostgreSQL
    text cannot store one: such a request gets a clear 400, never a 500 further down."""
    if "\x00" in request.path:
        abort(400)
    for values in (request.args, request.form):
        if any("\x00" in key or "\x00" in value for key, value in values.items(multi=True)):
            abort(400)


def init_app(app: Flask) -> None:
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    app.before_request(_refuse_nul_bytes)
    app.after_request(_set_headers(app.config["PORTAL_HTTPS"]))
    app.register_error_handler(CSRFError, _csrf_refused)
