"""Both parents of a child: each sees, on «Доверенные лица», every invitation and grant made for
the child by either of them (who made it, its state, its dates), and either may revoke any of
them, with the confirmation and an audit row; the trusted person and the other parent are
told, the inviting parent too. A parent who is not (or no longer) linked to the child in the
registry sees none of it, and revoking it is a 404."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import delete, select

from app.extensions import db
from app.models import AuditEvent, Guardianship, User
from app.notifications import TRUSTED_REVOKED, TRUSTED_REVOKED_FOR_CHILD, TRUSTED_SHARED
from tests.e2e.test_trusted import invite
from tests.trusted_family import (
    ALISA,
    FATHER,
    FATHER_KEY,
    FATHER_NAME,
    LEV,
    MOTHER_NAME,
    NINA_NAME,
    add_second_parent,
    audit_kinds,
    grants,
    move_clock,
    notices,
    person_id,
)


@pytest.fixture
def clock(monkeypatch):
    return move_clock(monkeypatch)


def signed_in(browser, persona: str):
    b = browser("moscow")
    assert b.mosru_login(persona).url.endswith("/diary/")
    return b


def row_of(page: str, grant_id: int) -> str:
    """The grant's row on the page, as HTML."""
    match = re.search(rf'<tr id="grant-{grant_id}">(.*?)</tr>', page, re.S)
    return match[1] if match else ""


def state_in(row: str) -> str:
    return re.search(r'<td class="grant-state">([^<(]+)', row)[1].strip()


def send(mother, live, children=("moskvin_lev",)) -> int:
    invite(mother, live, children=children)
    assert "Приглашение отправлено" in mother.post("/trusted/new/send").text
    return grants(live)[-1].id


def test_the_other_parent_sees_and_revokes_what_the_first_made(browser, live, monkeypatch, clock):
    add_second_parent(live, monkeypatch)
    mother = signed_in(browser, "M1")
    grant = send(mother, live)
    father = signed_in(browser, FATHER)

    # He was told, and sees it with who made it, its state and until when it may be answered.
    page = father.get("/notifications/").text
    assert "Приглашение доверенного лица для вашего ребенка" in page
    assert f"Родитель ({MOTHER_NAME}) пригласил доверенное лицо ({NINA_NAME})" in page
    assert LEV in page and ALISA not in page
    row = row_of(father.get("/trusted/").text, grant)
    assert NINA_NAME in row and LEV in row and MOTHER_NAME in row
    assert state_in(row) == "отправлено" and "Действует до" in row
    assert f'action="/trusted/{grant}/revoke"' in row

    nina = signed_in(browser, "M5")
    nina.get("/trusted/")
    nina.post(f"/trusted/{grant}/accept")
    clock(hours=25)
    assert LEV in nina.get("/diary/").text
    row = row_of(father.get("/trusted/").text, grant)
    assert state_in(row) == "активно" and "Принято" in row

    asked = father.post(f"/trusted/{grant}/revoke")  # asks first, and says who invited
    assert f"Отозвать доступ доверенного лица ({NINA_NAME}) к дневнику: {LEV}?" in asked.text
    assert f"Приглашение отправлял другой родитель ({MOTHER_NAME})" in asked.text
    assert 'name="confirm" value="yes"' in asked.text
    assert LEV in nina.get("/diary/").text  # nothing ended yet
    page = father.post(f"/trusted/{grant}/revoke", {"confirm": "yes"})
    assert "Доступ отозван." in page.text
    row = row_of(page.text, grant)
    assert state_in(row) == "отозвано" and "(вами)" in row
    assert f'action="/trusted/{grant}/revoke"' not in row

    row = row_of(mother.get("/trusted/").text, grant)
    assert state_in(row) == "отозвано" and f"({FATHER_NAME})" in row and ">Вы<" in row

    page = nina.get("/diary/").text  # gone at once, and she is told by whom
    assert LEV not in page and f"Доступ к дневнику отозван родителем ({FATHER_NAME}" in page
    page = nina.get("/notifications/").text
    assert "Доступ к дневнику отозван" in page
    assert f"Родитель ({FATHER_NAME}) отозвал ваш доступ к электронному дневнику: {LEV}." in page

    page = mother.get("/notifications/").text  # the inviting parent is told
    assert "Доступ доверенного лица отозван" in page
    assert f"Родитель ({FATHER_NAME}) отозвал доступ доверенного лица ({NINA_NAME})" in page
    assert "которое вы пригласили" in page
    assert "Доступ доверенного лица отозван" not in father.get("/notifications/").text

    events = audit_kinds(live)
    assert [kind for kind, _ in events] == [
        "trusted_invited", "trusted_accepted", "trusted_revoked"
    ]  # fmt: skip
    revoked = events[-1][1]
    assert revoked["grant_id"] == grant
    assert revoked["children"] == [person_id(live, "moskvin_lev")]
    with live.portal_app.app_context():
        event = db.session.scalars(select(AuditEvent).filter_by(kind="trusted_revoked")).one()
        assert db.session.get(User, event.actor_id).display_name == FATHER_NAME
        assert db.session.get(User, revoked["parent_id"]).display_name == MOTHER_NAME


