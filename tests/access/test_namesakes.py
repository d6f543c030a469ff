"""Matching that common names cannot crowd out: an exact СНИЛС (or the name with the birth
date) always finds its record, however many namesakes the region holds."""

from __future__ import annotations

from datetime import date

import pytest

from app.access.decision import best_match
from app.access.lookup import CANDIDATE_LIMIT, candidates
from app.extensions import db
from app.identity.types import ExternalIdentity, FullName, normalize_name
from app.models import Person

NAME = FullName("Иванов", "Иван", "Иванович")
NAMESAKES = CANDIDATE_LIMIT + 5  # more than one lookup returns


def _snils(number: int) -> str:
    return f"{100_000_000 + number:09d}{number % 100:02d}"


@pytest.fixture
def namesakes(app):
    with app.app_context():
        for number in range(NAMESAKES):
            db.session.add(Person(
                tenant="mosreg", key=f"ivanov_{number}", last_name=NAME.last,
                first_name=NAME.first, middle_name=NAME.middle,
                birth_date=date(1980, 1, 1 + number % 28).replace(year=1980 + number // 28),
                snils=_snils(number), name_key=normalize_name(str(NAME)),
            ))  # fmt: skip
        db.session.commit()
        yield app
        db.session.rollback()


def _identity(**fields) -> ExternalIdentity:
    return ExternalIdentity(issuer="esia", subject="1", full_name=NAME, **fields)


def test_an_exact_snils_finds_the_last_of_many_namesakes(namesakes):
    tenant = namesakes.extensions["tenants"].get("mosreg")
    last = NAMESAKES - 1
    with namesakes.app_context():
        found = candidates(tenant, _identity(snils=_snils(last)))
        assert _snils(last) in {record.snils for record in found}
        record, _, _ = best_match(_identity(snils=_snils(last)), found, ("snils",))
        assert record is not None and record.snils == _snils(last)


def test_the_name_with_the_birth_date_finds_the_last_namesake_too(namesakes):
    tenant = namesakes.extensions["tenants"].get("mosreg")
    with namesakes.app_context():
        born = db.session.query(Person.birth_date).filter_by(key=f"ivanov_{NAMESAKES - 1}").scalar()
        found = candidates(tenant, _identity(birth_date=born))
        assert born in {record.birth_date for record in found}


def test_namesakes_alone_stay_bounded(namesakes):
    tenant = namesakes.extensions["tenants"].get("mosreg")
    with namesakes.app_context():
        assert len(candidates(tenant, _identity())) == CANDIDATE_LIMIT


def test_an_exact_snils_with_a_misspelt_name_finds_its_own_record(namesakes):
    """The provider spells the surname otherwise than the school: the last of the namesakes is
    still found by their СНИЛС, and told that only their name differs (SCENARIOS.md P3), not
    that no record exists."""
    tenant = namesakes.extensions["tenants"].get("mosreg")
    last = NAMESAKES - 1
    with namesakes.app_context():
        born = db.session.query(Person.birth_date).filter_by(key=f"ivanov_{last}").scalar()
        misspelt = ExternalIdentity(issuer="esia", subject="1", snils=_snils(last),
                                    birth_date=born,
                                    full_name=FullName("Иваноф", NAME.first, NAME.middle))  # fmt: skip
        found = candidates(tenant, misspelt)
        assert _snils(last) in {record.snils for record in found}
        record, differing, near = best_match(misspelt, found, tenant.policy.match_fields)
        assert record is None and differing == ("full_name",)
        assert near.snils == _snils(last)
