"""The school registry loaded from the web (``/admin/imports``): a 12 000-line file with two
bad lines checked and reported by line and field, applied outside the request with its
progress visible, summed up as added, changed and removed; one import per region at a time;
a failure halfway leaving the registry as it was; other regions kept out; the file kept
outside the static folder, limited in size and deleted after the job; the command line's
progress and its worker."""

from __future__ import annotations

import io
import itertools
import json
import re
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app import create_app
from app.accounts import grant_regional_admin
from app.extensions import db
from app.models import (
    AuditEvent,
    Enrolment,
    Guardianship,
    Person,
    School,
    SchoolClass,
    StaffRole,
    TeacherClass,
)
from app.models.base import utcnow
from app.models.imports import (
    RegistryImport,
    RegistryImportChunk,
    RegistryImportProblem,
    RegistryImportRow,
)
from app.schools import import_jobs, registry, staging
from bench.registry_data import registry as synthetic_registry
from tests.conftest import HostClient, empty_tables, test_environ
from tests.live import CSRF_RE

ISSUER = "https://idp.test/"
FINISHED = (registry.CHECKED, registry.DONE, registry.FAILED, registry.DISCARDED)


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def cli_app(database_uri):
    """The portal leaving import jobs to `flask registry work` (no worker thread)."""
    app = create_app(test_environ(database_uri), {"TESTING": True,
                                                  "REGISTRY_IMPORT_WORKER": "cli"})  # fmt: skip
    yield app
    empty_tables(app)
    with app.app_context():
        db.engine.dispose()


def host_client(app, slug: str) -> HostClient:
    app.test_client_class = HostClient
    client = app.test_client()
    client.host_url = f"http://{slug}.localhost/"
    return client


def admin(app, slug: str = "kaluga", subject: str = "900001") -> HostClient:
    """A regional administrator of ``slug``, signed in on its host."""
    with app.app_context():
        user = grant_regional_admin(slug, ISSUER, subject, f"Администратор {subject}")
        user_id = user.id
    client = host_client(app, slug)
    with client.session_transaction(base_url=client.host_url) as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True
    client.user_id = user_id
    return client


def token(client) -> str:
    found = CSRF_RE.search(client.get("/admin/imports").get_data(as_text=True))
    return found.group(1) or found.group(2)


def upload(client, content: bytes, name: str = "registry.jsonl", *, replace: bool = False):
    data = {"csrf_token": token(client), "file": (io.BytesIO(content), name)}
    if replace:
        data["replace"] = "yes"
    return client.post("/admin/imports", data=data, content_type="multipart/form-data")


def job_id_of(response) -> int:
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(re.fullmatch(r".*/admin/imports/(\d+)", response.headers["Location"])[1])


def job(app, job_id: int) -> RegistryImport:
    with app.app_context():
        found = db.session.get(RegistryImport, job_id)
        db.session.expunge(found)
        return found


def wait_for(app, job_id: int, states=FINISHED, timeout: float = 120) -> RegistryImport:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = job(app, job_id)
        if found.state in states:
            return found
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {found.state} after {timeout} s")


def apply(client, job_id: int):
    """«Применить», then «Да, применить» on the question it asks."""
    question = client.post(f"/admin/imports/{job_id}/apply", data={"csrf_token": token(client)})
    assert question.status_code == 200
    assert "Применить файл реестра?" in question.get_data(as_text=True)
    return client.post(f"/admin/imports/{job_id}/apply",
                       data={"csrf_token": token(client), "confirm": "yes"})  # fmt: skip


def lines_of(records) -> list[str]:
    return [json.dumps(record, ensure_ascii=False) for record in records]


