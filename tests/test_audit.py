"""Audit rows never hold passwords, tokens or a full СНИЛС."""

from sqlalchemy import select

from app import audit
from app.extensions import db
from app.models import AuditEvent


def test_clean_hides_secrets_and_masks_snils():
    cleaned = audit.clean(
        {
            "password": "hunter2hunter2",
            "access_token": "eyJ...",
            "note": "СНИЛС 112-233-445 95 не совпал",
            "snils_plain": "11223344595",
            "nested": {"client_secret": "x", "login": "ivanov.test"},
            "count": 3,
        }
    )
    assert cleaned == {
        "password": "[hidden]",
        "access_token": "[hidden]",
        "note": "СНИЛС ***-***-*** 95 не совпал",
        "snils_plain": "***-***-*** 95",
        "nested": {"client_secret": "[hidden]", "login": "ivanov.test"},
        "count": 3,
    }


def test_record_stores_the_region_and_the_cleaned_detail(app):
    with app.test_request_context("/", base_url="http://kaluga.localhost/"):
        app.preprocess_request()
        audit.record("login_failed", reason="wrong_password", password="secret123")
        event = db.session.scalars(select(AuditEvent)).one()
    assert event.tenant == "kaluga"
    assert event.kind == "login_failed"
    assert event.detail == {"reason": "wrong_password", "password": "[hidden]"}
    assert event.created_at is not None
