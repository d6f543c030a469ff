"""The invitation wizard's forms on their own: what each step accepts, what it answers, and
what it leaves in the wizard's state."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from app.blueprints.trusted.forms import ChildrenForm, InviteForm, ServiceForm
from app.diary import Student

LEV = Student(id=7, key="moskvin_lev", full_name="Москвин Лев Артёмович", class_name="3А",
              school="Школа № 1")  # fmt: skip
ALISA = Student(id=8, key="moskvina_alisa", full_name="Москвина Алиса Артёмовна",
                class_name="1Б", school="Школа № 1")  # fmt: skip
PHONE = "Укажите номер мобильного телефона: +7 и десять цифр."
SNILS = "Проверьте СНИЛС: 11 цифр, контрольное число должно сходиться."
SURNAME = "Укажите фамилию доверенного лица."


@pytest.fixture
def posting(app):
    with app.test_request_context(method="POST"):
        yield


def invite(**posted: str) -> InviteForm:
    return InviteForm(MultiDict(posted))


@pytest.mark.parametrize("contact", ["12345", "+7 916 123-45", "", "телефон", "8 916 000-05-05 1"])
def test_a_bad_phone_is_a_field_error(posting, contact):
    form = invite(by="phone", contact=contact, surname="Бабушкина")
    assert not form.validate()
    assert form.errors == {"contact": [PHONE]}


@pytest.mark.parametrize("contact", ["+7 916 000-05-05", "8 (916) 000 05 05", "9160000505"])
def test_a_phone_in_any_usual_spelling_passes(posting, contact):
    assert invite(by="phone", contact=contact, surname="Бабушкина").validate()


@pytest.mark.parametrize("contact", ["186-503-778 98", "186-503-778", "8 916 000-05-05", ""])
def test_a_bad_snils_is_a_field_error(posting, contact):
    form = invite(by="snils", contact=contact, surname="Бабушкина")
    assert not form.validate()
    assert form.errors == {"contact": [SNILS]}


def test_a_snils_with_its_check_number_passes(posting):
    assert invite(by="snils", contact="186-503-778 99", surname="Бабушкина").validate()


@pytest.mark.parametrize("surname", ["", "   "])
def test_a_missing_surname_is_a_field_error(posting, surname):
    form = invite(by="phone", contact="8 916 000-05-05", surname=surname)
    assert not form.validate()
    assert form.errors == {"surname": [SURNAME]}
    assert "required" not in form.surname()  # the server's words, not the browser's


def test_an_unknown_way_to_search_is_by_phone_and_input_is_trimmed(posting):
    form = invite(by="email", contact=f"  {'9' * 40}  ", surname=f" {'Я' * 120} ")
    assert form.by.data == "phone"
    assert form.contact.data == "9" * 32 and form.surname.data == "Я" * 100


def test_a_refused_search_is_remembered_and_forgets_the_last_invitee(posting):
    state = {"invitee_id": 5}
    assert not invite(by="snils", contact=" 123 ", surname="").save(state)
    assert state == {"invitee_id": None, "by": "snils", "contact": "123", "surname": ""}


def test_no_child_chosen_is_a_field_error(posting):
    form = ChildrenForm(MultiDict(), offered=[LEV, ALISA])
    assert not form.validate()
    assert form.errors == {"children": ["Выберите ребенка (детей)."]}


def test_children_not_offered_are_dropped_and_none_left_is_no_choice(posting):
    state = {"children": [7]}
    form = ChildrenForm(MultiDict([("children", "9"), ("children", "x")]), offered=[LEV, ALISA])
    assert not form.save(state)
    assert state == {"children": []}
    form = ChildrenForm(MultiDict([("children", "8"), ("children", "9")]), offered=[LEV, ALISA])
    assert form.save(state) and state == {"children": [8]}


def test_the_children_step_shows_what_the_wizard_remembers(app):
    with app.test_request_context():
        form = ChildrenForm(state={"children": [8]}, offered=[LEV, ALISA])
    assert [(c.value, c.label, c.selected) for c in form.children.iter_choices()] == [
        ("7", LEV.full_name, False),
        ("8", ALISA.full_name, True),
    ]


@pytest.mark.parametrize("service", ["", "mail", None])
def test_a_service_not_on_offer_is_refused_and_not_remembered(posting, service):
    state = {"service": "diary"}
    form = ServiceForm(MultiDict({} if service is None else {"service": service}))
    assert not form.save(state)
    assert form.errors == {"service": ["Выберите услугу."]}
    assert state == {"service": "diary"}


def test_the_diary_is_a_service_on_offer(posting):
    state = {}
    assert ServiceForm(MultiDict({"service": "diary"})).save(state) and state == {
        "service": "diary"
    }
