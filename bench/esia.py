"""ESIA costs: one GOST signature per signer, and one whole login over loopback.

Target (issue): ≤ 2 ms per signature in-process with the fast signer; the pure-Python signer
was measured at about 65 ms. The login is portal + emulator, each a real HTTP server here,
walked by a client the way a browser would (persona picker, rights already granted).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from unittest import mock

import requests
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

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


def whole_login(root: Path, count: int = 30) -> list[float]:
    import idp_emulator
    from app import create_app
    from app.demo import seed
    from app.extensions import db
    from app.identity.esia.gost import make_test_certificate
    from app.settings import PROJECT_ROOT
    from idp_emulator.keys import make_signing_key

    emulator_key, emulator_cert = make_signing_key(root / "emulator")
    key, cert = make_test_certificate(root / "mosreg", "bench")
    env = {"MOSREG_ESIA_KEY_FILE": str(key), "MOSREG_ESIA_CERT_FILE": str(cert),
           "ESIA_TOKEN_CERT_FILE": str(emulator_cert)}  # fmt: skip
    for other in ("KALUGA", "TATARSTAN"):
        env[f"{other}_ESIA_KEY_FILE"], env[f"{other}_ESIA_CERT_FILE"] = str(key), str(cert)
    with mock.patch.dict(os.environ, env):
        portal_server = make_server("127.0.0.1", 0, None, threaded=True)
        port = portal_server.server_port
        emulator = idp_emulator.create_app({
            "clients": idp_emulator.clients_from_regions(
                PROJECT_ROOT / "config" / "regions.yaml", env, port),
            "signing_key": RSAKey.import_key(emulator_key.read_bytes()),
        })  # fmt: skip
        emulator_server = make_server("127.0.0.1", 0, emulator, threaded=True)
        threading.Thread(target=emulator_server.serve_forever, daemon=True).start()
        portal = create_app({
            "PORTAL_ENV": "testing", "SECRET_KEY": "b" * 40,
            "DATABASE_URL": f"sqlite:///{root / 'bench.db'}",
            "IDP_EMULATOR_URL": f"http://127.0.0.1:{emulator_server.server_port}",
        })  # fmt: skip
        with portal.app_context():
            db.create_all()
            seed(portal.extensions["tenants"].get("mosreg"))
        portal_server.app = portal
        threading.Thread(target=portal_server.serve_forever, daemon=True).start()
        # The browser reaches the region on 127.0.0.1 with its development host name.
        base = f"http://127.0.0.1:{port}"
        host = {"Host": f"mosreg.localhost:{port}"}
        timings = []
        for _ in range(count):
            browser = requests.Session()
            started = time.perf_counter()
            page = browser.get(f"{base}/login/esia", headers=host, allow_redirects=False)
            picker = browser.get(page.headers["Location"])
            page = browser.post(picker.url, data={"persona": "P1"}, allow_redirects=False)
            location = page.headers["Location"]
            if "/rights/" in location:
                rights = requests.compat.urljoin(picker.url, location)
                page = browser.post(rights, data={"decision": "grant"}, allow_redirects=False)
                location = page.headers["Location"]
            callback = location.replace(f"mosreg.localhost:{port}", f"127.0.0.1:{port}")
            done = browser.get(callback, headers=host, allow_redirects=False)
            assert done.headers["Location"].endswith("/access/"), done.status_code
            timings.append((time.perf_counter() - started) * 1000)
        portal_server.shutdown()
        emulator_server.shutdown()
    return timings[1:]  # the first login also loads keys and warms caches


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
        logins = whole_login(Path(tmp))
        median = statistics.median(logins)
        print(
            f"whole ESIA login over loopback (P1, {len(logins)} runs): median {median:.1f} ms, "
            f"max {max(logins):.1f} ms; two signatures are {2 * fast / median * 100:.2f} % of it"
        )


if __name__ == "__main__":
    main()
