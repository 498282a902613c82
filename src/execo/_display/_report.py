"""Reports: live aggregated statistics of actions, processes and other reports.

A :class:`Report` draws a table: with rich on a terminal (:meth:`Report.print`, or any rich
console through ``__rich__``), as plain text everywhere else (:meth:`Report.to_string`,
``str()``). rich is imported only when a table is drawn with it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from .._core._failures import outcome_summary
from .._core._host import fold_hosts
from .._core._log import style
from .._core._process import ProcessBase
from .._core._stats import HasStats, aggregate_stats, empty_stats

if TYPE_CHECKING:
    import os

    from rich.table import Table

__all__ = ["Report", "aggregate_stats", "empty_stats", "processes_of"]

# (column title, counter, shown even when zero everywhere)
_COLUMNS = (
    ("processes", "num_processes", True),
    ("started", "num_started", True),
    ("ended", "num_ended", True),
    ("ok", "num_ok", True),
    ("non-zero exit", "num_non_zero_exit_codes", False),
    ("errors", "num_errors", False),
    ("timeouts", "num_timeouts", False),
    ("forced kills", "num_forced_kills", False),
    ("expect failures", "num_expect_fail", False),
    ("write errors", "num_write_error", False),
)
_FAILURE_KEYS = frozenset(key for _, key, always in _COLUMNS if not always)


def processes_of(obj: object) -> list[ProcessBase]:
    """The processes of a Process (itself), an Action or a Report."""
    if isinstance(obj, ProcessBase):
        return [obj]
    procs = getattr(obj, "processes", None)
    return list(procs) if procs is not None else []


class Report:
    """A live view over actions, processes and reports: counts, dates, a table.

    Unlike execo 2.8.2, the objects are kept, not snapshots of them: the report always
    tells the current state. ``str(report)`` is the plain-text table;
    :meth:`print` draws it with rich on a terminal.

    Args:
        stats_objects: actions, processes or reports.
        name: the report's title.
    """

    def __init__(self, stats_objects: Iterable[HasStats] = (), name: str = "Report") -> None:
        self.name = name
        self._objects: list[HasStats] = list(stats_objects)

    def add(self, stats_objects: Iterable[HasStats]) -> None:
        """Add more objects to the report."""
        self._objects.extend(stats_objects)

    @property
    def processes(self) -> list[ProcessBase]:
        """Every process of the objects of the report, in order."""
        return [p for o in self._objects for p in processes_of(o)]

    @property
    def failed(self) -> list[ProcessBase]:
        """The processes that are not ok."""
        return [p for p in self.processes if not p.ok]

    def stats(self) -> dict[str, Any]:
        """The aggregated record, with each object's record in ``sub_stats``."""
        subs = [o.stats() for o in self._objects]
        record = aggregate_stats(subs, self.name)
        record["sub_stats"] = subs
        return record

    def __repr__(self) -> str:
        summary = outcome_summary(self.processes)
        return f"<Report {self.name!r} {len(self._objects)} objects, {summary}>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self) if cycle else self.to_string())

    def __str__(self) -> str:
        return self.to_string()

    def _rows(self, brief: bool) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, Any]]:
        s = self.stats()
        rows: list[tuple[int, dict[str, Any]]] = []
        if not brief:
            _flatten(s["sub_stats"], 0, rows)
        return rows, {**s, "name": "Total"}

    def failed_hosts_line(self) -> str:
        """``failed: node-[1-2] (2 processes)``, or "" when no process with a host failed."""
        failed = [p for p in self.failed if p.host is not None]
        if not failed:
            return ""
        n = len(failed)
        return f"failed: {fold_hosts(p.host for p in failed)} ({n} process{'es' * (n != 1)})"

    def to_string(self, wide: bool = True, brief: bool = False) -> str:
        """The table as plain text: a header, one line per object (sorted by start date,
        sub-objects indented), the totals, then the failed hosts (folded).

        Args:
            wide: kept for execo 2.8.2 compatibility; rows are always one line.
            brief: only the totals.
        """
        rows, total = self._rows(brief)
        columns = _columns([r for _, r in rows] + [total])
        names = ["  " * depth + str(r["name"]) for depth, r in rows] + ["Total"]
        name_w = min(max(len("Name"), *(len(n) for n in names)), 60)
        header = ["Name".ljust(name_w), f"{'start':>8}", f"{'end':>8}", f"{'duration':>9}"]
        header += [f"{title:>{len(title)}}" for title, _ in columns]
        lines = ["  ".join(header)]
        for (_depth, r), name in zip([*rows, (0, total)], names, strict=True):
            cells = [_clip(name, name_w).ljust(name_w), f"{_date(r['start_date']):>8}"]
            cells += [f"{_date(r['end_date']):>8}", f"{_duration(r):>9}"]
            cells += [f"{int(r[key]):>{len(title)}}" for title, key in columns]
            line = "  ".join(cells)
            if _bad(r):
                line = style.report_error(line)
            elif r is total:
                line = style.emph(line)
            lines.append(line)
        failed = self.failed_hosts_line()
        if failed:
            lines.append(failed)
        return "\n".join(lines)

    def __rich__(self) -> Table:
        """The table as a rich ``Table`` (``rich.print(report)``)."""
        from rich.table import Table

        rows, total = self._rows(brief=False)
        columns = _columns([r for _, r in rows] + [total])
        failed = self.failed_hosts_line()
        table = Table(title=self.name, caption=failed or None, caption_style="bold red")
        table.add_column("Name", overflow="fold")
        for title in ("start", "end", "duration"):
            table.add_column(title, justify="right")
        for title, key in columns:
            style_ = "green" if key == "num_ok" else "red" if key in _FAILURE_KEYS else None
            table.add_column(title, justify="right", style=style_)
        for i, (depth, r) in enumerate([*rows, (0, total)]):
            cells = ["  " * depth + str(r["name"]), _date(r["start_date"])]
            cells += [_date(r["end_date"]), _duration(r)]
            cells += [str(int(r[key])) for _, key in columns]
            last = i == len(rows)
            table.add_row(
                *cells,
                style="bold red" if _bad(r) and last else "bold" if last else None,
                end_section=i == len(rows) - 1,
            )
        return table

    def print(self, file: TextIO | None = None) -> None:
        """Print the table to ``file`` (default: stdout): drawn by rich on a terminal,
        plain text otherwise."""
        out = file if file is not None else sys.stdout
        if not _isatty(out):
            out.write(self.to_string() + "\n")
            return
        from ._rich import console_for

        console_for(out).print(self)

    def timeline(self, path: str | os.PathLike[str], *, title: str | None = None) -> None:
        """Draw the processes over time into ``path`` (PNG, SVG or PDF, by its extension):
        one row per process, a bar from its start to its end, coloured by its status.
        Needs matplotlib (``pip install execo[plot]``)."""
        from .._core._timeline import draw_timeline

        draw_timeline(self.processes, path, title=title or self.name)


def _isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def _columns(records: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """The columns to show: the counts always, the failure counts where one is non-zero."""
    return [
        (title, key)
        for title, key, always in _COLUMNS
        if always or any(int(r.get(key, 0)) for r in records)
    ]


def _bad(r: dict[str, Any]) -> bool:
    return bool(r["num_ended"] and r["num_ok"] < r["num_processes"])


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _flatten(
    records: list[dict[str, Any]], depth: int, out: list[tuple[int, dict[str, Any]]]
) -> None:
    for r in sorted(records, key=lambda r: (r["start_date"] is None, r["start_date"] or 0)):
        out.append((depth, r))
        _flatten(r.get("sub_stats", []), depth + 1, out)


def _date(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%H:%M:%S", time.localtime(ts))


def _duration(r: dict[str, Any]) -> str:
    if r["start_date"] is None or r["end_date"] is None:
        return "-"
    return f"{r['end_date'] - r['start_date']:.3f}s"
