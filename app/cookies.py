"""The portal's own cookies beside the session's: the language, the low-vision choice, a login
under way. Each is host-only (no Domain: one region's is never sent to another), HttpOnly,
SameSite=Lax and on the whole host (Path=/), and over HTTPS ``__Host-`` and Secure, as the
session's cookie is (app/settings.py). One place says so, for setting and removing alike:
a browser ignores the removal of a ``__Host-`` cookie that does not say Secure."""

from __future__ import annotations

from flask import Response, current_app


def _https() -> bool:
    return bool(current_app.config.get("PORTAL_HTTPS"))


def name_of(base: str) -> str:
    """``base``, with the ``__Host-`` prefix over HTTPS (it requires Secure, which browsers
    honour only over HTTPS)."""
    return f"__Host-{base}" if _https() else base


def set_on(response: Response, base: str, value: str, max_age: int) -> None:
    response.set_cookie(name_of(base), value, max_age=max_age, path="/", secure=_https(),
                        httponly=True, samesite="Lax")  # fmt: skip


def remove_from(response: Response, base: str) -> None:
    response.delete_cookie(name_of(base), path="/", secure=_https(), httponly=True,
                           samesite="Lax")  # fmt: skip
