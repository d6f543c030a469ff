"""The forms of «Профиль обучающегося» and «Дневник не найден», and the password-change form
both password pages share: they read a post and refuse nothing, the domain does."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from app.blueprints.access.forms import JoinRequestForm, MismatchReportForm
from app.blueprints.forms import PasswordChangeForm


@pytest.fixture
def posting(app):
    with app.test_request_context(method="POST"):
        yield


@pytest.mark.parametrize(
    ("posted", "school"),
    [("17", 17), (" 17 ", 17), ("", None), ("школа", None), ("1e9", None), ("0", None),
     ("-1", None), ("99999999999", None)],
)  # fmt: skip
def test_a_posted_school_is_a_row_id_or_none(posting, posted, school):
    for form_class in (JoinRequestForm, MismatchReportForm):
        assert form_class(MultiDict({"school": posted})).school.data == school


def test_a_join_request_without_school_or_class_is_read_not_refused(posting):
    form = JoinRequestForm(MultiDict())
    assert (form.school.data, form.class_name.data) == (None, "")
    assert "csrf_token" not in form.data  # CSRFProtect checks it before the form is built


def test_a_mismatch_report_keeps_every_ticked_field_for_the_domain_to_judge(posting):
    form = MismatchReportForm(
        MultiDict([("school", "3"), ("share", "snils"), ("share", "nonsense"), ("comment", " Да ")])
    )
    assert form.share.data == ["snils", "nonsense"]
    assert form.comment.data == " Да "
    empty = MismatchReportForm(MultiDict({"school": "3"}))
    assert (empty.share.data, empty.comment.data) == ([], "")


def test_a_page_that_shows_the_form_unsent_has_nothing_chosen(app):
    with app.test_request_context():
        assert JoinRequestForm(formdata=None).school.data is None
        assert MismatchReportForm(formdata=None).share.data == []


def test_the_current_password_is_read_only_where_it_is_asked(posting):
    posted = MultiDict({"current": "old-one", "password": "new one", "password_again": "new"})
    first_login = PasswordChangeForm(posted, asks_current=False)
    assert first_login.data == {"password": "new one", "password_again": "new"}
    account = PasswordChangeForm(posted, asks_current=True)
    assert account.data == {"current": "old-one", "password": "new one", "password_again": "new"}
    assert PasswordChangeForm(MultiDict(), asks_current=True).data["current"] is None
