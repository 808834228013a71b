"""The overview's chart, drawn on the server as SVG: messages received, DMs sent and DMs
failed per minute over the last 24 hours. No script and no library: the page works offline
and the chart is there before any JavaScript runs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup

MINUTES = 24 * 60
WIDTH, HEIGHT = 960, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 24, 12, 28
# Each series: its name in the query's rows, its label and its colour.
SERIES = (
    ("received", "messages received", "#2563eb"),
    ("sent", "DMs sent", "#16a34a"),
    ("failed", "DMs failed", "#dc2626"),
)


def per_minute(rows: Iterable[Mapping[str, Any]], now: dt.datetime) -> dict[str, list[int]]:
    """{series: counts}, one per minute, oldest first, the last being the current minute."""
    end = now.replace(second=0, microsecond=0)
    counts = {name: [0] * MINUTES for name, _, _ in SERIES}
    for row in rows:
        index = MINUTES - 1 - int((end - row["minute"]).total_seconds() // 60)
        if row["series"] in counts and 0 <= index < MINUTES:
            counts[row["series"]][index] += row["n"]
    return counts


def activity_svg(counts: Mapping[str, list[int]], now: dt.datetime) -> Markup:
    peak = max((max(values) for values in counts.values()), default=0) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + plot_w * i / (MINUTES - 1)

    def y(v: int) -> float:
        return TOP + plot_h * (1 - v / peak)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="messages and DMs per minute, last 24 hours" class="chart">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#f8fafc" '
        'stroke="#cbd5e1"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 10}" text-anchor="end" font-size="11">{peak}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="11">0</text>',
    ]
    end = now.replace(second=0, microsecond=0)
    for hours_ago in range(24, -1, -6):
        i = MINUTES - 1 - hours_ago * 60
        label = (end - dt.timedelta(hours=hours_ago)).astimezone(dt.UTC).strftime("%H:%M")
        xi = x(max(i, 0))
        parts.append(
            f'<line x1="{xi:.1f}" y1="{TOP}" x2="{xi:.1f}" y2="{TOP + plot_h}" stroke="#e2e8f0"/>'
            f'<text x="{xi:.1f}" y="{HEIGHT - 10}" text-anchor="middle" font-size="11">'
            f"{label}</text>"
        )
    for name, label, colour in SERIES:
        values = counts.get(name, [])
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{points}">'
            f"<title>{label}: {sum(values)} in 24 h</title></polyline>"
        )
    parts.append("</svg>")
    # Only numbers and the fixed labels above go in: nothing from the database as text.
    return Markup("".join(parts))
