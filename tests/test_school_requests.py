"""What a student sends with a join request becomes a registry record the way an import
line does: normalised, checked, and never longer than the registry holds."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.schools.requests import applicant_record

NIKITA = {
    "last_name": "Учебный", "first_name": "Никита", "middle_name": "Павлович",
    "full_name": "Учебный Никита Павлович", "birth_date": "2010-05-25",
    "snils": "430-530-419 27", "email": " Nikita.Uchebny@Example.TEST ",
    "phone": "+7 (900) 000-07-07",
}  # fmt: skip


def test_contacts_are_normalised_as_the_registry_holds_them():
    record = applicant_record("join-1", NIKITA)
    assert (record.snils, record.email, record.phone) == (
        "43053041927",
        "nikita.uchebny@example.test",
        "79000000707",
    )
    assert record.birth_date.isoformat() == "2010-05-25"


def test_a_contact_the_registry_cannot_hold_is_left_out():
    record = applicant_record("join-1", {**NIKITA, "phone": "12345", "email": "нет почты"})
    assert record.phone is None and record.email is None and record.snils == "43053041927"


def test_a_name_the_registry_cannot_hold_is_refused():
    with pytest.raises(ValidationError):
        applicant_record("join-1", {**NIKITA, "last_name": ""})
