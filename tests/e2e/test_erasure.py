"""The right to erasure and retention (152-ФЗ art. 21): a person's portal data destroyed on
request — by the command or by the region's administrator, audited — with the audit trail
kept and the person pseudonymised in it; old events purged by a command meant for cron."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app import audit_spool
from app.erasure import erase_user, pseudonym
from app.extensions import db
from app.models import AuditEvent, Consent, User

P1_OID = "1000001"


def _p1(live) -> User:
    return db.session.scalars(select(User).filter_by(tenant="mosreg", subject=P1_OID)).one()


def _signed_in_p1(browser, live):
    """P1 in her diary, and her account's id."""
    b = browser("mosreg")
    b.esia_login("P1")
    assert b.get("/diary/", allow_redirects=False).status_code == 200
    with live.portal_app.app_context():
        return b, _p1(live).id


def test_erasure_destroys_the_account_and_pseudonymises_the_trail(live, browser):
    person, _ = _signed_in_p1(browser, live)
    with live.portal_app.app_context():
        user = _p1(live)
        uid = user.id
        name = pseudonym(uid, "mosreg")
        erased = erase_user(user, by=None, reason="обращение № 7 от 23.11.2026")
        assert erased.pseudonym == name and erased.removed["consents"] == 1
        assert db.session.get(User, uid) is None
        assert (
            db.session.scalar(select(func.count()).select_from(Consent).filter_by(user_id=uid)) == 0
        )
        audit_spool.settle()  # as the trail's readers do: her views spooled on SQLite too
        events = db.session.scalars(select(AuditEvent).filter_by(tenant="mosreg")).all()
        assert all(event.actor_id != uid for event in events)
        for kind in ("login_succeeded", "diary_viewed"):
            mine = [e for e in events if e.kind == kind]
            assert mine and all(e.detail.get("actor") == name for e in mine), kind
        erasure = next(e for e in events if e.kind == "account_erased")
        assert erasure.detail["person"] == name and "7" in erasure.detail["reason"]
    # Her session ended with the account; logging in again is a first login (consent asked).
    assert person.get("/diary/", allow_redirects=False).status_code == 302
    again = browser("mosreg")
    page = again.esia_login("P1")
    assert "Согласие на обработку персональных данных" in page.text


def test_the_regional_administrator_erases_on_request_audited(live, browser):
    _, uid = _signed_in_p1(browser, live)
    admin = browser("mosreg")
    admin.esia_login("ADM")
    page = admin.get(f"/admin/people/{uid}/erase")
    assert "Удаление данных по запросу человека" in page.text
    refused = admin.post(f"/admin/people/{uid}/erase", {"reason": "обращение № 8"})
    assert refused.status_code == 400 and "Подтвердите удаление." in refused.text
    admin.get(f"/admin/people/{uid}/erase")
    done = admin.post(f"/admin/people/{uid}/erase", {"reason": "обращение № 8", "confirm": "y"})
    assert done.status_code == 200 and "Данные удалены" in done.text
    with live.portal_app.app_context():
        assert db.session.get(User, uid) is None
        event = db.session.scalars(select(AuditEvent).filter_by(kind="account_erased")).one()
        assert event.actor_id is not None and event.detail["reason"] == "обращение № 8"


def test_another_regions_administrator_cannot_erase(live, browser):
    _, uid = _signed_in_p1(browser, live)
    admin = browser("kaluga")
    admin.esia_login("ADM")
    assert admin.get(f"/admin/people/{uid}/erase").status_code == 404
    admin.get("/admin/")  # a page of hers with a CSRF token for the post below
    refused = admin.post(f"/admin/people/{uid}/erase", {"reason": "x", "confirm": "y"})
    assert refused.status_code == 404
    with live.portal_app.app_context():
        assert db.session.get(User, uid) is not None


