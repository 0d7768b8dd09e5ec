"""Inline SVG charts, generated in Python so the overview reads without JavaScript.

Each chart is a standalone ``<svg>`` element (no external fonts, styles or scripts): every
bar carries its count as text and a ``<title>`` tooltip, so the numbers survive a reader with
JS off, a screenshot, or a printout. Labels are ``html.escape``d: source names come from data.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from trajkit.view.model import Bin

WIDTH = 560
HEIGHT = 200
PAD_L, PAD_R, PAD_T, PAD_B = 44, 10, 18, 40


def fmt_number(value: float) -> str:
    """Short human form: 1234 → 1.2k, 0.00042 → 0.00042, 3.0 → 3."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1_000_000:
        return f"{value / 1_000_000:.3g}M"
    if magnitude >= 10_000:
        return f"{value / 1_000:.3g}k"
    if magnitude >= 1:
        return f"{value:.4g}"
    return f"{value:.2g}"


def _label(b: Bin, integer: bool) -> str:
    if integer and b.hi - b.lo == 1:
        return fmt_number(b.lo)
    return f"{fmt_number(b.lo)}–{fmt_number(b.hi)}"


def histogram_svg(bins: Sequence[Bin], *, title: str, unit: str, integer: bool = False) -> str:
    """A bar chart of ``bins``; empty data gives a short "no data" figure instead of nothing."""
    head = (
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    )
    if not bins:
        return (
            head
            + f'<text x="{WIDTH // 2}" y="{HEIGHT // 2}" text-anchor="middle">no data</text></svg>'
        )
    top = max(b.count for b in bins) or 1
    plot_w = WIDTH - PAD_L - PAD_R
    plot_h = HEIGHT - PAD_T - PAD_B
    bar_w = plot_w / len(bins)
    parts = [
        head,
        f'<line x1="{PAD_L}" y1="{PAD_T + plot_h}" x2="{WIDTH - PAD_R}" y2="{PAD_T + plot_h}" '
        'class="axis"/>',
        f'<text x="4" y="{PAD_T + 4}" class="tick">{fmt_number(top)}</text>',
        f'<text x="{PAD_L + plot_w / 2:.1f}" y="{HEIGHT - 4}" text-anchor="middle" '
        'class="axis-label">'
        f"{escape(unit)}</text>",
    ]
    label_every = max(1, len(bins) // 10)
    for i, b in enumerate(bins):
        h = plot_h * b.count / top
        x = PAD_L + i * bar_w
        y = PAD_T + plot_h - h
        label = _label(b, integer)
        parts.append(
            f"<g><title>{escape(label)} {escape(unit)}: {b.count}</title>"
            f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" '
            f'height="{h:.1f}" class="bar"/>'
        )
        if b.count:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
                f'class="count">{b.count}</text>'
            )
        parts.append("</g>")
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{PAD_T + plot_h + 14}" '
                f'text-anchor="middle" class="tick">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def rate_bars_svg(rows: Sequence[tuple[str, float, float]], *, title: str) -> str:
    """Horizontal bars per group: ``(label, success rate, self-correction rate)``, rates 0..1."""
    row_h = 34
    height = PAD_T + row_h * max(len(rows), 1) + 8
    label_w = 150
    plot_w = WIDTH - label_w - 60
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<text x="{label_w}" y="12" class="tick"><tspan class="legend-ok">■</tspan> success '
        f'<tspan class="legend-sc">■</tspan> self-corrected</text>',
    ]
    for i, (label, success, corrected) in enumerate(rows):
        y = PAD_T + i * row_h
        short = label if len(label) <= 22 else label[:21] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 19}" text-anchor="end" class="tick">'
            f"<title>{escape(label)}</title>{escape(short)}</text>"
        )
        for j, (value, cls) in enumerate(((success, "bar-ok"), (corrected, "bar-sc"))):
            by = y + 4 + j * 13
            parts.append(
                f'<rect x="{label_w}" y="{by}" width="{plot_w * value:.1f}" height="11" '
                f'class="{cls}"/><text x="{label_w + plot_w * value + 4:.1f}" y="{by + 10}" '
                f'class="count">{value:.1%}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
