"""Logos that regional administrators upload: checked, kept in the database, served by name.

Only PNG, WebP and plain SVG are taken, up to 200 KB. An SVG with scripts, event handlers,
embedded HTML or outside references is refused; every logo is also served with a CSP that
forbids scripts, and browsers never run scripts of an ``<img>`` anyway.
"""

from __future__ import annotations

import hashlib
import re

from flask import current_app, request, url_for
from sqlalchemy import select

from app.extensions import db
from app.i18n import gettext as _
from app.models import BrandingAsset

MAX_BYTES = 200 * 1024
TYPES = {"png": "image/png", "webp": "image/webp", "svg": "image/svg+xml"}
UNSAFE_SVG = re.compile(
    rb"<script|<foreignobject|\son[a-z]+\s*=|javascript:|(?:xlink:)?href\s*=\s*[\"'](?!#)"
    rb"|<!entity|@import|url\(\s*['\"]?(?!#)",
    re.IGNORECASE,
)


class LogoRefused(ValueError):
    """Why a logo is not taken, in the page's language (``str`` of it)."""


def kind_of(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    head = data[:1024].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml")) and b"<svg" in data[:4096].lower():
        if UNSAFE_SVG.search(data):
            raise LogoRefused(
                _("В SVG не должно быть сценариев, ссылок наружу и встроенного HTML.")
            )
        return "svg"
    raise LogoRefused(_("Логотип — файл PNG, WebP или SVG."))


def store(tenant: str, data: bytes) -> str:
    """Keep an uploaded logo (once per content); the configuration's value for it."""
    if not data:
        raise LogoRefused(_("Файл пустой."))
    if len(data) > MAX_BYTES:
        raise LogoRefused(_("Логотип больше 200 КБ."))
    kind = kind_of(data)
    name = f"{hashlib.sha256(data).hexdigest()}.{kind}"
    if db.session.scalar(select(BrandingAsset.id).filter_by(tenant=tenant, name=name)) is None:
        db.session.add(BrandingAsset(tenant=tenant, name=name, content_type=TYPES[kind], data=data))
        db.session.commit()
    return f"upload:{name}"


def fetch(tenant: str, name: str) -> BrandingAsset | None:
    return db.session.scalar(select(BrandingAsset).filter_by(tenant=tenant, name=name))


# A static file's address depends only on where the app is mounted: built once per file.
_STATIC_URLS: dict[tuple[str, str], str] = {}


def static_url(filename: str) -> str:
    """``url_for("static", filename=…)``, remembered: every page links the same few files."""
    key = (request.script_root, filename)
    url = _STATIC_URLS.get(key)
    if url is None:
        url = _STATIC_URLS[key] = url_for("static", filename=filename)
    return url


# Addresses the pages link to, by (mount point, endpoint, arguments): a page names the same
# dozen endpoints every time, and building each costs more than the rest of a link.
_URLS: dict[tuple, str] = {}
URLS_KEPT = 4096


def page_url(endpoint: str, **values) -> str:
    """``url_for`` for templates, remembered for relative addresses of absolute endpoints;
    anything else (``_external``, ``_anchor``…, a blueprint-relative ``.name``, a value that
    is not a plain string or number) is built each time."""
    if endpoint.startswith(".") or any(
        name.startswith("_") or not isinstance(value, str | int) for name, value in values.items()
    ):
        return url_for(endpoint, **values)
    key = (current_app.name, request.script_root, endpoint, *sorted(values.items()))
    url = _URLS.get(key)
    if url is None:
        if len(_URLS) >= URLS_KEPT:
            _URLS.clear()
        url = _URLS[key] = url_for(endpoint, **values)
    return url


def logo_url(logo: str) -> str:
    """Where a configuration's logo is served: the static folder, or an upload."""
    if logo.startswith("upload:"):
        return url_for("portal.uploaded_logo", name=logo.removeprefix("upload:"))
    return static_url(logo)
