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

import functools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.support import NullTranslations
from flask import Blueprint, Flask, current_app, g, has_request_context, redirect, request, url_for
from flask.globals import _cv_request
from flask_babel import Babel, force_locale, get_locale, get_translations
from flask_babel.speaklater import LazyString
from jinja2 import pass_eval_context
from markupsafe import Markup

from app import cookies

# The languages the portal has catalogues for, by code, each named in itself (the switch
# shows a language's name in that language, so a person finds their own whatever the page's).
LANGUAGES = {"ru": "Русский", "tt": "Татарча", "en": "English"}  # i18n-exempt: names in themselves
DEFAULT = "ru"
COOKIE = "lang"  # its base name (app/cookies.py)
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


def offered() -> list[str]:
    """The languages of the request's site: its region's, or on the portal's own host (the
    region chooser) every language any region offers."""
    tenant = g.get("tenant")
    if tenant is not None:
        return list(tenant.config.languages)
    registry = current_app.extensions.get("tenants")
    codes = {code for region in registry for code in region.config.languages} if registry else ()
    return [code for code in LANGUAGES if code in codes] or [DEFAULT]


def select_language() -> Locale:
    """The page's language (Flask-Babel asks once per request and keeps the answer). A
    ``Locale`` made once per language: Flask-Babel would otherwise parse the code anew for
    every request."""
    if not has_request_context():
        return _locale(DEFAULT)
    languages = offered()
    chosen = request.cookies.get(cookies.name_of(COOKIE))
    if chosen in languages:
        return _locale(chosen)
    return _locale(from_header(languages) or languages[0])


@functools.cache
def _locale(code: str) -> Locale:
    return Locale.parse(code)


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
    request_context = _cv_request.get(None)
    if request_context is None:
        return DEFAULT
    code = getattr(request_context, "language", None)
    if code is None:
        code = request_context.language = str(get_locale() or DEFAULT)
    return code


def locale() -> Locale:
    return get_locale() or Locale.parse(DEFAULT)


def translations() -> NullTranslations:
    """The request's catalogue, found once per request, and once per language by each app.
    Every text of a page asks for it: Flask-Babel's own lookup walks its context, its domain
    and its locale each time, a quarter of a login page's time."""
    request_context = _cv_request.get(None)
    if request_context is None:
        return get_translations()
    found = getattr(request_context, "translations", None)
    if found is None:
        catalogues = request_context.app.extensions["i18n_catalogues"]
        code = current()
        found = catalogues.get(code)
        if found is None:
            found = catalogues[code] = get_translations()
        request_context.translations = found
    return found


# --- gettext in Python: Flask-Babel's, with the request's catalogue found once ------------------


def gettext(text: str, **variables: Any) -> str:
    found = translations().ugettext(text)
    return found % variables if variables else found


def ngettext(one: str, many: str, num: int, **variables: Any) -> str:
    variables.setdefault("num", num)
    return translations().ungettext(one, many, num) % variables


def pgettext(context: str, text: str, **variables: Any) -> str:
    found = translations().upgettext(context, text)
    return found % variables if variables else found


@contextmanager
def force_language(code: str) -> Iterator[None]:
    """Words in ``code`` whatever the request's language, within the block (what is stored,
    such as an audit row's text, is in Russian)."""
    request_context = _cv_request.get(None)
    saved = vars(request_context).copy() if request_context is not None else {}
    with force_locale(code):
        if request_context is not None:
            request_context.translations = request_context.language = None
        try:
            yield
        finally:
            if request_context is not None:
                request_context.translations = saved.get("translations")
                request_context.language = saved.get("language")


def lazy_gettext(text: str, **variables: Any) -> LazyString:
    """Translated when read, in the language of the request reading it."""
    return LazyString(gettext, text, **variables)


def lazy_pgettext(context: str, text: str, **variables: Any) -> LazyString:
    return LazyString(pgettext, context, text, **variables)


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
        cookies.set_on(response, COOKIE, code, COOKIE_MAX_AGE)
    response.cache_control.no_store = True
    return response


# --- gettext in templates (as jinja2.ext's new-style callables, one call deep) ---------------


def _formatted(eval_context, text: str, variables: dict[str, Any]) -> str:
    if eval_context.autoescape:
        text = Markup(text)  # noqa: S704 (our own catalogues, as Jinja marks them)
    # As Jinja's: a format string whenever it could be one ("%%" is "%"), its values escaped.
    return text % variables if variables or "%" in text else text


@pass_eval_context
def _template_gettext(eval_context, text: str, **variables: Any) -> str:
    return _formatted(eval_context, translations().ugettext(text), variables)


@pass_eval_context
def _template_ngettext(eval_context, one: str, many: str, n: int, **variables: Any) -> str:
    variables.setdefault("num", n)
    return _formatted(eval_context, translations().ungettext(one, many, n), variables)


@pass_eval_context
def _template_pgettext(eval_context, context: str, text: str, **variables: Any) -> str:
    variables.setdefault("context", context)
    return _formatted(eval_context, translations().upgettext(context, text), variables)


@pass_eval_context
def _template_npgettext(
    eval_context, context: str, one: str, many: str, n: int, **variables: Any
) -> str:
    variables.setdefault("context", context)
    variables.setdefault("num", n)
    return _formatted(eval_context, translations().unpgettext(context, one, many, n), variables)


def switch_links(back: str | None = None) -> list[dict[str, Any]]:
    """The switch on every page: each language of the site, named in itself, the page's own
    marked as current. ``back``: the address to come back to, this page's unless given."""
    from app.blueprints.portal.vision import here

    now, back = current(), back or here()
    return [
        {"code": code, "name": LANGUAGES[code], "current": code == now,
         "url": url_for("language.switch", code=code, next=back)}
        for code in offered()
    ]  # fmt: skip


def init_app(app: Flask, translation_dirs: Iterable[str] = ("translations",)) -> None:
    app.extensions["i18n_catalogues"] = {}  # by language code: translations()
    Babel(
        app,
        locale_selector=select_language,
        timezone_selector=select_timezone,
        default_locale=DEFAULT,
        default_translation_directories=";".join(translation_dirs),
    )
    # `{% trans %}` blocks are read with their whitespace collapsed, as the extractor does.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    # The templates' gettext: Jinja's "new style" (autoescaped, %-formatted), one call deep,
    # with the request's catalogue found once. Flask-Babel's goes through three calls and finds
    # the catalogue anew for each text: a third of a login page's time.
    app.jinja_env.globals.update(
        _=_template_gettext, gettext=_template_gettext, ngettext=_template_ngettext,
        pgettext=_template_pgettext, npgettext=_template_npgettext,
    )  # fmt: skip
    app.register_blueprint(bp)

    @app.context_processor
    def _language():
        return {"language": current(), "language_links": switch_links}
