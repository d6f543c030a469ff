"""Every form and callback, fed arbitrary input: a clear answer, never a 500."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import limiter

text = st.text(max_size=300)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def token_of(client, path, base):
    page = client.get(path, base_url=base).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@FUZZ
@given(login=text, password=text)
def test_password_login_form(app, login, password):
    with app.app_context():
        limiter.reset()  # each example is a first attempt, so the form itself answers
    client = app.test_client()
    base = "http://kaluga.localhost/"
    token = token_of(client, "/login/password", base)
    response = client.post("/login/password", base_url=base,
                           data={"csrf_token": token, "login": login, "password": password})  # fmt: skip
    if "\x00" in login + password:
        assert response.status_code == 400  # refused before it reaches the database
    else:
        assert response.status_code == 200
        assert "Неверный логин или пароль" in response.get_data(as_text=True)


@FUZZ
@given(
    args=st.dictionaries(
        st.sampled_from(["code", "state", "error", "error_description", "x"]), text
    )
)
def test_esia_callback(client, args):
    response = client.get(
        "/login/esia/callback", query_string=args, base_url="http://mosreg.localhost/"
    )
    if any("\x00" in key + value for key, value in args.items()):
        assert response.status_code == 400
        return
    assert response.status_code in (302, 503)
    if response.status_code == 302:
        assert response.location == "/login"


@FUZZ
@given(q=text)
def test_region_chooser_filter(client, q):
    response = client.get("/", query_string={"q": q}, headers={"HX-Request": "true"})
    assert response.status_code == (400 if "\x00" in q else 200)


@FUZZ
@given(password=text, again=text)
def test_password_change_form_without_a_pending_change(client, password, again):
    base = "http://tatarstan.localhost/"
    token = token_of(client, "/login/password", base)
    response = client.post("/login/password/change", base_url=base,
                           data={"csrf_token": token, "password": password, "password_again": again})  # fmt: skip
    assert response.status_code == (400 if "\x00" in password + again else 302)
