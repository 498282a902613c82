"""Reports: live aggregated statistics of actions, processes and other reports."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from .._core._log import style
from .._core._stats import HasStats, aggregate_stats, empty_stats

__all__ = ["Report", "aggregate_stats", "empty_stats"]


class Report:
    """A live view over actions, processes and reports: counts, dates, a table.

    Unlike execo 2.8.2, the objects are kept, not snapshots of them: the report always
    tells the current state.
    """

    def __init__(self, stats_objects: Iterable[HasStats] = (), name: str = "Report") -> None:
        self.name = name
        self._objects: list[HasStats] = list(stats_objects)

    def add(self, stats_objects: Iterable[HasStats]) -> None:
        """Add more objects to the report."""
        self._objects.extend(stats_objects)

    def stats(self) -> dict[str, Any]:
        """The aggregated record, with each object's record in ``sub_stats``."""
        subs = [o.stats() for o in self._objects]
        record = aggregate_stats(subs, self.name)
        record["sub_stats"] = subs
        return record

    def __str__(self) -> str:
        s = self.stats()
        return (
            f"{self.name}: {s['num_processes']} processes, {s['num_finished_ok']} finished ok, "
            f"{s['num_errors']} errors, {s['num_timeouts']} timeouts, "
            f"{s['num_non_zero_exit_codes']} non-zero exit codes"
        )

    def to_string(self, wide: bool = False, brief: bool = False) -> str:
        """A fixed-width table: one row per object (sorted by start date), then totals.

        Args:
            wide: one line per row (about 160 columns) instead of two (80 columns).
            brief: only the totals.
        """
        s = self.stats()
        rows: list[tuple[int, dict[str, Any]]] = []
        if not brief:
            _flatten(s["sub_stats"], 0, rows)
        lines = [_header(wide)]
        for depth, r in rows:
            lines.append(_row(r, depth, wide))
        lines.append(_row({**s, "name": "Total"}, 0, wide, total=True))
        return "\n".join(lines)


_COLS = (
    ("startd", "num_started"),
    ("ended", "num_ended"),
    ("error", "num_errors"),
    ("timout", "num_timeouts"),
    ("fkilld", "num_forced_kills"),
    ("expfld", "num_expect_fail"),
    ("wrterr", "num_write_error"),
    ("ret!=0", "num_non_zero_exit_codes"),
    ("ok", "num_ok"),
    ("total", "num_processes"),
)


def _flatten(
    records: list[dict[str, Any]], depth: int, out: list[tuple[int, dict[str, Any]]]
) -> None:
    for r in sorted(records, key=lambda r: (r["start_date"] is None, r["start_date"] or 0)):
        out.append((depth, r))
        _flatten(r.get("sub_stats", []), depth + 1, out)


def _date(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%H:%M:%S", time.localtime(ts))


def _length(r: dict[str, Any]) -> str:
    if r["start_date"] is None or r["end_date"] is None:
        return "-"
    return f"{r['end_date'] - r['start_date']:.3f}s"


def _header(wide: bool) -> str:
    counts = " ".join(f"{c:>6}" for c, _ in _COLS)
    if wide:
        return f"{'Name':<50} {'start':>8} {'end':>8} {'length':>10} {counts}"
    return f"{'Name':<36} {'start':>8} {'end':>8} {'length':>10}\n{'':<4}{counts}"


def _row(r: dict[str, Any], depth: int, wide: bool, total: bool = False) -> str:
    width = 50 if wide else 36
    name = ("  " * depth + str(r["name"]))[:width]
    counts = " ".join(f"{int(r[key]):>6}" for _, key in _COLS)
    if wide:
        line = f"{name:<{width}} {_date(r['start_date']):>8} {_date(r['end_date']):>8} "
        line += f"{_length(r):>10} {counts}"
    else:
        line = f"{name:<{width}} {_date(r['start_date']):>8} {_date(r['end_date']):>8} "
        line += f"{_length(r):>10}\n{'':<4}{counts}"
    if r["num_ok"] < r["num_processes"]:
        clean = r["num_ended"] and r["num_expect_fail"] == 0 and r["num_write_error"] == 0
        only_killed = r["num_errors"] == 0 and r["num_timeouts"] == 0
        line = style.report_warn(line) if clean and only_killed else style.report_error(line)
    elif total:
        line = style.emph(line)
    return line
