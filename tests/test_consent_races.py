"""One consent per (person, kind, subject), whatever the timing (issue: nothing lost): two
simultaneous submissions of the own-consent form make one row, and revoking it leaves no
consent in force. Real threads, each with its own database connection, released together;
repeated so that the race is run many times (on PostgreSQL in CI as on SQLite)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.access.lookup import consents_of
from app.consent import give_own, revoke
from app.extensions import db
from app.models import Consent, User

ROUNDS = 15


def _new_user(n: int) -> int:
    user = User(tenant="kaluga", issuer="urn:test:races", subject=f"race-{n}",
                display_name="Гонкина Ася")  # fmt: skip
    db.session.add(user)
    db.session.commit()
    return user.id


def _at_once(app, user_id: int, threads: int = 2) -> list[BaseException]:
    barrier, errors = threading.Barrier(threads), []

    def submit():
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                barrier.wait()
                give_own(user)
            except BaseException as error:  # reported to the test below
                errors.append(error)
            finally:
                db.session.remove()

    workers = [threading.Thread(target=submit) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    return errors


def test_simultaneous_own_consents_make_one_row_and_one_revocation_ends_it(app):
    with app.app_context():
        users = [_new_user(n) for n in range(ROUNDS)]
    for user_id in users:
        assert _at_once(app, user_id) == []
    with app.app_context():
        for user_id in users:
            rows = db.session.scalar(
                select(func.count()).select_from(Consent).filter_by(user_id=user_id, kind="own")
            )
            assert rows == 1
            user = db.session.get(User, user_id)
            consent = db.session.scalars(select(Consent).filter_by(user_id=user_id)).one()
            revoke(user, consent.id)
            assert consents_of(user, None).own is False


def test_giving_again_after_revoking_reuses_the_one_row(app):
    with app.app_context():
        user = db.session.get(User, _new_user(99))
        first = give_own(user)
        revoke(user, first.id)
        again = give_own(user)
        assert again.id == first.id and again.revoked_at is None
