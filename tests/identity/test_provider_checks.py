"""The identity provider check (issue 19, item 2): against the emulator up, down and hanging;
a small OpenID provider of our own whose discovery document and keys a test writes (a wrong
issuer, algorithms without keys); the independent OpenID provider from npm; GOST keys and
certificates that do not pair, have expired or are about to; the audited override; and the
administrator's page over HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Flask, jsonify
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import select
from werkzeug.serving import make_server

from app import create_app
from app.accounts import grant_regional_admin
from app.extensions import db
from app.identity import checks
from app.identity.esia.gost import make_test_certificate, pem_to_der
from app.identity.oidc import OidcConfig
from app.models import AuditEvent, User
from app.tenants.versions import save, source_config
from tests.conftest import test_environ
from tests.e2e.test_oidc_real_provider import PROVIDER_DIR, require_node
from tests.identity.test_fifth_provider import CardConfig, fifth_kind, service  # noqa: F401
from tests.live import (  # noqa: F401  (fixtures)
    CSRF_RE,
    browser,
    esia_env,
    free_port,
    live,
    localhost_subdomains,
    servers,
)

ESIA_ITEMS = [
    "authorization_endpoint", "token_endpoint", "client_certificate", "private_key", "key_pair",
    "certificate_hash", "provider_certificate",
]  # fmt: skip
OIDC_ITEMS = [
    "discovery", "issuer", "jwks", "algorithms", "authorization_endpoint", "token_endpoint",
    "userinfo_endpoint", "client_secret",
]  # fmt: skip
NETWORK = {"discovery", "jwks", "authorization_endpoint", "token_endpoint", "userinfo_endpoint"}
# What the bounded check may take beyond its own bound: threads starting, a test machine busy.
SLACK = 3.0


def openssl(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [shutil.which("openssl"), *args], input=stdin, capture_output=True, check=True
    )


def keys(items) -> list[str]:
    return [item.key for item in items]


def baseline(servers, slug: str):  # noqa: F811
    """The region as its administrators edit it (versions.at's type), not the served copy."""
    return servers.portal_app.extensions["tenants"].baseline.regions[slug]


def closed_port() -> int:
    """A port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Silent:
    """A server that takes every connection and never says a word: a provider that hangs."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._hold, daemon=True).start()

    def _hold(self):
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self):
        self.sock.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def silent():
    server = Silent()
    yield server
    server.close()


class SmallProvider:
    """The public side of an OpenID provider whose discovery document and keys a test
    writes: discovery, JWKS, and endpoints that answer as real ones do when asked without
    parameters."""

    def __init__(self):
        app = Flask(__name__)
        app.add_url_rule("/.well-known/openid-configuration", "discovery",
                         lambda: jsonify(self.document))  # fmt: skip
        app.add_url_rule("/jwks", "jwks", lambda: jsonify(self.jwks))
        app.add_url_rule("/authorize", "authorize", lambda: ("invalid_request", 400))
        app.add_url_rule("/token", "token", lambda: ("", 204), methods=["POST"])
        app.add_url_rule("/userinfo", "userinfo", lambda: ("", 401))
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.rsa = {**RSAKey.generate_key(2048).as_dict(private=False), "kid": "r1",
                    "use": "sig", "alg": "RS256"}  # fmt: skip
        self.ec = {**ECKey.generate_key("P-256").as_dict(private=False), "kid": "e1",
                   "use": "sig", "alg": "ES256"}  # fmt: skip
        self.reset()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self):
        self.document = {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
        }
        self.jwks = {"keys": [self.rsa]}

    def region(self, servers, **block):  # noqa: F811
        """Moscow, with this provider configured by discovery (and ``block`` on top)."""
        raw = {"kind": "oidc", "issuer": self.url, "client_id": "fifth-region",
               "discovery_url": f"{self.url}/.well-known/openid-configuration",
               "client_secret_env": "FIFTH_OIDC_CLIENT_SECRET", **block}  # fmt: skip
        provider = OidcConfig.model_validate(raw)
        return baseline(servers, "moscow").model_copy(update={"identity_provider": provider})


@pytest.fixture(scope="module")
def small_provider():
    provider = SmallProvider()
    yield provider
    provider.server.shutdown()


@pytest.fixture
def small(small_provider):
    small_provider.reset()
    yield small_provider
    small_provider.reset()


SECRET_ENV = {"FIFTH_OIDC_CLIENT_SECRET": "a-secret-of-the-fifth-region"}


