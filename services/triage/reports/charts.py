"""Charts for the leadership dashboard, drawn on the server as inline SVG.

No JavaScript and no downloaded assets: the page works with no internet access and nothing
third-party is shipped. Every label is escaped (touchpoints and root causes can come from
customers or the org file). Each chart is an ``<svg role="img">`` with a title for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

GOOD, WARN, BAD, BRAND, MUTED, LINE = "#1f8a4c", "#b7791f", "#c53030", "#2f5bea", "#5b6478", "#dfe3ea"
WIDTH = 640


def _svg(title: str, height: int, body: str, width: int = WIDTH) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="12">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _empty(title: str) -> Markup:
    return _svg(title, 60, f'<text x="{WIDTH / 2}" y="35" text-anchor="middle" fill="{MUTED}">'
                           "Nothing in this period yet</text>")


def compliance_line(title: str, points: Sequence[tuple[str, float | None, int]], *, target: float = 100) -> Markup:
    """% resolved within SLA per day as bars (height) with the count of resolved tickets above."""
    if not points:
        return _empty(title)
    height, top, bottom, left = 220, 16, 34, 40
    plot_h, plot_w = height - top - bottom, WIDTH - left - 10
    step = plot_w / len(points)
    parts = []
    for grid in (0, 50, 100):
        y = top + plot_h * (1 - grid / 100)
        parts.append(f'<line x1="{left}" x2="{WIDTH - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="{LINE}"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">{grid}%</text>')
    every = max(1, len(points) // 10)
    for i, (label, pct, count) in enumerate(points):
        x = left + i * step + step * 0.15
        w = max(step * 0.7, 1)
        value = pct or 0
        h = max(plot_h * value / 100, 2)  # a sliver marks a day with none within SLA
        color = GOOD if value >= target else (WARN if value >= 75 else BAD)
        parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{w:.1f}" height="{h:.1f}" '
                     f'fill="{color}" rx="2"><title>{escape(label)}: {value:g}% of {count} within SLA</title></rect>')
        if i % every == 0:
            parts.append(f'<text x="{x + w / 2:.1f}" y="{height - 14}" text-anchor="middle" fill="{MUTED}">'
                         f"{escape(label[5:])}</text>")
    return _svg(title, height, "".join(parts))


def trend(title: str, points: Sequence[tuple[str, float | None, int]]) -> Markup:
    """A score from -100 to 100 per day as a line with dots (NPS over time), the zero line marked."""
    points = [p for p in points if p[1] is not None]
    if not points:
        return _empty(title)
    height, top, bottom, left = 220, 16, 34, 44
    plot_h, plot_w = height - top - bottom, WIDTH - left - 16

    def y(value: float) -> float:
        return top + plot_h * (100 - value) / 200

    parts = []
    for grid in (-100, -50, 0, 50, 100):
        parts.append(f'<line x1="{left}" x2="{WIDTH - 10}" y1="{y(grid):.1f}" y2="{y(grid):.1f}" '
                     f'stroke="{MUTED if grid == 0 else LINE}"/>'
                     f'<text x="{left - 6}" y="{y(grid) + 4:.1f}" text-anchor="end" fill="{MUTED}">{grid:+d}</text>')
    step = plot_w / max(len(points) - 1, 1)
    xy = [(left + (i * step if len(points) > 1 else plot_w / 2), y(value or 0))
          for i, (_, value, _) in enumerate(points)]
    parts.append('<polyline points="' + " ".join(f"{px:.1f},{py:.1f}" for px, py in xy)
                 + f'" fill="none" stroke="{BRAND}" stroke-width="2"/>')
    every = max(1, len(points) // 8)
    for i, ((label, value, count), (px, py)) in enumerate(zip(points, xy, strict=True)):
        v = value or 0
        parts.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4" fill="{GOOD if v >= 0 else BAD}">'
                     f"<title>{escape(label)}: NPS {v:+g} ({count} answers)</title></circle>")
        if i % every == 0:
            parts.append(f'<text x="{px:.1f}" y="{height - 14}" text-anchor="middle" fill="{MUTED}">'
                         f"{escape(label[5:])}</text>")
    return _svg(title, height, "".join(parts))


def bars(title: str, items: Sequence[tuple[str, float]], *, color: str = BRAND, highlight_from: int | None = None,
         cumulative: bool = False) -> Markup:
    """Vertical bars with labels; ``cumulative`` adds a Pareto line of the running share."""
    if not items or not any(v for _, v in items):
        return _empty(title)
    height, top, bottom, left = 240, 20, 60, 40
    plot_h, plot_w = height - top - bottom, WIDTH - left - 40
    peak = max(v for _, v in items) or 1
    step = plot_w / len(items)
    total = sum(v for _, v in items) or 1
    parts: list[str] = []
    line: list[tuple[float, float]] = []
    running = 0.0
    for i, (label, value) in enumerate(items):
        x = left + i * step + step * 0.15
        w = step * 0.7
        h = plot_h * value / peak
        fill = BAD if highlight_from is not None and i >= highlight_from else color
        parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}" '
                     f'rx="2"><title>{escape(label)}: {value:g}</title></rect>'
                     f'<text x="{x + w / 2:.1f}" y="{top + plot_h - h - 4:.1f}" text-anchor="middle">{value:g}</text>'
                     f'<text x="{x + w / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" fill="{MUTED}">'
                     f"{escape(_short(label))}</text>")
        running += value
        line.append((x + w / 2, top + plot_h * (1 - running / total)))
    if cumulative:
        points = " ".join(f"{px:.1f},{py:.1f}" for px, py in line)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{WARN}" stroke-width="2"/>')
        parts.extend(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{WARN}"/>' for px, py in line)
        parts.append(f'<text x="{WIDTH - 4}" y="{top + 4}" text-anchor="end" fill="{WARN}">100%</text>')
    parts.append(f'<line x1="{left}" x2="{WIDTH - 10}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{LINE}"/>')
    return _svg(title, height, "".join(parts))


def diverging(title: str, items: Sequence[tuple[str, float | None, int]]) -> Markup:
    """Horizontal bars from -100 to 100 (NPS), one row per label, with the response count."""
    if not items:
        return _empty(title)
    row, left, right = 30, 130, 70
    height = row * len(items) + 30
    mid = left + (WIDTH - left - right) / 2
    half = (WIDTH - left - right) / 2
    parts = [f'<line x1="{mid:.1f}" x2="{mid:.1f}" y1="4" y2="{height - 20}" stroke="{MUTED}"/>',
             f'<text x="{left}" y="{height - 6}" fill="{MUTED}">-100</text>',
             f'<text x="{mid:.1f}" y="{height - 6}" text-anchor="middle" fill="{MUTED}">0</text>',
             f'<text x="{WIDTH - right}" y="{height - 6}" text-anchor="end" fill="{MUTED}">+100</text>']
    for i, (label, value, count) in enumerate(items):
        y = 8 + i * row
        v = value or 0
        w = half * abs(v) / 100
        x = mid if v >= 0 else mid - w
        parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{escape(_short(label, 18))}</text>'
                     f'<rect x="{x:.1f}" y="{y}" width="{max(w, 1):.1f}" height="20" rx="2" '
                     f'fill="{GOOD if v >= 0 else BAD}"><title>{escape(label)}: NPS {v:g} ({count} answers)</title>'
                     f'</rect><text x="{WIDTH - right + 8}" y="{y + 15}">{v:+g} · {count}</text>')
    return _svg(title, height, "".join(parts))


def split(title: str, parts: Sequence[tuple[str, int, str]]) -> Markup:
    """One horizontal bar split into shares (praise, neutral, complaints), with a legend."""
    total = sum(n for _, n, _ in parts)
    if not total:
        return _empty(title)
    width = WIDTH * 2  # drawn full-width on the page
    body, x = [], 10.0
    for label, n, color in parts:
        w = (width - 20) * n / total
        body.append(f'<rect x="{x:.1f}" y="10" width="{w:.1f}" height="34" fill="{color}">'
                    f"<title>{escape(label)}: {n}</title></rect>")
        if w > 40:
            body.append(f'<text x="{x + w / 2:.1f}" y="32" text-anchor="middle" fill="#fff" font-weight="600">'
                        f"{round(100 * n / total)}%</text>")
        x += w
    lx = 10
    for label, n, color in parts:
        body.append(f'<rect x="{lx}" y="58" width="12" height="12" fill="{color}"/>'
                    f'<text x="{lx + 18}" y="68">{escape(label)}: {n}</text>')
        lx += 200
    return _svg(title, 80, "".join(body), width)


def _short(label: str, size: int = 14) -> str:
    return label if len(label) <= size else label[: size - 1] + "…"
