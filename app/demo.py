"""The demo data set: the personas' school records in every ESIA region, and what the portal
remembers of their earlier visits (``flask demo seed``; ``make demo`` runs it).

It goes through the same import as ``flask registry import``, so the demo also exercises it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import select

from app.accounts import contact_key, grant_regional_admin
from app.extensions import db
from app.identity import offered_methods, provider_class, region_provider
from app.identity.password.credentials import hasher
from app.identity.types import normalize_name
from app.models import Consent, PasswordCredential, Person, User
from app.schools.registry import ImportReport, import_records
from app.tenants import Tenant
from idp_emulator.personas import Personas, load_personas

# The demo registry's schools are named after their towns (data, as a registry file gives it).
TOWNS = {  # i18n-exempt: data
    "mosreg": "г. Подольска",
    "kaluga": "г. Калуги",
    "tatarstan": "г. Казани",
}


def registry_records(
    personas: Personas, registry: dict[str, Any], town: str, contacts: dict[str, dict]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """A region's registry as import records, numbered like lines of a file. ``contacts``: the
    e-mail and phone the school holds for each person."""
    records: list[dict[str, Any]] = []
    for school in registry["schools"]:
        records.append({
            "type": "school", "key": school["key"],
            "full_name": school["full_name"].format(town=town),
            "short_name": school["short_name"],
        })  # fmt: skip
        records += [
            {"type": "class", "school": school["key"], "name": c} for c in school["classes"]
        ]
    overrides = {g["person"]: g for g in registry["guardians"]}
    known = {s["person"] for s in registry["students"]} | set(overrides)
    known |= {s["person"] for s in registry["staff"]}
    for key, human in personas.people.items():
        if key not in known:
            continue
        records.append({
            "type": "person", "key": key, "last_name": human.last, "first_name": human.first,
            "middle_name": human.middle, "birth_date": human.birth_date.isoformat(),
            "snils": overrides.get(key, {}).get("snils", human.snils),
            **contacts.get(key, {}),
        })  # fmt: skip
    for student in registry["students"]:
        school, class_name = student["class"].split("/")
        records.append({"type": "enrolment", "person": student["person"], "school": school,
                        "class": class_name})  # fmt: skip
    for guardian in registry["guardians"]:
        records += [
            {"type": "guardian", "guardian": guardian["person"], "student": child}
            for child in guardian["children"]
        ]
    records += [{"type": "staff", **staff} for staff in registry["staff"]]
    yield from enumerate(records, start=1)


def _user(tenant: str, personas: Personas, persona_id: str, issuer: str) -> User:
    account = personas.account(persona_id)
    subject = getattr(account, "oid", None) or account.sub
    user = db.session.scalar(select(User).filter_by(tenant=tenant, issuer=issuer, subject=subject))
    if user is None:
        human = account.human
        user = User(tenant=tenant, issuer=issuer, subject=subject,
                    display_name=f"{human.last} {human.first} {human.middle}")  # fmt: skip
        db.session.add(user)
    # What their provider gave at that earlier login: how a parent finds them (T1–T3).
    phone = getattr(account, "phone", None) or getattr(account, "mobile", None)
    user.phone_key = contact_key("phone", phone)
    user.snils_key = contact_key("snils", account.human.snils)
    user.surname_key = normalize_name(account.human.last)
    db.session.flush()
    return user


def _person(tenant: str, key: str) -> Person:
    return db.session.scalars(select(Person).filter_by(tenant=tenant, key=key)).one()


def _consent(tenant: str, kind: str, user: User, student_id: int | None) -> None:
    exists = db.session.scalar(
        select(Consent).filter_by(kind=kind, user_id=user.id, student_id=student_id)
    )
    if exists is None:
        db.session.add(Consent(tenant=tenant, kind=kind, user_id=user.id, student_id=student_id,
                               given_at=datetime.now(UTC)))  # fmt: skip


@cache
def _demo_hash(password: str) -> str:
    """Hashed once per process: argon2id is slow on purpose, and the demo seeds often."""
    return hasher.hash(password)


def _password_login(tenant: str, item: dict[str, str]) -> None:
    """The demo student's school-issued login, left alone once it exists (and maybe changed)."""
    person = _person(tenant, item["person"])
    if db.session.scalar(select(PasswordCredential.id).filter_by(person_id=person.id)) is None:
        db.session.add(PasswordCredential(
            tenant=tenant, login=item["login"], person_id=person.id,
            password_hash=_demo_hash(item["initial_password"]), must_change=True,
        ))  # fmt: skip


def seed(tenant: Tenant, personas: Personas | None = None) -> ImportReport:
    """Load the personas of the region's kind of provider; idempotent."""
    personas = personas or load_personas()
    slug, provider = tenant.slug, region_provider(tenant)
    chosen = personas.profile(provider.demo_personas)
    lines = registry_records(personas, chosen.registry, TOWNS.get(slug, ""), chosen.contacts)
    report = import_records(slug, lines, source="demo")
    accounts = chosen.accounts
    issuer = provider.issuer_of(tenant.config.identity_provider)
    returning = personas.portal
    for persona_id in (p for p in returning.get("own_consents", []) if p in accounts):
        _consent(slug, "own", _user(slug, personas, persona_id, issuer), None)
    for persona_id in (p for p in returning.get("regional_admins", []) if p in accounts):
        human = accounts[persona_id].human
        subject = _user(slug, personas, persona_id, issuer).subject
        grant_regional_admin(slug, issuer, subject, f"{human.last} {human.first} {human.middle}")
    for item in (i for i in returning.get("parental_consents", []) if i["guardian"] in accounts):
        guardian = _user(slug, personas, item["guardian"], issuer)
        _consent(slug, "parental", guardian, _person(slug, item["student"]).id)
    if any(provider_class(m.kind).traits.school_issued for m in offered_methods(tenant)):
        for item in returning.get("password_logins", []):
            _password_login(slug, item)
    db.session.commit()
    return report
