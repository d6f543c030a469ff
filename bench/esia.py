"""ESIA costs: one GOST signature per signer (whole logins are measured by bench/pages.py).

Target: ≤ 2 ms per signature in-process with the fast signer; the pure-Python signer was
measured at about 65 ms.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

MESSAGE = b"MSHMO001openid fullname birthdate snils email2026.11.22 12:00:00 +0300"


def per_call_ms(function, count: int) -> float:
    function()  # warm up
    started = time.perf_counter()
    for _ in range(count):
        function()
    return (time.perf_counter() - started) / count * 1000


def signatures(key_pem: bytes) -> dict[str, float]:
    from app.identity.esia.gost import OpenSSLSigner, PythonSigner

    fast, slow = OpenSSLSigner(key_pem), PythonSigner(key_pem)
    return {
        "openssl": per_call_ms(lambda: fast.sign(MESSAGE), 2000),
        "python": per_call_ms(lambda: slow.sign(MESSAGE), 20),
    }


def main() -> None:
    import logging

    from app.identity.esia.gost import make_test_certificate

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        key, _ = make_test_certificate(Path(tmp) / "sig", "bench")
        costs = signatures(key.read_bytes())
        fast, slow = costs["openssl"], costs["python"]
        print(
            f"GOST signature: openssl {fast:.3f} ms, python {slow:.1f} ms, ratio {slow / fast:.0f}x"
        )


if __name__ == "__main__":
    main()
