"""The signed-in account of every request (``app.accounts.signed_in_user``): read as columns
and attached to the request's database session as if the ORM had loaded it. It must be the
same persistent ``User`` the ORM would give: every column, its relationship, its changes
saved, expired by a commit, and the one instance of that account in the session."""

from __future__ import annotations

from flask import session
from flask_login import current_user
from sqlalchemy import inspect, select

from app.accounts import signed_in_user
from app.extensions import db, login_manager
from app.models import Person, User


def _account(disabled: bool = False) -> int:
    person = Person(tenant="mosreg", key="su-1", last_name="Проверкина", first_name="Ирина",
                    middle_name="Олеговна", name_key="проверкина ирина олеговна")  # fmt: skip
    user = User(tenant="mosreg", issuer="urn:test", subject="su-1", disabled=disabled,
                display_name="Проверкина Ирина Олеговна", surname_key="проверкина",
                person=person, phone_key="phone-key")  # fmt: skip
    db.session.add(user)
    db.session.commit()
    user_id = user.id
    db.session.remove()
    return user_id


def _columns(user: User) -> dict:
    return {attribute.key: getattr(user, attribute.key) for attribute in inspect(User).column_attrs}


def test_the_account_is_the_one_the_orm_would_load(app):
    with app.app_context():
        user_id = _account()
        loaded = _columns(db.session.get(User, user_id))
        db.session.remove()

        user = signed_in_user(user_id)
        state = inspect(user)
        assert state.persistent and not db.session.dirty and not db.session.new
        assert _columns(user) == loaded
        assert user.person.last_name == "Проверкина"  # the relationship loads
        # The one instance of the account in this session: the ORM's own lookups find it.
        assert db.session.get(User, user_id) is user
        assert db.session.scalar(select(User).where(User.id == user_id)) is user
        assert signed_in_user(user_id) is user


def test_its_changes_are_saved_and_a_commit_expires_it(app):
    with app.app_context():
        user_id = _account()
        user = signed_in_user(user_id)
        user.display_name = "Проверкина-Новая Ирина Олеговна"
        db.session.commit()
        assert inspect(user).expired_attributes  # read again on the next access
        db.session.remove()
        assert db.session.get(User, user_id).display_name == "Проверкина-Новая Ирина Олеговна"


def test_an_account_already_in_the_session_is_returned_as_it_is(app):
    with app.app_context():
        user_id = _account()
        known = db.session.get(User, user_id)
        known.display_name = "Изменено, не сохранено"
        assert signed_in_user(user_id) is known
        assert signed_in_user(user_id).display_name == "Изменено, не сохранено"


def test_an_unknown_id_is_nobody(app):
    with app.app_context():
        user_id = _account()
        assert signed_in_user(user_id + 1000) is None
        assert not db.session.identity_map


def test_a_disabled_account_is_nobody_to_the_login_manager(app):
    with app.app_context():
        user_id = _account(disabled=True)
    with app.test_request_context("/", headers={"Host": "mosreg.localhost"}):
        from flask import g

        from app import _load_user

        g.tenant = app.extensions["tenants"].get("mosreg")
        assert _load_user(str(user_id)) is None
        db.session.execute(User.__table__.update().values(disabled=False))
        assert _load_user(str(user_id)).id == user_id


def test_session_protection_off_hashes_no_address_and_on_still_guards(app, monkeypatch):
    """Flask-Login hashed the client's address and browser on every request even with its
    session protection off (app/extensions.py); turned on, it still logs out a stranger."""
    hashed = []
    monkeypatch.setattr(login_manager, "_session_identifier_generator",
                        lambda: hashed.append(1) or "this-browser")  # fmt: skip
    with app.app_context():
        user_id = _account()
    for protection, signed_in, hashes in ((None, True, 0), ("strong", False, 1)):
        app.config["SESSION_PROTECTION"] = protection
        hashed.clear()
        with app.test_request_context("/", headers={"Host": "mosreg.localhost"}):
            app.preprocess_request()  # the region's host bound
            session.update({"_user_id": str(user_id), "_fresh": True, "_id": "another-browser"})
            assert current_user.is_authenticated is signed_in
            assert len(hashed) == hashes