def jsonl(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def number(text: str) -> int:
    return int(text.replace("\u00a0", "").replace(" ", ""))


def problem_rows(page: str) -> set[tuple[int, str]]:
    """(line, field) of every row of the page's problem table."""
    rows = re.findall(r"<tr>\s*<td>([\d\u00a0]+)</td>\s*<td>(?:<code>([^<]+)</code>|вся строка)",
                      page)  # fmt: skip
    return {(number(line), field) for line, field in rows}


def summary_of(page: str) -> dict[str, dict[str, int]]:
    rows = re.findall(r'<tr data-kind="(\w+)"><th scope="row">[^<]+</th><td>([^<]+)</td>'
                      r"<td>([^<]+)</td><td>([^<]+)</td></tr>", page)  # fmt: skip
    return {kind: {"added": number(a), "changed": number(c), "removed": number(r)}
            for kind, a, c, r in rows}  # fmt: skip


def expected_records(records) -> dict[str, set]:
    """The distinct records of each kind a list of valid records holds."""
    found: dict[str, set] = {kind: set() for kind in staging.SUMMARY_KINDS}
    for r in records:
        kind = r["type"]
        if kind in ("school", "person"):
            found[kind].add(r["key"])
        elif kind == "class":
            found[kind].add((r["school"], r["name"]))
        elif kind == "enrolment":
            found[kind].add((r["person"], r["school"], r["class"]))
        elif kind == "guardian":
            found[kind].add((r["guardian"], r["student"]))
        else:
            found[kind].add((r["person"], r["school"], r["role"]))
            found["teacher"] |= {(r["person"], r["school"], c) for c in r.get("classes", [])}
    return found


def registry_rows(app, tenant: str) -> dict[str, set]:
    """The region's registry as comparable rows, by kind."""
    with app.app_context():
        q = db.session.execute
        key = {p.id: p.key for p in db.session.scalars(select(Person).filter_by(tenant=tenant))}
        schools = {s.id: s.key for s in db.session.scalars(select(School).filter_by(tenant=tenant))}
        classes = {c.id: (schools[c.school_id], c.name) for c in db.session.scalars(
            select(SchoolClass).where(SchoolClass.school_id.in_(schools)))}  # fmt: skip
        return {
            "school": set(q(select(School.key, School.full_name, School.short_name)
                            .filter_by(tenant=tenant)).all()),
            "class": set(classes.values()),
            "person": set(q(select(Person.key, Person.last_name, Person.first_name,
                                   Person.middle_name, Person.birth_date, Person.snils,
                                   Person.email, Person.phone).filter_by(tenant=tenant)).all()),
            "enrolment": {(key[e.person_id], *classes[e.class_id], e.active)
                          for e in db.session.scalars(select(Enrolment).where(
                              Enrolment.person_id.in_(key)))},
            "guardian": {(key[g.guardian_id], key[g.student_id]) for g in db.session.scalars(
                select(Guardianship).where(Guardianship.student_id.in_(key)))},
            "staff": {(key[s.person_id], schools[s.school_id], s.role) for s in
                      db.session.scalars(select(StaffRole).where(StaffRole.person_id.in_(key)))},
            "teacher": {(key[t.person_id], *classes[t.class_id]) for t in db.session.scalars(
                select(TeacherClass).where(TeacherClass.person_id.in_(key)))},
        }  # fmt: skip


def leftovers(app, job_id: int) -> dict[str, int]:
    with app.app_context():
        return {model.__name__: db.session.scalar(
            select(func.count()).select_from(model).filter_by(job_id=job_id))
            for model in (RegistryImportChunk, RegistryImportRow)}  # fmt: skip


class Pause:
    """Holds the worker at the start of a batch of staged records — the batches before it
    committed, no transaction open — until released."""

    def __init__(self, monkeypatch, *, after_batches: int):
        self.armed = False
        self.reached, self.gate = threading.Event(), threading.Event()
        self.after, self.batches = after_batches, 0
        original = staging.write_rows

        def write_rows(rows):
            if self.armed:
                self.batches += 1
                if self.batches == self.after + 1:
                    self.reached.set()
                    self.gate.wait(60)
            return original(rows)

        monkeypatch.setattr(staging, "write_rows", write_rows)

    def arm(self) -> None:
        self.armed, self.batches = True, 0
        self.reached.clear()
        self.gate.clear()


# --- the 12 000-line file --------------------------------------------------------------------


def twelve_thousand_lines():
    """The synthetic region's first 12 000 lines, two of them spoiled: a staff line with a
    role the format has not, and an enrolment into a class no school has."""
    records = list(itertools.islice(synthetic_registry(6000), 12_000))
    assert len(records) == 12_000
    staff = next(i for i, r in enumerate(records) if r["type"] == "staff" and i > 100)
    enrolment = next(i for i, r in enumerate(records) if r["type"] == "enrolment" and i > 6000)
    lines = lines_of(records)
    lines[staff] = json.dumps({**records[staff], "role": "director"}, ensure_ascii=False)
    lines[enrolment] = json.dumps({**records[enrolment], "class": "99Я"}, ensure_ascii=False)
    good = [r for i, r in enumerate(records) if i not in (staff, enrolment)]
    return lines, good, {(staff + 1, "role"), (enrolment + 1, "class")}


def test_a_12000_line_file_is_checked_reported_applied_with_progress_and_summed_up(
    app, monkeypatch
):
    monkeypatch.setattr(registry, "BATCH_LINES", 1000)
    pause = Pause(monkeypatch, after_batches=6)
    lines, good, bad = twelve_thousand_lines()
    client = admin(app)

    job_id = job_id_of(upload(client, jsonl(lines), "region.jsonl"))
    checked = wait_for(app, job_id)
    assert checked.state == registry.CHECKED
    assert (checked.lines_total, checked.problem_count, checked.skipped_lines) == (12_000, 2, 2)
    assert sum(checked.records.values()) == 11_998
    page = client.get(f"/admin/imports/{job_id}").get_data(as_text=True)
    assert problem_rows(page) == bad  # both, by line and field
    assert "допустимые значения: teacher или school_admin" in page
    assert "класса «99Я» нет в школе" in page
    assert "Применить, пропустив строки с ошибками" in page
    assert registry_rows(app, "kaluga")["person"] == set()  # checking wrote nothing

    pause.arm()
    assert apply(client, job_id).status_code == 303
    assert pause.reached.wait(60), "the apply never reached its seventh batch"
    try:
        status = client.get(f"/admin/imports/{job_id}/status", headers={"HX-Request": "true"})
        fragment = status.get_data(as_text=True)
        bar = re.search(r'<progress id="import-progress" max="(\d+)" value="(\d+)"', fragment)
        assert bar and bar[1] == "12000" and bar[2] == "6000"
        assert "Строк 6\u00a0000 из 12\u00a0000 (50 %)" in fragment
        assert 'hx-trigger="every 1s"' in fragment and "Файл применяется" in fragment
        whole = client.get(f"/admin/imports/{job_id}").get_data(as_text=True)
        assert '<noscript><meta http-equiv="refresh"' in whole and "Обновить страницу" in whole
        head = whole.split("</head>")[0]  # not in the fragment htmx swaps in (a live element)
        assert '<noscript><meta http-equiv="refresh"' in head and "http-equiv" not in fragment
        assert job(app, job_id).state == registry.APPLYING
        assert registry_rows(app, "kaluga")["person"] == set()  # the registry as it was
    finally:
        pause.gate.set()

    done = wait_for(app, job_id)
    assert done.state == registry.DONE, done.error
    expected = {kind: len(found) for kind, found in expected_records(good).items()}
    assert expected["person"] > 5000 and expected["enrolment"] > 2000
    final = client.get(f"/admin/imports/{job_id}/status", headers={"HX-Request": "true"})
    shown = summary_of(final.get_data(as_text=True))
    assert "hx-trigger" not in final.get_data(as_text=True)  # polling stops
    assert shown == {kind: {"added": count, "changed": 0, "removed": 0}
                     for kind, count in expected.items()}  # fmt: skip
    rows = registry_rows(app, "kaluga")
    assert {kind: len(found) for kind, found in rows.items()} == expected
    assert problem_rows(final.get_data(as_text=True)) == bad  # the skipped lines, listed
    assert leftovers(app, job_id) == {"RegistryImportChunk": 0, "RegistryImportRow": 0}
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).filter_by(kind="registry_imported")).one()
        assert event.actor_id == client.user_id and event.tenant == "kaluga"
        assert event.detail["added"] == sum(expected.values()) and event.detail["skipped"] == 2
        assert registry.running_import("kaluga") is None


