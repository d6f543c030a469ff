"""What a login writes of its account (app/accounts.py): what the provider says new, the
record it matched and the time, the roles that changed, and nothing where nothing changed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm.exc import StaleDataError

from app.accounts import contact_key, note_sign_in, sync_roles, user_for
from app.extensions import db
from app.identity.types import ExternalIdentity, FullName
from app.models import AuditEvent, StructuralRole, User
from app.tenants import current_registry


def identity(last: str = "Учётова", phone: str | None = "+7 900 000-00-17") -> ExternalIdentity:
    return ExternalIdentity(issuer="urn:test", subject="account-writes-1",
                            full_name=FullName(last, "Вера", "Тестовна"), phone=phone,
                            snils="112-233-445 95")  # fmt: skip


@contextmanager
def writes() -> Iterator[list[str]]:
    """The statements that change a table, run meanwhile, as "VERB table"."""
    seen: list[str] = []

    def note(_connection, _cursor, statement, _parameters, _context, _many):
        words = statement.split()
        if words[0] in ("INSERT", "UPDATE", "DELETE"):
            table = (words[2] if words[0] != "UPDATE" else words[1]).strip('"')
            seen.append(f"{words[0]} {table}")

    engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def stored(user_id: int) -> User:
    """The account as the database holds it, read afresh."""
    db.session.expunge_all()
    return db.session.get(User, user_id)


def test_the_providers_words_are_written_only_when_they_changed(app):
    with app.app_context():
        kaluga = current_registry().get("kaluga")
        with writes() as first:
            user = user_for(kaluga, identity())
        db.session.commit()
        assert first == ["INSERT user_account"]
        user_id = user.id

        db.session.expunge_all()  # read afresh, as the next login's request does
        with writes() as again:
            same = user_for(kaluga, identity())
        assert same.id == user_id and again == []
        assert not db.session.is_modified(same)
        db.session.commit()

        with writes() as changed:
            user_for(kaluga, identity(last="Новикова", phone=None))
        assert changed == ["UPDATE user_account"]
        db.session.commit()
        account = stored(user_id)
        assert account.display_name == "Новикова Вера Тестовна"
        assert account.surname_key == "новикова"
        assert account.phone_key is None
        assert account.snils_key == contact_key("snils", "112-233-445 95")


def test_a_sign_in_is_written_at_once_and_leaves_nothing_to_flush(app):
    with app.app_context():
        user = user_for(current_registry().get("kaluga"), identity())
        db.session.commit()
        before = datetime.now(UTC)
        with writes() as seen:
            note_sign_in(user, None)
        assert seen == ["UPDATE user_account"]
        assert not db.session.is_modified(user)
        assert user.last_login_at >= before
        db.session.commit()
        account = stored(user.id)
        assert account.person_id is None
        last = account.last_login_at
        if last.tzinfo is None:  # SQLite keeps no zone: the value was written in UTC
            last = last.replace(tzinfo=UTC)
        assert before <= last <= datetime.now(UTC) + timedelta(seconds=1)


def test_a_sign_in_of_an_account_erased_meanwhile_stops(app):
    with app.app_context():
        user = user_for(current_registry().get("kaluga"), identity())
        db.session.commit()
        with db.engine.begin() as other:  # erased by an administrator, mid-login
            other.execute(User.__table__.delete().where(User.__table__.c.id == user.id))
        with pytest.raises(StaleDataError):
            note_sign_in(user, None)
        db.session.rollback()


def test_a_sign_in_that_is_rolled_back_is_not_kept(app):
    with app.app_context():
        user = user_for(current_registry().get("kaluga"), identity())
        db.session.commit()
        note_sign_in(user, None)
        db.session.rollback()
        assert stored(user.id).last_login_at is None


def test_roles_in_step_are_read_and_not_written(app):
    with app.app_context():
        user = user_for(current_registry().get("kaluga"), identity())
        db.session.flush()
        sync_roles(user, ["guardian", "teacher"])
        db.session.commit()
        with writes() as same:
            sync_roles(user, ["teacher", "guardian"])
            db.session.flush()
        assert same == []

        with writes() as ended:
            sync_roles(user, ["guardian"])
            db.session.flush()
        assert sorted(ended) == ["INSERT audit_event", "UPDATE structural_role"]
        db.session.commit()

        teacher = db.session.scalar(
            select(StructuralRole).filter_by(user_id=user.id, kind="teacher")
        )
        db.session.delete(teacher)  # deleted: given again, it comes back
        db.session.commit()
        with writes() as back:
            sync_roles(user, ["guardian", "teacher"])
            db.session.flush()
        assert sorted(back) == ["INSERT audit_event", "INSERT structural_role"]
        db.session.commit()
        roles = db.session.scalars(select(StructuralRole).filter_by(user_id=user.id))
        assert {(role.kind, role.active) for role in roles} == {("guardian", True),
                                                               ("teacher", True)}  # fmt: skip


def test_two_first_logins_at_once_make_one_account(app, monkeypatch):
    """The other login made the account between this one's look and its write: this one
    writes nothing and takes that account instead of failing."""
    from app import accounts

    with app.app_context():
        kaluga = current_registry().get("kaluga")
        look = accounts._USER_OF_IDENTITY.first
        looks = []

        def look_before_the_other(params):
            looks.append(params)
            if len(looks) == 1:
                with db.engine.begin() as other:  # the other login, committed first
                    other.execute(User.__table__.insert().values(
                        tenant="kaluga", issuer="urn:test", subject="account-writes-1",
                        display_name="Учётова Вера Тестовна", surname_key="учётова"))  # fmt: skip
                return None
            return look(params)

        monkeypatch.setattr(accounts._USER_OF_IDENTITY, "first", look_before_the_other)
        user = user_for(kaluga, identity())
        db.session.commit()
        rows = db.session.scalars(select(User).filter_by(subject="account-writes-1")).all()
        assert [row.id for row in rows] == [user.id]
        assert rows[0].phone_key == contact_key("phone", "+7 900 000-00-17")


def test_two_logins_at_once_write_each_role_once(app, monkeypatch):
    """The other login wrote the roles between this one's look and its write: this one looks
    again and finds them in step."""
    from app import accounts

    with app.app_context():
        user = user_for(current_registry().get("kaluga"), identity())
        db.session.commit()
        held = accounts._held_roles
        looks = []

        def held_before_the_other(user_id):
            looks.append(user_id)
            if len(looks) == 1:
                with db.engine.begin() as other:
                    for kind in ("guardian", "teacher"):
                        other.execute(StructuralRole.__table__.insert().values(
                            user_id=user_id, kind=kind, since=datetime.now(UTC)))  # fmt: skip
                return {}
            return held(user_id)

        monkeypatch.setattr(accounts, "_held_roles", held_before_the_other)
        sync_roles(user, ["guardian", "teacher"])
        db.session.commit()
        roles = db.session.scalars(select(StructuralRole).filter_by(user_id=user.id)).all()
        assert sorted(role.kind for role in roles) == ["guardian", "teacher"]
        assert len(looks) == 1  # looked once; then the roles were found in step


ROUNDS = 10


def test_a_persons_first_logins_at_once_make_one_account_with_each_role_once(app):
    """Real threads, each with its own database connection, released together, as two tabs
    finishing the same person's first login (on PostgreSQL in CI as on SQLite)."""
    for round_ in range(ROUNDS):
        barrier, errors, made = threading.Barrier(2, timeout=20), [], []

        def log_in(round_=round_, barrier=barrier, errors=errors, made=made):
            with app.app_context():
                try:
                    kaluga = current_registry().get("kaluga")
                    person = replace(identity(), subject=f"first-login-race-{round_}")
                    barrier.wait()
                    user = user_for(kaluga, person)
                    note_sign_in(user, None)
                    sync_roles(user, ["guardian", "trusted"])
                    db.session.commit()
                    made.append(user.id)
                except BaseException as error:  # reported to the test below
                    errors.append(error)
                finally:
                    db.session.remove()

        workers = [threading.Thread(target=log_in, daemon=True) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=30)
        assert errors == []
        with app.app_context():
            accounts = db.session.scalars(
                select(User.id).filter_by(subject=f"first-login-race-{round_}")
            ).all()
            assert accounts == [made[0]] == [made[1]]
            roles = db.session.scalars(
                select(StructuralRole.kind).filter_by(user_id=accounts[0])
            ).all()
            assert sorted(roles) == ["guardian", "trusted"]
            changed = db.session.scalars(
                select(AuditEvent).filter_by(kind="roles_changed", subject_id=accounts[0])
            ).all()
            assert len(changed) == 1  # the roles were given once
