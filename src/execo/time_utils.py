"""Dates and durations (execo-compatible helpers).

The names are those of :mod:`execo`; this module exists for execo 2.8.2 imports such as
``from execo.time_utils import Timer``.
"""

from __future__ import annotations

from . import (
    Timer,
    format_date,
    format_duration,
    get_seconds,
    get_unixts,
    sleep,
)

__all__ = [
    "Timer",
    "format_date",
    "format_duration",
    "get_seconds",
    "get_unixts",
    "sleep",
]