# --- the emulator up, down, hanging ----------------------------------------------------------


@pytest.mark.parametrize(("slug", "expected"), [("mosreg", ESIA_ITEMS), ("moscow", OIDC_ITEMS)])
def test_the_check_passes_with_the_provider_up(servers, slug, expected):  # noqa: F811
    with servers.portal_app.app_context():
        check = checks.check_provider(baseline(servers, slug), os.environ)
    assert keys(check.items) == expected
    assert [item.key for item in check.items if not item.ok] == []
    assert check.passed and not check.warnings
    reached = [item for item in check.items if item.key in NETWORK - {"discovery"}]
    assert all(servers.emulator_url in item.detail for item in reached)


def test_the_hash_is_the_one_esia_sees(servers, esia_env):  # noqa: F811
    with servers.portal_app.app_context():
        item = checks.check_provider(baseline(servers, "kaluga"), os.environ).item(
            "certificate_hash"
        )
    registered = servers.emulator_app.config["ESIA"]["clients"]["MSHKLG01"].certificate_hash
    der = pem_to_der(Path(esia_env["KALUGA_ESIA_CERT_FILE"]).read_bytes())
    digest = openssl("dgst", "-engine", "gost", "-md_gost12_256", "-r", stdin=der).stdout.split()
    assert registered == digest[0].decode().upper()
    assert item.ok and f"ЕСИА получит client_certificate_hash {registered}." in item.detail


@pytest.mark.parametrize("slug", ["mosreg", "moscow"])
def test_the_check_fails_with_the_provider_down(database_uri, esia_env, slug):  # noqa: F811
    app = create_app(test_environ(database_uri,
                                  IDP_EMULATOR_URL=f"http://127.0.0.1:{closed_port()}"))  # fmt: skip
    with app.app_context():
        check = checks.check_provider(app.extensions["tenants"].baseline.regions[slug], os.environ)
    assert not check.passed
    down = {"authorization_endpoint", "token_endpoint", "jwks", "userinfo_endpoint"}
    assert {item.key for item in check.failed} == down & set(keys(check.items)) | (
        {"algorithms"} if slug == "moscow" else set()
    )
    assert "отклонил соединение" in check.item("token_endpoint").detail
    if slug == "mosreg":  # what is local still reads: the check says exactly what is wrong
        assert check.item("key_pair").ok and check.item("client_certificate").ok
    else:
        assert check.item("algorithms").detail == "Не проверены: набор ключей (JWKS) не получен."


@pytest.mark.parametrize("case", ["esia", "oidc-explicit", "oidc-discovery"])
def test_a_hanging_provider_fails_within_the_bound(database_uri, esia_env, silent, case):  # noqa: F811
    app = create_app(test_environ(database_uri, IDP_EMULATOR_URL=silent.url))
    regions = app.extensions["tenants"].baseline.regions
    started = time.monotonic()
    if case == "oidc-discovery":  # outside the app: no emulator, the discovery URL as given
        block = OidcConfig.model_validate({
            "kind": "oidc", "issuer": silent.url, "client_id": "fifth-region",
            "discovery_url": f"{silent.url}/.well-known/openid-configuration",
            "token_endpoint_auth_method": "none",
        })  # fmt: skip
        check = checks.check_provider(block, {})
    else:
        with app.app_context():
            config = regions["mosreg" if case == "esia" else "moscow"]
            check = checks.check_provider(config, os.environ)
    elapsed = time.monotonic() - started
    assert elapsed < checks.TOTAL_SECONDS + SLACK
    assert not check.passed
    first_call = check.item("discovery" if case == "oidc-discovery" else "token_endpoint")
    assert not first_call.ok and "не ответил за 3 с" in first_call.detail


def test_a_body_trickled_a_byte_at_a_time_fails_within_the_bound(servers):  # noqa: F811
    misbehaviour = servers.emulator_app.extensions["misbehaviour"]
    misbehaviour.paths, misbehaviour.trickle = ("/sps/oauth/jwks",), 0.2
    try:
        started = time.monotonic()
        with servers.portal_app.app_context():
            check = checks.check_provider(baseline(servers, "moscow"), os.environ)
        elapsed = time.monotonic() - started
    finally:
        misbehaviour.reset()
    assert elapsed < checks.TOTAL_SECONDS + SLACK
    assert [item.key for item in check.failed] == ["jwks", "algorithms"]
    assert "не ответил за 3 с" in check.item("jwks").detail
    assert check.item("token_endpoint").ok


