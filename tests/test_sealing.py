"""Sealed values opened again and again (``app.sealing.unseal_cached``, a session's record on
every request): kept opened per app, never across keys, never shared between callers."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from app import create_app
from app.sealing import InvalidToken, seal, unseal, unseal_cached
from tests.conftest import test_environ

VALUE = {"_user_id": "7", "access": {"roles": ["parent"], "children": [11, 12]}}


def test_a_kept_value_is_the_sealed_one_and_a_new_object_each_time(app):
    with app.app_context():
        token = seal(VALUE)
        first, second = unseal_cached(token), unseal_cached(token)
        assert first == second == unseal(token) == VALUE
        first["access"]["children"].append(99)  # one caller changing what it got…
        assert unseal_cached(token) == VALUE  # …changes nobody else's


def test_a_forged_token_is_refused_every_time(app):
    with app.app_context():
        token = seal(VALUE)
        forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
        for _ in range(2):
            with pytest.raises(InvalidToken):
                unseal_cached(forged)
        assert unseal_cached(token) == VALUE


def test_a_value_kept_under_one_key_does_not_open_under_another(database_uri):
    one = create_app(test_environ(database_uri, DATA_ENCRYPTION_KEY=Fernet.generate_key().decode()))
    other = create_app(
        test_environ(database_uri, DATA_ENCRYPTION_KEY=Fernet.generate_key().decode())
    )
    with one.app_context():
        token = seal(VALUE)
        assert unseal_cached(token) == VALUE
    with other.app_context(), pytest.raises(InvalidToken):
        unseal_cached(token)


def test_a_replaced_key_forgets_what_the_old_one_opened(app):
    with app.app_context():
        token = seal(VALUE)
        assert unseal_cached(token) == VALUE
        app.extensions["sealing"] = Fernet(Fernet.generate_key())  # as a key rotation test does
        with pytest.raises(InvalidToken):
            unseal_cached(token)
        assert unseal_cached(seal(VALUE)) == VALUE
