"""The seeds' words are quoted verbatim: every text a template marks as a seed quote
(``class="seed-message"``) is found, word for word, in one of the public instruction pages
the product comes from (../shared/seeds/), and the sentences the portal builds in Python from
the seeds read as the seeds do.

Only the source pages' own artefacts are forgiven: a hyphen left by a line break inside a
word («Чтобы- решить»), the emphasis marks around a link, and the link's description in
parentheses.
"""

from __future__ import annotations

import re

import pytest

from app.settings import PROJECT_ROOT

SEEDS = PROJECT_ROOT.parent / "shared" / "seeds"
TEMPLATES = PROJECT_ROOT / "app" / "templates"
QUOTE = re.compile(r'<(\w+)[^>]*class="[^"]*\bseed-message\b[^"]*"[^>]*>(.*?)</\1>', re.S)


def normalized(text: str) -> str:
    text = re.sub(r"\s*\(ссылка[^)]*\)", "", text)  # the link's description
    text = text.replace("*", "")
    text = re.sub(r"(\w)- (\w)", r"\1 \2", text)  # «Чтобы- решить», «платформы- обратной»
    text = re.sub(r"<[^>]+>", "", text)
    return " ".join(text.replace("«", "").replace("»", "").split())


def seeds_text() -> str:
    if not SEEDS.is_dir():
        pytest.skip(f"the seed pages are not beside the project ({SEEDS.name} missing)")
    return "\n".join(normalized(path.read_text()) for path in sorted(SEEDS.glob("*.txt")))


def template_quotes() -> list[tuple[str, str]]:
    quotes = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for _, body in QUOTE.findall(path.read_text()):
            quotes.append((str(path.relative_to(TEMPLATES)), body))
    return quotes


def static_parts(body: str) -> list[str]:
    """A quote's text around any template expression, each part checked on its own."""
    parts = re.split(r"\{\{.*?\}\}|\{%.*?%\}", body)
    return [part for part in map(normalized, parts) if len(part) > 12]


def test_templates_quote_the_seeds():
    assert len(template_quotes()) >= 3  # the convention is in use, not vanished


@pytest.mark.parametrize(("template", "body"), template_quotes())
def test_every_quoted_seed_text_is_verbatim(template, body):
    seeds = seeds_text()
    for part in static_parts(body):
        assert part in seeds, f"{template}: «{part}» is not in the seeds"


def test_the_activation_sentence_reads_as_seed_003(monkeypatch):
    from app import trusted

    monkeypatch.setattr(trusted, "delay_hours", lambda tenant: 24)
    assert normalized(trusted.activation_phrase(None)) in seeds_text()


def test_the_normalization_forgives_only_the_source_artefacts():
    assert normalized("Чтобы- решить *форму (ссылка для перехода)*") == "Чтобы решить форму"
    assert normalized("«Ваш дневник»") == "Ваш дневник"
    assert "Чтобы решить" not in normalized("Чтобы -решить")
