"""An anonymous visitor (or a bot) leaves nothing behind: viewing the chooser, a region's login
page, an error page or a static file creates no server-side session and sets no cookie. A
session starts when there is something to keep: a form about to be posted, a login under way.
A NUL byte in a path value is a clear 400, as in query and form values."""

from __future__ import annotations

import pytest

from app.models import ServerSession


def _session_rows(app) -> int:
    from app.extensions import db

    with app.app_context():
        return db.session.query(ServerSession).count()


@pytest.mark.parametrize(
    ("slug", "path"),
    [
        ("mosreg", "/login"),
        ("moscow", "/login"),
        ("kaluga", "/"),
        ("kaluga", "/no-such-page"),
        ("tatarstan", "/branding.css"),
        ("tatarstan", "/diary/"),  # a redirect to the login page
    ],
)
def test_an_anonymous_page_view_keeps_no_session(app, region_client, slug, path):
    before = _session_rows(app)
    response = region_client(slug).get(path)
    assert response.status_code in (200, 302, 404)
    assert "Set-Cookie" not in response.headers
    assert _session_rows(app) == before


def test_the_chooser_keeps_no_session(app, region_client):
    response = region_client("x", host="localhost").get("/", query_string={"q": "Калуга"})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_a_page_with_a_form_to_post_starts_a_session(region_client):
    response = region_client("kaluga").get("/login/password")
    assert 'name="csrf_token"' in response.get_data(as_text=True)
    assert "Set-Cookie" in response.headers


def test_a_signed_in_page_still_gives_htmx_its_csrf_header(region_client):
    client = region_client("kaluga")
    client.get("/login/password")  # a session now exists
    page = client.get("/login/password").get_data(as_text=True)
    assert "hx-headers=" in page and "X-CSRFToken" in page


def test_a_nul_byte_in_a_path_value_is_a_clear_400(region_client):
    response = region_client("mosreg").get("/branding/logo/a%00.svg")
    assert response.status_code == 400


def test_a_page_behind_the_login_says_why_without_a_session(region_client):
    client = region_client("tatarstan")
    response = client.get("/diary/", follow_redirects=True)
    assert "Войдите, чтобы открыть эту страницу." in response.get_data(as_text=True)
    assert all("Set-Cookie" not in r.headers for r in [*response.history, response])
