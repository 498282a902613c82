"""1000 local `true` processes, 100 at a time and all at once: execo Process vs raw
trio.run_process, subprocess, and execo 2.8.2's Process (run in bench/_peers/venv).

Usage: python -m bench.local_processes [--n 1000] [--batch 100] [--rounds 5] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio

from bench._results import write_section
from execo import Process

PEER_PYTHON = Path(__file__).with_name("_peers") / "venv" / "bin" / "python"

EXECO_282 = textwrap.dedent(
    """
    import sys, time, logging
    import execo
    execo.logger.setLevel(logging.ERROR)
    n, batch = int(sys.argv[1]), int(sys.argv[2])
    t = time.perf_counter()
    for start in range(0, n, batch):
        procs = [execo.Process("true").start() for _ in range(min(batch, n - start))]
        for p in procs:
            p.wait()
        assert all(p.ok for p in procs)
    print(time.perf_counter() - t)
    """
)


async def in_batches(n: int, batch: int, one: Callable[[], Awaitable[object]]) -> None:
    for start in range(0, n, batch):
        async with trio.open_nursery() as nursery:
            for _ in range(min(batch, n - start)):
                nursery.start_soon(one)


async def execo_process() -> None:
    p = await Process("true").run()
    assert p.ok


async def raw_trio() -> None:
    await trio.run_process(["true"])


async def raw_trio_capture() -> None:
    await trio.run_process(["true"], capture_stdout=True, capture_stderr=True)


def subprocess_batches(n: int, batch: int) -> None:
    for start in range(0, n, batch):
        procs = [subprocess.Popen(["true"]) for _ in range(min(batch, n - start))]
        for p in procs:
            assert p.wait() == 0


def timed_trio(n: int, batch: int, one: Callable[[], Awaitable[object]]) -> float:
    t = time.perf_counter()
    trio.run(in_batches, n, batch, one)
    return time.perf_counter() - t


def timed_subprocess(n: int, batch: int) -> float:
    t = time.perf_counter()
    subprocess_batches(n, batch)
    return time.perf_counter() - t


def timed_execo282(n: int, batch: int) -> float | None:
    if not PEER_PYTHON.exists():
        return None
    out = subprocess.run(
        [str(PEER_PYTHON), "-c", EXECO_282, str(n), str(batch)],
        capture_output=True,
        text=True,
        check=True,
        cwd="/tmp",
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    n = args.n
    runners: list[tuple[str, Callable[[int], float | None]]] = [
        ("execo (this) Process", lambda b: timed_trio(n, b, execo_process)),
        ("raw trio.run_process", lambda b: timed_trio(n, b, raw_trio)),
        ("raw trio.run_process, capturing", lambda b: timed_trio(n, b, raw_trio_capture)),
        ("subprocess.Popen", lambda b: timed_subprocess(n, b)),
        ("execo 2.8.2 Process", lambda b: timed_execo282(n, b)),
    ]
    batches = (args.batch, n)
    times: dict[tuple[str, int], list[float]] = {(r, b): [] for r, _ in runners for b in batches}
    load = os.getloadavg()[0]
    for r in range(args.rounds):  # every runner once per round, in a rotated order
        order = runners[r % len(runners) :] + runners[: r % len(runners)]
        for name, run in order:
            for batch in batches:
                t = run(batch)
                if t is not None:
                    times[(name, batch)].append(t)
                    print(f"round {r + 1} {name} batch {batch}: {t:.3f} s", file=sys.stderr)
    load_end = os.getloadavg()[0]

    def cell(name: str, batch: int) -> str:
        ts = times[(name, batch)]
        if not ts:
            return "n/a"
        return f"{statistics.median(ts):.2f} s ({min(ts):.2f}–{max(ts):.2f})"

    def med(name: str, batch: int) -> float:
        return statistics.median(times[(name, batch)])

    lines = [
        f"{n} local `true` processes; 1-minute load average {load:.2f} at the start, "
        f"{load_end:.2f} at the end; {args.rounds} rounds, runners interleaved; median "
        "(best–worst).",
        "",
        f"| runner | {args.batch} at a time | all {n} at once |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {name} | {cell(name, batches[0])} | {cell(name, batches[1])} |" for name, _ in runners
    ]
    ours, cap, raw = runners[0][0], runners[2][0], runners[1][0]

    def mode(b: int) -> str:
        return "all at once" if b == n else f"{b} at a time"

    ratios = [f"{med(ours, b) / med(cap, b):.2f}× ({mode(b)})" for b in batches]
    lines += [
        "",
        f"execo / raw trio capturing, medians: **{ratios[0]}**, **{ratios[1]}** "
        "(target ≤ 1.15×); execo / raw trio without capture: "
        f"{med(ours, batches[0]) / med(raw, batches[0]):.2f}×, "
        f"{med(ours, batches[1]) / med(raw, batches[1]):.2f}×.",
    ]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section("Local processes", body)


if __name__ == "__main__":
    main()
