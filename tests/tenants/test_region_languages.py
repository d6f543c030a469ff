"""A region's own texts in each of its languages: its name, branding and login buttons come
from ``translations`` in its configuration (its administrator edits them), the methods' default
labels from the catalogues; a text not translated is shown in the region's default language."""

from __future__ import annotations

import re

import pytest

from app.tenants.loader import ConfigError, load_file
from tests.conftest import regions_file
from tests.tenants.test_drafts import appoint, publish, save_draft, sign_in, text


def login_page(region_client, slug: str, language: str) -> str:
    return text(region_client(slug).get("/login", headers={"Accept-Language": language}))


def test_tatarstan_in_tatar_and_english_and_russian(region_client):
    tatar = login_page(region_client, "tatarstan", "tt")
    assert '<html lang="tt"' in tatar
    assert "Минем мәктәбем — Татарстан Республикасы" in tatar  # branding.full_name
    assert "Татарстан Республикасы</p>" in tatar  # the region's name
    assert "эш көннәрендә 8:00 дән 17:00 гә кадәр" in tatar  # the support hours
    english = login_page(region_client, "tatarstan", "en")
    assert "My School — Republic of Tatarstan" in english
    assert "The Republic of Tatarstan portal for signing in to the school e-diary" in english
    assert re.search(r'class="button method method-esia"[^>]*>Gosuslugi</a>', english)
    russian = login_page(region_client, "tatarstan", "ru")
    assert "Моя школа — Республика Татарстан" in russian
    assert re.search(r'class="button method method-esia"[^>]*>Госуслуги</a>', russian)
    assert "My School" not in russian and "Минем" not in russian


def test_the_portals_name_follows_the_language(region_client):
    chooser = region_client("x", host="localhost")
    assert "<title>" in text(chooser.get("/", headers={"Accept-Language": "en"}))
    assert "My School" in text(chooser.get("/", headers={"Accept-Language": "en"}))
    assert "Минем мәктәбем" in text(chooser.get("/", headers={"Accept-Language": "tt"}))


def test_the_chooser_finds_a_region_by_either_name(region_client):
    chooser = region_client("x", host="localhost")
    english = text(
        chooser.get("/", query_string={"q": "Kaluga"}, headers={"Accept-Language": "en"})
    )
    assert "Kaluga and Kaluga Oblast" in english
    russian = text(
        chooser.get("/", query_string={"q": "Калуга"}, headers={"Accept-Language": "en"})
    )
    assert "Kaluga and Kaluga Oblast" in russian


def test_a_text_left_untranslated_is_shown_in_the_default_language(tmp_path, app):
    def drop_footer(raw):
        del raw["regions"]["kaluga"]["translations"]["en"]["footer_text"]

    regions = load_file(regions_file(tmp_path, drop_footer))
    with app.test_request_context("/"):
        english = regions.regions["kaluga"].in_language("en")
    assert english.branding.full_name == "My School — Kaluga and Kaluga Oblast"
    assert english.branding.footer_text == "Портал входа в электронный дневник Калужской области"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda r: r["regions"]["mosreg"]["translations"].update({"tt": {"name": "Мәскәү"}}),
         "translations.tt: not one of the region's other languages (en)"),
        (lambda r: r["regions"]["kaluga"]["translations"]["en"].update(
            {"labels": {"oidc": "mos.ru"}}), "translations.en.labels.oidc: no such method"),
        (lambda r: r["regions"]["kaluga"]["translations"]["en"].update({"nickname": "x"}),
         "nickname"),
        (lambda r: r["regions"]["kaluga"].update({"languages": ["ru", "de"]}), "languages"),
        (lambda r: r["regions"]["kaluga"].update({"languages": ["ru", "en", "ru"]}),
         "languages lists a language twice"),
    ],
)  # fmt: skip
def test_a_wrong_translation_or_language_stops_start_up_with_its_path(tmp_path, change, problem):
    with pytest.raises(ConfigError) as refused:
        load_file(regions_file(tmp_path, change))
    assert problem in str(refused.value)


@pytest.fixture
def kaluga_admin(app, region_client):
    return sign_in(
        region_client, "kaluga", appoint(app, "kaluga", "9000077", "Языкова Анна Тестовна")
    )


def test_the_administrator_edits_the_texts_per_language(app, region_client, kaluga_admin):
    form = text(kaluga_admin.get("/admin/config"))
    assert "Тексты на языке: English" in form
    assert re.search(
        r'name="translations.en.full_name" [^>]*value="My School — Kaluga and Kaluga Oblast"', form
    )
    save_draft(kaluga_admin, **{
        "translations.en.full_name": "My School — Kaluga, in English",
        "translations.en.labels.esia": "State Services (Gosuslugi)",
        "translations.en.footer_text": "",  # cleared: the Russian one is shown
    })  # fmt: skip
    assert publish(kaluga_admin).status_code == 303
    english = login_page(region_client, "kaluga", "en")
    assert "My School — Kaluga, in English" in english
    assert ">State Services (Gosuslugi)</a>" in english
    assert "Портал входа в электронный дневник Калужской области" in english
    russian = login_page(region_client, "kaluga", "ru")
    assert "Моя школа — Калуга и Калужская область" in russian and "in English" not in russian
    history = text(kaluga_admin.get("/admin/config/history"))  # what each version changed
    assert "Полное название (English)" in history
    assert "Кнопка «esia» (English)" in history
