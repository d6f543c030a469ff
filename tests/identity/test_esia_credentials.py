"""`flask qa check` reads, parses and pairs each region's key and certificates, and a login
with a file that is not what it should be ends in the branded 503, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.identity.esia.gost import make_test_certificate
from app.identity.esia.provider import credential_problems
from app.models import AuditEvent
from idp_emulator.keys import make_signing_key
from tests.conftest import empty_tables, require_gost_engine, test_environ


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    require_gost_engine()
    root = tmp_path_factory.mktemp("keys")
    key, cert = make_test_certificate(root / "region", "Тестовая система")
    other_key, other_cert = make_test_certificate(root / "other", "Другая система")
    _, esia_cert = make_signing_key(root / "esia")
    junk = root / "junk.pem"
    junk.write_text("not a key at all\n")
    return {"key": key, "cert": cert, "other_key": other_key, "other_cert": other_cert,
            "esia": esia_cert, "junk": junk}  # fmt: skip


@pytest.fixture(scope="module")
def config(database_uri):
    app = create_app(test_environ(database_uri))
    return app.extensions["tenants"].baseline.regions["mosreg"].identity_provider


def env(files, key="key", cert="cert", esia="esia") -> dict[str, str]:
    return {"MOSREG_ESIA_KEY_FILE": str(files[key]), "MOSREG_ESIA_CERT_FILE": str(files[cert]),
            "ESIA_TOKEN_CERT_FILE": str(files[esia])}  # fmt: skip


def test_a_good_pair_and_esias_certificate_pass(files, config):
    assert credential_problems(config, env(files)) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"key": "junk"}, "MOSREG_ESIA_KEY_FILE: not a GOST private key"),
        ({"cert": "junk"}, "MOSREG_ESIA_CERT_FILE: not a PEM certificate"),
        ({"key": "other_key"},
         "MOSREG_ESIA_KEY_FILE and MOSREG_ESIA_CERT_FILE are not a key and its certificate"),
        ({"esia": "junk"}, "ESIA_TOKEN_CERT_FILE: not a PEM certificate"),
        ({"esia": "cert"}, "ESIA_TOKEN_CERT_FILE: its key cannot check ESIA's tokens"),
    ],
)  # fmt: skip
def test_each_wrong_file_is_named(files, config, change, problem):
    found = credential_problems(config, env(files, **change))
    assert any(line.startswith(problem) for line in found), found


def test_an_expired_certificate_is_named(files, config):
    later = datetime.now(UTC) + timedelta(days=400)
    found = credential_problems(config, env(files), now=later)
    assert any(line.startswith("MOSREG_ESIA_CERT_FILE: expired on ") for line in found)


def test_qa_check_no_longer_calls_a_junk_key_valid(files, database_uri, monkeypatch):
    for name, value in env(files, key="junk").items():
        monkeypatch.setenv(name, value)
    app = create_app(test_environ(database_uri))
    result = app.test_cli_runner().invoke(args=["qa", "check", "--region", "mosreg"])
    assert result.exit_code != 0
    assert "MOSREG_ESIA_KEY_FILE: not a GOST private key" in result.output


def test_a_login_with_a_junk_key_is_the_branded_503(files, database_uri, monkeypatch):
    for name, value in env(files, key="junk").items():
        monkeypatch.setenv(name, value)
    app = create_app(test_environ(database_uri, IDP_EMULATOR_URL="http://127.0.0.1:9"))
    misconfigured = REGISTRY.get_sample_value(
        "portal_unavailable_total", {"cause": "misconfigured"}
    )
    try:
        response = app.test_client().get("/login/esia", headers={"Host": "mosreg.localhost"})
        assert response.status_code == 503
        assert "Сервис входа сейчас не отвечает" in response.get_data(as_text=True)
        with app.app_context():
            last = db.session.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
            assert last.kind == "login_failed" and last.detail["reason"] == "misconfigured"
        counted = REGISTRY.get_sample_value("portal_unavailable_total", {"cause": "misconfigured"})
        assert counted == (misconfigured or 0) + 1  # not blamed on the provider
    finally:
        empty_tables(app)
