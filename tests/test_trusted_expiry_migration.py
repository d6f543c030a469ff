"""Migration 0015: invitations sent before it expire a week after they were sent (the
setting's default), on either database; its downgrade takes the new columns away again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app.extensions import db

SENT_AT = datetime(2026, 3, 1, 9, 30, 15, tzinfo=UTC)
WHEN = sa.DateTime(timezone=True)


def columns(table: str) -> set[str]:
    return {column["name"] for column in sa.inspect(db.engine).get_columns(table)}


def _add_user(subject: str) -> int:
    db.session.execute(
        sa.text(
            "INSERT INTO user_account (tenant, issuer, subject, display_name, created_at, "
            "disabled, surname_key) VALUES ('moscow', 'https://mos.example', :subject, "
            "'Тестовый Человек', :at, false, 'тестовый')"
        ).bindparams(sa.bindparam("at", type_=WHEN)),
        {"subject": subject, "at": SENT_AT},
    )
    return db.session.scalar(
        sa.text("SELECT id FROM user_account WHERE subject = :subject"), {"subject": subject}
    )


def test_invitations_sent_before_expire_a_week_after_they_were_sent(app):
    with app.app_context():
        downgrade(revision="0014")
        try:
            assert "expires_at" not in columns("trusted_grant")
            assert not {"ended_at", "ended_by_id"} & columns("trusted_grant_child")
            parent, invitee = _add_user("migration-parent"), _add_user("migration-invitee")
            for key, sent_at in (("a", SENT_AT), ("b", SENT_AT + timedelta(days=40))):
                db.session.execute(
                    sa.text(
                        "INSERT INTO trusted_grant (tenant, request_key, service, parent_id, "
                        "invitee_id, status, created_at) VALUES ('moscow', :key, 'diary', "
                        ":parent, :invitee, 'sent', :at)"
                    ).bindparams(sa.bindparam("at", type_=WHEN)),
                    {"key": key, "parent": parent, "invitee": invitee, "at": sent_at},
                )
            db.session.commit()
        finally:
            db.session.rollback()
            upgrade()
        rows = db.session.execute(
            sa.select(sa.column("request_key"), sa.column("expires_at", WHEN))
            .select_from(sa.table("trusted_grant"))
            .order_by(sa.column("request_key"))
        ).all()
        expiries = [moment.replace(tzinfo=moment.tzinfo or UTC) for _, moment in rows]
        assert expiries == [SENT_AT + timedelta(days=7), SENT_AT + timedelta(days=47)]
        assert {"ended_at", "ended_by_id"} <= columns("trusted_grant_child")
        assert next(
            c for c in sa.inspect(db.engine).get_columns("trusted_grant")
            if c["name"] == "expires_at"
        )["nullable"] is False  # fmt: skip
