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

from app import passwords
from app.accounts import grant_regional_admin
from app.extensions import db
from app.identity.esia.protocol import ISSUER
from app.models import Consent, PasswordCredential, Person, User
from app.school_registry import ImportReport, import_records
from idp_emulator.personas import Personas, load_personas

TOWNS = {"mosreg": "г. Подольска", "kaluga": "г. Калуги", "tatarstan": "г. Казани"}


def registry_records(personas: Personas, town: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The personas' registry as import records, numbered like lines of a file."""
    registry = personas.registry
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
        account = next((a for a in personas.esia.values() if a.human.key == key), None)
        records.append({
            "type": "person", "key": key, "last_name": human.last, "first_name": human.first,
            "middle_name": human.middle, "birth_date": human.birth_date.isoformat(),
            "snils": overrides.get(key, {}).get("snils", human.snils),
            "email": account.email if account else None,
            "phone": account.mobile if account else None,
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


def _user(tenant: str, personas: Personas, persona_id: str) -> User:
    account = personas.esia[persona_id]
    user = db.session.scalar(
        select(User).filter_by(tenant=tenant, issuer=ISSUER, subject=account.oid)
    )
    if user is None:
        human = account.human
        user = User(tenant=tenant, issuer=ISSUER, subject=account.oid,
                    display_name=f"{human.last} {human.first} {human.middle}")  # fmt: skip
        db.session.add(user)
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
    return passwords.hasher.hash(password)


def _password_login(tenant: str, item: dict[str, str]) -> None:
    """The demo student's school-issued login, left alone once it exists (and maybe changed)."""
    person = _person(tenant, item["person"])
    if db.session.scalar(select(PasswordCredential.id).filter_by(person_id=person.id)) is None:
        db.session.add(PasswordCredential(
            tenant=tenant, login=item["login"], person_id=person.id,
            password_hash=_demo_hash(item["initial_password"]), must_change=True,
        ))  # fmt: skip


def seed(tenant: str, personas: Personas | None = None) -> ImportReport:
    personas = personas or load_personas()
    report = import_records(
        tenant, registry_records(personas, TOWNS.get(tenant, "")), source="demo"
    )
    returning = personas.portal
    for persona_id in returning.get("own_consents", []):
        _consent(tenant, "own", _user(tenant, personas, persona_id), None)
    for persona_id in returning.get("regional_admins", []):
        account = personas.esia[persona_id]
        human = account.human
        grant_regional_admin(
            tenant, ISSUER, account.oid, f"{human.last} {human.first} {human.middle}"
        )
    for item in returning.get("parental_consents", []):
        guardian = _user(tenant, personas, item["guardian"])
        _consent(tenant, "parental", guardian, _person(tenant, item["student"]).id)
    for item in returning.get("password_logins", []):
        _password_login(tenant, item)
    db.session.commit()
    return report
