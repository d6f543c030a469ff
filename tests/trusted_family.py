"""Moscow's demo family with a second parent, for the tests of what both parents of a child
see and may do with trusted persons: a synthetic father of Лев (and of Алиса, unless told
otherwise), with a mos.ru account in the emulator and a record in the school registry, loaded
through the same demo seed as everyone else."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlalchemy import select

from app import trusted
from app.demo import seed
from app.extensions import db
from app.models import AuditEvent, Notification, Person, TrustedGrant
from idp_emulator.personas import Human, MosAccount, load_personas

MOTHER, FATHER, NINA = "M1", "MF", "M5"
MOTHER_NAME = "Москвина Ольга Игоревна"
FATHER_NAME = "Москвин Артём Тестович"
NINA_NAME = "Бабушкина Нина Степановна"
LEV, ALISA = "Москвин Лев Артёмович", "Москвина Алиса Артёмовна"
FATHER_KEY = "moskvin_artyom_test"


def add_second_parent(live, monkeypatch, children=("moskvin_lev", "moskvina_alisa")) -> None:
    """The father joins the registry as the parent of ``children`` and mos.ru as persona MF
    (his contacts are the school's, so he reaches the diary); undone with the test."""
    base = load_personas()
    father = Human(key=FATHER_KEY, last="Москвин", first="Артём", middle="Тестович", gender="M",
                   birth_date=date(1986, 6, 15), snils="901-234-567 64")  # fmt: skip
    account = MosAccount(FATHER, "mos-0901", "Второй родитель Льва (тесты)", father,
                         "artyom.moskvin@example.test", "+7 (916) 000-09-01")  # fmt: skip
    registry = copy.deepcopy(base.moscow_registry)
    registry["guardians"].append({"person": FATHER_KEY, "children": list(children)})
    registry["contacts"][FATHER_KEY] = {"email": account.email, "phone": account.phone}
    portal = {**base.portal, "own_consents": [*base.portal["own_consents"], FATHER]}
    personas = replace(base, people={**base.people, FATHER_KEY: father},
                       mosru={**base.mosru, FATHER: account}, moscow_registry=registry,
                       portal=portal)  # fmt: skip
    app = live.portal_app
    with app.app_context():
        seed(app.extensions["tenants"].get("moscow"), personas)
    monkeypatch.setitem(live.emulator_app.config, "PERSONAS", personas)


def person_id(live, key: str) -> int:
    with live.portal_app.app_context():
        return db.session.scalar(select(Person.id).filter_by(tenant="moscow", key=key))


def grants(live) -> list[TrustedGrant]:
    with live.portal_app.app_context():
        return db.session.scalars(
            select(TrustedGrant).filter_by(tenant="moscow").order_by(TrustedGrant.id)
        ).all()


def audit_kinds(live, prefix: str = "trusted_") -> list[tuple[str, dict]]:
    with live.portal_app.app_context():
        events = db.session.scalars(
            select(AuditEvent).filter(AuditEvent.kind.startswith(prefix)).order_by(AuditEvent.id)
        )
        return [(event.kind, event.detail) for event in events]


def notices(live, kind: str) -> list[Notification]:
    with live.portal_app.app_context():
        return db.session.scalars(
            select(Notification).filter_by(tenant="moscow", kind=kind).order_by(Notification.id)
        ).all()


def expiry_of(live, grant_id: int) -> datetime:
    with live.portal_app.app_context():
        moment = db.session.get(TrustedGrant, grant_id).expires_at
    return trusted._aware(moment)


def move_clock(monkeypatch):
    """``move(hours=…)`` or ``move(to=moment)``: the trusted-person clock of the portal,
    which runs in this process."""
    real = trusted.now

    def move(hours: float = 0, *, to: datetime | None = None) -> None:
        if to is not None:
            monkeypatch.setattr(trusted, "now", lambda: to)
        else:
            monkeypatch.setattr(trusted, "now", lambda: real() + timedelta(hours=hours))

    return move