# --- added, changed, removed -----------------------------------------------------------------


def test_a_full_export_adds_changes_and_removes_and_the_summary_says_so(app):
    records = list(synthetic_registry(400))
    with app.app_context():
        registry.import_records("kaluga", enumerate(records, 1), source="first.jsonl")
    client = admin(app)
    second = [dict(r) for r in records]
    people = [r for r in second if r["type"] == "person"]
    for person in people[:3]:
        person["phone"] = "+7 900 111-22-33"
    school = next(r for r in second if r["type"] == "school")
    school["short_name"] = "Школа № 1 имени первой загрузки"
    enrolments = [i for i, r in enumerate(second) if r["type"] == "enrolment"]
    dropped = set(enrolments[:5])
    kept_student = second[enrolments[10]]["person"]
    dropped.add(next(i for i, r in enumerate(second)
                     if r["type"] == "guardian" and r["student"] == kept_student))  # fmt: skip
    dropped.add(next(i for i, r in enumerate(second) if r["type"] == "staff"))
    second = [r for i, r in enumerate(second) if i not in dropped]
    newcomer = {"type": "person", "key": "new-pupil", "last_name": "Новенький",
                "first_name": "Пётр", "birth_date": "2015-05-05"}  # fmt: skip
    second += [newcomer, {"type": "enrolment", "person": "new-pupil",
                          "school": school["key"], "class": "1А"}]  # fmt: skip

    job_id = job_id_of(upload(client, jsonl(lines_of(second)), replace=True))
    assert wait_for(app, job_id).state == registry.CHECKED
    apply(client, job_id)
    assert wait_for(app, job_id).state == registry.DONE
    shown = summary_of(client.get(f"/admin/imports/{job_id}").get_data(as_text=True))
    assert shown["person"] == {"added": 1, "changed": 3, "removed": 0}
    assert shown["school"] == {"added": 0, "changed": 1, "removed": 0}
    assert shown["enrolment"] == {"added": 1, "changed": 0, "removed": 5}
    assert shown["guardian"] == {"added": 0, "changed": 0, "removed": 1}
    assert shown["staff"] == {"added": 0, "changed": 0, "removed": 1}
    assert shown["class"] == {"added": 0, "changed": 0, "removed": 0}
    rows = registry_rows(app, "kaluga")
    ended = {(r["person"], r["school"], r["class"], False) for r in
             (records[i] for i in enrolments[:5])}  # fmt: skip
    assert ended <= rows["enrolment"]  # ended, not deleted
    assert ("new-pupil", school["key"], "1А", True) in rows["enrolment"]


