"""The supervisor's program (run as ``python -I -S _guardian.py GRACE NAME=MARK``, see
:mod:`._supervisor`): read ``+pgid``/``-pgid`` lines from stdin; at end of file (the
controller is gone), end every group still registered, everything that descends from it, and
every process whose environment carries NAME=MARK: SIGTERM, then SIGKILL after GRACE
seconds."""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._proctable import descendants, members, snapshot
else:  # run as a script, with no package around it
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _proctable import descendants, members, snapshot


def _signal_all(groups: set[int], sig: int) -> set[int]:
    """Send ``sig`` to the groups and their outside descendants; the groups still alive."""
    table = snapshot()
    alive = set()
    for g in groups:
        targets = descendants(g, table)
        if members(g, table):
            alive.add(g)
        for pid in targets:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            os.killpg(g, sig)
        except (ProcessLookupError, PermissionError):
            pass
        if targets:
            alive.add(g)
    return alive


def marked(mark: bytes) -> list[int]:
    """The processes whose environment holds ``mark`` (``NAME=VALUE``), this one excepted."""
    found = []
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                environ = f.read()
        except OSError:
            continue
        if mark in environ.split(b"\0"):
            found.append(int(name))
    return found


def _kill_marked(mark: bytes, sig: int) -> list[int]:
    pids = marked(mark) if mark else []
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
    return pids


def main() -> None:
    grace = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    mark = sys.argv[2].encode() if len(sys.argv) > 2 else b""
    groups: set[int] = set()
    pending = b""
    while True:
        try:
            data = os.read(0, 65536)
        except InterruptedError:
            continue
        if not data:
            break
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line[:1] == b"+":
                groups.add(int(line[1:]))
            elif line[:1] == b"-":
                groups.discard(int(line[1:]))
    left = _signal_all(groups, signal.SIGTERM)
    stray = _kill_marked(mark, signal.SIGTERM)
    if not left and not stray:
        return
    deadline = time.monotonic() + grace
    while (left or stray) and time.monotonic() < deadline:
        time.sleep(0.05)
        table = snapshot()
        left = {g for g in left if members(g, table) or descendants(g, table)}
        stray = marked(mark) if mark else []
    if left:
        _signal_all(left, signal.SIGKILL)
    _kill_marked(mark, signal.SIGKILL)


if __name__ == "__main__":
    main()
