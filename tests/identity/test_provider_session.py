"""Calls to providers read the environment's proxy and certificate settings once per host,
and go out as requests would send them (``ProviderClient``), through a proxy when the
environment names one."""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask

from app.identity.deadline import DeadlineAdapter, ProviderClient, ProviderSession


def settings(session: requests.Session, url: str) -> dict:
    return session.merge_environment_settings(url, {}, None, None, None)


def test_the_environment_is_honoured_per_host(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "emulator")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/region-ca.pem")
    session = ProviderSession()
    esia = settings(session, "https://esia.gosuslugi.ru/aas/oauth2/v3/te")
    assert esia["proxies"]["https"] == "http://proxy.example:3128"
    assert esia["verify"] == "/etc/ssl/region-ca.pem"
    assert "https" not in settings(session, "https://emulator/rs/prns/1")["proxies"]
    # What plain requests decides, for the same environment.
    plain = settings(requests.Session(), "https://esia.gosuslugi.ru/rs/prns/1")
    assert settings(session, "https://esia.gosuslugi.ru/rs/prns/1") == plain


def test_the_environment_is_read_once_per_host(monkeypatch):
    session = ProviderSession()
    with mock.patch("requests.sessions.get_environ_proxies", return_value={}) as read:
        for path in ("/aas/oauth2/v3/te", "/rs/prns/1", "/rs/prns/1/ctts", "/rs/prns/1/kids"):
            settings(session, "https://esia.gosuslugi.ru" + path)
        assert read.call_count == 1
        settings(session, "https://other.example/jwks")
        assert read.call_count == 2


def test_a_call_that_names_its_own_settings_is_not_cached():
    session = ProviderSession()
    own = session.merge_environment_settings("https://a.example/", {}, None, False, None)
    assert own["verify"] is False
    assert settings(session, "https://a.example/")["verify"] is not False


# --- the calls themselves ---------------------------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    """Answers every request with JSON and keeps what it was sent (as a provider, or as a
    proxy: a proxied request names the whole address)."""

    seen: list[dict]

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append({"method": self.command, "target": self.path,
                          "headers": dict(self.headers), "body": body})  # fmt: skip
        answer = json.dumps({"ok": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = _answer

    def log_message(self, *args) -> None:
        pass


def _serve(tls: ssl.SSLContext | None = None) -> Iterator[tuple[str, list[dict]]]:
    seen: list[dict] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[dict]]]:
    yield from _serve()


@pytest.fixture
def tls_recorder(tmp_path) -> Iterator[tuple[str, list[dict], str]]:
    """A provider over TLS with a certificate of its own (for 127.0.0.1), and the file of
    that certificate, which no default bundle trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "provider of a test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = tmp_path / "provider.pem", tmp_path / "provider.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert_file, key_file)
    for base, seen in _serve(tls):
        yield base, seen, str(cert_file)


def _client() -> ProviderClient:
    session = ProviderSession()
    session.headers["User-Agent"] = "myschool-portal"
    adapter = DeadlineAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return ProviderClient(session)


def test_a_call_goes_out_as_requests_would_send_it(recorder, monkeypatch):
    base, seen = recorder
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    client = _client()
    answer = client.request("get", f"{base}/rs/prns/1/ctts", timeout=5,
                            params={"embed": "(elements)"},
                            headers={"Authorization": "Bearer t"})  # fmt: skip
    assert answer.status_code == 200 and answer.json() == {"ok": True}
    assert answer.encoding == "utf-8" and answer.headers["content-type"].startswith("application")
    client.request("post", f"{base}/aas/oauth2/v3/te", timeout=5,
                   data={"code": "a b", "state": "ä"})  # fmt: skip
    got, posted = seen
    assert got["method"] == "GET" and got["target"] == "/rs/prns/1/ctts?embed=%28elements%29"
    assert got["headers"]["Authorization"] == "Bearer t"
    assert got["headers"]["User-Agent"] == "myschool-portal"
    assert posted["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert posted["body"] == b"code=a+b&state=%C3%A4"
    # What requests itself would have sent, to the byte.
    plain = requests.Request("POST", f"{base}/t", data={"code": "a b", "state": "ä"}).prepare()
    assert posted["body"] == plain.body.encode()


def test_a_call_goes_through_the_proxy_the_environment_names(recorder, monkeypatch):
    proxy, seen = recorder
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    answer = _client().request("get", "http://esia.example/rs/prns/1", timeout=5)
    assert answer.status_code == 200
    (proxied,) = seen
    assert proxied["target"] == "http://esia.example/rs/prns/1"  # the whole address: a proxy
    assert proxied["headers"]["Host"] == "esia.example"


def test_a_failure_is_named_as_requests_names_it(monkeypatch):
    """The name is what the audit row says: a refused connection is no timeout, a provider
    silent after the connection a read timeout."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with pytest.raises(requests.ConnectionError) as refused:
        _client().request("get", "http://127.0.0.1:9/", timeout=2)  # nothing listens there
    assert type(refused.value) is requests.ConnectionError
    silent = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    try:
        with pytest.raises(requests.ReadTimeout):
            _client().request("get", f"http://127.0.0.1:{silent.getsockname()[1]}/", timeout=0.3)
    finally:
        silent.close()


def test_values_of_none_are_left_out_and_bad_headers_refused(recorder, monkeypatch):
    base, seen = recorder
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    client = _client()
    client.request("get", f"{base}/q", timeout=5, params={"a": "1", "b": None, "c": [None, "2"]})
    assert seen[0]["target"] == "/q?a=1&c=2"
    with pytest.raises(requests.exceptions.InvalidHeader):
        client.request("get", f"{base}/q", timeout=5, headers={"X-A": "1\r\n X-B: 2"})
    assert len(seen) == 1


def test_a_provider_is_trusted_only_by_the_certificates_the_environment_names(
    tls_recorder, monkeypatch
):
    """The calls verify the provider's certificate as requests does: against the bundle
    ``REQUESTS_CA_BUNDLE`` names, and without it against the default one, which does not
    know this provider's."""
    base, seen, certificate = tls_recorder
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(requests.exceptions.SSLError):
        _client().request("get", f"{base}/rs/prns/1", timeout=5)
    assert seen == []  # refused before anything was sent
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certificate)
    answer = _client().request("get", f"{base}/rs/prns/1", timeout=5)
    assert answer.status_code == 200 and seen[0]["target"] == "/rs/prns/1"


@pytest.fixture
def trickler() -> Iterator[str]:
    """A provider that sends its status line and headers a byte every 0.1 s (about 20 s in
    all): each byte well within any socket timeout."""
    server, stop = socket.create_server(("127.0.0.1", 0)), threading.Event()

    def trickle(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n":
                if stop.is_set():
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:  # the portal gave up: so it should
                    return
                time.sleep(0.1)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=trickle, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    server.close()


@pytest.mark.parametrize("through", ["provider's call", "Authlib's session"])
def test_headers_trickled_a_byte_at_a_time_end_at_the_login_deadline(
    trickler, monkeypatch, through
):
    """Each byte comes within the socket's timeout, so only the login's deadline ends the
    wait: a read timeout, at the deadline, not at gunicorn's worker timeout."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    app = Flask(__name__)
    app.config["LOGIN_DEADLINE_SECONDS"] = 1.0
    client = _client()
    with app.test_request_context():
        started = time.monotonic()
        with pytest.raises(requests.ReadTimeout):
            if through == "provider's call":
                client.request("get", f"{trickler}/rs/prns/1", timeout=5)
            else:
                client.session.get(f"{trickler}/rs/prns/1", timeout=5)
        assert time.monotonic() - started < 2.0
