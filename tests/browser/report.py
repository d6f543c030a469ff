"""`make qa-report`: the browser suite's screenshots and results as one HTML page.

Reads QA_DIR (default build/qa): results.jsonl (one line per scenario test, written by the
browser conftest) and screens/<scenario>/<region>/NN-step.png; writes report.html beside
them: a region × scenario matrix with pass/fail and thumbnails of every step.
"""

from __future__ import annotations

import html
import json
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from tests.browser.scenarios import ALL_REGIONS, SCENARIOS

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1f24}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #d6dbe3;padding:.4rem;vertical-align:top}
th{background:#f3f5f8;text-align:left}.passed{background:#e8f6ec}.failed{background:#fdecec}
.na{background:#f6f6f6;color:#5a6270}.missing{background:#fff7e0}
.status{font-weight:700}.thumbs{display:flex;flex-wrap:wrap;gap:.25rem;margin-top:.3rem}
.thumbs img{width:96px;border:1px solid #d6dbe3}.thumbs figure{margin:0;font-size:.7rem;width:96px}
"""
LABELS = {"passed": "пройден", "failed": "не пройден", "skipped": "пропущен"}


def load_results(qa_dir: Path) -> dict[tuple[str, str], str]:
    """(scenario, region) → worst outcome of its tests."""
    outcomes: dict[tuple[str, str], str] = {}
    results = qa_dir / "results.jsonl"
    for line in results.read_text(encoding="utf-8").splitlines() if results.exists() else []:
        record = json.loads(line)
        key = (record["scenario"], record["region"])
        if outcomes.get(key) != "failed":
            outcomes[key] = record["outcome"]
    return outcomes


def thumbnails(qa_dir: Path, scenario: str, region: str) -> str:
    folder = qa_dir / "screens" / scenario / region
    figures = []
    for png in sorted(folder.glob("*.png")) if folder.exists() else []:
        src = html.escape(png.relative_to(qa_dir).as_posix())
        step = html.escape(png.stem.split("-", 1)[-1])
        figures.append(
            f'<figure><a href="{src}"><img src="{src}" alt="{step}" loading="lazy"></a>'
            f"<figcaption>{step}</figcaption></figure>"
        )
    return f'<div class="thumbs">{"".join(figures)}</div>' if figures else ""


def cell(qa_dir: Path, outcomes, scenario: str, region: str) -> str:
    _, regions, why_not = SCENARIOS[scenario]
    shots = thumbnails(qa_dir, scenario, region)
    outcome = outcomes.get((scenario, region))
    if region not in regions:
        note = f"не применяется: {html.escape(why_not)}"
        if outcome:
            note += f" (проверено: {LABELS.get(outcome, outcome)})"
        return f'<td class="na">{note}{shots}</td>'
    if outcome is None:
        return '<td class="missing">нет автоматического теста (ещё не реализован)</td>'
    return f'<td class="{outcome}"><span class="status">{LABELS.get(outcome, outcome)}</span>{shots}</td>'


def build(qa_dir: Path) -> tuple[Path, dict[str, int]]:
    outcomes = load_results(qa_dir)
    rows = []
    for scenario, (title, _, _) in SCENARIOS.items():
        cells = "".join(cell(qa_dir, outcomes, scenario, region) for region in ALL_REGIONS)
        rows.append(f"<tr><th>{scenario}<br><small>{html.escape(title)}</small></th>{cells}</tr>")
    totals = defaultdict(int)
    for outcome in outcomes.values():
        totals[outcome] += 1
    summary = (
        ", ".join(f"{LABELS.get(k, k)}: {v}" for k, v in sorted(totals.items())) or "нет данных"
    )
    header = "".join(f"<th>{region}</th>" for region in ALL_REGIONS)
    page = (
        '<!doctype html><html lang="ru"><head><meta charset="utf-8">'
        f"<title>QA: сценарии по регионам</title><style>{STYLE}</style></head><body>"
        f"<h1>Сценарии по регионам</h1><p>{datetime.now():%d.%m.%Y %H:%M} · {summary}</p>"
        f"<table><tr><th>Сценарий</th>{header}</tr>{''.join(rows)}</table></body></html>"
    )
    target = qa_dir / "report.html"
    target.write_text(page, encoding="utf-8")
    return target, dict(totals)


def main(argv: list[str]) -> int:
    qa_dir = Path(argv[1] if len(argv) > 1 else "build/qa")
    target, totals = build(qa_dir)
    print(f"{target}: {totals}")
    return 1 if totals.get("failed") else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
