"""One benchmark worker on our ParamSweeper: ``python -m bench.sweeper.worker STORE MODE SECONDS``.

MODE is ``durable``, ``relaxed`` (``durable=False``) or ``durable-tasksK`` (K trio tasks
sharing one AsyncParamSweeper, so that their ``done`` calls share fsyncs). The worker opens
the sweeper, prints ``ready``, waits for a line on stdin, then does get_next + done pairs
until SECONDS have passed or nothing is left, and prints one JSON line of results.
"""

from __future__ import annotations

import json
import sys
import time

import trio

from execo_engine import AsyncParamSweeper, ParamSweeper


def _sequential(sweeper: ParamSweeper, deadline: float) -> int:
    pairs = 0
    get_next, done = sweeper.get_next, sweeper.done
    while time.perf_counter() < deadline:
        comb = get_next()
        if comb is None:
            break
        done(comb)
        pairs += 1
    return pairs


async def _concurrent(sweeper: ParamSweeper, deadline: float, tasks: int) -> int:
    front = AsyncParamSweeper(sweeper)
    counts = [0] * tasks

    async def task(k: int) -> None:
        while time.perf_counter() < deadline:
            comb = await front.get_next()
            if comb is None:
                return
            await front.done(comb)
            counts[k] += 1

    async with trio.open_nursery() as nursery:
        for k in range(tasks):
            nursery.start_soon(task, k)
    return sum(counts)


def main(store: str, mode: str, seconds: float) -> None:
    t0 = time.perf_counter()
    sweeper = ParamSweeper(store, durable=mode != "relaxed")
    opened = time.perf_counter() - t0
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.perf_counter()
    deadline = start + seconds
    if mode.startswith("durable-tasks"):
        pairs = trio.run(_concurrent, sweeper, deadline, int(mode.removeprefix("durable-tasks")))
    else:
        pairs = _sequential(sweeper, deadline)
    elapsed = time.perf_counter() - start
    sweeper.close()
    print(json.dumps({"pairs": pairs, "seconds": elapsed, "open": opened}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
