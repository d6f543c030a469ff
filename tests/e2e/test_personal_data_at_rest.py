"""No full СНИЛС at rest outside the school registry (issue: 152-ФЗ, item 5). After persona
walks that put personal data in sessions and in requests to schools — P3 reports a mismatch
with her СНИЛС attached, P7 asks to join a school, a parent finds a trusted person by СНИЛС —
every store is scanned: the database's tables other than the registry's (as stored, not as the
models read them), the Redis values of this run, and everything logged."""

from __future__ import annotations

import json
import logging
import os
import re

import redis
import sqlalchemy as sa

from app.extensions import db
from app.identity.types import format_snils
from idp_emulator.personas import load_personas
from tests.conftest import REDIS_PREFIX
from tests.e2e.test_school_requests import radio_value
from tests.e2e.test_trusted import invite

REGISTRY_TABLES = {"school", "school_class", "person", "enrolment", "guardianship",
                   "staff_role", "teacher_class"}  # fmt: skip


def _snils_forms() -> set[str]:
    numbers = {human.snils for human in load_personas().people.values() if human.snils}
    return numbers | {format_snils(n) for n in numbers}


def _walk(browser, live) -> None:
    parent = browser("mosreg")
    page = parent.esia_login("P3")
    lyceum = radio_value(page, "«Лицей № 2»")
    sent = parent.post("/access/mismatch", {"school": lyceum, "share": "snils"})
    assert "Запрос отправлен" in sent.text
    student = browser("kaluga")
    page = student.esia_login("P7")
    page = student.get("/access/", params={"q": "средняя общеобразовательная школа №"})
    school = radio_value(page, "Средняя общеобразовательная школа № 1")
    assert "Запрос отправлен" in student.post("/access/join", {"school": school}).text
    mother = browser("moscow")
    mother.mosru_login("M1")
    review = invite(mother, live, by="snils", contact="186-503-778 99", surname="бабушкина")
    assert review.status_code == 200


def _found(text: str, forms: set[str]) -> set[str]:
    return {form for form in forms if form in text}


def test_no_full_snils_in_any_store_after_the_walks(live, browser, caplog):
    caplog.set_level(logging.DEBUG)
    _walk(browser, live)
    forms = _snils_forms()
    leaks: dict[str, set[str]] = {}
    with live.portal_app.app_context():
        for table in db.metadata.sorted_tables:
            if table.name in REGISTRY_TABLES:
                continue
            rows = db.session.execute(sa.text(f"SELECT * FROM {table.name}")).all()  # noqa: S608
            text = json.dumps([list(map(str, row)) for row in rows], ensure_ascii=False)
            if found := _found(text, forms):
                leaks[f"table {table.name}"] = found
        assert db.session.execute(sa.text("SELECT count(*) FROM join_request")).scalar() == 1
    if os.environ.get("REDIS_URL"):
        store = redis.Redis.from_url(os.environ["REDIS_URL"])
        keys = list(store.scan_iter(f"{REDIS_PREFIX}*"))
        assert keys, "the walk kept sessions in Redis"
        for key in keys:
            kind = store.type(key).decode()
            value = store.get(key) if kind == "string" else json.dumps(
                [m.decode() for m in store.smembers(key)]) if kind == "set" else b""  # fmt: skip
            text = value.decode() if isinstance(value, bytes) else str(value)
            if found := _found(text, forms):
                leaks[f"redis {key.decode()}"] = found
    if found := _found(caplog.text, forms):
        leaks["logs"] = found
    assert leaks == {}


def test_the_scan_would_see_a_snils_in_the_clear(live):
    """The scan is not blind: a СНИЛС written in the clear outside the registry is found."""
    forms = _snils_forms()
    some = sorted(forms)[0]
    assert _found(json.dumps([["x", f"note about {some}"]], ensure_ascii=False), forms) == {some}
    assert re.fullmatch(r"\d{11}|\d{3}-\d{3}-\d{3} \d{2}", some)