def test_without_the_full_export_box_nothing_is_removed(app):
    records = list(synthetic_registry(200))
    with app.app_context():
        registry.import_records("kaluga", enumerate(records, 1), source="first.jsonl")
    before = registry_rows(app, "kaluga")
    client = admin(app)
    fewer = [r for r in records if r["type"] != "enrolment"]
    job_id = job_id_of(upload(client, jsonl(lines_of(fewer))))
    wait_for(app, job_id)
    apply(client, job_id)
    assert wait_for(app, job_id).summary["enrolment"] == {"added": 0, "changed": 0, "removed": 0}
    assert registry_rows(app, "kaluga") == before


# --- failure, one at a time, dead workers ----------------------------------------------------


def test_a_failure_halfway_through_the_apply_leaves_the_previous_registry(app, monkeypatch):
    records = list(synthetic_registry(300))
    with app.app_context():
        registry.import_records("kaluga", enumerate(records, 1), source="first.jsonl")
    before = registry_rows(app, "kaluga")
    changed = [dict(r) for r in records]
    for r in changed:
        if r["type"] == "person":
            r["last_name"] = r["last_name"] + "-Новая"
        elif r["type"] == "school":
            r["short_name"] = "Переименованная школа"
    changed += [{"type": "school", "key": "s-new", "full_name": "МБОУ «Новая школа»",
                 "short_name": "Новая"}, {"type": "class", "school": "s-new", "name": "1А"}]  # fmt: skip

    def broken(staged, summary, counted, replace):
        raise RuntimeError("the database went away halfway")

    # Schools, classes and people are written in the transaction before the failure.
    steps = list(staging.STEPS)
    monkeypatch.setattr(staging, "STEPS", (*steps[:2], broken, *steps[2:]))
    client = admin(app)
    job_id = job_id_of(upload(client, jsonl(lines_of(changed))))
    wait_for(app, job_id)
    apply(client, job_id)
    failed = wait_for(app, job_id)

    assert failed.state == registry.FAILED and failed.failure == "error"
    assert "the database went away halfway" in failed.error
    assert registry_rows(app, "kaluga") == before  # nothing of it stayed
    page = client.get(f"/admin/imports/{job_id}").get_data(as_text=True)
    assert "Файл не применён" in page and "Реестр региона не изменился." in page
    assert leftovers(app, job_id) == {"RegistryImportChunk": 0, "RegistryImportRow": 0}
    with app.app_context():
        assert registry.running_import("kaluga") is None
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .filter_by(kind="registry_import_failed")) == 1  # fmt: skip
    monkeypatch.setattr(staging, "STEPS", tuple(steps))
    again = job_id_of(upload(client, jsonl(lines_of(changed))))  # the region is free again
    wait_for(app, again)
    apply(client, again)
    assert wait_for(app, again).state == registry.DONE
    assert registry_rows(app, "kaluga") != before