# --- OpenID Connect: discovery, issuer, keys and algorithms --------------------------------


def test_a_provider_described_by_discovery_passes(servers, small):  # noqa: F811
    check = checks.check_provider(small.region(servers), SECRET_ENV)
    assert keys(check.items) == OIDC_ITEMS
    assert check.passed, [(item.key, item.detail) for item in check.failed]
    assert check.item("issuer").detail == f"Совпадает с настройками: {small.url}."
    assert check.item("algorithms").detail.startswith("RS256 (объявлены поставщиком")


@pytest.mark.parametrize("configured", ["https://login.example.test/", "{url}/"])
def test_a_wrong_issuer_is_found(servers, small, configured):  # noqa: F811
    configured = configured.format(url=small.url)  # another provider, or a slash too many
    check = checks.check_provider(small.region(servers, issuer=configured), SECRET_ENV)
    assert not check.passed
    assert [item.key for item in check.failed] == ["issuer"]
    detail = check.item("issuer").detail
    assert f"называет издателем «{small.url}», а в настройках — «{configured}»" in detail
    assert "вход будет отклонён" in detail


def test_a_discovery_document_that_is_no_json_fails_the_discovery(servers, small):  # noqa: F811
    region = small.region(servers, discovery_url=f"{small.url}/authorize")
    check = checks.check_provider(region, SECRET_ENV)
    assert check.item("discovery").detail.startswith(f"{small.url}/authorize: отвечает HTTP 400")
    assert {"discovery", "issuer", "jwks", "algorithms"} <= {i.key for i in check.failed}


@pytest.mark.parametrize(
    "case",
    [
        (["ES256"], "rsa", ["RS256"], "failed", "а портал принимает только RS256"),
        (["RS256", "ES256"], "rsa", ["ES256"], "failed", "нет ключа ни для одного"),
        (["RS256", "ES256"], "rsa", ["RS256", "ES256"], "warning", "для ES256 ключа нет"),
        (["RS256", "ES256"], "both", ["RS256", "ES256"], "passed", "RS256, ES256 (объявлены"),
        (["ES256"], "ec", ["ES256"], "passed", "ES256 (объявлены"),
    ],
)  # fmt: skip
def test_keys_are_there_for_the_algorithms_announced_and_accepted(servers, small, case):  # noqa: F811
    announced, published, accepted, status, words = case
    small.document["id_token_signing_alg_values_supported"] = announced
    small.jwks = {"keys": {"rsa": [small.rsa], "ec": [small.ec],
                           "both": [small.rsa, small.ec]}[published]}  # fmt: skip
    check = checks.check_provider(small.region(servers, id_token_algorithms=accepted), SECRET_ENV)
    item = check.item("algorithms")
    assert item.status == status and words in item.detail, item.detail
    assert check.passed is (status != "failed")


def test_an_empty_key_set_and_a_missing_secret_are_found(servers, small):  # noqa: F811
    small.jwks = {"keys": []}
    check = checks.check_provider(small.region(servers), {})
    assert [item.key for item in check.failed] == ["jwks", "algorithms", "client_secret"]
    assert check.item("jwks").detail.endswith("в наборе нет ни одного ключа.")
    assert "FIFTH_OIDC_CLIENT_SECRET" in check.item("client_secret").detail


