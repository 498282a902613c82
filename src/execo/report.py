"""Reports: statistics of processes and actions, as data and as a table.

The names are those of :mod:`execo`; this module exists for execo 2.8.2 imports such as
``from execo.report import Report``.
"""

from __future__ import annotations

from . import (
    Report,
)

__all__ = [
    "Report",
]
