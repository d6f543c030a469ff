"""«Версия для слабовидящих»: a plain link on every page switches it, a long-lived cookie of
the host remembers it, the same link switches it back, and the switch only ever returns to a
path on this host."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import pytest

from app import create_app
from tests.conftest import test_environ

SWITCH_ON = "Версия для слабовидящих"
SWITCH_OFF = "Обычная версия"
SWITCH_RE = re.compile(r'<a class="vision-toggle" href="([^"]+)">([^<]+)</a>')


def switch_on_page(body: str) -> tuple[str, str]:
    found = SWITCH_RE.search(body)
    assert found, "the page has the switch"
    return found[1].replace("&amp;", "&"), found[2]


def set_cookies(response) -> dict[str, SimpleCookie]:
    cookies = {}
    for header in response.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        cookies.update({name: cookie for name in cookie})
    return cookies


@pytest.mark.parametrize(
    ("host", "path"),
    [
        ("mosreg.localhost", "/login"),
        ("kaluga.localhost", "/login/password"),
        ("moscow.localhost", "/no-such-page"),
        ("localhost", "/"),
    ],
)
def test_every_page_offers_the_switch_back_to_itself(region_client, host, path):
    response = region_client("x", host=host).get(path)
    href, words = switch_on_page(response.get_data(as_text=True))
    assert words == SWITCH_ON
    assert href.startswith("/low-vision/on?next=")
    back = region_client("x", host=host).get(href)
    assert back.status_code == 302
    assert back.location == path


def test_switched_on_it_is_remembered_and_switched_back(region_client):
    client = region_client("tatarstan")
    response = client.get("/low-vision/on?next=/login")
    assert response.status_code == 302 and response.location == "/login"
    cookie = set_cookies(response)["vision"]["vision"]
    assert cookie.value == "on"
    assert int(cookie["max-age"]) >= 365 * 24 * 3600
    assert cookie["path"] == "/" and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert "session" not in set_cookies(response)  # an anonymous visitor keeps no session
    assert response.headers["Cache-Control"] == "no-store"

    for path in ("/login", "/login/password", "/no-such-page"):  # remembered on every page
        body = client.get(path).get_data(as_text=True)
        assert '<html lang="ru" class="low-vision">' in body
        href, words = switch_on_page(body)
        assert words == SWITCH_OFF and href.startswith("/low-vision/off?next=")

    off = client.get("/low-vision/off?next=/login")
    assert off.status_code == 302 and off.location == "/login"
    assert int(set_cookies(off)["vision"]["vision"]["max-age"]) == 0
    body = client.get("/login").get_data(as_text=True)
    assert 'class="low-vision"' not in body
    assert switch_on_page(body)[1] == SWITCH_ON


def test_the_switch_keeps_the_query_of_the_page(region_client):
    client = region_client("x", host="localhost")
    href, _ = switch_on_page(client.get("/?q=Татар").get_data(as_text=True))
    assert client.get(href).location == "/?q=%D0%A2%D0%B0%D1%82%D0%B0%D1%80"


@pytest.mark.parametrize(
    "hostile",
    [
        "//evil.example",
        "//evil.example/login",
        "https://evil.example",
        "http://evil.example/login",
        "javascript:alert(1)",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/login\r\nSet-Cookie: x=1",
        "evil.example",
        "",
    ],
)
def test_the_switch_never_leads_off_the_host(region_client, hostile):
    response = region_client("mosreg").get("/low-vision/on", query_string={"next": hostile})
    assert response.status_code == 302
    assert response.location == "/"
    assert "\n" not in response.headers["Location"]


def test_an_unknown_state_is_not_found(region_client):
    assert region_client("mosreg").get("/low-vision/maybe?next=/login").status_code == 404


def test_over_https_the_cookie_is_a_secure_host_cookie(database_uri):
    app = create_app(test_environ(database_uri, PORTAL_HTTPS="1"), {"TESTING": True})
    client = app.test_client()
    response = client.get("/low-vision/on?next=/login", base_url="https://kaluga.localhost/")
    cookie = set_cookies(response)["__Host-vision"]["__Host-vision"]
    assert cookie["secure"] and cookie["path"] == "/" and not cookie["domain"]
    body = client.get("/login", base_url="https://kaluga.localhost/").get_data(as_text=True)
    assert 'class="low-vision"' in body


def test_pages_say_they_vary_by_cookie(client):
    page = client.get("/", base_url="http://localhost:8000/")
    assert page.mimetype == "text/html" and "Cookie" in page.headers["Vary"]
