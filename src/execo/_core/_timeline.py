"""Pictures with matplotlib (the ``execo[plot]`` extra), imported only when one is drawn.

:func:`draw_timeline` draws processes over time; :func:`new_figure` and :func:`save_figure`
are what every picture of execo (and execo_g5k's planning) goes through: no pyplot, so no
global state and no display needed; the format comes from the file's extension.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .._core._process import ProcessBase, ProcessStatus

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FORMATS", "STATUS_COLORS", "draw_timeline", "new_figure", "save_figure"]

FORMATS = ("png", "svg", "pdf")

STATUS_COLORS: dict[ProcessStatus, str] = {
    ProcessStatus.OK: "#4caf50",
    ProcessStatus.FAILED: "#e53935",
    ProcessStatus.TIMEOUT: "#fb8c00",
    ProcessStatus.KILLED: "#8e24aa",
    ProcessStatus.ERROR: "#6d4c41",
    ProcessStatus.UNREACHABLE: "#546e7a",
    ProcessStatus.RUNNING: "#42a5f5",
}


def _format_of(path: Path) -> str:
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(
            f"{path}: cannot tell the picture format from {path.suffix or 'no extension'!r}; "
            f"use one of {', '.join('.' + f for f in FORMATS)}"
        )
    return fmt


def new_figure(width: float, height: float) -> Figure:
    """A matplotlib Figure of ``width`` x ``height`` inches (no pyplot).

    Raises:
        ImportError: matplotlib is not installed; the message says how to get it.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(
            "execo draws pictures with matplotlib, which is not installed: "
            "pip install 'execo[plot]'"
        ) from e
    return Figure(figsize=(width, height), layout="constrained")


def save_figure(figure: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``figure`` to ``path``; PNG, SVG or PDF by the extension. Returns the path.

    Raises:
        ValueError: another extension, naming it.
    """
    import matplotlib

    target = Path(path)
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # SVG text stays text
        figure.savefig(target, format=_format_of(target), dpi=110)
    return target


def _label(p: ProcessBase) -> str:
    name = p.name if len(p.name) <= 40 else p.name[:39] + "…"
    return f"{p.host.address}: {name}" if p.host is not None else name


def draw_timeline(
    processes: Sequence[ProcessBase],
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
) -> Path:
    """One row per process, a bar from its start to its end (now, for a running one),
    coloured by its status; processes never started have an empty row.

    Args:
        processes: the processes, drawn top to bottom in this order.
        path: where to write the picture; ``.png``, ``.svg`` or ``.pdf``.
        title: the picture's title.

    Raises:
        ValueError: an unknown extension (checked before anything is drawn).
        ImportError: matplotlib is missing.
    """
    _format_of(Path(path))
    now = time.time()
    starts = [p.start_date for p in processes if p.start_date is not None]
    origin = min(starts) if starts else now
    figure = new_figure(9, min(0.8 + 0.28 * max(len(processes), 1), 60))
    ax = figure.add_subplot()
    seen: dict[ProcessStatus, None] = {}
    for row, p in enumerate(processes):
        if p.start_date is None:
            continue
        end = p.end_date if p.end_date is not None else now
        status = p.status
        seen[status] = None
        ax.barh(
            row,
            max(end - p.start_date, 1e-3),
            left=p.start_date - origin,
            height=0.7,
            color=STATUS_COLORS.get(status, "#9e9e9e"),
            hatch="//" if p.end_date is None else None,
        )
    ax.set_yticks(range(len(processes)), [_label(p) for p in processes], fontsize=8)
    ax.set_ylim(len(processes) - 0.5, -0.5)
    ax.set_xlabel(
        "seconds since "
        + (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(origin)) if starts else "now")
    )
    ax.grid(axis="x", alpha=0.3)
    if title:
        ax.set_title(title)
    from matplotlib.patches import Patch

    handles = [Patch(color=STATUS_COLORS.get(s, "#9e9e9e"), label=s.value) for s in seen]
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    return save_figure(figure, path)
