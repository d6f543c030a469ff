"""A region's login page offers its methods in the configured order, only those implemented."""

from __future__ import annotations

import re

import pytest
import yaml
from flask import redirect

from app import create_app, identity
from app.identity import IdentityProvider
from app.settings import PROJECT_ROOT
from tests.conftest import test_environ


def _provider(kind_name: str) -> type[IdentityProvider]:
    class Provider(IdentityProvider):
        kind = kind_name

        def start_login(self):
            return redirect(f"https://idp.example/{self.tenant.slug}/{self.kind}")

        def finish_login(self, args):
            raise NotImplementedError("these tests only start logins")

    return Provider


@pytest.fixture
def implemented(monkeypatch):
    """Make the given kinds count as implemented for one test."""

    def make(*kinds: str) -> None:
        providers = {kind: _provider(kind) for kind in kinds}
        monkeypatch.setattr(identity.base, "_PROVIDERS", providers)

    return make


def methods_on_page(body: str) -> list[str]:
    return re.findall(r'class="button method method-(\w+)" href="[^"]+">([^<]+)</a>', body)


def test_methods_in_configured_order_with_the_seeds_labels(region_client, implemented):
    implemented("esia", "password", "oidc")
    body = region_client("mosreg").get("/login").get_data(as_text=True)
    assert methods_on_page(body) == [("esia", "Госуслуги"), ("password", "Вход по логину")]
    body = region_client("moscow").get("/login").get_data(as_text=True)
    assert methods_on_page(body) == [("oidc", "mos.ru")]


def test_order_follows_the_configuration(database_uri, tmp_path, implemented):
    implemented("esia", "password")
    raw = yaml.safe_load((PROJECT_ROOT / "config" / "regions.yaml").read_text(encoding="utf-8"))
    raw["regions"]["kaluga"]["login_methods"] = ["password", "esia"]
    regions_file = tmp_path / "regions.yaml"
    regions_file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    app = create_app(test_environ(database_uri, REGIONS_FILE=str(regions_file)))
    body = (
        app.test_client().get("/login", base_url="http://kaluga.localhost/").get_data(as_text=True)
    )
    assert methods_on_page(body) == [("password", "Вход по логину"), ("esia", "Госуслуги")]


def test_methods_without_an_implementation_are_not_shown(region_client, implemented):
    implemented("password")
    body = region_client("tatarstan").get("/login").get_data(as_text=True)
    assert methods_on_page(body) == [("password", "Вход по логину")]
    assert "Госуслуги" not in body


def test_no_method_implemented_points_to_support(region_client, implemented):
    implemented()
    body = region_client("kaluga").get("/login").get_data(as_text=True)
    assert methods_on_page(body) == []
    assert "Вход временно недоступен" in body
    assert "+7 (800) 000-00-40" in body


def test_start_runs_the_regions_provider(region_client, implemented):
    implemented("esia", "password")
    response = region_client("tatarstan").get("/login/esia")
    assert response.status_code == 302
    assert response.location == "https://idp.example/tatarstan/esia"


@pytest.mark.parametrize(
    ("slug", "kind"), [("moscow", "esia"), ("moscow", "password"), ("mosreg", "oidc")]
)
def test_a_method_the_region_does_not_offer_is_404(region_client, implemented, slug, kind):
    implemented("esia", "password", "oidc")
    assert region_client(slug).get(f"/login/{kind}").status_code == 404
