"""The security baseline every response carries (SECURITY.md, "Sessions and accounts" 3.4.x).

Headers (app/headers.py) are set here rather than by Flask-Talisman (unmaintained since 2023).
"""

from __future__ import annotations

from flask import Flask, Response, abort, current_app, g, request, session
from flask_wtf.csrf import CSRFError, generate_csrf
from werkzeug.middleware.proxy_fix import ProxyFix

from app import audit
from app.errors import render_error
from app.headers import page_headers, vary
from app.i18n import gettext as _
from app.kept import Kept


def _set_headers(https: bool):
    def set_headers(response: Response) -> Response:
        from app.signin import current_access

        headers = response.headers
        present = {name.lower() for name in headers.keys()}  # noqa: SIM118  a multidict
        headers.extend(
            (name, value)
            for name, value in page_headers(https, g.get("tenant")).items()
            if name.lower() not in present
        )
        # A page's words follow the language cookie and Accept-Language, its look the
        # low-vision cookie: no shared cache may give one visitor's version to another.
        if response.mimetype == "text/html":
            vary(headers, "Accept-Language", "Cookie")
        # Pages for a signed-in (or half signed-in) person carry personal data: never cached.
        if request.endpoint != "static" and (session.get("_user_id") or current_access()):
            if "cache-control" in present:
                response.cache_control.no_store = True
                response.cache_control.public = False
            else:
                headers["Cache-Control"] = "no-store"
        return response

    return set_headers


def _csrf_refused(error: CSRFError):
    audit.record("csrf_refused", path=request.path, reason=error.description)
    return render_error(
        400,
        _(
            "Форма устарела или отправлена не с этой страницы. "
            "Обновите страницу и попробуйте ещё раз."
        ),
    )


# Signed CSRF tokens kept per worker, by the session's secret they sign.
SIGNED_TOKENS_KEPT = 1024


def csrf_token() -> str:
    """Flask-WTF's token for the session's form secret (``generate_csrf``), signed once per
    worker rather than on every page: signing was 3.7 % of a diary view.

    A token is the secret signed with a timestamp, and no time limit is set
    (``WTF_CSRF_TIME_LIMIT``): a token signed a minute ago is as valid as a new one, for the
    same secret only. Kept by (signing key, secret), so a new session or a new key signs
    again. With a time limit set, every page signs its own, as Flask-WTF does."""
    config = current_app.config
    name = config["WTF_CSRF_FIELD_NAME"]
    secret = session.get(name)
    limited = config["WTF_CSRF_TIME_LIMIT"] is not None
    if name in g or not isinstance(secret, str) or limited:
        return generate_csrf()
    kept: Kept[str] = current_app.extensions["csrf_signed"]
    # The key Flask-WTF signs with, read as it reads it.
    key = (config.get("WTF_CSRF_SECRET_KEY", current_app.secret_key), secret)
    token = kept.get(key)
    if token is None:
        token = generate_csrf()
        kept.put(key, token)
    else:
        # Where Flask-WTF's forms look for the request's token, and the kept frame for a
        # token written into it (app/page_cache.py).
        setattr(g, name, token)
    return token


def _refuse_nul_bytes():
    """No path, form field or query parameter has a reason to hold a NUL byte, and PostgreSQL
    text cannot store one: such a request gets a clear 400, never a 500 further down."""
    if "\x00" in request.path:
        abort(400)
    bodiless = request.method in ("GET", "HEAD", "OPTIONS")  # no form to parse for these
    for values in (request.args,) if bodiless else (request.args, request.form):
        if any("\x00" in key or "\x00" in value for key, value in values.items(multi=True)):
            abort(400)


def init_app(app: Flask) -> None:
    hops = app.config["TRUSTED_PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    app.before_request(_refuse_nul_bytes)
    app.after_request(_set_headers(app.config["PORTAL_HTTPS"]))
    app.register_error_handler(CSRFError, _csrf_refused)


def keep_csrf_tokens(app: Flask) -> None:
    """Templates' ``csrf_token()`` becomes :func:`csrf_token`; after ``CSRFProtect.init_app``,
    whose global and context processor it replaces."""
    app.extensions["csrf_signed"] = Kept(SIGNED_TOKENS_KEPT)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(lambda: {"csrf_token": csrf_token})
