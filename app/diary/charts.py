"""Small inline SVG charts: a subject's marks over the term.

The chart is written here rather than by a template macro: a diary page holds one per
subject, and a macro call per chart was a tenth of the page's time. The only text in it,
the label, is escaped; everything else is a formatted number.
No inline styles (the CSP forbids them): colours come from portal.css by class.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 160, 40, 5
LOW, HIGH = 2, 5  # the Russian scale in use: 2 (неудовлетворительно) to 5 (отлично)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    mark: int


@dataclass(frozen=True)
class Sparkline:
    width: int
    height: int
    points: tuple[Point, ...]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    def y_of(self, mark: int) -> float:
        return _y(mark, self.height)

    def svg(self, label: str) -> Markup:
        """The chart as an ``<svg role="img">`` named by ``label`` for screen readers."""
        w, h, label = self.width, self.height, escape(label)
        parts = [
            f'<svg class="spark" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" '
            f'aria-label="{label}"><title>{label}</title>',
            *(f'<line class="spark-grid" x1="0" x2="{w}" y1="{y}" y2="{y}"/>'
              for y in (self.y_of(level) for level in range(HIGH, LOW - 1, -1))),
        ]  # fmt: skip
        if len(self.points) > 1:
            parts.append(f'<polyline class="spark-line" fill="none" points="{self.polyline}"/>')
        parts.extend(
            f'<circle class="spark-dot mark-{int(p.mark)}" cx="{p.x:.1f}" cy="{p.y:.1f}" r="3"/>'
            for p in self.points
        )
        parts.append("</svg>")
        return Markup("".join(parts))  # noqa: S704  the label is escaped, the rest are numbers


def _y(mark: int, height: int) -> float:
    return PAD + (HIGH - mark) * (height - 2 * PAD) / (HIGH - LOW)


def sparkline(marks: Sequence[int], width: int = WIDTH, height: int = HEIGHT) -> Sparkline:
    """Marks in order, spread evenly from left to right."""
    if not marks:
        return Sparkline(width, height, ())
    step = (width - 2 * PAD) / max(len(marks) - 1, 1)
    x0 = PAD if len(marks) > 1 else width / 2
    points = tuple(
        Point(x0 + i * step, _y(min(max(mark, LOW), HIGH), height), mark)
        for i, mark in enumerate(marks)
    )
    return Sparkline(width, height, points)


# Marks are small whole numbers: their badges are written once.
_BADGES = {mark: f'<span class="mark mark-{mark}">{mark}</span>' for mark in range(1, 6)}


def mark_badges(marks: Iterable[int]) -> Markup:
    """Each mark as a coloured badge; anything else a backend sends is escaped."""
    return Markup(  # noqa: S704  constant badges and escaped values only
        "".join(_BADGES.get(mark) or f'<span class="mark">{escape(mark)}</span>' for mark in marks)
    )
