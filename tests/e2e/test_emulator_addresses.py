"""The emulator at two addresses (the development stack, deploy/compose.dev.yaml): people are
sent to the address their browser reaches, the portal calls the one its own network reaches.

Here the browser's address does not resolve at all (``.invalid``), so a login that ends in the
diary proves that the portal's own calls went to the other one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from app import create_app
from app.settings import PROJECT_ROOT, SettingsError, from_environ
from idp_emulator import clients_from_regions
from tests.conftest import test_environ

BROWSER_URL = "http://idp.invalid:8443"


@pytest.fixture
def split_portal(live, database_uri):
    """A second portal on the live one's database, calling the live emulator directly while
    sending people to ``BROWSER_URL``."""
    app = create_app(test_environ(database_uri, IDP_EMULATOR_URL=BROWSER_URL,
                                  IDP_EMULATOR_BACKCHANNEL_URL=live.emulator_url))  # fmt: skip
    return app


def _as_browser(url: str, live) -> str:
    """What the browser's own name resolution would do: BROWSER_URL is the live emulator."""
    return url.replace(BROWSER_URL, live.emulator_url, 1)


def test_an_esia_login_goes_to_the_browser_address_and_calls_the_other(live, split_portal):
    base = f"http://mosreg.localhost:{live.portal_port}"
    client = split_portal.test_client()
    start = client.get("/login/esia", base_url=base)
    assert start.status_code == 302
    assert start.location.startswith(f"{BROWSER_URL}/aas/oauth2/v2/ac?")
    policy = dict(
        d.strip().split(" ", 1) for d in start.headers["Content-Security-Policy"].split(";")
    )
    assert BROWSER_URL in policy["form-action"].split()  # logout ends there
    assert live.emulator_url not in policy["form-action"]

    person = requests.Session()
    picker = person.get(_as_browser(start.location, live), timeout=10)
    answer = person.post(picker.url, data={"persona": "P1"}, allow_redirects=False, timeout=10)
    if "/rights/" in answer.headers["Location"]:
        rights = requests.compat.urljoin(picker.url, answer.headers["Location"])
        answer = person.post(rights, data={"decision": "grant"}, allow_redirects=False)
    callback = urlsplit(answer.headers["Location"])
    assert f"{callback.scheme}://{callback.netloc}" == base
    done = client.get(f"{callback.path}?{callback.query}", base_url=base)
    assert done.status_code == 302 and "/login" not in done.location, done.location
    diary = client.get(done.location, base_url=base, follow_redirects=True)
    assert diary.request.path == "/diary/"
    assert "Образцов Михаил Андреевич" in diary.get_data(as_text=True)


def test_mos_ru_is_sent_to_the_browser_address_too(live, split_portal):
    client = split_portal.test_client()
    start = client.get("/login/oidc", base_url=f"http://moscow.localhost:{live.portal_port}")
    assert start.status_code == 302
    assert start.location.startswith(f"{BROWSER_URL}/sps/oauth/ae?")


def test_the_emulator_registers_https_callbacks_behind_the_stack(esia_env):
    regions = PROJECT_ROOT / "config" / "regions.yaml"
    clients = clients_from_regions(regions, esia_env, 8443, "https")
    uris = {uri for client in clients.values() for uri in client.redirect_uris}
    assert "https://mosreg.localhost:8443/login/esia/callback" in uris
    assert "http://mosreg.localhost:8443/login/esia/callback" not in uris


def test_production_refuses_either_emulator_address(tmp_path):
    environ = {"PORTAL_ENV": "production", "SECRET_KEY": "p" * 40,
               "IDP_EMULATOR_BACKCHANNEL_URL": "http://emulator:8000"}  # fmt: skip
    with pytest.raises(SettingsError, match="never production"):
        from_environ(environ, tmp_path)
