"""1000 local `true` processes, 100 at a time and all at once: execo Process vs raw
trio.run_process, subprocess, and execo 2.8.2's Process (run in bench/_peers/venv).

Usage: python -m bench.local_processes [--n 1000] [--batch 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    n = args.n
    rows: list[tuple[str, float | None, float | None]] = []
    runners: list[tuple[str, Callable[[int], float | None]]] = [
        ("execo (this) Process", lambda b: timed_trio(n, b, execo_process)),
        ("raw trio.run_process", lambda b: timed_trio(n, b, raw_trio)),
        ("raw trio.run_process, capturing", lambda b: timed_trio(n, b, raw_trio_capture)),
        ("subprocess.Popen", lambda b: timed_subprocess(n, b)),
        ("execo 2.8.2 Process", lambda b: timed_execo282(n, b)),
    ]
    for name, run in runners:
        results = []
        for batch in (args.batch, n):
            times = [run(batch) for _ in range(args.repeat)]
            valid = [t for t in times if t is not None]
            results.append(min(valid) if valid else None)
        rows.append((name, results[0], results[1]))
        print(f"{name:24} {results[0]!s:>8} {results[1]!s:>8}", file=sys.stderr)

    ours = rows[0]
    trio_row = rows[1]
    execo_row = rows[4]
    capture_row = rows[2]

    def fmt(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.2f} s"

    lines = [
        f"{n} local `true` processes; best of {args.repeat} runs.",
        "",
        f"| runner | {args.batch} at a time | all {n} at once |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {fmt(a)} | {fmt(b)} |" for name, a, b in rows]
    if ours[1] and trio_row[1]:
        lines.append("")
        lines.append(
            f"execo / raw trio: {ours[1] / trio_row[1]:.2f}× ({args.batch} at a time), "
            f"{(ours[2] or 0) / (trio_row[2] or 1):.2f}× (all at once); "
            f"execo / raw trio capturing: {ours[1] / (capture_row[1] or 1):.2f}× "
            f"({args.batch} at a time), {(ours[2] or 0) / (capture_row[2] or 1):.2f}× "
            "(all at once). "
            + (
                f"execo 2.8.2 / execo: {execo_row[1] / ours[1]:.1f}× ({args.batch} at a time), "
                f"{(execo_row[2] or 0) / (ours[2] or 1):.1f}× (all at once)."
                if execo_row[1]
                else ""
            )
        )
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section("Local processes", body)


if __name__ == "__main__":
    main()
