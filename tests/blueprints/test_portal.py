"""The apex chooser, the region home, branding per region, and the htmx pattern."""

from __future__ import annotations

import re

import pytest
import yaml

from app.settings import PROJECT_ROOT

BASELINE = yaml.safe_load((PROJECT_ROOT / "config" / "regions.yaml").read_text(encoding="utf-8"))
SEED_CHOOSER_TEXT = (
    "Выберите из списка регион, в котором расположена ваша образовательная организация. "
    "Перейдите по указанной рядом ссылке."
)


def test_apex_shows_the_seeds_region_chooser(client):
    response = client.get("/", base_url="http://localhost:8000/")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert SEED_CHOOSER_TEXT in body
    assert '<th scope="col">Регион</th>' in body
    assert "Адрес страницы единой авторизации" in body
    links = re.findall(r'<tr><td>([^<]+)</td><td><a href="([^"]+)">', body)
    assert links == [
        ("Московская область", "http://mosreg.localhost:8000/"),
        ("Калуга и Калужская область", "http://kaluga.localhost:8000/"),
        ("Республика Татарстан", "http://tatarstan.localhost:8000/"),
        ("Москва", "http://moscow.localhost:8000/"),
    ]


def test_production_apex_links_production_hosts(region_client):
    body = region_client("x", host="myschool.edu.ru").get("/").get_data(as_text=True)
    assert '<a href="https://myschool.mosreg.ru/">https://myschool.mosreg.ru</a>' in body
    assert '<a href="https://education.admoblkaluga.ru/">' in body


def test_chooser_filter_without_javascript_returns_the_whole_page(client):
    response = client.get("/?q=калуга")
    body = response.get_data(as_text=True)
    assert body.startswith("<!doctype html>")
    assert "Калуга и Калужская область" in body
    assert "Республика Татарстан" not in body
    assert 'value="калуга"' in body
    assert "HX-Request" in response.headers["Vary"]


def test_chooser_filter_with_htmx_returns_the_partial(client):
    response = client.get("/?q=  МОСК ", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert body.startswith('<div id="regions"')
    assert "<html" not in body
    assert "Московская область" in body and "Москва" in body
    assert "Калуга" not in body
    assert "HX-Request" in response.headers["Vary"]


def test_chooser_filter_that_finds_nothing_says_so(client):
    body = client.get("/?q=Атлантида", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Регион «Атлантида» не найден" in body


def test_chooser_filter_too_long_is_a_field_error_not_a_500(client):
    response = client.get("/?q=" + "я" * 200)
    assert response.status_code == 200
    assert "field-error" in response.get_data(as_text=True)


def test_region_root_leads_to_its_login_page(region_client):
    response = region_client("kaluga").get("/")
    assert response.status_code == 302
    assert response.location == "/login"


@pytest.mark.parametrize("slug", ["mosreg", "kaluga", "tatarstan", "moscow"])
def test_every_page_carries_the_region_branding(region_client, slug):
    branding = BASELINE["regions"][slug]["branding"]
    client = region_client(slug)
    body = client.get("/login").get_data(as_text=True)
    assert f"<title>Вход — {branding['short_name']}</title>" in body
    assert branding["full_name"] in body
    assert f'src="/static/{branding["logo"]}"' in body
    assert branding["support"]["phone"] in body
    assert branding["support"]["email"] in body
    assert branding["support"]["hours"] in body
    assert branding["footer_text"] in body
    assert 'href="/branding.css?v=baseline"' in body
    # No other region's name or contacts leak onto this region's page.
    for other, config in BASELINE["regions"].items():
        if other != slug:
            assert config["branding"]["full_name"] not in body
            assert config["branding"]["support"]["email"] not in body

    css = client.get("/branding.css?v=baseline")
    assert css.mimetype == "text/css"
    assert f"--primary: {branding['primary_color']};" in css.get_data(as_text=True)
    assert f"--accent: {branding['accent_color']};" in css.get_data(as_text=True)
    assert css.cache_control.max_age == 86400


def test_branding_stylesheet_of_an_old_version_is_not_cached(region_client):
    css = region_client("mosreg").get("/branding.css?v=old")
    assert css.cache_control.no_cache


def test_region_pages_do_not_exist_on_the_apex(client):
    assert client.get("/login").status_code == 404
    assert client.get("/branding.css").status_code == 404


@pytest.mark.parametrize("slug", ["mosreg", "moscow"])
def test_error_pages_carry_the_region_branding(region_client, slug):
    branding = BASELINE["regions"][slug]["branding"]
    response = region_client(slug).get("/no-such-page")
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Страница не найдена" in body
    assert branding["full_name"] in body
    assert branding["support"]["phone"] in body
    assert 'href="/branding.css?v=baseline"' in body
