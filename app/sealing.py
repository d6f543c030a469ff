"""Personal data at rest, sealed: what the portal must keep about a person outside the school
registry (the session's contents, what a person sent their school) is stored encrypted and
authenticated (Fernet: AES-128-CBC with HMAC-SHA-256), with a key from the environment.

``DATA_ENCRYPTION_KEY`` (a Fernet key: ``python -c "from cryptography.fernet import Fernet;
print(Fernet.generate_key().decode())"``) is the key; without it, one is derived from
``SECRET_KEY`` (HKDF-SHA-256), so rotating ``SECRET_KEY`` also makes sealed data unreadable.
"""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

__all__ = ["InvalidToken", "Sealed", "seal", "unseal", "unseal_cached"]

# How many sealed values a worker keeps opened for ``unseal_cached`` (each about a few KB).
OPENED_KEPT = 1024


def _fernet() -> Fernet:
    app = current_app._get_current_object()
    cached = app.extensions.get("sealing")
    if cached is None:
        key = app.config.get("DATA_ENCRYPTION_KEY")
        if not key:
            derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                           info=b"myschool: personal data at rest").derive(
                               app.config["SECRET_KEY"].encode())  # fmt: skip
            key = base64.urlsafe_b64encode(derived)
        cached = app.extensions["sealing"] = Fernet(key)
    return cached


def seal(value: Any) -> str:
    return _fernet().encrypt(json.dumps(value, ensure_ascii=False).encode()).decode()


def unseal(token: str) -> Any:
    return json.loads(_fernet().decrypt(token.encode()))


def unseal_cached(token: str) -> Any:
    """``unseal`` for a value opened again and again unchanged (a session's record, on every
    request of the session): each app keeps the plain text of the last ones it opened, by
    the whole token. A token is authenticated as a whole, so one found there was verified
    under this app's key; each call returns a new object, so no caller changes another's."""
    app = current_app._get_current_object()
    fernet = _fernet()
    kept = app.extensions.get("sealing_opened")
    if kept is None or kept[0] is not fernet:  # first use, or the key was replaced
        # Only values that opened are kept: a forged or foreign token raises every time.
        decrypt = functools.lru_cache(OPENED_KEPT)(lambda text: fernet.decrypt(text.encode()))
        kept = app.extensions["sealing_opened"] = (fernet, decrypt)
    return json.loads(kept[1](token))


class Sealed(TypeDecorator):
    """A JSON value stored sealed in a text column."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else seal(value)

    def process_result_value(self, value, dialect):
        return None if value is None else unseal(value)