def test_the_erase_command(live, browser):
    _signed_in_p1(browser, live)
    runner = live.portal_app.test_cli_runner()
    result = runner.invoke(args=["accounts", "erase", "--tenant", "mosreg", "--subject", P1_OID,
                                 "--reason", "обращение № 9", "--yes"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "erased as erased-" in result.output
    with live.portal_app.app_context():
        assert db.session.scalar(select(User).filter_by(tenant="mosreg", subject=P1_OID)) is None
    missing = runner.invoke(args=["accounts", "erase", "--tenant", "mosreg", "--subject", "0",
                                  "--yes"])  # fmt: skip
    assert missing.exit_code != 0 and "no account 0" in missing.output


def test_events_older_than_the_retention_are_purged(live):
    app = live.portal_app
    with app.app_context():
        now = datetime.now(UTC)
        for days, kind in ((400, "old_event"), (40, "recent_event"), (1, "fresh_event")):
            db.session.add(AuditEvent(tenant="kaluga", kind=kind, detail={},
                                      created_at=now - timedelta(days=days)))  # fmt: skip
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "purge", "--days", "30"])
    assert result.exit_code == 0 and "deleted" in result.output
    with app.app_context():
        kinds = set(db.session.scalars(select(AuditEvent.kind)).all())
        assert "old_event" not in kinds and "recent_event" not in kinds and "fresh_event" in kinds
        assert "events_purged" in kinds


def test_the_purge_keeps_the_configured_retention_by_default(live, monkeypatch):
    app = live.portal_app
    monkeypatch.setitem(app.config, "AUDIT_RETENTION_DAYS", 100)
    with app.app_context():
        now = datetime.now(UTC)
        for days, kind in ((150, "beyond_retention"), (50, "within_retention")):
            db.session.add(AuditEvent(tenant="kaluga", kind=kind, detail={},
                                      created_at=now - timedelta(days=days)))  # fmt: skip
        db.session.commit()
    assert app.test_cli_runner().invoke(args=["audit", "purge"]).exit_code == 0
    with app.app_context():
        kinds = set(db.session.scalars(select(AuditEvent.kind)).all())
    assert "beyond_retention" not in kinds and "within_retention" in kinds


def test_an_administrator_is_told_why_their_own_account_is_not_erased_here(live, browser):
    admin = browser("mosreg")
    admin.esia_login("ADM")
    with live.portal_app.app_context():
        own = db.session.scalars(select(AuditEvent.actor_id).filter_by(
            tenant="mosreg", kind="login_succeeded").order_by(AuditEvent.id.desc())).first()  # fmt: skip
    page = admin.get(f"/admin/people/{own}/erase")
    assert page.status_code == 409
    assert "Свою учётную запись здесь удалить нельзя" in page.text
    assert "Моя школа — Московская область" in page.text


def test_the_purge_deletes_in_batches_in_every_region_and_outside_any(live, monkeypatch):
    """A batch smaller than what is due: every old event goes, in several batches, in every
    region and on the apex (no region); the recent ones stay."""
    app = live.portal_app
    monkeypatch.setattr("app.erasure.PURGE_BATCH", 3)
    with app.app_context():
        now = datetime.now(UTC)
        for tenant in ("kaluga", "mosreg", None):
            for n in range(7):
                db.session.add(AuditEvent(tenant=tenant, kind="batch_old", detail={},
                                          created_at=now - timedelta(days=200, minutes=n)))  # fmt: skip
            db.session.add(AuditEvent(tenant=tenant, kind="batch_recent", detail={},
                                      created_at=now - timedelta(days=5)))  # fmt: skip
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "purge", "--days", "100"])
    assert result.exit_code == 0
    with app.app_context():
        left = db.session.execute(
            select(AuditEvent.tenant, AuditEvent.kind).where(AuditEvent.kind.like("batch_%"))
        ).all()
        purged = db.session.scalars(
            select(AuditEvent.detail).where(AuditEvent.kind == "events_purged")
        ).all()
    assert sorted(left, key=str) == sorted(
        [("kaluga", "batch_recent"), ("mosreg", "batch_recent"), (None, "batch_recent")], key=str
    )
    assert purged[-1]["count"] >= 21
