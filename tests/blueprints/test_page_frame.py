"""What every page's frame and the login page carry: the skip link first, the seeds' words
about the platform, the providers' recognisable buttons, and errors tied to their fields."""

from __future__ import annotations

import re

import pytest

# The seeds' words (000: the login page of «Моя школа»; 001: its landing page), verbatim.
PLATFORM = (
    "Для учителей, учеников и родителей. Помогает качественно учить, успешно учиться и "
    "эффективно следить за образовательной деятельностью ребенка в школе. Передовые технологии "
    "делают обучение доступным, предлагая школьникам современные форматы работы"
)
ACCESS = (
    "Единый доступ к образовательным сервисам и цифровым учебным материалам для учеников, "
    "родителей и учителей"
)


def focusable_in_order(body: str) -> list[str]:
    return re.findall(r"<(?:a [^>]*href|button|input(?![^>]*type=\"hidden\")|summary)[^>]*>", body)


@pytest.mark.parametrize(
    ("host", "path"),
    [("kaluga.localhost", "/login"), ("moscow.localhost", "/nowhere"), ("localhost", "/")],
)
def test_the_skip_link_is_the_first_stop_and_leads_to_main(region_client, host, path):
    body = region_client("x", host=host).get(path).get_data(as_text=True)
    first = focusable_in_order(body.split("<body", 1)[1])[0]
    assert first == '<a class="skip-link" href="#main">'
    assert "Перейти к основному содержанию" in body
    assert '<main class="wrap" id="main" tabindex="-1">' in body


@pytest.mark.parametrize("slug", ["mosreg", "kaluga", "tatarstan", "moscow"])
def test_the_login_page_says_what_the_platform_is_in_the_seeds_words(region_client, slug):
    body = region_client(slug).get("/login").get_data(as_text=True)
    assert PLATFORM in body
    assert "Твой доступ к образовательным электронным ресурсам" in body
    assert ACCESS in body


def test_the_providers_buttons_look_like_their_own(region_client):
    mosreg = region_client("mosreg").get("/login").get_data(as_text=True)
    assert re.search(
        r'data-look="gosuslugi" class="button method method-esia"[^>]*>Госуслуги<', mosreg
    )
    assert re.search(r'data-look="plain" class="button method method-password"', mosreg)
    moscow = region_client("moscow").get("/login").get_data(as_text=True)
    assert re.search(r'data-look="mosru" class="button method method-oidc"[^>]*>mos.ru<', moscow)


def test_a_wrong_password_is_tied_to_both_fields(region_client):
    client = region_client("tatarstan")
    page = client.get("/login/password").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    body = client.post(
        "/login/password", data={"csrf_token": token, "login": "nobody", "password": "wrong-1"}
    ).get_data(as_text=True)
    assert '<p class="flash flash-error" id="password-error" role="alert">' in body
    for field in ("login", "password"):
        tag = re.search(rf'<input id="{field}"[^>]*>', body)[0]
        assert 'aria-invalid="true"' in tag and 'aria-describedby="password-error"' in tag
    fresh = client.get("/login/password").get_data(as_text=True)
    assert "aria-invalid" not in fresh


def test_the_region_filter_error_is_tied_to_its_field(client):
    body = client.get("/?q=" + "я" * 70).get_data(as_text=True)
    tag = re.search(r'<input [^>]*id="q"[^>]*>', body)[0]
    assert 'aria-invalid="true"' in tag and 'aria-describedby="q-error"' in tag
    assert re.search(r'<span class="field-error" id="q-error">[^<]+</span>', body)
