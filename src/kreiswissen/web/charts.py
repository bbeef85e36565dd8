"""Small server-side SVG charts (no JavaScript, no third-party code; the page CSP allows neither).

Each chart is an image with a text alternative; the pages show the same figures in a table beside it, so
screen-reader users and people who print get the numbers, not only a picture.
"""

from __future__ import annotations

from markupsafe import Markup, escape

PALETTE = ["#005a9c", "#b35900", "#0b6b2e", "#6b2e8f", "#a4161a"]
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 760, 240, 44, 36, 12


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 25000, 50000, 100000):
        if value <= step * 4:
            return float(step * 4)
    return float(value * 1.1)


def _legend(names: list[str]) -> tuple[list[str], int]:
    """Legend entries wrapped into rows that fit the width; (svg parts, extra height)."""
    parts: list[str] = []
    x, row = LEFT, 0
    for j, name in enumerate(names):
        width = 24 + 7 * len(name)
        if x + width > WIDTH and x > LEFT:
            x, row = LEFT, row + 1
        y = HEIGHT + 8 + row * 18
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{PALETTE[j % len(PALETTE)]}"/>'
                     f'<text x="{x + 16}" y="{y + 10}" font-size="12" fill="#1b1b1b">{escape(name)}</text>')
        x += width + 8
    return parts, row * 18


def _svg(title: str, top: float, body: list[str], names: list[str]) -> Markup:
    """The chart: frame with title, y grid from 0 to ``top``, the body, the legend (wrapped into rows)."""
    legend, extra = _legend(names)
    plot_h = HEIGHT - BOTTOM - TOP
    parts = [f'<svg class="diagramm" viewBox="0 0 {WIDTH} {HEIGHT + 24 + extra}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for k in range(5):  # grid and axis labels
        y = TOP + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d4d8"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="#333">'
                     f"{top * k / 4:g}</text>")
    return Markup("".join(parts + body + legend + ["</svg>"]))  # noqa: S704 - every text escaped here and by callers


def stacked_bars(labels: list[str], series: dict[str, list[float]], title: str) -> Markup:
    """Stacked bars, one per label (e.g. days); ``series`` name → values in label order."""
    names = list(series)
    totals = [sum(series[n][i] for n in names) for i in range(len(labels))]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(1, len(labels))
    bar = max(2.0, slot * 0.7)
    parts: list[str] = []
    every = max(1, len(labels) // 10)
    for i, label in enumerate(labels):
        x = LEFT + i * slot + (slot - bar) / 2
        base = float(TOP + plot_h)
        for j, name in enumerate(names):
            value = series[name][i]
            if value <= 0:
                continue
            h = plot_h * value / top
            base -= h
            parts.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(label)}: {escape(name)} {value:g}'
                         f"</title></rect>")
        if i % every == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{TOP + plot_h + 14}" font-size="10" text-anchor="middle" '
                         f'fill="#333">{escape(label[-5:])}</text>')
    return _svg(title, top, parts, names)


def line_chart(labels: list[str], series: dict[str, list[float | None]], title: str, top: float = 1.0) -> Markup:
    """Lines over labels (e.g. evaluation runs); values between 0 and ``top``; None leaves a gap."""
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = plot_w / max(1, len(labels) - 1)
    parts: list[str] = []
    every = max(1, len(labels) // 8)
    for i, label in enumerate(labels):
        if i % every == 0:
            anchor = "start" if i == 0 else "end" if i == len(labels) - 1 else "middle"
            parts.append(f'<text x="{LEFT + i * step:.1f}" y="{TOP + plot_h + 14}" font-size="10" '
                         f'text-anchor="{anchor}" fill="#333">{escape(label)}</text>')
    for j, (name, values) in enumerate(series.items()):
        color = PALETTE[j % len(PALETTE)]
        points = [(LEFT + i * step, TOP + plot_h - plot_h * min(v, top) / top)
                  for i, v in enumerate(values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for (x, y), v in zip(points, [v for v in values if v is not None], strict=True):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{escape(name)}: {v:.3f}'
                         f"</title></circle>")
    return _svg(title, top, parts, list(series))
