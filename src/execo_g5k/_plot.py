"""A picture of a planning: one row per host, free green and busy red, along time."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ._charter import PARIS
from ._hostnames import natural_sort_key
from ._png import GLYPH_HEIGHT, Canvas, Color

if TYPE_CHECKING:
    import os

    from ._intervals import Availability, Planning

__all__ = ["planning_png", "draw_planning"]

FREE: Color = (92, 184, 92)
BUSY: Color = (217, 83, 79)
INK: Color = (40, 40, 40)
GRID: Color = (215, 215, 215)
_SCALE = 2
_LINE = (GLYPH_HEIGHT + 3) * _SCALE
_TICK_STEPS = [h * 3600 for h in (1, 2, 3, 6, 12, 24, 48, 168)]


def _rows(planning: Planning) -> list[tuple[str, str, list[Availability]]]:
    """``(site, label, [availability per host])`` per cluster and per site's vlans."""
    rows = []
    for site in sorted(planning.sites):
        sp = planning.sites[site]
        for cluster in sorted(sp.clusters):
            hosts = sorted(sp.clusters[cluster], key=natural_sort_key)
            label = f"{cluster} ({len(hosts)})"
            rows.append((site, label, [sp.clusters[cluster][h] for h in hosts]))
        if sp.vlans:
            names = sorted(sp.vlans, key=natural_sort_key)
            rows.append((site, "kavlans", [sp.vlans[v] for v in names]))
    return rows


def planning_png(planning: Planning, *, width: int = 1200, title: str | None = None) -> bytes:
    """The planning drawn as a PNG image (pure: returns the bytes).

    Each cluster is a band with one thin row per host (and each site's kavlans one per
    vlan), free intervals in green and busy ones in red; the time axis is in Europe/Paris
    time.
    """
    rows = _rows(planning)
    count = sum(len(r[2]) for r in rows)
    row_h = max(1, min(6, 1800 // max(count, 1)))
    label_w = max([Canvas.text_width(r[1], _SCALE) for r in rows] + [80]) + 40
    x0, x1 = label_w, width - 24
    bands = [max(len(r[2]) * row_h, _LINE) + 6 for r in rows]
    sites = sorted({r[0] for r in rows})
    top = 2 * _LINE + 8
    height = top + sum(bands) + len(sites) * (_LINE + 2) + 3 * _LINE
    canvas = Canvas(width, height)
    span = max(planning.end - planning.start, 1)

    def x_of(t: int) -> int:
        return x0 + (t - planning.start) * (x1 - x0) // span

    start_text = datetime.datetime.fromtimestamp(planning.start, PARIS).strftime("%Y-%m-%d %H:%M")
    canvas.text(8, 6, title or f"grid5000 planning from {start_text} (europe/paris)", INK, _SCALE)
    legend_x = width - Canvas.text_width("free busy", _SCALE) - 60
    for i, (name, color) in enumerate((("free", FREE), ("busy", BUSY))):
        lx = legend_x + i * (Canvas.text_width("free ", _SCALE) + 24)
        canvas.fill_rect(lx, 8, lx + 14, 8 + 14, color)
        canvas.text(lx + 20, 8, name, INK, _SCALE)
    step = next((s for s in _TICK_STEPS if span // s <= 8), _TICK_STEPS[-1])
    first_tick = -(-planning.start // step) * step
    ticks = list(range(first_tick, planning.end + 1, step))
    y = top
    for site in sites:
        canvas.text(8, y + 2, site, INK, _SCALE)
        canvas.fill_rect(8, y + _LINE - 3, width - 8, y + _LINE - 2, INK)
        y += _LINE + 2
        for (row_site, label, availabilities), band in zip(rows, bands, strict=True):
            if row_site != site:
                continue
            canvas.text(24, y + (band - 6 - GLYPH_HEIGHT * _SCALE) // 2, label, INK, _SCALE)
            for i, availability in enumerate(availabilities):
                ry = y + i * row_h
                bar = max(row_h - 1, 1)
                for intervals, color in ((availability.free, FREE), (availability.busy, BUSY)):
                    for a, b in intervals:
                        canvas.fill_rect(x_of(a), ry, max(x_of(b), x_of(a) + 1), ry + bar, color)
            y += band
    last_day = None
    for t in ticks:
        canvas.fill_rect(x_of(t), top, x_of(t) + 1, y, GRID)
        local = datetime.datetime.fromtimestamp(t, PARIS)
        day = local.strftime("%m-%d")
        texts = [local.strftime("%H:%M")] + ([day] if day != last_day else [])
        last_day = day
        for line, text in enumerate(texts):
            tx = min(x_of(t) - Canvas.text_width(text, _SCALE) // 2, width - 4)
            canvas.text(max(tx, 0), y + 6 + line * _LINE, text, INK, _SCALE)
    return canvas.png()


def draw_planning(
    planning: Planning,
    path: str | os.PathLike[str],
    *,
    width: int = 1200,
    title: str | None = None,
) -> Path:
    """Writes `planning_png` to `path` and returns the path."""
    target = Path(path)
    target.write_bytes(planning_png(planning, width=width, title=title))
    return target
