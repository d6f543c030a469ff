"""The regional administrator's configuration form: built from ``editing.FIELDS``, read from a
request into the values ``editing.config_from_form`` judges."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.blueprints.admin import forms
from app.tenants import editing


@pytest.fixture
def kaluga(app):
    return app.extensions["tenants"].baseline.regions["kaluga"]


def submitted(app, source, data):
    with app.test_request_context("/admin/config", method="POST", data=data):
        return forms.submitted_config_form(source)


def test_the_form_has_an_input_per_field_and_login_method_named_by_its_path(app, kaluga):
    with app.test_request_context("/admin/config"):
        form = forms.filled_config_form(kaluga, base=3)
    names = {field.name for field in form}
    assert {f.path for f in editing.FIELDS} <= names
    for kind in editing.available_methods(kaluga):
        assert {f"method.{kind}", f"method.{kind}.position"} <= names
    assert {"base", "branding.logo", "logo", "comment"} <= names
    assert form["branding.support.phone"].id == "branding-support-phone"
    # then the region's texts in its other language (Kaluga: ru, en), the buttons' among them
    assert [group for group, _ in form.groups()] == [*editing.GROUPS, "language.en"]
    translated = {f"translations.en.{name}" for name, _ in editing.TRANSLATED}
    labels = {f"translations.en.labels.{kind}" for kind in editing.available_methods(kaluga)}
    assert translated | labels <= names


def test_the_filled_form_shows_the_configuration(app, kaluga):
    with app.test_request_context("/admin/config"):
        form = forms.filled_config_form(kaluga, base=3)
    assert form.base.data == 3
    assert form["branding.primary_color"]._value() == kaluga.branding.primary_color
    assert form["identity_provider.scopes"].data == kaluga.identity_provider.scopes
    assert form.logo_path.data == kaluga.branding.logo
    for kind in (method.kind for method in kaluga.login_methods):
        assert form[f"method.{kind}"].data is True


def test_an_unchanged_form_gives_the_same_configuration(app, kaluga):
    with app.test_request_context("/admin/config"):
        form = forms.filled_config_form(kaluga, base=0)
    static = Path(app.static_folder)
    config, problems = editing.config_from_form(kaluga, form.data, logo=None, static_dir=static)
    assert problems == {} and config == kaluga


def test_a_submission_is_read_into_values_and_shown_as_typed(app, kaluga):
    form = submitted(app, kaluga, {
        "branding.full_name": "  Калуга  ", "policy.parent_consent_under_age": " 16 ",
        "policy.session.idle_timeout_minutes": "много", "identity_provider.scopes": " a  b ",
        "policy.require_email": "on", "method.esia": "on", "base": "не число",
    })  # fmt: skip
    assert form.data["branding.full_name"] == "Калуга"
    assert form["branding.full_name"]._value() == "  Калуга  "
    assert form.data["policy.parent_consent_under_age"] == 16
    assert form.data["policy.session.idle_timeout_minutes"] is None
    assert form["policy.session.idle_timeout_minutes"]._value() == "много"
    assert form.data["identity_provider.scopes"] == ["a", "b"]
    assert form.data["policy.require_email"] is True
    assert form.data["policy.trusted_persons.enabled"] is False  # an unticked box is not sent
    assert form.data["method.esia"] is True and form.data["method.esia.position"] is None
    assert form["method.esia.position"]._value() == "1"  # its default place, shown
    assert form.base.data == 0 and form.comment.data == ""


@pytest.mark.parametrize("typed", ["-1", "123456", "1.5", "", "²"])
def test_what_is_not_a_whole_number_reads_as_none(app, kaluga, typed):
    form = submitted(app, kaluga, {"policy.parent_consent_under_age": typed})
    assert form.data["policy.parent_consent_under_age"] is None


def test_a_place_that_is_no_number_puts_the_method_last(app, kaluga):
    form = submitted(app, kaluga, {"method.esia.position": "²", "method.password.position": "0"})
    assert form.data["method.esia.position"] is None
    assert form.data["method.password.position"] == 0


def test_the_domain_names_the_problems_in_russian(app, kaluga):
    form = submitted(app, kaluga, {"policy.session.idle_timeout_minutes": "много"})
    static = Path(app.static_folder)
    config, problems = editing.config_from_form(kaluga, form.data, logo=None, static_dir=static)
    assert config is None
    assert problems["policy.session.idle_timeout_minutes"] == "Введите целое число."
    assert problems["login_methods"] == "Оставьте хотя бы один способ входа."
    assert problems["branding.full_name"] == "Заполните поле."


@pytest.mark.parametrize(("sent", "base"), [({"base": "4"}, 4), ({"base": "x"}, 0), ({}, 0)])
def test_the_restore_form_reads_the_version_it_was_shown_at(app, sent, base):
    with app.test_request_context("/admin/config/versions/1/restore", method="POST", data=sent):
        assert forms.RestoreForm().base.data == base
