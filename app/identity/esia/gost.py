"""GOST R 34.10-2012 (256-bit) signatures as ESIA expects them, behind one interface.

ESIA's ``client_secret`` is the raw 64-byte signature that OpenSSL's GOST engine produces
(ESIA.md). Two signers make it:

- :class:`OpenSSLSigner` calls libcrypto in-process through ctypes with the ``gost`` engine
  (Debian's ``libengine-gost-openssl``): about 0.05 ms a signature;
- :class:`PythonSigner` uses the pure-Python ``gostcrypto``: no system package needed, but
  about 65 ms a signature. It speaks OpenSSL's byte order by reversing the digest and
  swapping the signature's halves.

Verification (the emulator's side) has the same two forms. Keys and certificates are the PEM
files ``openssl genpkey -engine gost`` and ``openssl req -x509`` write; ``make_test_certificate``
makes such a pair for development.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import shutil
import subprocess
import threading
from abc import ABC, abstractmethod
from pathlib import Path

from gostcrypto import gosthash, gostsignature

# OID 1.2.643.7.1.1.1.1: GOST R 34.10-2012 with a 256-bit key.
GOST2012_256_OID = bytes.fromhex("06082a85030701010101")
# CryptoPro-A, the parameter set ESIA keys use; gostcrypto names it paramSetB.
CURVE = gostsignature.CURVES_R_1323565_1_024_2019["id-tc26-gost-3410-2012-256-paramSetB"]
SIGNATURE_SIZE = 64


class GostError(Exception):
    pass


# --- DER: just enough to read a GOST key and a certificate ---------------------------------


def _der_read(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the element at ``offset``."""
    tag = data[offset]
    length = data[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    return tag, start, start + length


def _der_children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    children, offset = [], start
    while offset < end:
        child = _der_read(data, offset)
        children.append(child)
        offset = child[2]
    return children


def pem_to_der(pem: bytes) -> bytes:
    lines = [line for line in pem.strip().splitlines() if not line.startswith(b"-----")]
    return base64.b64decode(b"".join(lines))


def private_key_scalar(key_pem: bytes) -> bytes:
    """The private key (32 bytes, big-endian) of an unencrypted GOST PKCS#8 PEM."""
    der = pem_to_der(key_pem)
    _, start, end = _der_read(der, 0)
    _, algorithm, private = _der_children(der, start, end)[:3]
    if GOST2012_256_OID not in der[algorithm[1] : algorithm[2]]:
        raise GostError("not a GOST R 34.10-2012 256-bit private key")
    value = der[private[1] : private[2]]
    if value[:2] == b"\x04\x20":  # some writers wrap the key in another OCTET STRING
        value = value[2:]
    if len(value) != 32:
        raise GostError("unexpected GOST private key encoding")
    return value[::-1]  # stored little-endian


def certificate_public_key(cert_der: bytes) -> bytes:
    """The public key (x‖y, 64 bytes, big-endian halves) of a GOST certificate."""
    _, start, end = _der_read(cert_der, 0)
    tbs = _der_children(cert_der, start, end)[0]
    fields = _der_children(cert_der, tbs[1], tbs[2])
    # tbsCertificate: [0] version, serial, signature, issuer, validity, subject, spki, ...
    spki = fields[6] if fields[0][0] == 0xA0 else fields[5]
    algorithm, bit_string = _der_children(cert_der, spki[1], spki[2])
    if GOST2012_256_OID not in cert_der[algorithm[1] : algorithm[2]]:
        raise GostError("the certificate's key is not GOST R 34.10-2012 256-bit")
    octets = cert_der[bit_string[1] + 1 : bit_string[2]]  # skip the unused-bits byte
    _, key_start, key_end = _der_read(octets, 0)
    key = octets[key_start:key_end]
    return key[:32][::-1] + key[32:][::-1]


def certificate_der(cert_pem: bytes) -> bytes:
    return pem_to_der(cert_pem) if cert_pem.lstrip().startswith(b"-----") else cert_pem


def streebog256(data: bytes) -> bytes:
    return bytes(gosthash.new("streebog256", data=data).digest())


def certificate_hash(cert_pem: bytes) -> str:
    """ESIA's ``client_certificate_hash``: Streebog-256 over the DER certificate, upper hex."""
    return streebog256(certificate_der(cert_pem)).hex().upper()


# --- signers -------------------------------------------------------------------------------


class Signer(ABC):
    """Signs a message with a region's GOST key, giving OpenSSL's raw 64-byte format."""

    name: str

    @abstractmethod
    def sign(self, message: bytes) -> bytes: ...


class Verifier(ABC):
    name: str

    @abstractmethod
    def verify(self, cert_pem: bytes, message: bytes, signature: bytes) -> bool: ...


class PythonSigner(Signer):
    name = "python"

    def __init__(self, key_pem: bytes):
        self._key = bytearray(private_key_scalar(key_pem))

    def sign(self, message: bytes) -> bytes:
        digest = bytearray(streebog256(message)[::-1])
        raw = bytes(gostsignature.new(gostsignature.MODE_256, CURVE).sign(self._key, digest))
        return raw[32:] + raw[:32]


class PythonVerifier(Verifier):
    name = "python"

    def verify(self, cert_pem: bytes, message: bytes, signature: bytes) -> bool:
        if len(signature) != SIGNATURE_SIZE:
            return False
        public = bytearray(certificate_public_key(certificate_der(cert_pem)))
        digest = bytearray(streebog256(message)[::-1])
        swapped = bytearray(signature[32:] + signature[:32])
        try:
            return gostsignature.new(gostsignature.MODE_256, CURVE).verify(public, digest, swapped)
        except gostsignature.GOSTSignatureError:
            return False


class _LibCrypto:
    """libcrypto with the GOST engine set as default for its algorithms, loaded once."""

    _lock = threading.Lock()
    _instance: _LibCrypto | None = None

    ENGINE_METHOD_ALL = 0xFFFF

    def __init__(self):
        path = ctypes.util.find_library("crypto")
        if path is None:
            raise GostError("libcrypto not found")
        lib = ctypes.CDLL(path)
        vp, cp, sz = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t
        signatures = {
            "ENGINE_by_id": (vp, [cp]),
            "ENGINE_init": (ctypes.c_int, [vp]),
            "ENGINE_set_default": (ctypes.c_int, [vp, ctypes.c_uint]),
            "BIO_new_mem_buf": (vp, [cp, ctypes.c_int]),
            "BIO_free": (ctypes.c_int, [vp]),
            "PEM_read_bio_PrivateKey": (vp, [vp, vp, vp, vp]),
            "PEM_read_bio_X509": (vp, [vp, vp, vp, vp]),
            "X509_get_pubkey": (vp, [vp]),
            "X509_free": (None, [vp]),
            "EVP_PKEY_free": (None, [vp]),
            "EVP_get_digestbyname": (vp, [cp]),
            "EVP_MD_CTX_new": (vp, []),
            "EVP_MD_CTX_free": (None, [vp]),
            "EVP_DigestSignInit": (ctypes.c_int, [vp, vp, vp, vp, vp]),
            "EVP_DigestSign": (ctypes.c_int, [vp, cp, ctypes.POINTER(sz), cp, sz]),
            "EVP_DigestVerifyInit": (ctypes.c_int, [vp, vp, vp, vp, vp]),
            "EVP_DigestVerify": (ctypes.c_int, [vp, cp, sz, cp, sz]),
            "ERR_clear_error": (None, []),
        }
        for name, (restype, argtypes) in signatures.items():
            function = getattr(lib, name)
            function.restype, function.argtypes = restype, argtypes
        engine = lib.ENGINE_by_id(b"gost")
        if not engine or lib.ENGINE_init(engine) != 1:
            lib.ERR_clear_error()
            raise GostError("OpenSSL's gost engine is not available (libengine-gost-openssl)")
        lib.ENGINE_set_default(engine, self.ENGINE_METHOD_ALL)
        self.md = lib.EVP_get_digestbyname(b"md_gost12_256")
        if not self.md:
            raise GostError("the gost engine gives no md_gost12_256 digest")
        self.lib = lib

    @classmethod
    def get(cls) -> _LibCrypto:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def read_pem(self, reader, pem: bytes):
        bio = self.lib.BIO_new_mem_buf(pem, len(pem))
        try:
            return reader(bio, None, None, None)
        finally:
            self.lib.BIO_free(bio)


def openssl_available() -> bool:
    try:
        _LibCrypto.get()
    except (GostError, OSError):
        return False
    return True


class OpenSSLSigner(Signer):
    name = "openssl"

    def __init__(self, key_pem: bytes):
        self._crypto = _LibCrypto.get()
        self._key = self._crypto.read_pem(self._crypto.lib.PEM_read_bio_PrivateKey, key_pem)
        if not self._key:
            self._crypto.lib.ERR_clear_error()
            raise GostError("OpenSSL cannot read this GOST private key")

    def sign(self, message: bytes) -> bytes:
        lib = self._crypto.lib
        ctx = lib.EVP_MD_CTX_new()
        try:
            size = ctypes.c_size_t(SIGNATURE_SIZE)
            out = ctypes.create_string_buffer(SIGNATURE_SIZE)
            if (
                lib.EVP_DigestSignInit(ctx, None, self._crypto.md, None, self._key) != 1
                or lib.EVP_DigestSign(ctx, out, ctypes.byref(size), message, len(message)) != 1
            ):
                lib.ERR_clear_error()
                raise GostError("OpenSSL failed to sign")
            return out.raw[: size.value]
        finally:
            lib.EVP_MD_CTX_free(ctx)

    def __del__(self):
        key = getattr(self, "_key", None)
        if key:
            self._crypto.lib.EVP_PKEY_free(key)


class OpenSSLVerifier(Verifier):
    name = "openssl"

    def __init__(self):
        self._crypto = _LibCrypto.get()

    def verify(self, cert_pem: bytes, message: bytes, signature: bytes) -> bool:
        lib = self._crypto.lib
        if not cert_pem.lstrip().startswith(b"-----"):
            raise GostError("give the certificate as PEM")
        cert = self._crypto.read_pem(lib.PEM_read_bio_X509, cert_pem)
        if not cert:
            lib.ERR_clear_error()
            return False
        key = lib.X509_get_pubkey(cert)
        ctx = lib.EVP_MD_CTX_new()
        try:
            ok = (
                key
                and lib.EVP_DigestVerifyInit(ctx, None, self._crypto.md, None, key) == 1
                and lib.EVP_DigestVerify(ctx, signature, len(signature), message, len(message)) == 1
            )
            lib.ERR_clear_error()
            return bool(ok)
        finally:
            lib.EVP_MD_CTX_free(ctx)
            if key:
                lib.EVP_PKEY_free(key)
            lib.X509_free(cert)


SIGNERS: dict[str, type[Signer]] = {"openssl": OpenSSLSigner, "python": PythonSigner}


def make_signer(name: str, key_pem: bytes) -> Signer:
    return SIGNERS[name](key_pem)


def make_verifier() -> Verifier:
    """The fastest verifier this machine has."""
    return OpenSSLVerifier() if openssl_available() else PythonVerifier()


def make_test_certificate(directory: Path, common_name: str, days: int = 365) -> tuple[Path, Path]:
    """A GOST key pair and a self-signed certificate (``key.pem``, ``cert.pem``), via openssl."""
    openssl = shutil.which("openssl")
    if openssl is None or not openssl_available():
        raise GostError(
            "openssl with the gost engine is needed (apt-get install libengine-gost-openssl)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    key, cert = directory / "key.pem", directory / "cert.pem"

    def run(*args: str) -> None:
        result = subprocess.run([openssl, *args], capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise GostError(f"openssl {args[0]} failed: {result.stderr.strip()}")

    run("genpkey", "-engine", "gost", "-algorithm", "gost2012_256", "-pkeyopt", "paramset:A",
        "-out", str(key))  # fmt: skip
    key.chmod(0o600)
    run("req", "-engine", "gost", "-new", "-x509", "-utf8", "-key", str(key), "-md_gost12_256",
        "-days", str(days), "-subj", f"/CN={common_name}", "-out", str(cert))  # fmt: skip
    return key, cert