def test_a_second_upload_while_one_runs_is_refused(cli_app):
    client = admin(cli_app)
    first = job_id_of(upload(client, jsonl(lines_of(synthetic_registry(50))), "first.jsonl"))
    refused = upload(client, jsonl(lines_of(synthetic_registry(50))), "second.jsonl")
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert "уже загружается файл «first.jsonl»" in text and "только одна" in text
    with cli_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RegistryImport)) == 1
        assert import_jobs.work() == 1  # what `flask registry work` does
    assert job(cli_app, first).state == registry.CHECKED
    assert job_id_of(upload(client, jsonl(lines_of(synthetic_registry(50))), "second.jsonl"))


def test_two_administrators_pressing_apply_at_once_start_one_import(cli_app):
    first_admin = admin(cli_app, subject="900001")
    second_admin = admin(cli_app, subject="900002")
    jobs = []
    for n in range(2):  # one upload at a time: the second once the first is checked
        content = jsonl(lines_of(synthetic_registry(50 + n)))
        jobs.append(job_id_of(upload(first_admin, content, f"file-{n}.jsonl")))
        with cli_app.app_context():
            import_jobs.work()
    tokens = [token(first_admin), token(second_admin)]
    barrier, answers = threading.Barrier(2), {}

    def press(client, job_id, csrf):
        barrier.wait()
        answers[job_id] = client.post(f"/admin/imports/{job_id}/apply",
                                      data={"csrf_token": csrf, "confirm": "yes"})  # fmt: skip

    threads = [threading.Thread(target=press, args=(c, j, t))
               for c, j, t in zip((first_admin, second_admin), jobs, tokens, strict=True)]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    statuses = sorted(answer.status_code for answer in answers.values())
    assert statuses == [303, 409]
    loser = next(answer for answer in answers.values() if answer.status_code == 409)
    assert "одновременно идёт только одна загрузка" in loser.get_data(as_text=True)
    states = Counter(job(cli_app, job_id).state for job_id in jobs)
    assert states == {registry.APPLYING: 1, registry.CHECKED: 1}


def test_pressing_apply_twice_applies_once(cli_app):
    client = admin(cli_app)
    job_id = job_id_of(upload(client, jsonl(lines_of(synthetic_registry(50)))))
    with cli_app.app_context():
        import_jobs.work()
    csrf = token(client)
    for _ in range(2):
        answer = client.post(f"/admin/imports/{job_id}/apply",
                             data={"csrf_token": csrf, "confirm": "yes"})  # fmt: skip
        assert answer.status_code == 303
    with cli_app.app_context():
        assert import_jobs.work() == 1
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .filter_by(kind="registry_import_started")) == 1  # fmt: skip
    assert job(cli_app, job_id).state == registry.DONE


