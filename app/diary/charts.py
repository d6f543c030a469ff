"""Small inline SVG charts: a subject's marks over the term, drawn by the template.

Only coordinates are computed here; the template writes the ``<svg>``, so the markup is
escaped like any other and needs no inline styles (the CSP forbids them).
"""

from __future__ import annotations

from dataclasses import dataclass

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


def _y(mark: int, height: int) -> float:
    return PAD + (HIGH - mark) * (height - 2 * PAD) / (HIGH - LOW)


def sparkline(marks: list[int], width: int = WIDTH, height: int = HEIGHT) -> Sparkline:
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
