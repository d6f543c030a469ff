"""`flask registry import`: row-level errors with line numbers, all or nothing, idempotent."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Enrolment, Guardianship, Person, School, StaffRole
from app.schools.registry import RegistryImportError, import_text, snils_is_valid

GOOD_JSONL = "\n".join(
    json.dumps(record, ensure_ascii=False)
    for record in [
        {"type": "school", "key": "s1", "full_name": "МБОУ «Средняя школа № 7» г. Примерска",
         "short_name": "СШ № 7"},
        {"type": "class", "school": "s1", "name": "5А"},
        {"type": "person", "key": "kid", "last_name": "Тестов", "first_name": "Пётр",
         "birth_date": "2015-03-01", "snils": "547-712-782 18"},
        {"type": "person", "key": "mum", "last_name": "Тестова", "first_name": "Анна",
         "middle_name": "Ивановна", "birth_date": "12.04.1988", "snils": "361 973 069 02",
         "email": "Anna@Example.test", "phone": "8 (900) 000-11-22"},
        {"type": "enrolment", "person": "kid", "school": "s1", "class": "5А"},
        {"type": "guardian", "guardian": "mum", "student": "kid"},
        {"type": "staff", "person": "mum", "school": "s1", "role": "teacher"},
    ]
)  # fmt: skip

GOOD_CSV = """type,key,full_name,short_name,school,name,last_name,first_name,middle_name,birth_date,snils,person,class,guardian,student,role
school,s1,МБОУ «Средняя школа № 7» г. Примерска,СШ № 7,,,,,,,,,,,,
class,,,,s1,5А,,,,,,,,,,
person,kid,,,,,Тестов,Пётр,,2015-03-01,547-712-782 18,,,,,
enrolment,,,,s1,,,,,,,kid,5А,,,
"""


def counts():
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (School, Person, Enrolment, Guardianship, StaffRole)
    }


def test_jsonl_import_writes_everything_normalised(app):
    with app.app_context():
        report = import_text("kaluga", GOOD_JSONL, "jsonl")
        assert report.counts == {"school": 1, "class": 1, "person": 2, "enrolment": 1,
                                 "guardian": 1, "staff": 1}  # fmt: skip
        mum = db.session.scalars(select(Person).filter_by(key="mum")).one()
        assert (mum.snils, mum.email, mum.phone) == (
            "36197306902",
            "anna@example.test",
            "79000001122",
        )
        assert mum.name_key == "тестова анна ивановна"
        assert mum.birth_date.isoformat() == "1988-04-12"


def test_import_is_idempotent(app):
    with app.app_context():
        import_text("kaluga", GOOD_JSONL, "jsonl")
        first = counts()
        import_text("kaluga", GOOD_JSONL, "jsonl")
        assert counts() == first


def test_csv_import(app):
    with app.app_context():
        import_text("mosreg", GOOD_CSV, "csv")
        assert counts()["Enrolment"] == 1


def test_bad_rows_are_reported_with_their_lines_and_nothing_is_imported(app):
    bad = GOOD_JSONL.splitlines()
    bad[2] = json.dumps({"type": "person", "key": "kid", "last_name": "Тестов",
                         "first_name": "Пётр", "snils": "547-712-782 19"})  # fmt: skip
    bad[4] = json.dumps({"type": "enrolment", "person": "kid", "school": "s1", "class": "9Я"})
    bad.append("{not json")
    bad.append(json.dumps({"type": "pupil"}))
    with app.app_context(), pytest.raises(RegistryImportError) as caught:
        import_text("kaluga", "\n".join(bad), "jsonl")
    assert caught.value.problems == [
        "line 3: snils: the СНИЛС check number does not match",
        "line 8: not JSON: Expecting property name enclosed in double quotes",
        "line 9: type: must be one of school, class, person, enrolment, guardian, staff",
    ]
    with app.app_context():
        assert set(counts().values()) == {0}


def test_unresolved_references_roll_everything_back(app):
    lines = GOOD_JSONL.splitlines()
    lines[4] = json.dumps({"type": "enrolment", "person": "kid", "school": "s1", "class": "9Я"})
    lines[5] = json.dumps({"type": "guardian", "guardian": "dad", "student": "kid"})
    with app.app_context(), pytest.raises(RegistryImportError) as caught:
        import_text("kaluga", "\n".join(lines), "jsonl")
    assert caught.value.problems == [
        "line 5: class '9Я' is not in school 's1'",
        "line 6: person 'dad' is not in the file or the registry",
    ]
    with app.app_context():
        assert set(counts().values()) == {0}


def test_csv_errors_have_file_line_numbers(app):
    text = GOOD_CSV + "person,x,,,,,,Имя,,31.02.2010,,,,,,\n"
    with app.app_context(), pytest.raises(RegistryImportError) as caught:
        import_text("kaluga", text, "csv")
    assert caught.value.problems == [
        "line 6: last_name: Field required",
        "line 6: birth_date: not a date (YYYY-MM-DD or DD.MM.YYYY)",
    ]


def test_regions_are_kept_apart(app):
    with app.app_context():
        import_text("kaluga", GOOD_JSONL, "jsonl")
        import_text("mosreg", GOOD_JSONL, "jsonl")
        assert db.session.scalar(select(func.count()).select_from(Person)) == 4


@pytest.mark.parametrize(
    ("snils", "valid"),
    [("54771278218", True), ("36197306902", True), ("54771278219", False), ("00000000100", False)],
)
def test_snils_check_number(snils, valid):
    assert snils_is_valid(snils) is valid


def test_cli_reports_problems_and_exits_non_zero(runner, tmp_path):
    path = tmp_path / "registry.jsonl"
    path.write_text('{"type": "school", "key": "s1"}\n', encoding="utf-8")
    result = runner.invoke(args=["registry", "import", str(path), "--tenant", "kaluga"])
    assert result.exit_code == 1
    assert "registry.jsonl: line 1: full_name: Field required" in result.output
    assert "nothing imported: 2 problem(s)" in result.output


def test_cli_imports(runner, tmp_path, app):
    path = tmp_path / "registry.jsonl"
    path.write_text(GOOD_JSONL, encoding="utf-8")
    result = runner.invoke(args=["registry", "import", str(path), "--tenant", "tatarstan"])
    assert result.exit_code == 0, result.output
    assert "imported into tatarstan: class 1, enrolment 1, guardian 1, person 2" in result.output
    lines = len(GOOD_JSONL.strip().splitlines())
    assert re.search(rf"\n{lines} lines in \d+\.\d s \([\d,]+ lines a second", result.output)


def test_cli_refuses_an_unknown_region(runner, tmp_path):
    path = tmp_path / "registry.jsonl"
    path.write_text(GOOD_JSONL, encoding="utf-8")
    result = runner.invoke(args=["registry", "import", str(path), "--tenant", "atlantis"])
    assert result.exit_code == 2
    assert "no region 'atlantis'" in result.output