def test_a_job_whose_worker_died_is_shown_as_failed_and_frees_the_region(cli_app):
    client = admin(cli_app)
    job_id = job_id_of(upload(client, jsonl(lines_of(synthetic_registry(50)))))
    with cli_app.app_context():
        import_jobs.work()
        # A worker took the apply and died: its last heartbeat is two minutes old.
        db.session.execute(update(RegistryImport).where(RegistryImport.id == job_id).values(
            state=registry.APPLYING, running_tenant="kaluga", worker="gone:1:1",
            heartbeat_at=utcnow() - timedelta(minutes=2)))  # fmt: skip
        db.session.commit()
    page = client.get(f"/admin/imports/{job_id}").get_data(as_text=True)
    assert "Файл не применён" in page and "Работа над файлом прервалась" in page
    assert job(cli_app, job_id).failure == "worker_lost"
    assert leftovers(cli_app, job_id)["RegistryImportChunk"] == 0
    assert registry_rows(cli_app, "kaluga")["person"] == set()
    assert job_id_of(upload(client, jsonl(lines_of(synthetic_registry(50)))))


def test_a_worker_taken_for_dead_cannot_finish_its_job(cli_app):
    client = admin(cli_app)
    job_id = job_id_of(upload(client, jsonl(lines_of(synthetic_registry(50)))))
    with cli_app.app_context():
        assert import_jobs.claim("slow:1:1") == job_id
        registry.fail(job_id, failure="worker_lost")  # what the reaper does
        with pytest.raises(registry.JobLost):
            registry.stage(job_id, [(1, {"type": "school", "key": "x", "full_name": "Школа X",
                                         "short_name": "X"})], worker="slow:1:1")  # fmt: skip
        db.session.rollback()
    assert job(cli_app, job_id).state == registry.FAILED


# --- another region, the file itself ---------------------------------------------------------


def test_another_regions_administrator_cannot_see_or_apply_the_job(cli_app):
    kaluga = admin(cli_app, "kaluga", "900001")
    job_id = job_id_of(upload(kaluga, jsonl(lines_of(synthetic_registry(50))), "kaluga.jsonl"))
    with cli_app.app_context():
        import_jobs.work()
    mosreg = admin(cli_app, "mosreg", "900002")
    csrf = token(mosreg)
    assert "kaluga.jsonl" not in mosreg.get("/admin/imports").get_data(as_text=True)
    assert mosreg.get(f"/admin/imports/{job_id}").status_code == 404
    status = mosreg.get(f"/admin/imports/{job_id}/status", headers={"HX-Request": "true"})
    assert status.status_code == 404
    for action in ("apply", "discard"):
        answer = mosreg.post(f"/admin/imports/{job_id}/{action}",
                             data={"csrf_token": csrf, "confirm": "yes"})  # fmt: skip
        assert answer.status_code == 404
    assert job(cli_app, job_id).state == registry.CHECKED
    # The kaluga administrator's own session means nothing on mosreg's host.
    kaluga_on_mosreg = host_client(cli_app, "mosreg")
    cookie = kaluga.get_cookie("session", domain="kaluga.localhost")
    kaluga_on_mosreg.set_cookie("session", cookie.value, domain="mosreg.localhost")
    assert kaluga_on_mosreg.get(f"/admin/imports/{job_id}").status_code == 302


def test_the_file_is_limited_in_size_with_a_clear_message(database_uri):
    app = create_app(test_environ(database_uri), {"TESTING": True,
                                                  "REGISTRY_UPLOAD_MAX_BYTES": 4096})  # fmt: skip
    try:
        client = admin(app)
        line = json.dumps({"type": "school", "key": "s", "full_name": "Школа " * 20,
                           "short_name": "Школа"}, ensure_ascii=False)  # fmt: skip
        for size in (5000, 200_000):  # just over (read and refused), far over (never read)
            content = (line + "\n") * (size // len(line.encode()) + 1)
            refused = upload(client, content.encode())
            assert refused.status_code == 413
            text = refused.get_data(as_text=True)
            assert "Файл больше 4 КБ" in text and 'aria-invalid="true"' in text
            assert 'aria-describedby="import-file-hint import-file-error"' in text
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(RegistryImport)) == 0
            assert db.session.scalar(select(func.count()).select_from(RegistryImportChunk)) == 0
        wait_for(app, job_id_of(upload(client, (line + "\n").encode())))  # the lock was let go
    finally:
        empty_tables(app)
        with app.app_context():
            db.engine.dispose()


