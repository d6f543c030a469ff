"""The access decision, table-driven: one row per situation of SCENARIOS.md and its edges."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from app.access.decision import (
    Consents,
    Outcome,
    RecordChild,
    RecordFacts,
    RecordPerson,
    RoleKind,
    decide,
)
from app.identity import provider_class
from app.identity.types import ExternalChild, ExternalIdentity, FullName, normalize_name
from app.tenants.schema import Policy

TODAY = date(2026, 11, 22)
GOSUSLUGI = provider_class("esia").traits
ESIA = Policy(match_fields=["full_name", "snils", "birth_date"])
MOSRU = Policy(match_fields=["email", "phone"])


def person(pid, name, born, snils, email=None, phone=None):
    return RecordPerson(pid, normalize_name(name), born, snils, email, phone)


PARENT = person(1, "Образцова Анна Петровна", date(1988, 4, 12), "54771278218")
KID = person(2, "Образцов Михаил Андреевич", date(2014, 9, 3), "36197306902")
KID2 = person(3, "Демов Иван Иванович", date(2019, 10, 10), "74485497354")
TEEN = person(4, "Учебный Никита Павлович", date(2010, 5, 25), "43053041927")
ADULT_STUDENT = person(5, "Зачётная Вера Олеговна", date(2007, 2, 2), "24026066223")


def identity(record: RecordPerson, *, level="PR", confirmed=True, email="a@example.test",
             kids=(), snils=None, name=None):  # fmt: skip
    last, first, middle = (name or record.name_key).split()
    return ExternalIdentity(
        issuer="http://esia.gosuslugi.ru/",
        subject=str(record.id),
        full_name=FullName(last.title(), first.title(), middle.title()),
        birth_date=record.birth_date,
        snils=snils or record.snils,
        email=email,
        account_level=level,
        confirmed=confirmed,
        children=tuple(kids),
    )


def ext_child(record: RecordPerson, verified=True):
    last, first, middle = record.name_key.split()
    return ExternalChild(FullName(last, first, middle), record.birth_date, record.snils, verified)


def child(record, enrolled=True):
    return RecordChild(record, record.name_key, enrolled)


PARENT_FACTS = RecordFacts(PARENT, children=(child(KID), child(KID2)))


CASES = [
    # id, policy, identity, candidates, facts, consents, expected outcome, extra checks
    (
        "P1 parent, both kids verified",
        ESIA,
        identity(PARENT, kids=[ext_child(KID), ext_child(KID2)]),
        (PARENT,),
        PARENT_FACTS,
        Consents(own=True),
        Outcome.DIARY,
        {"children": 2, "waiting": 0},
    ),
    (
        "P2 no e-mail",
        ESIA,
        identity(PARENT, email=None),
        (PARENT,),
        PARENT_FACTS,
        Consents(own=True),
        Outcome.EMAIL_MISSING,
        {},
    ),
    (
        "P2 no e-mail but region does not require it",
        ESIA.model_copy(update={"require_email": False}),
        identity(PARENT, email=None, kids=[ext_child(KID)]),
        (PARENT,),
        PARENT_FACTS,
        Consents(own=True),
        Outcome.DIARY,
        {},
    ),
    (
        "P3 СНИЛС differs",
        ESIA,
        identity(PARENT, snils="79168248355"),
        (PARENT,),
        None,
        Consents(own=True),
        Outcome.NOT_FOUND,
        {"differing": ("snils",)},
    ),
    (
        "P3 name differs",
        ESIA,
        identity(PARENT, name="образцова анна павловна"),
        (PARENT,),
        None,
        Consents(own=True),
        Outcome.NOT_FOUND,
        {"differing": ("full_name",)},
    ),
    (
        "two fields differ: nothing revealed",
        ESIA,
        identity(PARENT, snils="79168248355", name="образцова анна павловна"),
        (PARENT,),
        None,
        Consents(own=True),
        Outcome.NOT_FOUND,
        {"differing": ()},
    ),
    (
        "P4 one child waiting for ЗАГС",
        ESIA,
        identity(PARENT, kids=[ext_child(KID), ext_child(KID2, verified=False)]),
        (PARENT,),
        PARENT_FACTS,
        Consents(own=True),
        Outcome.DIARY,
        {"children": 1, "waiting": 1},
    ),
    (
        "P5 child account with parental consent",
        ESIA,
        identity(KID, level="KD", confirmed=False),
        (KID,),
        RecordFacts(KID, enrolled=True, guardian_ids=(1,)),
        Consents(parental=True),
        Outcome.DIARY,
        {},
    ),
    (
        "P6 child account without consent",
        ESIA,
        identity(KID, level="KD", confirmed=False),
        (KID,),
        RecordFacts(KID, enrolled=True, guardian_ids=(1, 9)),
        Consents(),
        Outcome.PARENT_CONSENT_NEEDED,
        {"ask": (1, 9)},
    ),
    (
        "P7 teen, own standard account, not enrolled",
        ESIA,
        identity(TEEN, level="P", confirmed=False),
        (),
        None,
        Consents(),
        Outcome.STUDENT_PROFILE,
        {},
    ),
    (
        "P8 adult student, first login",
        ESIA,
        identity(ADULT_STUDENT),
        (ADULT_STUDENT,),
        RecordFacts(ADULT_STUDENT, enrolled=True),
        Consents(),
        Outcome.OWN_CONSENT_NEEDED,
        {},
    ),
    (
        "P8 after consent",
        ESIA,
        identity(ADULT_STUDENT),
        (ADULT_STUDENT,),
        RecordFacts(ADULT_STUDENT, enrolled=True),
        Consents(own=True),
        Outcome.DIARY,
        {},
    ),
    (
        "P9 teacher and parent",
        ESIA,
        identity(PARENT, kids=[ext_child(KID)]),
        (PARENT,),
        replace(PARENT_FACTS, staff_roles=("teacher",)),
        Consents(own=True),
        Outcome.CHOOSE_ROLE,
        {"roles": (RoleKind.GUARDIAN, RoleKind.TEACHER)},
    ),
    (
        "P11 simplified account of a registered parent",
        ESIA,
        identity(PARENT, level="P", confirmed=False, kids=[ext_child(KID, verified=False)]),
        (PARENT,),
        PARENT_FACTS,
        Consents(own=True),
        Outcome.ACCOUNT_UNCONFIRMED,
        {},
    ),
    (
        "unconfirmed adult unknown to the registry",
        ESIA,
        identity(PARENT, level="P", confirmed=False),
        (),
        None,
        Consents(),
        Outcome.ACCOUNT_UNCONFIRMED,
        {},
    ),
    (
        "parent whose kids Госуслуги does not list",
        ESIA,
        identity(PARENT),
        (PARENT,),
        PARENT_FACTS,
        Consents(own=True),
        Outcome.NOT_FOUND,
        {},
    ),
    (
        "formatting does not matter",
        ESIA,
        identity(PARENT, name="  ОБРАЗЦОВА  анна  петровна ", kids=[ext_child(KID)]),
        (PARENT,),
        PARENT_FACTS,
        Consents(own=True),
        Outcome.DIARY,
        {},
    ),
    (
        "mos.ru: phone missing",
        MOSRU,
        replace(identity(PARENT), email="a@example.test", phone=None),
        (),
        None,
        Consents(),
        Outcome.NOT_FOUND,
        {"missing": ("phone",)},
    ),
]


@pytest.mark.parametrize(
    ("policy", "ident", "candidates", "facts", "consents", "expected", "checks"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decision(policy, ident, candidates, facts, consents, expected, checks):
    traits = provider_class("oidc" if policy is MOSRU else "esia").traits
    decision = decide(policy, ident, candidates, facts, consents, TODAY, traits=traits)
    assert decision.outcome == expected
    if "differing" in checks:
        assert decision.differing == checks["differing"]
    if "missing" in checks:
        assert decision.missing == checks["missing"]
    if "ask" in checks:
        assert decision.ask_guardians == checks["ask"]
    if "roles" in checks:
        assert tuple(role.kind for role in decision.roles) == checks["roles"]
    if "children" in checks:
        [guardian] = [r for r in decision.roles if r.kind == RoleKind.GUARDIAN]
        assert len(guardian.children) == checks["children"]
        assert len(guardian.waiting) == checks["waiting"]


def test_facts_of_another_record_are_refused():
    with pytest.raises(ValueError, match="facts of the matched record"):
        decide(ESIA, identity(PARENT), (PARENT,), RecordFacts(KID), Consents(), TODAY, GOSUSLUGI)


def test_parent_consent_age_follows_the_policy():
    """Where the region sets the age at 12, a 12-year-old consents for themselves."""
    policy = ESIA.model_copy(
        update={"parent_consent_under_age": 12, "self_registration_min_age": 12}
    )
    kid = identity(KID, level="KD", confirmed=False)
    facts = RecordFacts(KID, enrolled=True)
    assert (
        decide(policy, kid, (KID,), facts, Consents(), TODAY, GOSUSLUGI).outcome
        == Outcome.OWN_CONSENT_NEEDED
    )
    assert (
        decide(policy, kid, (KID,), facts, Consents(own=True), TODAY, GOSUSLUGI).outcome
        == Outcome.DIARY
    )


@pytest.mark.parametrize(
    ("candidates", "facts", "consents", "expected", "roles"),
    [
        # Nobody in the school registry: the trusted role alone, after one's own consent.
        ((), None, Consents(own=True), Outcome.DIARY, ("trusted",)),
        ((), None, Consents(), Outcome.OWN_CONSENT_NEEDED, ("trusted",)),
        # A parent who is also someone's trusted person chooses between the two.
        ((PARENT,), PARENT_FACTS, Consents(own=True), Outcome.CHOOSE_ROLE,
         ("guardian", "trusted")),
        # Consent first, and then both roles.
        ((PARENT,), PARENT_FACTS, Consents(), Outcome.OWN_CONSENT_NEEDED, ("guardian", "trusted")),
    ],
)  # fmt: skip
def test_a_trusted_person_gets_the_role_whatever_the_registry_says(
    candidates, facts, consents, expected, roles
):
    ident = identity(PARENT, kids=[ext_child(KID), ext_child(KID2)])
    decision = decide(ESIA, ident, candidates, facts, consents, TODAY, GOSUSLUGI, trusted=True)
    assert decision.outcome == expected
    assert tuple(role.kind for role in decision.roles) == roles