@pytest.fixture(scope="module")
def strict_provider():
    """panva's oidc-provider from npm, strict: an issuer with a path, one ES256 key."""
    node = require_node()
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/op"
    process = subprocess.Popen(  # noqa: S603
        [node, "server.mjs", str(port), "fifth-region", "secret", "http://x.localhost/cb",
         "strict"], cwd=PROVIDER_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    yield issuer
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.parametrize(("accepted", "passes"), [(["ES256"], True), (["RS256"], False)])
def test_the_independent_provider_is_checked_as_it_is(strict_provider, accepted, passes):
    block = OidcConfig.model_validate({
        "kind": "oidc", "issuer": strict_provider, "client_id": "fifth-region",
        "discovery_url": f"{strict_provider}/.well-known/openid-configuration",
        "client_secret_env": "FIFTH_OIDC_CLIENT_SECRET", "id_token_algorithms": accepted,
    })  # fmt: skip
    check = checks.check_provider(block, SECRET_ENV)
    assert check.passed is passes, [(item.key, item.detail) for item in check.items]
    assert check.item("issuer").ok and check.item("jwks").detail.endswith("ключей 1 (EC).")
    assert check.item("algorithms").ok is passes


def test_a_check_that_breaks_is_a_failed_check_not_an_error(servers, small, monkeypatch):  # noqa: F811
    def broken(*args):
        raise RuntimeError("a bug")

    monkeypatch.setitem(checks.CHECKS, "oidc", broken)
    check = checks.check_provider(small.region(servers), SECRET_ENV)
    assert not check.passed and keys(check.items) == ["check"]
    assert "не удалось довести до конца" in check.item("check").detail


# --- Госуслуги: our key and certificate, ESIA's certificate ----------------------------------


def dated_gost_certificate(directory: Path, start: str, end: str) -> tuple[Path, Path]:
    """A GOST key and a self-signed certificate valid from ``start`` to ``end``
    (YYYYMMDDHHMMSSZ), as OpenSSL's CA makes them: ``req -x509`` takes no past dates."""
    key, _ = make_test_certificate(directory, "Dated")
    (directory / "index.txt").write_text("")
    (directory / "serial").write_text("01\n")
    (directory / "ca.cnf").write_text(
        "[ca]\ndefault_ca = d\n[d]\n"
        f"database = {directory}/index.txt\nnew_certs_dir = {directory}\n"
        f"serial = {directory}/serial\npolicy = p\ndefault_md = md_gost12_256\n"
        "unique_subject = no\n[p]\ncommonName = supplied\n"
    )
    request, cert = directory / "req.csr", directory / "dated.pem"
    openssl("req", "-engine", "gost", "-new", "-key", str(key), "-md_gost12_256",
            "-subj", "/CN=Dated test system", "-out", str(request))  # fmt: skip
    openssl("ca", "-engine", "gost", "-batch", "-config", str(directory / "ca.cnf"), "-selfsign",
            "-keyfile", str(key), "-in", str(request), "-startdate", start, "-enddate", end,
            "-notext", "-out", str(cert))  # fmt: skip
    return key, cert


def rsa_certificate(path: Path, start: datetime, end: datetime) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ESIA of a test")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end).sign(key, hashes.SHA256())
    )  # fmt: skip
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory, esia_env):  # noqa: F811
    root = tmp_path_factory.mktemp("check-keys")
    now = datetime.now(UTC)
    key, cert = make_test_certificate(root / "region", "Тестовая система")
    other_key, _ = make_test_certificate(root / "other", "Другая система")
    soon_key, soon_cert = make_test_certificate(root / "soon", "Скоро истекает", days=10)
    old_key, old_cert = dated_gost_certificate(root / "old", "20200101000000Z", "20210101000000Z")
    der = root / "cert.cer"
    der.write_bytes(pem_to_der(cert.read_bytes()))
    junk = root / "junk.pem"
    junk.write_text("not a key at all\n")
    return {
        "key": key, "cert": cert, "other_key": other_key, "soon_key": soon_key,
        "soon_cert": soon_cert, "old_key": old_key, "old_cert": old_cert, "der": der,
        "junk": junk, "esia": Path(esia_env["ESIA_TOKEN_CERT_FILE"]),
        "old_esia": rsa_certificate(root / "old-esia.pem", now - timedelta(days=400),
                                    now - timedelta(days=35)),
        "soon_esia": rsa_certificate(root / "soon-esia.pem", now - timedelta(days=300),
                                     now + timedelta(days=12)),
    }  # fmt: skip


def esia_check(servers, files, key="key", cert="cert", esia="esia"):  # noqa: F811
    env = {"MOSREG_ESIA_KEY_FILE": str(files[key]), "MOSREG_ESIA_CERT_FILE": str(files[cert]),
           "ESIA_TOKEN_CERT_FILE": str(files[esia])}  # fmt: skip
    with servers.portal_app.app_context():
        return checks.check_provider(baseline(servers, "mosreg"), env)


def test_a_key_and_certificate_that_do_not_pair_are_found(servers, files):  # noqa: F811
    check = esia_check(servers, files, key="other_key")
    assert [item.key for item in check.failed] == ["key_pair"]
    assert check.item("private_key").ok and check.item("client_certificate").ok
    detail = check.item("key_pair").detail
    assert "MOSREG_ESIA_KEY_FILE не проверяется сертификатом из MOSREG_ESIA_CERT_FILE" in detail


def test_an_expired_certificate_is_found(servers, files):  # noqa: F811
    check = esia_check(servers, files, key="old_key", cert="old_cert")
    assert [item.key for item in check.failed] == ["client_certificate"]
    detail = check.item("client_certificate").detail
    assert "«Dated test system», истёк 01.01.2021" in detail
    assert "зарегистрируйте его для системы MSHMO001" in detail
    assert check.item("key_pair").ok  # the pair itself is sound: only its time is up


