"""Host → tenant: every host form a browser or proxy may send, and hosts we do not serve."""

from __future__ import annotations

from pathlib import Path

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from app.tenants import Apex, Tenant, TenantRegistry
from app.tenants.loader import load_file
from app.tenants.registry import normalize_host

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def regions():
    return load_file(ROOT / "config" / "regions.yaml")


@pytest.fixture(scope="module")
def dev(regions):
    return TenantRegistry(regions, dev_hosts=True)


@pytest.fixture(scope="module")
def production(regions):
    return TenantRegistry(regions, dev_hosts=False)


@pytest.mark.parametrize(
    ("host", "slug"),
    [
        ("myschool.mosreg.ru", "mosreg"),
        ("education.admoblkaluga.ru", "kaluga"),
        ("ms-edu.tatar.ru", "tatarstan"),
        ("school.mos.ru", "moscow"),
        ("MySchool.Mosreg.RU", "mosreg"),
        ("myschool.mosreg.ru:443", "mosreg"),
        ("myschool.mosreg.ru.", "mosreg"),
        ("MYSCHOOL.MOSREG.RU.:8443", "mosreg"),
        ("kaluga.localhost", "kaluga"),
        ("kaluga.localhost:8000", "kaluga"),
        ("Tatarstan.LocalHost.:5000", "tatarstan"),
        (" moscow.localhost ", "moscow"),
    ],
)
def test_known_host_forms(dev, host, slug):
    site = dev.resolve(host)
    assert isinstance(site, Tenant)
    assert site.slug == slug


@pytest.mark.parametrize(
    "host", ["myschool.edu.ru", "localhost", "LOCALHOST.:8000", "myschool.edu.ru:443"]
)
def test_apex_hosts(dev, host):
    assert isinstance(dev.resolve(host), Apex)


@pytest.mark.parametrize(
    "host",
    [
        "",
        "evil.example",
        "myschool.mosreg.ru.evil.example",
        "evil-myschool.mosreg.ru",
        "sub.myschool.mosreg.ru",
        "nowhere.localhost",
        "mosreg.localhost.evil.example",
        "127.0.0.1",
        "[::1]:8000",
    ],
)
def test_unknown_hosts_resolve_to_nothing(dev, host):
    assert dev.resolve(host) is None


def test_development_hosts_only_in_development(production):
    assert production.resolve("mosreg.localhost") is None
    assert production.resolve("localhost") is None
    assert production.resolve("myschool.mosreg.ru").slug == "mosreg"
    assert "mosreg.localhost" not in production.trusted_hosts()


def test_trusted_hosts_are_the_registry_hosts(dev):
    assert set(dev.trusted_hosts()) == {
        "myschool.edu.ru", "localhost",
        "myschool.mosreg.ru", "mosreg.localhost",
        "education.admoblkaluga.ru", "kaluga.localhost",
        "ms-edu.tatar.ru", "tatarstan.localhost",
        "school.mos.ru", "moscow.localhost",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [("A.B.", "a.b"), ("a.b:80", "a.b"), ("[::1]:8000", "[::1]"), ("A.B.:80", "a.b")],
)
def test_normalize_host(raw, normalized):
    assert normalize_host(raw) == normalized


def test_login_url_from_development_apex_keeps_the_port(dev):
    kaluga = dev.get("kaluga")
    assert dev.login_url(kaluga, via_host="localhost:8000", scheme="http") == (
        "http://kaluga.localhost:8000/"
    )
    assert dev.login_url(kaluga, via_host="myschool.edu.ru", scheme="https") == (
        "https://education.admoblkaluga.ru/"
    )


def test_resolution_is_a_lookup_not_a_scan(regions):
    """Resolution reads one dict entry: it never iterates over tenants (bench/ measures time)."""
    registry = TenantRegistry(regions, dev_hosts=True)

    class NoScan(dict):
        def __iter__(self):
            raise AssertionError("resolution iterated over the tenants")

        values = items = keys = __iter__

    registry._tenants = NoScan(registry._tenants)
    assert registry.resolve("kaluga.localhost").slug == "kaluga"


@pytest.mark.parametrize(
    ("host", "status"),
    [
        ("MOSREG.LOCALHOST", 302),
        ("mosreg.localhost:8000", 302),
        # Served, written another way: to the one spelling first (308), then as above.
        ("mosreg.localhost.", 308),
        ("Mosreg.Localhost.:8000", 308),
        ("myschool.mosreg.ru", 302),
        ("evil.example", 404),
        ("nowhere.localhost", 404),
    ],
)
def test_host_forms_over_http(region_client, host, status):
    response = region_client("mosreg", host=host).get("/")
    assert response.status_code == status


@pytest.mark.parametrize(
    ("host", "spelling"),
    [("mosreg.localhost:08000", "mosreg.localhost:8000"),
     ("mosreg.localhost:99999", "mosreg.localhost"),
     ("mosreg.localhost:8\u00b2", "mosreg.localhost"),
     ("mosreg.localhost:" + "0" * 5000 + "1", "mosreg.localhost")],
)  # fmt: skip
def test_a_port_written_another_way_goes_to_the_one_spelling(app, host, spelling):
    """No region is served under endless names (which would also fill the kept pages)."""
    environ = EnvironBuilder(path="/login").get_environ()
    environ["HTTP_HOST"] = host  # as sent: the test client would parse it first
    _, status, headers = run_wsgi_app(app, environ)
    assert status.startswith("308")
    assert headers["Location"] == f"http://{spelling}/login"


@pytest.mark.parametrize(
    "host", ["evil.example", "nowhere.localhost", "school.mos.ru.evil.example"]
)
def test_unknown_host_is_a_plain_404_with_no_region_data(region_client, host):
    response = region_client("mosreg", host=host).get("/login")
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Страница не найдена" in body
    for region in ("Московская", "Калуга", "Татарстан", "Москва", "support@", "/static/"):
        assert region not in body
    assert "Content-Security-Policy" in response.headers
