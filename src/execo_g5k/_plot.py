"""A picture of a planning (matplotlib, the ``execo[plot]`` extra, imported when drawn).

One row per host, labelled, grouped by cluster and site (and one row per kavlan of each
site); free intervals green, busy ones red, along a time axis in Europe/Paris time, with a
"now" line and a legend. PNG, SVG or PDF, chosen by the file's extension.
"""

from __future__ import annotations

import datetime
import io
import time
from pathlib import Path
from typing import TYPE_CHECKING

from execo._core._timeline import new_figure, save_figure

from ._charter import PARIS
from ._hostnames import natural_sort_key

if TYPE_CHECKING:
    import os

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ._intervals import Availability, Planning

__all__ = ["BUSY", "FREE", "NOW", "draw_planning", "planning_figure", "planning_png"]

FREE = "#5cb85c"
BUSY = "#d9534f"
NOW = "#1f3a93"


def _rows(planning: Planning) -> list[tuple[str, str, str, Availability]]:
    """``(site, group, label, availability)`` per host (and per vlan), top to bottom."""
    rows = []
    for site in sorted(planning.sites):
        sp = planning.sites[site]
        for cluster in sorted(sp.clusters):
            for host in sorted(sp.clusters[cluster], key=natural_sort_key):
                rows.append((site, cluster, host.split(".")[0], sp.clusters[cluster][host]))
        for vlan in sorted(sp.vlans, key=natural_sort_key):
            rows.append((site, "kavlans", f"kavlan-{vlan}", sp.vlans[vlan]))
    return rows


def _when(t: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(t, PARIS)


def _draw_rows(ax: Axes, rows: list[tuple[str, str, str, Availability]]) -> None:
    for y, (_, _, _, availability) in enumerate(rows):
        for intervals, color in ((availability.free, FREE), (availability.busy, BUSY)):
            spans = [(_when(a), _when(b) - _when(a)) for a, b in intervals if b > a]
            if spans:
                ax.broken_barh(spans, (y - 0.4, 0.8), facecolors=color)  # type: ignore[arg-type]


def _draw_groups(ax: Axes, rows: list[tuple[str, str, str, Availability]]) -> None:
    """A line between clusters (thicker between sites) and the group's name on the right."""
    start = 0
    for i in range(1, len(rows) + 1):
        if i < len(rows) and rows[i][:2] == rows[start][:2]:
            continue
        site, group = rows[start][:2]
        ax.annotate(
            f"{site} / {group}",
            xy=(1.005, (start + i - 1) / 2),
            xycoords=("axes fraction", "data"),
            va="center",
            fontsize=8,
        )
        if i < len(rows):
            new_site = rows[i][0] != site
            ax.axhline(i - 0.5, color="black", linewidth=1.2 if new_site else 0.4)
        start = i


def planning_figure(
    planning: Planning, *, title: str | None = None, now: float | None = None
) -> Figure:
    """The planning drawn on a matplotlib Figure (see the module docstring).

    Args:
        planning: what :func:`~execo_g5k.planning.get_planning` returned.
        title: the title; default "Grid'5000 planning from <start> (Europe/Paris)".
        now: where the "now" line goes (default: the current time); drawn only when it
            falls inside the planning.

    Raises:
        ImportError: matplotlib is not installed (``pip install 'execo[plot]'``).
    """
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    rows = _rows(planning)
    height = min(1.6 + 0.16 * max(len(rows), 1), 300)
    figure = new_figure(12, height)
    ax = figure.add_subplot()
    _draw_rows(ax, rows)
    _draw_groups(ax, rows)
    ax.set_yticks(range(len(rows)), [r[2] for r in rows], fontsize=6 if len(rows) > 60 else 8)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xlim(_when(planning.start), _when(planning.end))  # type: ignore[arg-type]
    locator = AutoDateLocator(tz=PARIS)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=PARIS))  # type: ignore[no-untyped-call]
    ax.grid(axis="x", alpha=0.4)
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xlabel("Europe/Paris time")
    handles: list[Patch | Line2D] = [
        Patch(color=FREE, label="free"),
        Patch(color=BUSY, label="busy"),
    ]
    t = time.time() if now is None else now
    if planning.start <= t <= planning.end:
        ax.axvline(_when(t), color=NOW, linewidth=1.5, linestyle="--")  # type: ignore[arg-type]
        handles.append(Line2D([], [], color=NOW, linestyle="--", label="now"))
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.06), ncols=3, fontsize=8)
    start = _when(planning.start).strftime("%Y-%m-%d %H:%M")
    figure.suptitle(title or f"Grid'5000 planning from {start} (Europe/Paris)")
    return figure


def draw_planning(
    planning: Planning,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    now: float | None = None,
) -> Path:
    """Draw the planning into ``path`` (PNG, SVG or PDF, by its extension); returns it.

    Raises:
        ValueError: another extension, naming it.
        ImportError: matplotlib is not installed (``pip install 'execo[plot]'``).
    """
    return save_figure(planning_figure(planning, title=title, now=now), path)


def planning_png(
    planning: Planning, *, title: str | None = None, now: float | None = None
) -> bytes:
    """The planning as PNG bytes."""
    buffer = io.BytesIO()
    planning_figure(planning, title=title, now=now).savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()
