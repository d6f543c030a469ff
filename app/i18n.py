"""Languages: Russian first, and Tatar and English where a region offers them.

Every string a person reads is marked for translation (``gettext`` as ``_``, ``lazy_gettext``
as ``_l`` for module-level texts, ``ngettext`` for counts) with its Russian words as the
message id, so the Russian pages read exactly as written, the seeds' texts verbatim. The
catalogues are in ``app/translations``; ``make translations`` extracts and updates them and
``make check-translations`` (run by ``make test``) fails on anything untranslated, fuzzy or
unmarked. docs/languages.md says who reviews them.

Which language a page is in, first that applies: the visitor's choice (a long-lived cookie of
the host, set by the switch on every page: a plain link, so it works without JavaScript),
then the browser's ``Accept-Language``, then the region's first language. Only a language
the region offers is ever chosen. Dates and numbers are written by Babel in that language,
in the region's time zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from flask import Blueprint, Flask, current_app, g, has_request_context, redirect, request, url_for
from flask_babel import Babel, get_locale

# The languages the portal has catalogues for, by code, each named in itself (the switch
# shows a language's name in that language, so a person finds their own whatever the page's).
LANGUAGES = {"ru": "Русский", "tt": "Татарча", "en": "English"}  # i18n-exempt: names in themselves
DEFAULT = "ru"
COOKIE_MAX_AGE = 365 * 24 * 3600

# How a day is written: Russians and Tatars write 23.11.2026; in English the month is named,
# so that no one reads 11/23 or 23/11 the other way.
DAY = {"ru": "dd.MM.y", "tt": "dd.MM.y", "en": "d MMM y"}
MOMENT = "d MMMM y, HH:mm"  # «23 ноября 2026, 14:05», «23 November 2026, 14:05»
DAY_IN_WORDS = "d MMMM y"

bp = Blueprint("language", __name__)


def N_(text: str) -> str:
    """Marks a text for the catalogues where it must stay a plain string (a configuration's
    default, say) and is translated when shown: ``gettext_noop``."""
    return text


def cookie_name() -> str:
    # `__Host-` requires Secure, which browsers honour only over HTTPS (as the session's).
    return "__Host-lang" if current_app.config.get("PORTAL_HTTPS") else "lang"


def offered() -> list[str]:
    """The languages of the request's site: its region's, or on the portal's own host (the
    region chooser) every language any region offers."""
    tenant = g.get("tenant")
    if tenant is not None:
        return list(tenant.config.languages)
    registry = current_app.extensions.get("tenants")
    codes = {code for region in registry for code in region.config.languages} if registry else ()
    return [code for code in LANGUAGES if code in codes] or [DEFAULT]


def select_language() -> str:
    """The page's language (Flask-Babel asks once per request and keeps the answer)."""
    if not has_request_context():
        return DEFAULT
    languages = offered()
    chosen = request.cookies.get(cookie_name())
    if chosen in languages:
        return chosen
    return from_header(languages) or languages[0]


def from_header(languages: list[str]) -> str | None:
    """The language the browser prefers most among ``languages``, by primary subtag: a Tatar
    browser saying ``tt-RU, ru;q=0.8`` means Tatar (Werkzeug's ``best_match`` would take the
    exact ``ru`` over the ``tt`` of ``tt-RU``)."""
    for value, quality in request.accept_languages:  # most wanted first
        code = value.split("-")[0].split("_")[0].lower()
        if quality > 0 and code in languages:
            return code
    return None


def select_timezone() -> str:
    tenant = g.get("tenant") if has_request_context() else None
    return tenant.config.timezone if tenant is not None else "Europe/Moscow"


def current() -> str:
    """The request's language code (Russian outside a request: commands, jobs)."""
    if not has_request_context():
        return DEFAULT
    return str(get_locale() or DEFAULT)


def locale() -> Locale:
    return get_locale() or Locale.parse(DEFAULT)


# --- dates ------------------------------------------------------------------------------------


def day(value: date | datetime | str | None) -> str:
    """A calendar day as the page's language writes it (23.11.2026; 23 Nov 2026)."""
    if isinstance(value, str):
        value = date.fromisoformat(value) if value else None
    if value is None:
        return ""
    return format_date(value, DAY.get(current(), DAY[DEFAULT]), locale=locale())


def day_in_words(value: date) -> str:
    """«23 ноября 2026», «23 November 2026»."""
    return format_date(value, DAY_IN_WORDS, locale=locale())


def moment(value: datetime) -> str:
    """A moment already in the region's zone: «23 ноября 2026, 14:05»."""
    return format_datetime(value, MOMENT, tzinfo=value.tzinfo, locale=locale())


# --- the switch -------------------------------------------------------------------------------


@bp.get("/language/<code>")
def switch(code: str):
    """Remember the visitor's language for this host and go back to the page they were on.
    Only a language the site offers is kept; only a path on this host is followed."""
    from app.blueprints.portal.vision import local_path

    back = local_path(request.args.get("next")) or url_for("portal.index")
    response = redirect(back)
    if code in offered():
        response.set_cookie(
            cookie_name(), code, max_age=COOKIE_MAX_AGE, path="/", httponly=True,
            secure=bool(current_app.config.get("PORTAL_HTTPS")), samesite="Lax",
        )  # fmt: skip
    response.cache_control.no_store = True
    return response


def switch_links() -> list[dict[str, Any]]:
    """The switch on every page: each language of the site, named in itself, the page's own
    marked as current."""
    from app.blueprints.portal.vision import here

    now, back = current(), here()
    return [
        {"code": code, "name": LANGUAGES[code], "current": code == now,
         "url": url_for("language.switch", code=code, next=back)}
        for code in offered()
    ]  # fmt: skip


def _vary(response):
    """A page's words depend on the cookie and on ``Accept-Language``: say so to any cache."""
    if response.mimetype == "text/html":
        response.vary.update(("Accept-Language", "Cookie"))
    return response


def init_app(app: Flask, translation_dirs: Iterable[str] = ("translations",)) -> None:
    Babel(
        app,
        locale_selector=select_language,
        timezone_selector=select_timezone,
        default_locale=DEFAULT,
        default_translation_directories=";".join(translation_dirs),
    )
    # `{% trans %}` blocks are read with their whitespace collapsed, as the extractor does.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.register_blueprint(bp)
    app.after_request(_vary)

    @app.context_processor
    def _language():
        return {"language": current(), "language_links": switch_links}
