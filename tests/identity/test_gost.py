"""GOST R 34.10-2012 signatures: both signers interoperate with OpenSSL's command line."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from app.identity.esia import gost
from tests.conftest import require_gost_engine

MESSAGE = b"ELSH01721openid fullname2025.09.02 13:00:29 +0300"


def openssl(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [shutil.which("openssl"), *args], input=stdin, capture_output=True, check=False
    )


@pytest.fixture(scope="module")
def public_key(gost_pair, tmp_path_factory):
    _, cert = gost_pair
    path = tmp_path_factory.mktemp("pub") / "pub.pem"
    result = openssl("x509", "-engine", "gost", "-in", str(cert), "-pubkey", "-noout")
    path.write_bytes(result.stdout)
    return path


@pytest.mark.parametrize("signer_name", ["openssl", "python"])
def test_openssl_verifies_our_signature(gost_pair, public_key, tmp_path, signer_name):
    key, _ = gost_pair
    signature = gost.make_signer(signer_name, key.read_bytes()).sign(MESSAGE)
    assert len(signature) == 64
    (tmp_path / "msg").write_bytes(MESSAGE)
    (tmp_path / "sig").write_bytes(signature)
    result = openssl(
        "dgst", "-engine", "gost", "-md_gost12_256", "-verify", str(public_key),
        "-signature", str(tmp_path / "sig"), str(tmp_path / "msg"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert b"Verified OK" in result.stdout


@pytest.mark.parametrize("verifier", [gost.PythonVerifier, gost.OpenSSLVerifier])
def test_we_verify_openssls_signature(gost_pair, tmp_path, verifier):
    key, cert = gost_pair
    (tmp_path / "msg").write_bytes(MESSAGE)
    result = openssl(
        "dgst", "-engine", "gost", "-md_gost12_256", "-sign", str(key),
        "-out", str(tmp_path / "sig"), str(tmp_path / "msg"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    signature = (tmp_path / "sig").read_bytes()
    assert verifier().verify(cert.read_bytes(), MESSAGE, signature) is True
    assert verifier().verify(cert.read_bytes(), MESSAGE + b"!", signature) is False
    tampered = bytes([signature[0] ^ 1]) + signature[1:]
    assert verifier().verify(cert.read_bytes(), MESSAGE, tampered) is False


def test_certificate_hash_is_streebog_over_der(gost_pair):
    _, cert = gost_pair
    der = openssl("x509", "-in", str(cert), "-outform", "DER").stdout
    digest = openssl("dgst", "-engine", "gost", "-md_gost12_256", "-r", stdin=der).stdout
    expected = digest.split()[0].decode().upper()
    assert gost.certificate_hash(cert.read_bytes()) == expected
    assert len(expected) == 64


def test_a_signature_with_another_key_does_not_verify(gost_pair, tmp_path):
    other_key, _ = gost.make_test_certificate(tmp_path, "Другая система")
    _, cert = gost_pair
    signature = gost.OpenSSLSigner(other_key.read_bytes()).sign(MESSAGE)
    assert gost.OpenSSLVerifier().verify(cert.read_bytes(), MESSAGE, signature) is False
    assert gost.PythonVerifier().verify(cert.read_bytes(), MESSAGE, signature) is False


def test_a_non_gost_key_is_refused():
    ed25519_pkcs8 = (
        b"-----BEGIN PRIVATE KEY-----\n"
        b"MC4CAQAwBQYDK2VwBCIEIJ+7gHnHbJ6w1W6x0yO1nqT5l4Q9d6JqQ1mWbJ0m0s0F\n"
        b"-----END PRIVATE KEY-----\n"
    )
    with pytest.raises(gost.GostError):
        gost.PythonSigner(ed25519_pkcs8)


def test_cli_makes_a_certificate_and_prints_its_hash(runner, tmp_path):
    require_gost_engine()
    result = runner.invoke(args=["esia", "make-test-cert", str(tmp_path / "cert")])
    assert result.exit_code == 0, result.output
    printed = result.output.split("client_certificate_hash: ")[1].strip()
    assert printed == gost.certificate_hash((tmp_path / "cert" / "cert.pem").read_bytes())
    assert len(printed) == 64 and printed == printed.upper()
