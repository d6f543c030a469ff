"""A fifth region added by configuration alone, whose provider nobody here wrote: panva's
oidc-provider from the npm registry (tests/oidc_provider/, pinned by its package-lock).
A person logs in there and reaches our access decision — with the provider configured
plainly, and strictly (an issuer with a path, ES256 keys only, PKCE required, pairwise
subjects)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
import yaml
from sqlalchemy import select
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from app.models import User
from app.schools.registry import import_text
from app.settings import PROJECT_ROOT
from tests.conftest import test_environ

PROVIDER_DIR = Path(__file__).resolve().parents[1] / "oidc_provider"
CLIENT_ID, SECRET = "fifth-region", "secret-of-the-fifth-region"

REGISTRY = "\n".join([
    '{"type": "school", "key": "s5", "full_name": "МБОУ «Школа № 5 (демо)»", "short_name": "Школа № 5"}',
    '{"type": "class", "school": "s5", "name": "2А"}',
    '{"type": "person", "key": "mum", "last_name": "Пятёркина", "first_name": "Инна", "middle_name": "Олеговна", "email": "inna.pyaterkina@example.test", "phone": "8 917 000 05 05"}',
    '{"type": "person", "key": "kid", "last_name": "Пятёркин", "first_name": "Саша", "birth_date": "2018-03-03"}',
    '{"type": "enrolment", "person": "kid", "school": "s5", "class": "2А"}',
    '{"type": "guardian", "guardian": "mum", "student": "kid"}',
])  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        message = "Node.js and npm are needed to run the independent OpenID provider"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, check=True,  # noqa: S603
                       capture_output=True, timeout=300)  # fmt: skip
    return node


@pytest.fixture(scope="module", params=["plain", "strict"])
def fifth_region(request, database_uri, tmp_path_factory):
    node = require_node()
    strict = request.param == "strict"
    portal_port, op_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{op_port}" + ("/op" if strict else "")
    callback = f"http://fifth.localhost:{portal_port}/login/oidc/callback"
    op = subprocess.Popen(  # noqa: S603
        [node, "server.mjs", str(op_port), CLIENT_ID, SECRET, callback, request.param],
        cwd=PROVIDER_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    else:
        op.kill()
        pytest.fail("the OpenID provider did not start: " + (op.stdout.read() if op.stdout else ""))

    raw = yaml.safe_load((PROJECT_ROOT / "config" / "regions.yaml").read_text(encoding="utf-8"))
    raw["regions"]["fifth"] = {
        "name": "Пятый регион (тест)",
        "hosts": ["school.fifth-region.example"],
        "identity_provider": {
            "kind": "oidc", "issuer": issuer,
            "discovery_url": f"{issuer}/.well-known/openid-configuration",
            "client_id": CLIENT_ID, "client_secret_env": "FIFTH_OIDC_CLIENT_SECRET",
            "scopes": ["openid", "email", "phone", "profile"],
            **({"id_token_algorithms": ["ES256"]} if strict else {}),
        },
        "login_methods": [{"kind": "oidc", "label": "Вход через региональный OpenID"}],
        "branding": {**raw["regions"]["moscow"]["branding"], "full_name": "Моя школа — Пятый регион",
                     "short_name": "Моя школа 5"},
        "policy": {"match_fields": ["email", "phone"]},
    }  # fmt: skip
    regions = tmp_path_factory.mktemp("fifth") / "regions.yaml"
    regions.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    app = create_app(test_environ(database_uri, REGIONS_FILE=str(regions)))
    server = make_server("127.0.0.1", portal_port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["FIFTH_OIDC_CLIENT_SECRET"] = SECRET
    try:
        yield app, f"http://fifth.localhost:{portal_port}", strict
    finally:
        with app.app_context():
            for table in reversed(db.metadata.sorted_tables):
                db.session.execute(table.delete())
            db.session.commit()
        del os.environ["FIFTH_OIDC_CLIENT_SECRET"]
        server.shutdown()
        op.terminate()
        op.wait(timeout=10)


def submit_form(http: requests.Session, page: requests.Response, **fields) -> requests.Response:
    action = re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1)
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    return http.post(action, data={**hidden, **fields}, timeout=10)


def test_a_region_added_by_configuration_logs_in_through_a_real_provider(
    fifth_region, localhost_subdomains
):
    app, portal, strict = fifth_region
    with app.app_context():
        import_text("fifth", REGISTRY, "jsonl")
    http = requests.Session()
    login_page = http.get(f"{portal}/login", timeout=10)
    assert "Вход через региональный OpenID" in login_page.text
    page = http.get(f"{portal}/login/oidc", timeout=10)  # to the provider's login form
    assert 'name="login"' in page.text
    page = submit_form(http, page, login="parent-5", password="any")
    page = submit_form(http, page)  # the provider's consent
    # Back at the portal: authenticated, and the access decision asks for first-login consent.
    assert page.url == f"{portal}/access/"
    assert "Согласие на обработку персональных данных" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    page = http.post(f"{portal}/access/consent", data={"csrf_token": token}, timeout=10)
    assert page.url == f"{portal}/diary/"
    assert "Пятёркин Саша" in page.text
    with app.app_context():
        user = db.session.scalars(select(User).filter_by(tenant="fifth")).one()
    if strict:  # pairwise: the provider gave us our own subject, not its account id
        assert user.subject != "parent-5" and re.fullmatch(r"[0-9a-f]{64}", user.subject)
        assert user.issuer.endswith("/op")
    else:
        assert user.subject == "parent-5"
