"""Which language a page is in (app/i18n.py): the visitor's choice, remembered in a cookie of
the host and switched by plain links (no JavaScript, no session); otherwise the browser's
``Accept-Language``; otherwise the region's first language. Only a language the region
offers is ever served. These are HTTP tests, so every one of them runs with JavaScript off."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from app import i18n
from app.models import ServerSession


def lang_of(response) -> str:
    return re.search(r'<html lang="([a-z]+)"', response.get_data(as_text=True))[1]


def switch_of(response) -> dict[str, str]:
    """The language switch as the page shows it: each language's code → its link, or
    "current" for the page's own."""
    html = response.get_data(as_text=True)
    nav = re.search(r'<nav class="language-switch".*?</nav>', html, re.S)
    if nav is None:
        return {}
    links = dict(re.findall(r'<a href="([^"]+)" lang="([a-z]+)" hreflang="\2"', nav[0]))
    links = {code: url.replace("&amp;", "&") for url, code in links.items()}
    current = re.findall(r'<span lang="([a-z]+)" aria-current="true"', nav[0])
    return links | {code: "current" for code in current}


def test_a_first_visit_without_accept_language_is_in_the_regions_first_language(region_client):
    response = region_client("tatarstan").get("/login")
    assert lang_of(response) == "ru"


@pytest.mark.parametrize(
    ("slug", "header", "expected"),
    [
        ("tatarstan", "tt", "tt"),
        ("tatarstan", "en", "en"),
        ("tatarstan", "en-US,en;q=0.9", "en"),  # a regional variant finds its language
        ("tatarstan", "tt-RU, ru;q=0.8", "tt"),
        ("tatarstan", "de, fr;q=0.5", "ru"),  # nothing offered: the region's first
        ("mosreg", "tt", "ru"),  # Tatar is Tatarstan's: Moscow Oblast does not offer it
        ("mosreg", "tt, en;q=0.5", "en"),
        ("mosreg", "ru;q=0.3, en;q=0.9", "en"),
        ("kaluga", "*", "ru"),
    ],
)
def test_accept_language_chooses_among_the_regions_languages(region_client, slug, header, expected):
    response = region_client(slug).get("/login", headers={"Accept-Language": header})
    assert response.status_code == 200
    assert lang_of(response) == expected


def test_every_page_carries_the_switch_with_the_regions_languages(region_client):
    response = region_client("tatarstan").get("/login")
    switch = switch_of(response)
    assert set(switch) == {"ru", "tt", "en"}
    assert switch["ru"] == "current"
    assert switch["tt"].startswith("/language/tt?next=")
    assert set(switch_of(region_client("mosreg").get("/login"))) == {"ru", "en"}
    # each language is named in itself, whatever the page's language
    html = response.get_data(as_text=True)
    assert ">Татарча</a>" in html and ">English</a>" in html


def test_the_switch_is_remembered_without_a_session_and_beats_accept_language(app, region_client):
    client = region_client("tatarstan")
    with app.app_context():
        from app.extensions import db

        sessions_before = db.session.query(ServerSession).count()
    switched = client.get("/language/tt", query_string={"next": "/login?x=1"})
    assert switched.status_code == 302
    assert switched.headers["Location"] == "/login?x=1"
    cookie = switched.headers["Set-Cookie"]
    assert cookie.startswith("lang=tt;")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=31536000" in cookie
    assert "no-store" in switched.headers["Cache-Control"]
    assert len(switched.headers.getlist("Set-Cookie")) == 1  # no session cookie
    # the next pages, whatever the browser asks for, are in the chosen language
    page = client.get("/login", headers={"Accept-Language": "en"})
    assert lang_of(page) == "tt"
    assert switch_of(page)["tt"] == "current"
    with app.app_context():
        from app.extensions import db

        assert db.session.query(ServerSession).count() == sessions_before


def test_switching_back_to_russian(region_client):
    client = region_client("tatarstan")
    client.get("/language/en", query_string={"next": "/login"})
    assert lang_of(client.get("/login")) == "en"
    client.get("/language/ru", query_string={"next": "/login"})
    assert lang_of(client.get("/login", headers={"Accept-Language": "en"})) == "ru"


def test_a_language_the_region_does_not_offer_is_not_kept(region_client):
    client = region_client("mosreg")
    response = client.get("/language/tt", query_string={"next": "/login"})
    assert response.status_code == 302
    assert "Set-Cookie" not in response.headers
    # nor is one set by hand, or by another region's host
    client.set_cookie("lang", "tt", domain="mosreg.localhost")
    assert lang_of(client.get("/login")) == "ru"
    client.set_cookie("lang", "<script>", domain="mosreg.localhost")
    assert lang_of(client.get("/login")) == "ru"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", ""],
)
def test_the_switch_goes_back_only_to_a_page_of_this_host(region_client, target):
    response = region_client("tatarstan").get("/language/en", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_a_page_says_its_words_depend_on_the_cookie_and_accept_language(region_client):
    response = region_client("kaluga").get("/login")
    assert {"Accept-Language", "Cookie"} <= set(response.vary)


def test_the_chooser_offers_every_language_some_region_offers(region_client):
    response = region_client("x", host="localhost").get("/", headers={"Accept-Language": "tt"})
    assert lang_of(response) == "tt"
    assert set(switch_of(response)) == {"ru", "tt", "en"}


def test_a_language_is_named_in_itself_by_the_switch():
    assert i18n.LANGUAGES == {"ru": "Русский", "tt": "Татарча", "en": "English"}


@pytest.mark.parametrize(
    ("header", "day", "moment"),
    [
        ("ru", "23.11.2026", "23 ноября 2026, 17:05"),
        ("en", "23 Nov 2026", "23 November 2026, 17:05"),
        ("tt", "23.11.2026", "23 ноябрь 2026, 17:05"),
    ],
)
def test_dates_are_written_by_babel_in_the_pages_language_and_the_regions_zone(
    app, header, day, moment
):
    from app.wording import local_time

    with app.test_request_context(
        "/", base_url="http://tatarstan.localhost", headers={"Accept-Language": header}
    ):
        app.preprocess_request()  # binds the region
        assert i18n.day(date(2026, 11, 23)) == day
        assert local_time(datetime(2026, 11, 23, 14, 5, tzinfo=UTC)) == moment  # Moscow, +3


def test_what_is_stored_is_worded_in_russian_whatever_the_pages_language(app):
    from app.i18n import force_language, gettext, lazy_gettext

    with app.test_request_context(
        "/", base_url="http://tatarstan.localhost", headers={"Accept-Language": "en"}
    ):
        app.preprocess_request()
        assert gettext("Выйти") == "Sign out"
        with force_language("ru"):
            assert gettext("Выйти") == "Выйти" and str(lazy_gettext("Выйти")) == "Выйти"
            assert i18n.current() == "ru"
        assert gettext("Выйти") == "Sign out" and i18n.current() == "en"
