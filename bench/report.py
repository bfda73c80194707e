"""Figures with their targets, printed as a table and written as JSON."""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    """One measured figure: value, unit, the target it is held to, and whether it met it."""

    name: str
    value: float | None
    unit: str
    target: str = ""
    met: bool | None = None
    note: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def shown(self) -> str:
        if self.value is None:
            return "not available"
        if self.unit == "ratio":
            return f"{self.value:.2f}" if self.value >= 0.1 else f"{self.value:.4f}"
        if abs(self.value) >= 100 or self.value == int(self.value):
            return f"{self.value:,.0f} {self.unit}"
        return f"{self.value:,.2f} {self.unit}"

    def verdict(self) -> str:
        if self.met is None:
            return "-" if not self.target else "n/a"
        return "met" if self.met else "NOT MET"


def at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def at_least(value: float | None, limit: float) -> bool | None:
    return None if value is None else value >= limit


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile (pct in 0..100) of ``values``; ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def say(message: str) -> None:
    """Progress on stderr, so that stdout is the report."""
    print(f"bench | {time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


class Report:
    """Collects figures section by section."""

    def __init__(self) -> None:
        self.sections: dict[str, list[Figure]] = {}
        self.environment: dict[str, Any] = {}

    def add(self, section: str, figure: Figure) -> Figure:
        self.sections.setdefault(section, []).append(figure)
        say(f"{section}: {figure.name} = {figure.shown()} (target {figure.target or '-'}: {figure.verdict()})"
            + (f"  [{figure.note}]" if figure.note else ""))
        return figure

    def render(self) -> str:
        lines = ["", "Closeloop benchmark report", "=" * 26]
        for key, value in self.environment.items():
            lines.append(f"  {key}: {value}")
        for section, figures in self.sections.items():
            lines += ["", section, "-" * len(section)]
            for fig in figures:
                line = f"  {fig.name:<52} {fig.shown():>18}   {fig.target or '':<14} {fig.verdict()}"
                lines.append(line.rstrip())
                if fig.note:
                    lines.append(f"      {fig.note}")
        all_figs = [f for figs in self.sections.values() for f in figs if f.target]
        met = sum(1 for f in all_figs if f.met)
        missing = sum(1 for f in all_figs if f.met is None)
        lines += ["", f"targets met: {met} of {len(all_figs)}" + (f" ({missing} not available)" if missing else "")]
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> None:
        doc = {"environment": self.environment,
               "sections": {s: [asdict(f) for f in figs] for s, figs in self.sections.items()}}
        path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
