"""Who a worker is, and whether a worker seen in a journal is still alive.

A worker is identified by its host name, the kernel's boot id, its pid and the start time of
that pid (so a reused pid is not mistaken for the original process). A worker on this host and
boot is alive exactly when a process with that pid and start time exists. A worker elsewhere can
only be judged by its lease: it is dead when nothing was heard from it for longer than the
lease, measured on this host's monotonic clock from the moment its last heartbeat was read (so
clock skew between hosts does not matter).
"""

from __future__ import annotations

import functools
import os
import socket
from dataclasses import dataclass

__all__ = ["Identity", "process_start_time"]


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


@functools.cache
def _boot_id() -> str:
    return _read("/proc/sys/kernel/random/boot_id") or ""


def process_start_time(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux), or None."""
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """Where a worker runs."""

    host: str
    boot_id: str
    pid: int
    start_time: str | None

    @classmethod
    def current(cls) -> Identity:
        """The identity of the calling process."""
        pid = os.getpid()
        return cls(
            host=socket.gethostname(),
            boot_id=_boot_id(),
            pid=pid,
            start_time=process_start_time(pid),
        )

    def same_machine(self, other: Identity) -> bool:
        """Whether ``other`` runs on this host, in this boot (so its pid can be checked here)."""
        return self.host == other.host and self.boot_id == other.boot_id

    def process_alive(self) -> bool:
        """Whether this process still runs; only meaningful on the same machine."""
        if self.start_time is not None:
            return process_start_time(self.pid) == self.start_time
        return _pid_exists(self.pid)
