"""The forms of signed-in people, fed arbitrary input over HTTP: a clear answer, never a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import limiter

FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
text = st.text(max_size=120).filter(lambda s: "\x00" not in s)
ANSWERS = {200, 302, 400, 404, 409}


@pytest.fixture
def mother(browser):
    b = browser("moscow")
    b.mosru_login("M1")
    return b


@FUZZ
@given(by=text, contact=text, surname=text, children=st.lists(text, max_size=3))
def test_trusted_wizard_steps(mother, live, by, contact, surname, children):
    with live.portal_app.app_context():
        limiter.reset()
    mother.get("/trusted/new")
    assert mother.post("/trusted/new/service", {"service": by}).status_code in ANSWERS
    page = mother.post("/trusted/new/children", {"children": children or [by]})
    assert page.status_code in ANSWERS
    page = mother.post("/trusted/new/invite", {"by": by, "contact": contact, "surname": surname})
    assert page.status_code in ANSWERS


@pytest.fixture
def regional_admin(browser):
    b = browser("kaluga")
    b.esia_login("ADM")
    return b


FIELDS = ["branding.full_name", "branding.short_name", "branding.primary_color",
          "branding.support.email", "policy.parent_consent_under_age",
          "policy.session.idle_timeout_minutes", "identity_provider.scopes",
          "method.esia.position", "base", "branding.logo", "tenant"]  # fmt: skip


@FUZZ
@given(values=st.dictionaries(st.sampled_from(FIELDS), text, max_size=6))
def test_admin_configuration_form(regional_admin, values):
    for path in ("/admin/config", "/admin/config/preview"):
        regional_admin.get("/admin/config")
        assert regional_admin.post(path, values).status_code in ANSWERS


@pytest.fixture
def teen(browser):
    b = browser("mosreg")
    b.esia_login("P7")
    return b


@FUZZ
@given(school=text, class_name=text, q=text)
def test_join_request_form(teen, school, class_name, q):
    assert teen.get("/access/", params={"q": q}).status_code == 200
    assert (
        teen.post("/access/join", {"school": school, "class_name": class_name}).status_code
        in ANSWERS
    )


@pytest.fixture
def parent_p3(browser):
    b = browser("kaluga")
    b.esia_login("P3")
    return b


@FUZZ
@given(school=text, share=st.lists(text, max_size=4), comment=st.text(max_size=2000))
def test_mismatch_report_form(parent_p3, school, share, comment):
    parent_p3.get("/access/")
    page = parent_p3.post(
        "/access/mismatch", {"school": school, "share": share, "comment": comment}
    )
    assert page.status_code in ANSWERS
