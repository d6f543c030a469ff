"""A synthetic regional registry in the import format (docs/registry-import.md), any size.

Deterministic for a seed, streamed record by record (a million persons never sit in memory),
and shaped like a real region so that matching is tried on what it will meet: families of
one or two parents and one to three children in the same school, Russian names drawn with a
skew so that common full names have many namesakes, names with «ё» written now and then
with «е» (as many registries do), some hyphenated double surnames, valid СНИЛС check numbers
(unique per person), and some people without a СНИЛС, an e-mail or a phone.

    python -m bench.registry_data 20000 registry.jsonl [--seed 1]

Used by the tests and by ``make bench``. Every person here is invented.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

# Surnames in the masculine form; the feminine is derived (Фёдоров → Фёдорова, Горский →
# Горская); those ending otherwise are the same for both (Шевченко, Ким, Дурново).
SURNAMES = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
    "Никитин",
    "Захаров",
    "Зайцев",
    "Соловьёв",
    "Борисов",
    "Яковлев",
    "Григорьев",
    "Романов",
    "Воробьёв",
    "Королёв",
    "Ершов",
    "Горский",
    "Островский",
    "Шевченко",
    "Ким",
    "Сёмин",
    "Лёвин",
    "Артёмов",
    "Гарипов",
    "Хабибуллин",
    "Сафин",
    "Галиев",
    "Зиннатуллин",
    "Черных",
    "Белых",
    "Дурново",
]
MALE_NAMES = [
    "Александр",
    "Михаил",
    "Максим",
    "Артём",
    "Лев",
    "Марк",
    "Иван",
    "Дмитрий",
    "Матвей",
    "Даниил",
    "Тимофей",
    "Роман",
    "Кирилл",
    "Егор",
    "Фёдор",
    "Семён",
    "Пётр",
    "Алексей",
    "Сергей",
    "Андрей",
    "Тимур",
    "Рустам",
    "Ильдар",
    "Айдар",
]
FEMALE_NAMES = [
    "София",
    "Анна",
    "Мария",
    "Ева",
    "Виктория",
    "Алиса",
    "Полина",
    "Василиса",
    "Варвара",
    "Александра",
    "Дарья",
    "Ксения",
    "Алёна",
    "Елена",
    "Ольга",
    "Татьяна",
    "Наталья",
    "Светлана",
    "Гульнара",
    "Алсу",
    "Лейсан",
    "Фёкла",
]
# Fathers' names and the patronymics made from them (Фёдор → Фёдорович / Фёдоровна).
FATHERS = {
    "Александр": "Александров", "Михаил": "Михайлов", "Иван": "Иванов", "Дмитрий": "Дмитриев",
    "Сергей": "Сергеев", "Андрей": "Андреев", "Алексей": "Алексеев", "Фёдор": "Фёдоров",
    "Семён": "Семёнов", "Пётр": "Петров", "Артём": "Артёмов", "Николай": "Николаев",
    "Владимир": "Владимиров", "Юрий": "Юрьев", "Олег": "Олегов", "Игорь": "Игорев",
    "Рустам": "Рустамов", "Ильдар": "Ильдаров",
}  # fmt: skip
LETTERS = "АБВГД"


def snils(number: int) -> str:
    """A valid СНИЛС for a nine-digit ``number`` (above 001-001-998), formatted as people
    write it."""
    digits = f"{number:09d}"
    total = sum(int(d) * (9 - i) for i, d in enumerate(digits))
    check = total if total < 100 else 0 if total in (100, 101) else total % 101 % 100
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]} {check:02d}"


def _feminine(surname: str) -> str:
    if surname.endswith(("ов", "ёв", "ев", "ин", "ын")):
        return surname + "а"
    if surname.endswith("ий"):
        return surname[:-2] + "ая"
    return surname


def _patronymic(father: str, female: bool) -> str:
    return FATHERS[father] + ("на" if female else "ич")


class _Names:
    """Names drawn with a Zipf-like skew (the weight of rank r is 1/(r + 5)): the commonest
    full name is about 0.04 % of a region, so a region of millions has hundreds of namesakes
    for it, and a 20,000-person file a few."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.weights: dict[int, list[float]] = {}

    def pick(self, names: list[str] | tuple[str, ...]) -> str:
        if len(names) not in self.weights:
            self.weights[len(names)] = list(
                itertools.accumulate(1 / (rank + 5) for rank in range(1, len(names) + 1))
            )
        return self.rng.choices(names, cum_weights=self.weights[len(names)])[0]

    def written(self, name: str) -> str:
        """Now and then «ё» is written «е», as in many registries."""
        return name.replace("ё", "е").replace("Ё", "Е") if self.rng.random() < 0.3 else name


