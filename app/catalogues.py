"""The translation catalogues: extract, update, compile and check them.

    python -m app.catalogues update    # the messages of app/ into app/translations/*/messages.po
    python -m app.catalogues compile   # messages.po → messages.mo (make does it when needed)
    python -m app.catalogues check     # fails on anything untranslated, fuzzy or unmarked

Russian is the source language: a message's id is its Russian text, so Russian needs a
translation only for counts (Russian has three plural forms where the id has two). Tatar and
English need every message. ``check`` also reads the code: a Cyrillic text in a template
outside ``_()``/``{% trans %}``, or a Cyrillic string in app/ outside a gettext call without a
``# i18n-exempt: <why>`` comment, is a text someone forgot to mark.
"""

from __future__ import annotations

import ast
import io
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from jinja2 import Environment, nodes

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
TRANSLATIONS = APP / "translations"
LANGUAGES = ("ru", "tt", "en")
SOURCE = "ru"
DOMAIN = "messages"

KEYWORDS = {
    "_": None, "gettext": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3), "_l": None, "lazy_gettext": None,
    "lazy_ngettext": (1, 2), "lazy_pgettext": ((1, "c"), 2), "N_": None,
}  # fmt: skip
GETTEXT_NAMES = frozenset(KEYWORDS)
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"trimmed": "true"}}
CYRILLIC = re.compile("[А-Яа-яЁё]")
EXEMPT = "# i18n-exempt:"


def po_path(language: str) -> Path:
    return TRANSLATIONS / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract() -> Catalog:
    """Every marked message of app/ (its Python and its templates)."""
    template = Catalog(project="myschool-portal", charset="utf-8", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        APP, METHODS, OPTIONS, KEYWORDS, comment_tags=("Translators:",), strip_comment_tags=True
    ):
        if "translations" in Path(filename).parts:
            continue
        template.add(message, None, [(f"app/{filename}", lineno)], auto_comments=comments,
                     context=context)  # fmt: skip
    return template


def read(language: str) -> Catalog:
    path = po_path(language)
    if not path.exists():
        return Catalog(locale=language, domain=DOMAIN, charset="utf-8", fuzzy=False)
    with path.open("rb") as file:
        return read_po(file, locale=language, domain=DOMAIN)


def write(catalog: Catalog, language: str) -> None:
    path = po_path(language)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_output=False, include_previous=False)
    path.write_bytes(buffer.getvalue())


def update(template: Catalog | None = None) -> None:
    """Bring each language's catalogue up to the code: new messages added empty, gone ones
    dropped (never guessed: a near match is left for a translator, not marked fuzzy)."""
    template = template or extract()
    for language in LANGUAGES:
        catalog = read(language)
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.obsolete.clear()
        write(catalog, language)


def compile_all(*, only_stale: bool = False) -> list[Path]:
    """messages.mo beside each messages.po; ``only_stale``: where the .po is newer."""
    written = []
    for language in LANGUAGES:
        po, mo = po_path(language), po_path(language).with_suffix(".mo")
        if not po.exists():
            continue
        if only_stale and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        buffer = io.BytesIO()
        write_mo(buffer, read(language), use_fuzzy=False)
        mo.write_bytes(buffer.getvalue())
        written.append(mo)
    return written


# --- the check --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def _strings(message) -> list[str]:
    return list(message.string) if isinstance(message.string, (list, tuple)) else [message.string]


def catalogue_problems(
    template: Catalog | None = None, catalogues: dict[str, Catalog] | None = None
) -> Iterator[Problem]:
    """Messages missing from a catalogue, untranslated, fuzzy or with wrong placeholders."""
    template = template or extract()
    catalogues = catalogues or {language: read(language) for language in LANGUAGES}
    for language, catalog in catalogues.items():
        where = f"app/translations/{language}"
        for message in template:
            if not message.id:
                continue
            found = catalog.get(message.id, message.context)
            label = message.id if isinstance(message.id, str) else message.id[0]
            if found is None:
                yield Problem(where, f"missing (make translations): {label!r}")
                continue
            if found.fuzzy:
                yield Problem(where, f"fuzzy: {label!r}")
            if language == SOURCE and not found.pluralizable:
                continue  # the id is the Russian text
            if not all(_strings(found)):
                yield Problem(where, f"untranslated: {label!r}")
        for message, errors in catalog.check():
            for error in errors:
                yield Problem(where, f"{error}: {message.id!r}")


def _gettext_call(node: nodes.Node) -> bool:
    return (isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name)
            and node.node.name in GETTEXT_NAMES)  # fmt: skip


def template_problems(folder: Path = APP / "templates") -> Iterator[Problem]:
    """Russian text in a template outside ``_()`` and ``{% trans %}``: not marked."""
    environment = Environment(
        extensions=["jinja2.ext.i18n"], autoescape=True
    )  # parsed, never rendered
    environment.policies["ext.i18n.trimmed"] = True
    for path in sorted(folder.rglob("*.html")):
        name = str(path.relative_to(folder.parent))
        tree = environment.parse(path.read_text(encoding="utf-8"))
        marked = {id(arg) for call in tree.find_all(nodes.Call) if _gettext_call(call)
                  for arg in call.args}  # fmt: skip
        for node in tree.find_all((nodes.TemplateData, nodes.Const)):
            value = node.data if isinstance(node, nodes.TemplateData) else node.value
            if isinstance(value, str) and CYRILLIC.search(value) and id(node) not in marked:
                yield Problem(f"{name}:{node.lineno}", f"not marked: {value.strip()[:60]!r}")


def _exempt_lines(source: str) -> set[int]:
    return {number for number, line in enumerate(source.splitlines(), 1) if EXEMPT in line}


def python_problems(folder: Path = APP) -> Iterator[Problem]:
    """Cyrillic string constants in app/ outside a gettext call and not declared data."""
    for path in sorted(folder.rglob("*.py")):
        if path.name == "catalogues.py":
            continue
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        exempt = _exempt_lines(source)
        marked: set[int] = set()
        statements: dict[int, int] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name in GETTEXT_NAMES:
                    marked.update(id(arg) for arg in node.args)
            if isinstance(node, ast.stmt):
                for child in ast.walk(node):
                    statements.setdefault(id(child), node.lineno)
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                marked.add(id(node.value))  # a docstring
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                continue
            if id(node) in marked or not CYRILLIC.search(node.value):
                continue
            if node.lineno in exempt or statements.get(id(node)) in exempt:
                continue
            where = f"{path.relative_to(folder.parent)}:{node.lineno}"
            yield Problem(where, f"not marked: {node.value.strip()[:60]!r}")


def problems() -> list[Problem]:
    template = extract()
    return [*catalogue_problems(template), *template_problems(), *python_problems()]


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        update()
        compile_all()
        return 0
    if command == "compile":
        for path in compile_all(only_stale="--stale" in argv):
            print(f"compiled {path.relative_to(ROOT)}")
        return 0
    if command == "check":
        found = problems()
        for problem in found:
            print(problem)
        print(f"{len(found)} problems" if found else "catalogues complete, every text marked")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
