"""Templates' ``url_for`` is remembered, and remembered right: the same address as Flask
builds, per mount point and arguments."""

from __future__ import annotations

from flask import url_for

from app.tenants.assets import page_url


def test_remembered_addresses_are_flasks_own(app):
    cases = [("portal.index", {}), ("diary.home", {"week": "2026-W47", "child": 7}),
             ("diary.home", {"week": "2026-W48"}), ("auth.start", {"kind": "esia"}),
             ("auth.start", {"kind": "oidc"}), ("portal.branding_css", {"v": "v3"})]  # fmt: skip
    for root in ("", "/portal"):
        with app.test_request_context("/", base_url=f"http://mosreg.localhost{root}"):
            for endpoint, values in cases * 2:  # the second time from memory
                assert page_url(endpoint, **values) == url_for(endpoint, **values)
            assert page_url("portal.index").startswith(root + "/")


def test_what_depends_on_more_than_the_arguments_is_built_each_time(app):
    with app.test_request_context("/", base_url="http://mosreg.localhost"):
        assert page_url("portal.index", _external=True) == "http://mosreg.localhost/"
    with app.test_request_context("/", base_url="http://kaluga.localhost"):
        assert page_url("portal.index", _external=True) == "http://kaluga.localhost/"
        assert page_url("portal.index", _anchor="main") == "/#main"
