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

import re
import signal
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._host import fold_hosts

if TYPE_CHECKING:
    from ._host import Host
    from ._process import ProcessBase

__all__ = [
    "ConfigurationError",
    "ExecoError",
    "ExecoUsageError",
    "ProcessesFailed",
    "describe_failures",
    "failure_reason",
]


class ExecoError(Exception):
    """Root of the exceptions execo raises on purpose."""


class ConfigurationError(ExecoError, ValueError):
    """A configuration file, key or value is wrong; the message names the culprit."""


class ExecoUsageError(ExecoError, RuntimeError):
    """The API was used in a way it does not support."""


class ProcessesFailed(ExecoError):
    """Some processes did not finish ok.

    The message says which hosts failed (folded: ``node-[1-3]``) and why, one line per
    distinct command and reason.

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
        lines.extend(f"  {line}" for line in describe_failures(self.processes))
        return "\n".join(lines)


def failure_reason(p: ProcessBase) -> str:
    """What went wrong with ``p``, without saying where: ``failed: exit code 1 — stderr:
    'No such file'``, ``unreachable: Connection refused``, ``timeout``..."""
    what: str = p.status.value
    if p.error_reason:
        reason = p.error_reason
        what = reason if reason.startswith(what + ":") else f"{what}: {reason}"
    elif p.exit_signal is not None:
        what += f": killed by {_signal_name(p.exit_signal)}"
    elif p.exit_code:
        what += f": exit code {p.exit_code}"
    if p.expect_fail:
        what += " (expect failed)"
    if p.write_error:
        what += " (write failed)"
    last = p.stderr.strip().splitlines()[-1:]
    if last and not p.error_reason:
        what += f" — stderr: {last[0][:200]!r}"
    return what


def describe_failures(processes: Sequence[ProcessBase]) -> list[str]:
    """One line per distinct (command, reason), naming the hosts folded, in order of first
    appearance: ``node-[1-3]: 'false': failed: exit code 1``."""
    groups: dict[tuple[str, str], list[ProcessBase]] = {}
    for p in processes:
        name, reason = p.name, failure_reason(p)
        if p.host is not None:  # "echo n-1" and "echo n-2" are one command, as written
            host = re.compile(rf"(?<![\w.-]){re.escape(p.host.address)}(?![\w-])")
            name, reason = host.sub("{{{host}}}", name), host.sub("{{{host}}}", reason)
        groups.setdefault((name, reason), []).append(p)
    lines = []
    for (name, reason), procs in groups.items():
        hosts = fold_hosts(p.host for p in procs)
        count = "" if hosts or len(procs) == 1 else f" ({len(procs)} processes)"
        lines.append(f"{hosts + ': ' if hosts else ''}{name!r}: {reason}{count}")
    return lines


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)
