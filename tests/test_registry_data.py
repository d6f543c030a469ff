"""The synthetic registry used by tests and benchmarks: valid, deterministic, realistic."""

import collections
import json

from app.schools.registry import parse, read_lines, snils_is_valid
from bench.registry_data import registry, write


def _lines(persons, seed=1):
    return [json.dumps(record, ensure_ascii=False) for record in registry(persons, seed=seed)]


def test_every_line_is_valid_in_the_import_format(tmp_path):
    path = tmp_path / "registry.jsonl"
    count = write(path, 3000)
    records, problems = parse(read_lines(path.read_text(encoding="utf-8"), "jsonl"))
    assert problems == []
    assert len(records) == count
    kinds = collections.Counter(record.type for _, record in records)
    assert 2900 <= kinds["person"] <= 3010
    assert {"school", "class", "enrolment", "guardian", "staff"} <= set(kinds)


def test_the_same_seed_gives_the_same_file_and_another_seed_another():
    assert _lines(500) == _lines(500)
    assert _lines(500) != _lines(500, seed=2)


def test_people_look_like_a_region():
    people = [r for r in registry(20000) if r["type"] == "person"]
    numbers = [r["snils"] for r in people if "snils" in r]
    assert len(numbers) == len(set(numbers)) > 0.9 * len(people)
    assert all(snils_is_valid(n.replace("-", "").replace(" ", "")) for n in numbers)
    surnames = [r["last_name"] for r in people]
    assert any("-" in name for name in surnames)  # double surnames
    assert any("ё" in name for name in surnames)
    assert any(name.replace("е", "ё") != name and "Фе" in name for name in surnames)  # ё as е
    names = collections.Counter((r["last_name"], r["first_name"], r["middle_name"]) for r in people)
    assert names.most_common(1)[0][1] >= 5  # namesakes
    assert any("email" not in r for r in people) and any("phone" not in r for r in people)
