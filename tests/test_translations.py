"""The catalogues are complete and every text is marked (app/catalogues.py; also
`make check-translations`). A failure names the file and line, or the message, to mend:
`make translations` adds new messages to each catalogue, and a translator fills them in."""

from __future__ import annotations

from app import catalogues


def test_every_template_text_is_marked_for_translation():
    assert [str(p) for p in catalogues.template_problems()] == []


def test_every_russian_string_in_the_code_is_marked_or_declared_data():
    assert [str(p) for p in catalogues.python_problems()] == []


def test_every_message_is_translated_into_every_language_and_none_is_fuzzy():
    assert [str(p) for p in catalogues.catalogue_problems()] == []


def test_the_compiled_catalogues_say_what_the_po_files_say():
    """make (and the image) compile the .po files; tests/conftest.py does when they are stale."""
    from babel.support import Translations

    for language in ("tt", "en"):
        po = catalogues.read(language)
        mo = Translations.load(str(catalogues.TRANSLATIONS), [language])
        for message in po:
            if not message.id or message.pluralizable:
                continue
            if message.context:
                assert mo.pgettext(message.context, message.id) == message.string
            else:
                assert mo.gettext(message.id) == message.string


# --- the check finds what it is for ----------------------------------------------------------


def test_the_check_finds_an_unmarked_template_text(tmp_path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "page.html").write_text(
        '{# Комментарий #}<h1>{{ _("Вход") }}</h1>\n'
        "{% trans name=n %}Здравствуйте, {{ name }}{% endtrans %}\n"
        '<p>Забыли пароль?</p><a title="{{ "Подсказка" }}">x</a>\n',
        encoding="utf-8",
    )
    found = [str(p) for p in catalogues.template_problems(folder)]
    assert found == [
        "templates/page.html:2: not marked: '<p>Забыли пароль?</p><a title=\"'",
        "templates/page.html:3: not marked: 'Подсказка'",
    ]


def test_the_check_finds_an_unmarked_string_in_the_code(tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "m.py").write_text(
        '"""Модуль."""\n'
        "from flask_babel import gettext as _, lazy_gettext as _l\n"
        'A = _l("Сохранить")\n'
        'B = f"Срок истёк {1}"\n'
        'C = "Ошибка"\n'
        'D = ("ё", "е")  # i18n-exempt: a normalisation table\n'
        'E = {  # i18n-exempt: the stub journal\'s data\n    "x": "Данные",\n}\n'
        'def f(n):\n    return _("%(n)s раз", n=n)\n',
        encoding="utf-8",
    )
    found = sorted(str(p) for p in catalogues.python_problems(folder))
    assert found == ["pkg/m.py:4: not marked: 'Срок истёк'", "pkg/m.py:5: not marked: 'Ошибка'"]


def test_the_check_finds_untranslated_fuzzy_and_broken_messages():
    from babel.messages.catalog import Catalog

    template = Catalog()
    for message in ("Войти", "Выйти", "Через %(n)s дней", "Назад"):
        template.add(message)
    template.add(("%(num)d минуту", "%(num)d минут"))
    en = Catalog(locale="en")
    en.add("Войти", "Sign in")
    en.add("Выйти", "")  # untranslated
    en.add("Через %(n)s дней", "In %(days)s days")  # a placeholder renamed
    en.add(("%(num)d минуту", "%(num)d минут"), ("%(num)d minute", "%(num)d minutes"))
    ru = Catalog(locale="ru")
    for message in ("Войти", "Выйти", "Через %(n)s дней", "Назад"):
        ru.add(message, "")  # the source language: its id is its text
    ru.add(("%(num)d минуту", "%(num)d минут"), ("", "", ""))  # but counts need three forms
    ru.add("Назад", "", flags=["fuzzy"])
    found = sorted(str(p) for p in catalogues.catalogue_problems(template, {"en": en, "ru": ru}))
    assert any(p.startswith("app/translations/en: untranslated: 'Выйти'") for p in found)
    assert any("app/translations/en: missing" in p and "'Назад'" in p for p in found)
    assert any(
        "app/translations/en" in p and "unknown named placeholder 'days'" in p for p in found
    )
    assert any(p.startswith("app/translations/ru: untranslated: '%(num)d минуту'") for p in found)
    assert any(p.startswith("app/translations/ru: fuzzy: 'Назад'") for p in found)
    assert not any("'Войти'" in p for p in found)
    assert not any(p.startswith("app/translations/ru: untranslated: 'Выйти'") for p in found)
