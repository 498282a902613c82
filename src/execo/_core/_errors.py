"""Exceptions of execo.

Tree::

    ExecoError                      root of everything execo raises on purpose
    ├── ConfigurationError          bad configuration file, unknown key, bad value (also ValueError)
    ├── ProcessesFailed             opt-in raise: some processes did not finish ok
    └── ExecoUsageError             misuse of the API (e.g. starting a Process twice)

Failures of the processes themselves are *data* (``ok``, ``error_reason``, ...), as in execo;
``ProcessesFailed`` is raised only when asked (``check=True`` or ``raise_for_error()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._process import ProcessBase

__all__ = ["ConfigurationError", "ExecoError", "ExecoUsageError", "ProcessesFailed"]


class ExecoError(Exception):
    """Root of the exceptions execo raises on purpose."""


class ConfigurationError(ExecoError, ValueError):
    """A configuration file, key or value is wrong; the message names the culprit."""


class ExecoUsageError(ExecoError, RuntimeError):
    """The API was used in a way it does not support."""


class ProcessesFailed(ExecoError):
    """Some processes did not finish ok.

    Attributes:
        processes: the failed processes, each carrying its full state (host, exit code,
            signal, stdout, stderr, error_reason).
    """

    def __init__(self, processes: Sequence[ProcessBase]) -> None:
        self.processes: list[ProcessBase] = list(processes)
        super().__init__(self._summary())

    def _summary(self) -> str:
        lines = [f"{len(self.processes)} process(es) failed:"]
        lines.extend(f"  {p.failure_summary()}" for p in self.processes)
        return "\n".join(lines)
