"""The «Моя школа» portal: ``create_app`` builds one WSGI app that serves every region."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.routing import IntegerConverter
from werkzeug.utils import import_string

from app import (
    audit_spool,
    errors,
    health,
    i18n,
    logs,
    metrics,
    page_cache,
    security,
    sessions,
    settings,
    tenants,
)
from app.diary.charts import mark_badges
from app.extensions import csrf, db, htmx, limiter, login_manager, migrate
from app.identity.types import format_snils, mask_date, mask_email, mask_phone, mask_snils
from app.models.base import MAX_ID
from app.tenants.assets import logo_url, page_url, static_url
from app.wording import local_date, local_time


def _load_user(user_id: str):
    """The signed-in user, but only on their own region's host: elsewhere, anonymous."""
    from flask import g

    from app.accounts import signed_in_user

    user = signed_in_user(int(user_id)) if user_id.isdigit() else None
    tenant = g.get("tenant")
    if user is None or tenant is None or user.tenant != tenant.slug or user.disabled:
        return None
    return user


def _let_a_lost_connection_go(error: BaseException | None) -> None:
    """A connection the database dropped (a restart) fails even its rollback at the end of a
    request: invalidate it, so the pool replaces it, instead of failing the response."""
    if not db.session.registry.has():
        return  # the request never used the database
    try:
        db.session.close()
    except SQLAlchemyError:
        with contextlib.suppress(SQLAlchemyError):
            db.session().invalidate()


def _limit_headers_where_limited(app: Flask) -> None:
    """Flask-Limiter's after-request work (a limit's headers, a deduction made only when the
    answer says so) has something to do only where a view's limits were checked: elsewhere
    it is not run (its lookups were a twentieth of a kept page's time)."""
    funcs = app.after_request_funcs[None]
    found = [(i, f) for i, f in enumerate(funcs) if getattr(f, "args", ()) == (limiter,)]
    if len(found) != 1:  # another Flask-Limiter than the one pinned: say so at start-up
        raise RuntimeError("Flask-Limiter's after-request hook was not found where expected")
    [(index, inject)] = found

    def limit_headers(response):
        context = limiter.context
        if context.view_rate_limits or context.conditional_deductions:
            return inject(response)
        return response

    funcs[index] = limit_headers


class RowIdConverter(IntegerConverter):
    """``<int:…>`` in our routes is always a row id: anything a 32-bit key cannot be is a 404
    at routing, never a query."""

    def __init__(self, url_map, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, **kwargs)


def create_app(environ: Mapping[str, str] | None = None, config: Mapping[str, Any] | None = None):
    """Build the app from ``environ`` (default: the process environment) and extra ``config``."""
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(
        settings.from_environ(os.environ if environ is None else environ, Path(app.instance_path))
    )
    if config:
        app.config.from_mapping(config)

    # Order matters: the request id first, then the tenant is bound before CSRF is checked,
    # so refusals are branded.
    logs.init_app(app)
    metrics.init_app(app)
    tenants.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    db.init_app(app)
    audit_spool.init_app(app)
    app.teardown_appcontext(_let_a_lost_connection_go)  # runs before Flask-SQLAlchemy's own
    migrate.init_app(app, db, directory=str(settings.PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    security.keep_csrf_tokens(app)
    htmx.init_app(app)
    health.init_app(app)
    sessions.init_app(app)
    page_cache.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    # There are no default limits: only the views decorated with their own limits are limited,
    # and their decorators check them. The extension's check before every other request finds
    # nothing to do, at a tenth of a page's time, so it is not run.
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    _limit_headers_where_limited(app)
    login_manager.user_loader(_load_user)
    app.extensions["diary"] = import_string(app.config["DIARY_BACKEND"])()
    app.jinja_env.filters["snils"] = format_snils
    # Personal data is shown masked unless a person asked, and was audited, to see it whole.
    app.jinja_env.filters["masked_snils"] = mask_snils
    app.jinja_env.filters["masked_email"] = mask_email
    app.jinja_env.filters["masked_phone"] = mask_phone
    app.jinja_env.filters["masked_date"] = mask_date
    app.jinja_env.filters["day"] = i18n.day
    # Moments in the region's own time zone (its `timezone`), in the page's language.
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["mark_badges"] = mark_badges
    app.jinja_env.filters["first_upper"] = lambda text: text[:1].upper() + text[1:]
    app.jinja_env.globals["logo_url"] = logo_url
    app.jinja_env.globals["static_url"] = static_url
    app.jinja_env.globals["url_for"] = page_url

    from app.blueprints import register_blueprints
    from app.cli import register_commands

    app.url_map.converters["int"] = RowIdConverter
    register_blueprints(app)
    register_commands(app)
    return app