def test_a_file_over_the_two_megabytes_other_forms_take_is_taken_here_only(cli_app):
    client = admin(cli_app)
    line = json.dumps({"type": "person", "key": "p", "last_name": "Тестова",
                       "first_name": "Анна"}, ensure_ascii=False)  # fmt: skip
    content = ((line + "\n") * (3 * 1024 * 1024 // len(line.encode()))).encode()
    assert len(content) > cli_app.config["MAX_CONTENT_LENGTH"]
    job_id = job_id_of(upload(client, content))
    assert job(cli_app, job_id).size == len(content)
    # Every other form keeps the application's limit.
    page = client.get("/admin/config").get_data(as_text=True)
    csrf = CSRF_RE.search(page)
    refused = client.post("/admin/config", content_type="multipart/form-data", data={
        "csrf_token": csrf.group(1) or csrf.group(2), "logo": (io.BytesIO(content), "logo.png")})  # fmt: skip
    assert refused.status_code == 413
    assert "Загружаемый файл слишком большой." in refused.get_data(as_text=True)


def test_the_file_waits_in_the_database_never_in_static_and_goes_with_the_job(cli_app):
    static = sorted(Path(cli_app.static_folder).rglob("*"))
    client = admin(cli_app)
    content = jsonl(lines_of(synthetic_registry(50)))
    job_id = job_id_of(upload(client, content))
    with cli_app.app_context():
        chunks = db.session.scalars(select(RegistryImportChunk.data).filter_by(job_id=job_id))
        assert b"".join(chunks) == content
    assert sorted(Path(cli_app.static_folder).rglob("*")) == static
    page = client.get(f"/admin/imports/{job_id}").get_data(as_text=True)
    assert "Файл ждёт проверки" in page
    with cli_app.app_context():
        import_jobs.work()
    # Discarding asks first, then deletes the file.
    question = client.post(f"/admin/imports/{job_id}/discard", data={"csrf_token": token(client)})
    assert "Отменить загрузку файла «registry.jsonl»?" in question.get_data(as_text=True)
    assert leftovers(cli_app, job_id)["RegistryImportChunk"] > 0
    client.post(f"/admin/imports/{job_id}/discard",
                data={"csrf_token": token(client), "confirm": "yes"})  # fmt: skip
    assert job(cli_app, job_id).state == registry.DISCARDED
    assert leftovers(cli_app, job_id)["RegistryImportChunk"] == 0


def test_an_upload_without_its_csrf_token_is_refused(cli_app):
    client = admin(cli_app)
    client.get("/admin/imports")
    refused = client.post("/admin/imports", content_type="multipart/form-data",
                          data={"file": (io.BytesIO(b'{"type": "school"}\n'), "x.jsonl")})  # fmt: skip
    assert refused.status_code == 400
    with cli_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RegistryImport)) == 0
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .filter_by(kind="csrf_refused")) == 1  # fmt: skip


@pytest.mark.parametrize(("name", "said"), [
    ("registry.xlsx", "в формате .jsonl или .csv"),
    ("empty.jsonl", "Файл пустой"),
])  # fmt: skip
def test_what_is_not_a_registry_file_is_refused_at_its_field(cli_app, name, said):
    client = admin(cli_app)
    refused = upload(client, b"" if name.startswith("empty") else b"PK\x03\x04", name)
    assert refused.status_code == 400 and said in refused.get_data(as_text=True)
    with cli_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RegistryImport)) == 0


def test_a_csv_file_with_bad_lines_is_reported_in_russian_by_line_and_field(cli_app):
    csv_text = (
        "type,key,full_name,short_name,school,name,last_name,first_name,birth_date,snils,person,class\n"
        "school,s1,МБОУ «Средняя школа № 7»,СШ № 7,,,,,,,,\n"
        "class,,,,s1,5А,,,,,,\n"
        "person,kid,,,,,Тестов,Пётр,31.02.2015,547-712-782 19,,\n"
        "enrolment,,,,s1,,,,,,kid,5А\n"
        "\"person\",x,,,,,,Имя,,,,,extra\n"
    )  # fmt: skip
    client = admin(cli_app)
    job_id = job_id_of(upload(client, csv_text.encode("utf-8-sig"), "region.csv"))
    with cli_app.app_context():
        import_jobs.work()
    page = client.get(f"/admin/imports/{job_id}").get_data(as_text=True)
    assert problem_rows(page) == {(4, "birth_date"), (4, "snils"), (5, "person"), (6, "")}
    assert "не дата: пишите ГГГГ-ММ-ДД или ДД.ММ.ГГГГ" in page
    assert "не сходится контрольное число СНИЛС" in page
    assert "человека с ключом «kid» нет ни в файле, ни в реестре региона" in page
    assert "ячеек больше, чем столбцов в заголовке" in page


