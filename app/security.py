"""The security baseline every response carries (SECURITY.md, "Sessions and accounts" 3.4.x).

Headers are set here rather than by Flask-Talisman (unmaintained since 2023). The CSP has no
``unsafe-inline``: styles and scripts come from our static files only, branding colours from
a stylesheet route, and htmx is configured not to inject inline styles or evaluate code.
"""

from __future__ import annotations

from flask import Flask, Response, request
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
        "form-action 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

BASE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
HSTS = "max-age=31536000; includeSubDomains"


def _set_headers(https: bool):
    def set_headers(response: Response) -> Response:
        for name, value in BASE_HEADERS.items():
            response.headers.setdefault(name, value)
        if https:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    return set_headers


def _csrf_refused(error: CSRFError):
    audit.record("csrf_refused", path=request.path, reason=error.description)
    return render_error(
        400,
        "Форма устарела или отправлена не с этой страницы. Обновите страницу и попробуйте ещё раз.",
    )


def init_app(app: Flask) -> None:
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    app.after_request(_set_headers(app.config["PORTAL_HTTPS"]))
    app.register_error_handler(CSRFError, _csrf_refused)
