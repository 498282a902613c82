"""Statistics records: what ``stats()`` of a process, an action or a report returns, and how
records add up (pure; the same keys as execo 2.8.2's)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["COUNTERS", "HasStats", "aggregate_stats", "empty_stats"]

COUNTERS = (
    "num_processes",
    "num_started",
    "num_ended",
    "num_errors",
    "num_timeouts",
    "num_forced_kills",
    "num_non_zero_exit_codes",
    "num_expect_fail",
    "num_write_error",
    "num_ok",
    "num_finished_ok",
)


class HasStats(Protocol):
    """Anything with a ``stats()`` record: a Process, an Action, a Report."""

    def stats(self) -> dict[str, Any]: ...


def empty_stats(name: str = "") -> dict[str, Any]:
    """A stats record with every counter at zero."""
    record: dict[str, Any] = {"name": name, "start_date": None, "end_date": None}
    record.update(dict.fromkeys(COUNTERS, 0))
    record["sub_stats"] = []
    return record


def aggregate_stats(records: Sequence[dict[str, Any]], name: str = "") -> dict[str, Any]:
    """Sum the counters; earliest start; latest end, or None while anything runs."""
    out = empty_stats(name)
    starts = [r["start_date"] for r in records if r["start_date"] is not None]
    ends = [r["end_date"] for r in records]
    out["start_date"] = min(starts) if starts else None
    out["end_date"] = (
        None if not ends or any(e is None for e in ends) else max(e for e in ends if e is not None)
    )
    for key in COUNTERS:
        out[key] = sum(int(r.get(key, 0)) for r in records)
    return out