def registry(persons: int, *, seed: int = 1, per_school: int = 1900) -> Iterator[dict]:
    """About ``persons`` person records and their schools, classes, enrolments, guardians and
    staff, one record at a time. About 2.3 lines per person, as in a real region."""
    rng = random.Random(seed)
    names = _Names(rng)
    schools = max(1, persons // per_school)
    for number in range(1, schools + 1):
        key = f"s{number}"
        yield {"type": "school", "key": key,
               "full_name": f"Муниципальное общеобразовательное учреждение «Школа № {number}»",
               "short_name": f"Школа № {number}"}  # fmt: skip
        for grade in range(1, 12):
            for letter in LETTERS[: 1 + (number % 3)]:
                yield {"type": "class", "school": key, "name": f"{grade}{letter}"}
    made = 0
    today = date(2026, 9, 1)

    def person(key: str, surname: str, female: bool, born: date, father: str) -> dict:
        nonlocal made
        made += 1
        first = names.pick(FEMALE_NAMES if female else MALE_NAMES)
        record = {
            "type": "person", "key": key,
            "last_name": names.written(_feminine(surname) if female else surname),
            "first_name": names.written(first),
            "middle_name": names.written(_patronymic(father, female)),
            "birth_date": born.isoformat() if rng.random() < 0.9 else born.strftime("%d.%m.%Y"),
        }  # fmt: skip
        if rng.random() < 0.97:
            record["snils"] = snils(2_000_000 + made * 37)
        if rng.random() < 0.6:
            record["email"] = f"{key}@example.ru"
        if rng.random() < 0.7:
            record["phone"] = f"+7 9{made % 100:02d} {made // 100 % 10_000_000:07d}"
        return record

    def born(oldest: int, youngest: int) -> date:
        return today - timedelta(days=rng.randint(youngest * 365, oldest * 365))

    family = 0
    while made < persons:
        family += 1
        school = f"s{rng.randint(1, schools)}"
        surname = names.pick(SURNAMES)
        father = names.pick(tuple(FATHERS))
        parents = []
        for index in range(2 if rng.random() < 0.7 else 1):
            female = index == 1 or rng.random() < 0.6
            mother_surname = surname
            if female and rng.random() < 0.03:  # a double surname, hyphenated
                mother_surname = f"{surname}-{names.pick(SURNAMES)}"
            key = f"f{family}p{index}"
            parents.append(key)
            yield person(key, mother_surname, female, born(55, 26), names.pick(tuple(FATHERS)))
        for index in range(rng.choices((1, 2, 3), (50, 35, 15))[0]):
            key = f"f{family}c{index}"
            birth = born(17, 7)
            grade = min(11, max(1, (today - birth).days // 365 - 6))
            classes = 1 + (int(school[1:]) % 3)
            yield person(key, surname, rng.random() < 0.5, birth, father)
            yield {"type": "enrolment", "person": key, "school": school,
                   "class": f"{grade}{LETTERS[rng.randrange(classes)]}"}  # fmt: skip
            for parent in parents:
                yield {"type": "guardian", "guardian": parent, "student": key}
        if family % 40 == 0:  # about a teacher for every sixty students
            key = f"t{family}"
            yield person(key, names.pick(SURNAMES), rng.random() < 0.8, born(65, 23),
                         names.pick(tuple(FATHERS)))  # fmt: skip
            yield {"type": "staff", "person": key, "school": school, "role": "teacher"}


def write(path: Path, persons: int, *, seed: int = 1) -> int:
    """Write the registry as JSON Lines; the number of lines."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for record in registry(persons, seed=seed):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("persons", type=int)
    parser.add_argument("path", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    lines = write(arguments.path, arguments.persons, seed=arguments.seed)
    print(f"{arguments.path}: {lines} lines")


if __name__ == "__main__":
    main()