def test_the_first_parent_revoking_tells_the_other(browser, live, monkeypatch):
    add_second_parent(live, monkeypatch)
    mother = signed_in(browser, "M1")
    grant = send(mother, live)
    nina = signed_in(browser, "M5")  # signed in while invited
    assert f'action="/trusted/{grant}/accept"' in nina.get("/notifications/").text
    mother.get("/trusted/")
    mother.post(f"/trusted/{grant}/revoke", {"confirm": "yes"})
    father = signed_in(browser, FATHER)
    page = father.get("/notifications/").text
    assert "Приглашение доверенного лица отозвано" in page
    assert f"Родитель ({MOTHER_NAME}) отозвал приглашение доверенному лицу ({NINA_NAME})" in page
    assert "ваше приглашение" not in page and "которое вы пригласили" not in page
    assert state_in(row_of(father.get("/trusted/").text, grant)) == "отозвано"
    page = nina.get("/notifications/").text
    assert f"Родитель ({MOTHER_NAME}) отозвал приглашение стать доверенным лицом: {LEV}." in page
    assert f'action="/trusted/{grant}/accept"' not in page
    assert [len(notices(live, k)) for k in (TRUSTED_REVOKED, TRUSTED_REVOKED_FOR_CHILD)] == [1, 1]


def test_two_parents_revoking_at_once_revoke_once(browser, live, monkeypatch):
    add_second_parent(live, monkeypatch)
    mother = signed_in(browser, "M1")
    grant = send(mother, live)
    father = signed_in(browser, FATHER)
    for parent in (mother, father):
        parent.get("/trusted/")
    start, pages = threading.Barrier(2), []

    def confirm(parent):
        start.wait()
        pages.append(parent.post(f"/trusted/{grant}/revoke", {"confirm": "yes"}))

    threads = [threading.Thread(target=confirm, args=(p,)) for p in (mother, father)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(page.status_code == 200 for page in pages)
    words = sorted("Доступ отозван." in page.text for page in pages)
    assert words == [False, True]
    assert any("Отзывать уже нечего" in page.text for page in pages)
    assert [kind for kind, _ in audit_kinds(live)] == ["trusted_invited", "trusted_revoked"]
    assert len(notices(live, TRUSTED_REVOKED)) == 1
    assert len(notices(live, TRUSTED_REVOKED_FOR_CHILD)) == 1


def test_a_parent_not_linked_to_the_child_cannot_see_or_revoke(browser, live, monkeypatch, clock):
    add_second_parent(live, monkeypatch, children=("moskvin_lev",))  # Алиса's father is not he
    mother = signed_in(browser, "M1")
    for_alisa = send(mother, live, children=("moskvina_alisa",))
    father = signed_in(browser, FATHER)

    page = father.get("/trusted/").text
    assert f'id="grant-{for_alisa}"' not in page and NINA_NAME not in page and ALISA not in page
    assert father.post(f"/trusted/{for_alisa}/revoke").status_code == 404
    father.get("/trusted/")
    assert father.post(f"/trusted/{for_alisa}/revoke", {"confirm": "yes"}).status_code == 404
    assert grants(live)[0].status == "sent"
    assert notices(live, TRUSTED_SHARED) == []  # nobody else is Алиса's parent
    assert "Приглашение доверенного лица" not in father.get("/notifications/").text

    # An invitation for both: he sees and revokes it for his own child only.
    both = send(mother, live, children=("moskvin_lev", "moskvina_alisa"))
    shared = notices(live, TRUSTED_SHARED)
    assert [n.payload["children"] for n in shared] == [[LEV]]
    row = row_of(father.get("/trusted/").text, both)
    assert LEV in row and ALISA not in row
    page = father.post(f"/trusted/{both}/revoke", {"confirm": "yes"})
    assert "Доступ отозван." in page.text
    row = row_of(mother.get("/trusted/").text, both)
    assert state_in(row) == "отправлено" and LEV in row and ALISA in row  # Алиса's stays
    nina = signed_in(browser, "M5")
    page = nina.get("/trusted/").text
    assert LEV not in row_of(page, both) and ALISA in row_of(page, both)
    nina.post(f"/trusted/{both}/accept")
    clock(hours=25)
    page = nina.get("/diary/").text
    assert ALISA in page and LEV not in page
    lev = nina.get("/diary/", params={"child": person_id(live, "moskvin_lev")})
    assert lev.status_code == 403 and f"отозван родителем ({FATHER_NAME}" in lev.text


def test_a_parent_whose_link_ended_sees_nothing_more(browser, live, monkeypatch):
    add_second_parent(live, monkeypatch)
    mother = signed_in(browser, "M1")
    grant = send(mother, live)
    father = signed_in(browser, FATHER)
    assert f'id="grant-{grant}"' in father.get("/trusted/").text
    with live.portal_app.app_context():
        db.session.execute(delete(Guardianship).filter_by(
            guardian_id=person_id(live, FATHER_KEY), student_id=person_id(live, "moskvin_lev")
        ))  # fmt: skip
        db.session.commit()
    page = father.get("/trusted/").text
    assert f'id="grant-{grant}"' not in page and NINA_NAME not in page
    assert father.post(f"/trusted/{grant}/revoke").status_code == 404
    father.get("/trusted/")
    assert father.post(f"/trusted/{grant}/revoke", {"confirm": "yes"}).status_code == 404
    assert grants(live)[0].status == "sent"

    # The same for the parent who invited: her link ended, her own invitation is gone from
    # her list; the other parent still sees it, ended.
    with live.portal_app.app_context():
        db.session.add(Guardianship(guardian_id=person_id(live, FATHER_KEY),
                                    student_id=person_id(live, "moskvin_lev")))  # fmt: skip
        db.session.execute(delete(Guardianship).filter_by(
            guardian_id=person_id(live, "moskvina_olga"),
            student_id=person_id(live, "moskvin_lev"),
        ))  # fmt: skip
        db.session.commit()
    assert f'id="grant-{grant}"' not in mother.get("/trusted/").text
    row = row_of(father.get("/trusted/").text, grant)
    assert state_in(row) == "прекращено" and "Школа больше не связывает" in row
