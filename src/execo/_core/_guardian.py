"""The supervisor's program (run as ``python -I -S _guardian.py GRACE``, see
:mod:`._supervisor`): read ``+pgid``/``-pgid`` lines from stdin; at end of file (the
controller is gone), end every group still registered and everything that descends from it:
SIGTERM, then SIGKILL after GRACE seconds."""

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


def main() -> None:
    grace = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
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
    if not groups:
        return
    left = _signal_all(groups, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        table = snapshot()
        left = {g for g in left if members(g, table) or descendants(g, table)}
    if left:
        _signal_all(left, signal.SIGKILL)


if __name__ == "__main__":
    main()
