"""Saying what failed, where: failures grouped by command and reason, hosts folded (pure).

``ProcessesFailed``, the warning a failed action logs, the ``execo`` command and the Report
all describe failures the same way: one line per distinct (command, reason), naming the
hosts folded (``node-[1-3]: 'false': failed: exit code 1``). A host's own address in the
command or the reason is written ``{{{host}}}``, so that "cannot resolve node-1" and "cannot
resolve node-2" are one reason.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from ._host import Host, fold_hosts

__all__ = ["Outcome", "describe_failures", "outcome_summary"]


class Outcome(Protocol):
    """What is read of a process here (a :class:`~execo.ProcessBase` is one; the protocol
    keeps this module below the one that defines processes)."""

    @property
    def name(self) -> str: ...

    @property
    def ok(self) -> bool: ...

    @property
    def started(self) -> bool: ...

    @property
    def ended(self) -> bool: ...

    @property
    def running(self) -> bool: ...

    @property
    def finished_ok(self) -> bool: ...

    host: Host | None

    def failure_reason(self) -> str: ...


def describe_failures(processes: Sequence[Outcome]) -> list[str]:
    """One line per distinct (command, reason), naming the hosts folded, in order of first
    appearance: ``node-[1-3]: 'false': failed: exit code 1``."""
    groups: dict[tuple[str, str], list[Outcome]] = {}
    for p in processes:
        name, reason = p.name, p.failure_reason()
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


def outcome_summary(processes: Sequence[Outcome]) -> str:
    """``4 processes: 3 ok, 1 failed (node-2)``, with what still runs or waits."""
    n = len(processes)
    parts = []
    ok = sum(p.finished_ok for p in processes)
    failed = [p for p in processes if p.ended and not p.ok]
    running = sum(p.running for p in processes)
    waiting = sum(not p.started for p in processes)
    if waiting == n and n:
        parts.append("not started")
    else:
        parts.append(f"{ok} ok")
        if failed:
            where = fold_hosts(p.host for p in failed)
            parts.append(f"{len(failed)} failed" + (f" ({where})" if where else ""))
        if running:
            parts.append(f"{running} running")
        if waiting:
            parts.append(f"{waiting} not started")
    return f"{n} process{'es' if n != 1 else ''}: {', '.join(parts)}"
