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

from ._host import fold_hosts

if TYPE_CHECKING:
    from ._host import Host
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

    @property
    def hosts(self) -> list[Host]:
        """The hosts of the failed processes (in order, duplicates kept)."""
        return [p.host for p in self.processes if p.host is not None]

    def _summary(self) -> str:
        n = len(self.processes)
        where = f" on {fold_hosts(self.hosts)}" if self.hosts else ""
        lines = [f"{n} process{'es' if n != 1 else ''} failed{where}:"]
        lines.extend(f"  {p.failure_summary()}" for p in self.processes)
        return "\n".join(lines)