def test_a_certificate_expiring_within_30_days_is_a_warning(servers, files):  # noqa: F811
    check = esia_check(servers, files, key="soon_key", cert="soon_cert")
    item = check.item("client_certificate")
    assert item.ok and item.warning and "осталось дней: 9" in item.detail
    assert check.passed and check.warnings == (item,)


@pytest.mark.parametrize(
    ("esia", "status", "words"),
    [
        ("esia", "passed", "RSA 2048 бит, токены RS256, действует до"),
        ("old_esia", "failed", "RSA 2048 бит, токены RS256, истёк"),
        ("soon_esia", "warning", "осталось дней: 11"),
        ("cert", "failed", "ключ сертификата — ГОСТ Р 34.10-2012, а портал проверяет"),
        ("junk", "failed", "в файле не сертификат X.509"),
    ],
)  # fmt: skip
def test_esias_token_certificate(servers, files, esia, status, words):  # noqa: F811
    item = esia_check(servers, files, esia=esia).item("provider_certificate")
    assert item.status == status and words in item.detail, item.detail


@pytest.mark.parametrize(
    ("change", "failing", "words"),
    [
        ({"key": "junk"}, ["private_key", "key_pair"], "не читается как закрытый ключ ГОСТ"),
        ({"cert": "der"}, ["client_certificate", "key_pair", "certificate_hash"],
         "сертификат в формате DER, а портал читает PEM"),
        ({"cert": "missing"}, ["client_certificate", "key_pair", "certificate_hash"],
         "MOSREG_ESIA_CERT_FILE: по указанному пути файла нет"),
    ],
)  # fmt: skip
def test_files_that_are_not_what_they_should_be(servers, files, change, failing, words):  # noqa: F811
    files = {**files, "missing": files["cert"].parent / "nowhere.pem"}
    check = esia_check(servers, files, **change)
    assert [item.key for item in check.failed] == failing
    assert words in check.failed[0].detail


# --- a kind without a check of its own ---------------------------------------------------------


def test_another_kind_gets_its_probe_and_environment_checked(fifth_kind, service):  # noqa: F811
    block = CardConfig.model_validate({"kind": "card", "base_url": service.url})
    check = checks.check_provider(block, {})
    assert keys(check.items) == ["endpoint", "environment"] and check.passed
    assert check.item("endpoint").detail == f"{service.url}/health отвечает (HTTP 200)."
    service.server.shutdown()
    service.server.server_close()
    down = checks.check_provider(block, {})
    assert [item.key for item in down.failed] == ["endpoint"]


# --- the override, audited ---------------------------------------------------------------------


def test_an_override_is_audited_with_the_failed_items(live):  # noqa: F811
    app = live.portal_app
    with app.app_context():
        check = checks.check_provider(baseline(live, "kaluga"), {})
        author = grant_regional_admin("kaluga", "http://esia.gosuslugi.ru/", "1000100",
                                      "Админова Рита Сергеевна")  # fmt: skip
        with pytest.raises(ValueError, match="reason"):
            checks.record_override("kaluga", check, author, "   ")
        passing = checks.check_provider(baseline(live, "kaluga"), os.environ)
        with pytest.raises(ValueError, match="nothing to override"):
            checks.record_override("kaluga", passing, author, "Срочно")
        checks.record_override("kaluga", check, author, "Ключи приедут завтра, переход сегодня")
        author_id = author.id
        event = db.session.scalars(
            select(AuditEvent).filter_by(kind="provider_check_overridden")
        ).one()  # fmt: skip
    assert (event.tenant, event.actor_id) == ("kaluga", author_id)
    assert event.detail["reason"] == "Ключи приедут завтра, переход сегодня"
    assert event.detail["provider"] == "esia"
    assert event.detail["failed"] == [f"{item.name}: {item.detail}" for item in check.failed]
    assert any(line.startswith("Закрытый ключ портала: ") for line in event.detail["failed"])


# --- the administrator's page ------------------------------------------------------------------


def admin_of(browser, slug="mosreg"):  # noqa: F811
    b = browser(slug)
    b.esia_login("ADM")
    return b


