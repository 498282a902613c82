"""A worker of the crash test: ``python crash_worker.py STORAGE_DIR RESULTS_LOG THROTTLE``.

For each combination it gets, it appends ``W <i> <j> <pid>`` to the results log (the work),
calls ``done``, then appends ``D <i> <j> <pid>`` (``done`` has returned). Each line is one
``write`` to a file opened with ``O_APPEND``, so lines never interleave. It leaves when nothing
is todo or in progress. While the file ``THROTTLE`` exists, each combination also takes 2 ms
of "work", so that the test can kill workers in the middle of the sweep.
"""

from __future__ import annotations

import os
import sys
import time

from execo_engine import ParamSweeper


def main(storage_dir: str, results_log: str, throttle: str) -> None:
    pid = os.getpid()
    log = os.open(results_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    with ParamSweeper(storage_dir) as sweeper:
        while True:
            comb = sweeper.get_next()
            if comb is None:
                if sweeper.counts().inprogress == 0:
                    return
                time.sleep(0.01)  # the rest is in progress elsewhere (or reclaimable later)
                continue
            key = f"{comb['i']} {comb['j']} {pid}\n"
            if os.path.exists(throttle):
                time.sleep(0.002)
            os.write(log, ("W " + key).encode())
            sweeper.done(comb)
            os.write(log, ("D " + key).encode())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
