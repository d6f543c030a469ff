"""The demo people (``demo/personas.yaml``): humans, their Госуслуги accounts, their schools.

Shared by the emulator (which logs them in) and the portal's demo seed (which puts them in
the school registry), so both always describe the same people.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

PERSONAS_FILE = Path(__file__).resolve().parent.parent / "demo" / "personas.yaml"


def birth_date_for(age: int, birthday: str, today: date) -> date:
    """The birth date that makes someone born on ``birthday`` (MM-DD) exactly ``age`` today."""
    month, day = (int(part) for part in birthday.split("-"))
    year = today.year - age - (1 if (month, day) > (today.month, today.day) else 0)
    return date(year, month, day)


@dataclass(frozen=True)
class Human:
    key: str
    last: str
    first: str
    middle: str
    gender: str
    birth_date: date
    snils: str


@dataclass(frozen=True)
class Kid:
    human: Human
    birth_cert_verified: bool


@dataclass(frozen=True)
class EsiaAccount:
    id: str
    oid: str
    title: str
    human: Human
    level: str  # PR confirmed, P simplified/standard, KD child
    email: str | None
    mobile: str | None
    kids: tuple[Kid, ...]

    @property
    def confirmed(self) -> bool:
        return self.level == "PR"


@dataclass(frozen=True)
class MosAccount:
    """A mos.ru account: its profile claims, as mos.ru's userinfo gives them."""

    id: str
    sub: str
    title: str
    human: Human
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class Personas:
    people: dict[str, Human]
    esia: dict[str, EsiaAccount]
    registry: dict[str, Any]
    portal: dict[str, Any]
    mosru: dict[str, MosAccount]
    moscow_registry: dict[str, Any]

    def by_oid(self, oid: str) -> EsiaAccount | None:
        return next((account for account in self.esia.values() if account.oid == oid), None)

    def by_sub(self, sub: str) -> MosAccount | None:
        return next((account for account in self.mosru.values() if account.sub == sub), None)

    def account(self, persona_id: str) -> EsiaAccount | MosAccount:
        return self.esia.get(persona_id) or self.mosru[persona_id]

    def profile(self, name: str) -> PersonaSet:
        """The personas of one of the emulator's profiles (``esia``, ``mosru``) and the school
        registry of the regions that use it."""
        if name == "esia":
            # In ESIA regions the schools hold what the Госуслуги account holds.
            contacts = {account.human.key: {"email": account.email, "phone": account.mobile}
                        for account in self.esia.values()}  # fmt: skip
            return PersonaSet(self.esia, self.registry, contacts)
        if name == "mosru":
            registry = self.moscow_registry
            return PersonaSet(self.mosru, registry, registry.get("contacts", {}))
        raise LookupError(f"the emulator has no {name!r} personas")


@dataclass(frozen=True)
class PersonaSet:
    accounts: Mapping[str, EsiaAccount | MosAccount]
    registry: dict[str, Any]
    # The e-mail and phone the schools hold for each person.
    contacts: Mapping[str, dict]


def load_personas(today: date | None = None, path: Path = PERSONAS_FILE) -> Personas:
    return _load(today or date.today(), path)


@cache
def _load(today: date, path: Path) -> Personas:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    people = {
        key: Human(
            key=key,
            last=p["last"],
            first=p["first"],
            middle=p.get("middle", ""),
            gender=p["gender"],
            birth_date=birth_date_for(p["age"], p["birthday"], today),
            snils=p["snils"],
        )
        for key, p in raw["people"].items()
    }
    esia = {
        a["id"]: EsiaAccount(
            id=a["id"],
            oid=str(a["oid"]),
            title=a["title"],
            human=people[a["person"]],
            level=a["level"],
            email=a.get("email"),
            mobile=a.get("mobile"),
            kids=tuple(
                Kid(people[k["person"]], k["birth_cert"] == "VERIFIED") for k in a.get("kids", [])
            ),
        )
        for a in raw["esia"]
    }
    mosru = {
        a["id"]: MosAccount(
            a["id"], a["sub"], a["title"], people[a["person"]], a.get("email"), a.get("phone")
        )
        for a in raw.get("mosru", [])
    }
    return Personas(
        people, esia, raw["registry"], raw.get("portal", {}), mosru, raw.get("moscow_registry", {})
    )
