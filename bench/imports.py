"""What an import costs: ``import execo`` (and execo_g5k, execo_engine) against ``import
trio``, and execo 2.8.2's ``import execo`` (bench/_peers/venv), each in a fresh interpreter
(bytecode cached beforehand by a first, untimed round), rounds interleaved. The figure is
the time of the import statement alone (the interpreter's own start-up excluded), with the
heavy optional modules it loaded.

Usage: python -m bench.imports [--rounds 15] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench._results import write_section

PEER_PYTHON = Path(__file__).with_name("_peers") / "venv" / "bin" / "python"
HEAVY = ("trio", "anyio", "asyncssh", "cryptography", "httpx", "keyring", "rich", "matplotlib")
PROBE = """
import json, sys, time
t = time.perf_counter()
import {module}
elapsed = time.perf_counter() - t
heavy = sorted(m for m in {heavy!r} if m in sys.modules)
print(json.dumps({{"s": elapsed, "heavy": heavy}}))
"""

RUNNERS = [
    ("import trio", sys.executable, "trio"),
    ("import execo (this)", sys.executable, "execo"),
    ("import execo_g5k (this)", sys.executable, "execo_g5k"),
    ("import execo_engine (this)", sys.executable, "execo_engine"),
    ("import execo (2.8.2)", str(PEER_PYTHON), "execo"),
]


def once(python: str, module: str) -> tuple[float, list[str]]:
    out = subprocess.run(
        [python, "-c", PROBE.format(module=module, heavy=HEAVY)],
        capture_output=True,
        text=True,
        check=True,
        cwd="/tmp",
    )
    d = json.loads(out.stdout)
    return float(d["s"]), list(d["heavy"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    runners = [r for r in RUNNERS if Path(r[1]).exists()]
    for _, python, module in runners:  # warm the bytecode caches and the page cache
        once(python, module)
    load = os.getloadavg()[0]
    times: dict[str, list[float]] = {name: [] for name, _, _ in runners}
    heavy: dict[str, list[str]] = {}
    for r in range(args.rounds):
        order = runners[r % len(runners) :] + runners[: r % len(runners)]
        for name, python, module in order:
            t, h = once(python, module)
            times[name].append(t)
            heavy[name] = h
    load_end = os.getloadavg()[0]
    trio_median = statistics.median(times["import trio"])
    lines = [
        f"1-minute load average {load:.2f} at the start, {load_end:.2f} at the end; "
        f"{args.rounds} rounds, runners interleaved.",
        "",
        "| import | median | best | worst | / import trio | heavy modules it loads |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, _, _ in runners:
        ts = times[name]
        med = statistics.median(ts)
        lines.append(
            f"| {name} | {med * 1000:.0f} ms | {min(ts) * 1000:.0f} ms | "
            f"{max(ts) * 1000:.0f} ms | {med / trio_median:.2f}× | "
            f"{', '.join(heavy[name]) or 'none'} |"
        )
    ours = statistics.median(times["import execo (this)"])
    lines += ["", f"`import execo` = **{ours / trio_median:.2f}×** `import trio` (target ≤ 1.3×)."]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section("Import time", body)


if __name__ == "__main__":
    main()
