"""SCENARIOS.md M1–M4 over real HTTP: the portal ⇄ the emulator's mos.ru (OpenID Connect)."""

from __future__ import annotations


def test_m1_parent_whose_contacts_match_reaches_the_diary(browser):
    page = browser("moscow").mosru_login("M1")
    assert page.url.endswith("/diary/")
    assert "Москвин Лев Артёмович" in page.text and "Москвина Алиса Артёмовна" in page.text


def test_m2_missing_phone_is_listed(browser):
    page = browser("moscow").mosru_login("M2")
    assert "В вашем профиле не заполнено: <strong>номер мобильного телефона</strong>" in page.text
    assert "«Личные данные»" in page.text
    assert "классному руководителю" in page.text


def test_m3_phone_differs_from_the_schools(browser):
    page = browser("moscow").mosru_login("M3")
    assert "не совпадают с данными школы: <strong>номер мобильного телефона</strong>" in page.text
    assert (
        "Сведения, предоставленные в школу, и данные в личном кабинете должны совпадать."
        in page.text
    )
    assert "999-03-03" not in page.text


def test_m4_student_reaches_their_own_diary(browser):
    page = browser("moscow").mosru_login("M4")
    assert page.url.endswith("/diary/")
    assert "Роль: <strong>Ученик</strong>" in page.text


def test_moscow_login_page_offers_mos_ru_only(browser):
    page = browser("moscow").get("/login")
    assert ">mos.ru</a>" in page.text
    assert "Госуслуги" not in page.text and "Вход по логину" not in page.text
