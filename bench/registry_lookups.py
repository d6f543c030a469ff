"""The access decision's lookups in the database ``DATABASE_URL`` names, for 300 persons of a
region drawn at random: the time of each (the candidates, the best match, the matched record's
facts), whether the person's own record was found, and any sequential scan in the plans of
the candidates and of the facts. One JSON line.

    DATABASE_URL=… python -m bench.registry_lookups mosreg
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time

from sqlalchemy import select

from app import create_app
from app.access import lookup
from app.access.decision import best_match
from app.access.lookup import candidates, candidates_statement, facts_of
from app.extensions import db
from app.identity.types import ExternalIdentity, FullName
from app.models import Guardianship, Person
from app.tenants import current_registry


def identity_of(person: Person) -> ExternalIdentity:
    """What the provider would say of this person: their name, birth date and СНИЛС."""
    return ExternalIdentity(
        issuer="bench",
        subject=str(person.id),
        full_name=FullName(person.last_name, person.first_name, person.middle_name or ""),
        birth_date=person.birth_date,
        snils=person.snils,
    )


def drawn(tenant: str, count: int) -> list[ExternalIdentity]:
    top = db.session.scalar(select(Person.id).order_by(Person.id.desc()).limit(1)) or 0
    rng, people = random.Random(7), []
    while len(people) < count and top:
        person = db.session.get(Person, rng.randint(1, top))
        if person is not None and person.tenant == tenant and person.snils:
            people.append(identity_of(person))
        db.session.expunge_all()
    return people


def explained(statement, parameters: dict) -> list[str]:
    """PostgreSQL's plan of a statement (an ``app.database.Prepared`` one's too)."""
    compiled = getattr(statement, "statement", statement).compile(db.engine)
    cursor = db.session.connection().connection.cursor()
    cursor.execute("EXPLAIN " + str(compiled), compiled.construct_params(parameters))
    return [row[0] for row in cursor.fetchall()]


def plan(tenant, identity: ExternalIdentity) -> list[str]:
    """The plans of the candidates' statement and of the matched record's facts (its
    enrolment, children, staff roles, guardians), as PostgreSQL would run them for this person
    and for a parent."""
    lines = explained(*candidates_statement(tenant, identity))
    parent = db.session.scalar(select(Guardianship.guardian_id).limit(1))
    for statement in (lookup._ENROLLED, lookup._CHILDREN, lookup._STAFF, lookup._GUARDIANS):
        for person in (int(identity.subject), parent):
            lines += explained(statement, {"person": person})
    return lines


def main(slug: str) -> None:
    app = create_app()
    with app.app_context():
        tenant = current_registry().get(slug)
        timings, found = [], 0
        people = drawn(slug, 300)
        for identity in people:
            started = time.perf_counter()
            record, _, _ = best_match(identity, candidates(tenant, identity),
                                      tenant.policy.match_fields)  # fmt: skip
            if record is not None:
                facts_of(record)
                found += str(record.id) == identity.subject
            timings.append((time.perf_counter() - started) * 1000)
            db.session.rollback()
        timings.sort()
        lines = plan(tenant, people[0])
        print(json.dumps({
            "median_ms": statistics.median(timings),
            "p95_ms": timings[int(len(timings) * 0.95)],
            "found": found, "tried": len(people),
            "seq_scans": [line.strip() for line in lines if "Seq Scan" in line],
        }))  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1])
