"""The 429 page says when to try again, and its Retry-After header says the same."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine

from app.errors import retry_in
from tests.e2e.test_password import INITIAL, LOGIN, password_login
from tests.e2e.test_trusted import invite, mother  # noqa: F401


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "Попробуйте снова через 1 секунду."),
        (1, "Попробуйте снова через 1 секунду."),
        (3, "Попробуйте снова через 3 секунды."),
        (11, "Попробуйте снова через 11 секунд."),
        (21, "Попробуйте снова через 21 секунду."),
        (59, "Попробуйте снова через 59 секунд."),
        (60, "Попробуйте снова через 1 минуту."),
        (61, "Попробуйте снова через 2 минуты."),
        (300, "Попробуйте снова через 5 минут."),
        (3540, "Попробуйте снова через 59 минут."),
        (3599, "Попробуйте снова через 1 час."),  # not «60 минут»
        (7200, "Попробуйте снова через 2 часа."),
    ],
)
def test_the_wait_in_words_rounds_up(app, seconds, words):
    with app.test_request_context("/"):  # Russian, with its three forms of a count
        assert retry_in(seconds) == words


def waited(page) -> tuple[int, str]:
    message = re.search(r"Попробуйте снова через (\d+) (\w+)\.", page.text)
    return int(message[1]), message[2]


def test_the_page_and_the_header_name_the_same_wait(browser):
    with time_machine.travel(0, tick=True) as clock:
        clock.move_to("2030-03-01 10:00")
        b = browser("kaluga")
        for _ in range(5):
            assert password_login(b, LOGIN, "wrong-password").status_code == 200
        clock.shift(timedelta(seconds=30))
        page = password_login(b, LOGIN, INITIAL)
        assert page.status_code == 429
        n, unit = waited(page)
        assert unit.startswith("секунд") and 28 <= n <= 31
        assert int(page.headers["Retry-After"]) in (n - 1, n)
        clock.shift(timedelta(seconds=20))
        later = password_login(b, LOGIN, INITIAL)
        assert later.status_code == 429 and waited(later)[0] <= n - 19


def test_an_hourly_limit_says_an_hour(mother, live):  # noqa: F811
    for _ in range(10):
        assert invite(mother, live, surname="Никто").status_code == 400
    page = invite(mother, live, surname="Никто")
    assert page.status_code == 429
    assert "Попробуйте снова через 1 час." in page.text
    assert 3500 <= int(page.headers["Retry-After"]) <= 3600