def test_the_page_says_what_it_checks_and_runs_only_when_asked(browser):  # noqa: F811
    b = admin_of(browser)
    page = b.get("/admin/provider-check")
    assert page.status_code == 200
    assert "Проверка поставщика входа: Московская область" in page.text
    assert (
        "сертификат и закрытый ключ портала" in page.text
        and "версия 0, исходные из regions.yaml" in page.text
    )
    assert 'id="provider-check-summary"' not in page.text  # nothing called yet
    result = b.post("/admin/provider-check")
    assert result.status_code == 200
    assert "Проверка пройдена." in result.text
    for key in ESIA_ITEMS:
        assert f'<tr id="check-{key}" data-status="passed">' in result.text
    assert result.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in result.headers["Vary"]


def test_the_page_names_the_version_it_checks(browser, live):  # noqa: F811
    b = admin_of(browser, "kaluga")
    app = live.portal_app
    with app.app_context():
        admin = db.session.scalar(select(User).filter_by(tenant="kaluga", subject="1000100"))
        config = source_config(app, "kaluga")
        branding = config.branding.model_copy(update={"footer_text": "Новая подпись"})
        save("kaluga", config.model_copy(update={"branding": branding}), base=0, author=admin,
             comment="")  # fmt: skip
    assert (
        "Проверяются настройки, которые сейчас действуют: версия 1."
        in b.get("/admin/provider-check").text
    )


def test_with_htmx_only_the_block_comes_back(browser):  # noqa: F811
    b = admin_of(browser, "kaluga")
    page = b.get("/admin/provider-check")
    token = CSRF_RE.search(page.text)
    answer = b.http.post(f"{b.base}/admin/provider-check", timeout=20,
                         headers={"HX-Request": "true", "X-CSRFToken": token[1] or token[2]})  # fmt: skip
    assert answer.status_code == 200
    assert "<html" not in answer.text
    assert answer.text.strip().startswith('<div id="provider-check">')
    assert "Проверка пройдена." in answer.text


def test_a_failing_check_shows_what_to_do(browser, live):  # noqa: F811
    misbehaviour = live.emulator_app.extensions["misbehaviour"]
    b = admin_of(browser, "tatarstan")
    b.get("/admin/provider-check")
    misbehaviour.paths, misbehaviour.delay = ("/aas/oauth2/v3/te",), checks.CALL_SECONDS + 2
    try:
        result = b.post("/admin/provider-check")
    finally:
        misbehaviour.reset()
    assert result.status_code == 200
    assert "Проверка не пройдена: не выполнено пунктов — 1 из 7." in result.text
    assert '<tr id="check-token_endpoint" data-status="failed">' in result.text
    assert (
        "не ответил за 3 с" in result.text and "проверьте доступ с серверов портала" in result.text
    )


def test_a_second_check_while_one_runs_is_told_to_wait(browser, live):  # noqa: F811
    misbehaviour = live.emulator_app.extensions["misbehaviour"]
    b = admin_of(browser)
    b.get("/admin/provider-check")
    token = CSRF_RE.search(b.page.text)
    data = {"csrf_token": token[1] or token[2]}
    url = f"{b.base}/admin/provider-check"
    misbehaviour.paths, misbehaviour.delay = ("/aas/oauth2/v2/ac",), 1.5
    first: dict = {}
    running = threading.Thread(
        target=lambda: first.update(answer=b.http.post(url, data=data, timeout=20))
    )
    try:
        running.start()
        deadline = time.monotonic() + 5
        while "mosreg" not in checks._running and time.monotonic() < deadline:
            time.sleep(0.02)
        second = b.http.post(url, data=data, timeout=20)
        running.join(timeout=20)
    finally:
        misbehaviour.reset()
    assert second.status_code == 409
    assert "уже проверяется" in second.text
    assert first["answer"].status_code == 200 and "Проверка пройдена." in first["answer"].text
    assert "mosreg" not in checks._running


def test_others_are_refused(browser, live):  # noqa: F811
    parent = browser("mosreg")
    parent.esia_login("P1")
    assert parent.get("/admin/provider-check").status_code == 403
    assert parent.post("/admin/provider-check").status_code == 403
    admin = admin_of(browser)
    admin.get("/admin/provider-check")
    assert admin.http.post(f"{admin.base}/admin/provider-check", timeout=10).status_code == 400
    with live.portal_app.app_context():
        kinds = db.session.scalars(select(AuditEvent.kind).where(
            AuditEvent.kind.in_(["forbidden", "csrf_refused"]))).all()  # fmt: skip
    assert sorted(kinds) == ["csrf_refused", "forbidden", "forbidden"]
