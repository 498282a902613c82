"""The same benchmark worker on execo 2.8.2's ParamSweeper (run by the peer virtualenv).

``peer_execo.py setup STORE N``: create the sweeper of N combinations (save_sweeps=True).
``peer_execo.py work STORE SECONDS``: as ``worker.py`` (prints ``ready``, waits, measures).
execo is only imported and run here, never copied.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from typing import Any


def _engine() -> Any:
    return importlib.import_module("execo_engine")


def setup(store: str, n: int) -> None:
    ee = _engine()
    sweeps = ee.sweep({"a": list(range(n // 100)), "b": list(range(10)), "c": list(range(10))})
    ee.ParamSweeper(store, sweeps, save_sweeps=True)


def work(store: str, seconds: float) -> None:
    ee = _engine()
    t0 = time.perf_counter()
    sweeper = ee.ParamSweeper(store)
    opened = time.perf_counter() - t0
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.perf_counter()
    deadline = start + seconds
    pairs = 0
    while time.perf_counter() < deadline:
        comb = sweeper.get_next()
        if comb is None:
            break
        sweeper.done(comb)
        pairs += 1
    elapsed = time.perf_counter() - start
    print(json.dumps({"pairs": pairs, "seconds": elapsed, "open": opened}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(sys.argv[2], int(sys.argv[3]))
    else:
        work(sys.argv[2], float(sys.argv[3]))