def test_a_long_report_is_paged(cli_app):
    lines = [json.dumps({"type": "guardian", "guardian": f"p{n}", "student": f"c{n}"})
             for n in range(120)]  # fmt: skip
    client = admin(cli_app)
    job_id = job_id_of(upload(client, jsonl(lines)))
    with cli_app.app_context():
        import_jobs.work()
    assert job(cli_app, job_id).problem_count == 240  # both people of each line are missing
    first = client.get(f"/admin/imports/{job_id}").get_data(as_text=True)
    third = client.get(f"/admin/imports/{job_id}?page=3").get_data(as_text=True)
    assert len(problem_rows(first)) == 50 and "Страница 1 из 5" in first
    assert {line for line, _ in problem_rows(first)} == set(range(1, 26))  # two a line
    assert {line for line, _ in problem_rows(third)} == set(range(51, 76))
    assert f"/admin/imports/{job_id}?page=4#import-problems" in third
    assert "Применять нечего" in first and f"/admin/imports/{job_id}/apply" not in first


# --- the command line ------------------------------------------------------------------------


def test_the_command_line_prints_progress_and_can_skip_bad_lines(app, runner, tmp_path):
    lines, good, bad = twelve_thousand_lines()
    path = tmp_path / "region.jsonl"
    path.write_bytes(jsonl(lines))
    refused = runner.invoke(args=["registry", "import", str(path), "--tenant", "kaluga"])
    # All or nothing by default: the line that does not read stops it before the references.
    (role_line,) = [line for line, field in bad if field == "role"]
    assert refused.exit_code == 1
    assert f"region.jsonl: line {role_line}: role: Input should be" in refused.output
    assert "nothing imported: 1 problem(s)" in refused.output
    assert registry_rows(app, "kaluga")["person"] == set()
    result = runner.invoke(args=["registry", "import", str(path), "--tenant", "kaluga",
                                 "--skip-invalid"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "region.jsonl: 5,000 / 12,000 lines read" in result.output
    assert "region.jsonl: 12,000 / 12,000 lines read" in result.output
    assert "checking references" in result.output and "writing to the registry" in result.output
    for line, field in bad:
        assert f"region.jsonl: line {line}: {field}" in result.output
    assert "skipped 2 line(s) with problems" in result.output
    expected = expected_records(good)
    assert f"person +{len(expected['person'])} ~0 -0" in result.output
    assert {kind: len(found) for kind, found in registry_rows(app, "kaluga").items()} == {
        kind: len(found) for kind, found in expected.items()}  # fmt: skip


def test_the_command_line_waits_its_turn(cli_app, tmp_path):
    client = admin(cli_app)
    job_id_of(upload(client, jsonl(lines_of(synthetic_registry(50))), "web.jsonl"))
    path = tmp_path / "cli.jsonl"
    path.write_bytes(jsonl(lines_of(synthetic_registry(50))))
    result = cli_app.test_cli_runner().invoke(
        args=["registry", "import", str(path), "--tenant", "kaluga"])  # fmt: skip
    assert result.exit_code == 1
    assert "kaluga is importing another file (web.jsonl" in result.output


def test_registry_work_runs_the_jobs_uploaded_on_the_web(cli_app):
    client = admin(cli_app)
    job_id = job_id_of(upload(client, jsonl(lines_of(synthetic_registry(50)))))
    assert job(cli_app, job_id).state == registry.CHECKING  # no thread took it
    result = cli_app.test_cli_runner().invoke(args=["registry", "work"])
    assert result.exit_code == 0 and f"job {job_id} done" in result.output
    assert job(cli_app, job_id).state == registry.CHECKED
    with cli_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RegistryImportProblem)) == 0
