"""The kept pages of visitors without a session (app/page_cache.py): rendered once, and never
the wrong one: another region's version, language, look, address or provider state each make
their own page, and a visitor with a session is always rendered for."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import template_rendered

from app import create_app
from app.extensions import db
from app.identity import availability
from app.kept import Kept
from app.models import User
from app.tenants import versions
from app.tenants.schema import TenantConfig
from tests.conftest import test_environ


@contextmanager
def renders(app):
    """The names of the templates ``app`` renders meanwhile."""
    names: list[str] = []

    def rendered(sender, template, context, **extra):
        names.append(template.name)

    template_rendered.connect(rendered, app)
    try:
        yield names
    finally:
        template_rendered.disconnect(rendered, app)


def save_elsewhere(database_uri: str, slug: str, change) -> None:
    """Another worker (its own app on the same database) saves a new version of the region."""
    other = create_app(test_environ(database_uri), {"TESTING": True})
    with other.app_context():
        author = User(tenant=slug, issuer="urn:test", subject="page-cache-admin",
                      display_name="Тестов Админ", surname_key="тестов")  # fmt: skip
        db.session.add(author)
        db.session.commit()
        base, source = versions.at(slug)
        raw = versions.dump(source)
        change(raw)
        config = TenantConfig.model_validate(raw, context={"static_dir": Path(other.static_folder)})
        versions.save(slug, config, base=base, author=author, comment="Проверка кеша страниц")
        db.engine.dispose()


@pytest.fixture
def kaluga(app, region_client):
    app.config["TENANT_REFRESH_SECONDS"] = 0  # every request asks for the regions' versions
    return region_client("kaluga")


def test_a_visitor_without_a_session_gets_the_page_rendered_once(app, kaluga):
    with renders(app) as names:
        first = kaluga.get("/login")
        again = kaluga.get("/login")
    assert first.status_code == again.status_code == 200
    assert names == ["auth/login.html"]
    assert again.get_data() == first.get_data()
    # The response around it is made anew: its headers are as before.
    assert again.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
    assert "Accept-Language" in again.headers["Vary"] and "Cookie" in again.headers["Vary"]


def test_a_kept_page_makes_none_of_its_values_again(app, kaluga, client, monkeypatch):
    """The chooser's rows and a login page's methods are made for the rendering alone: a kept
    page is served without them."""
    from app.blueprints.auth import routes as auth_routes
    from app.blueprints.portal import routes as portal_routes

    made: list[str] = []

    def counted(name, function):
        def wrapper(*args, **kwargs):
            made.append(name)
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(portal_routes, "region_rows", counted("rows", portal_routes.region_rows))
    monkeypatch.setattr(
        auth_routes, "offered_methods", counted("methods", auth_routes.offered_methods)
    )
    for _ in range(3):
        assert kaluga.get("/login").status_code == 200
        assert "Калужская" in client.get("/?q=калуж").get_data(as_text=True)
    assert sorted(made) == ["methods", "rows"]


def test_another_workers_save_is_shown_on_the_next_view(app, kaluga, database_uri):
    assert "Калужская школа проверки кеша" not in kaluga.get("/login").get_data(as_text=True)

    def rename(raw):
        raw["branding"]["full_name"] = "Калужская школа проверки кеша"

    save_elsewhere(database_uri, "kaluga", rename)
    assert "Калужская школа проверки кеша" in kaluga.get("/login").get_data(as_text=True)


def test_a_version_name_that_comes_back_with_other_settings_is_a_new_page(app, kaluga):
    """A region's versions removed (or the database restored) and saved again: "v1" names
    other settings than the page kept under it."""
    assert "Школа под прежним номером" not in kaluga.get("/login").get_data(as_text=True)
    registry = app.extensions["tenants"]
    served = registry.get("kaluga")
    raw = versions.dump(served.config)
    raw["branding"]["full_name"] = "Школа под прежним номером"
    config = TenantConfig.model_validate(raw, context={"static_dir": Path(app.static_folder)})
    registry.replace("kaluga", config, served.version)
    assert "Школа под прежним номером" in kaluga.get("/login").get_data(as_text=True)


def test_language_look_address_and_a_failed_provider_each_make_their_own_page(
    app, kaluga, region_client
):
    russian = kaluga.get("/login").get_data(as_text=True)
    english = kaluga.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="ru"' in russian and '<html lang="en"' in english
    assert kaluga.get("/login").get_data(as_text=True) == russian  # the Russian page is kept

    kaluga.set_cookie("vision", "on", domain="kaluga.localhost")
    assert 'class="low-vision"' in kaluga.get("/login").get_data(as_text=True)
    kaluga.delete_cookie("vision", domain="kaluga.localhost")
    assert 'class="low-vision"' not in kaluga.get("/login").get_data(as_text=True)

    asked = kaluga.get("/login?next=/diary/").get_data(as_text=True)
    assert "Войдите, чтобы открыть эту страницу." in asked
    assert "Войдите, чтобы открыть эту страницу." not in kaluga.get("/login").get_data(as_text=True)

    with app.test_request_context(base_url="http://kaluga.localhost/"):
        app.preprocess_request()
        from flask import g

        availability.provider_failed(g.tenant, "esia")
    down = kaluga.get("/login").get_data(as_text=True)
    assert 'id="down-esia"' in down
    # Another region's page is its own too.
    assert 'id="down-esia"' not in region_client("mosreg").get("/login").get_data(as_text=True)


def test_a_visitor_with_a_session_is_rendered_for_and_never_kept(app, kaluga, region_client):
    kaluga.get("/login")  # the anonymous page is kept
    with kaluga.session_transaction(base_url=kaluga.host_url) as session:
        session["_flashes"] = [("info", "Сообщение только для этого посетителя")]
    with renders(app) as names:
        own = kaluga.get("/login").get_data(as_text=True)
        other = region_client("kaluga").get("/login").get_data(as_text=True)
    assert "Сообщение только для этого посетителя" in own
    assert "Сообщение только для этого посетителя" not in other
    assert names == ["auth/login.html"]  # the visitor with a session; the other's was kept


def test_the_chooser_follows_the_regions_and_keeps_its_partial_apart(app, client, database_uri):
    app.config["TENANT_REFRESH_SECONDS"] = 0
    page = client.get("/").get_data(as_text=True)
    partial = client.get("/?q=кал", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" in page and "<html" not in partial
    assert client.get("/?q=кал").get_data(as_text=True).startswith("<!doctype html>")

    def rename(raw):
        raw["name"] = "Калужская область (проверка кеша)"

    save_elsewhere(database_uri, "kaluga", rename)
    assert "Калужская область (проверка кеша)" in client.get("/").get_data(as_text=True)


def test_a_flood_of_addresses_keeps_only_the_most_recent_pages(app, kaluga):
    pages = app.extensions["page_cache"]
    pages.size = 5
    for number in range(12):
        kaluga.get(f"/login?next=/diary/{number}")
    assert len(pages) == 5


def test_an_address_with_a_long_query_is_rendered_and_not_kept(app, kaluga):
    pages = app.extensions["page_cache"]
    long_next = "/diary/?" + "x" * 300
    with renders(app) as names:
        first = kaluga.get("/login", query_string={"next": long_next})
        again = kaluga.get("/login", query_string={"next": long_next})
    assert first.status_code == again.status_code == 200
    assert names == ["auth/login.html", "auth/login.html"]
    assert len(pages) == 0


def test_the_cache_drops_the_least_recently_used_first():
    pages = Kept(size=2)
    pages.put("a", "A")
    pages.put("b", "B")
    assert pages.get("a") == "A"  # now the most recent
    pages.put("c", "C")
    assert (pages.get("a"), pages.get("b"), pages.get("c")) == ("A", None, "C")
