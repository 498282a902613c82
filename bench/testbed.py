"""Local cluster resource use: time to bring up and tear down 10/50/100 hosts, memory per
host (RSS and PSS of the hosts' sshd servers), and one ssh command on every host, in both
modes (netns only as root).

Usage: python -m bench.testbed [--sizes 10 50 100] [--repeat 3] [--no-write]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import trio

from bench._results import write_section
from execo import SshProcess
from execo.testbed import LocalCluster
from execo.testbed._netns import netns_available

MIB = 1024 * 1024


def memory(pids: list[int]) -> tuple[int, int]:
    """Summed RSS and PSS (bytes) of ``pids``, from /proc/<pid>/smaps_rollup."""
    rss = pss = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("Rss", "Pss"):
                kib = int(value.split()[0]) * 1024
                rss += kib if key == "Rss" else 0
                pss += kib if key == "Pss" else 0
    return rss, pss


async def ssh_all(cluster: LocalCluster) -> float:
    procs = [SshProcess("true", h) for h in cluster.hosts]
    t = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for p in procs:
            nursery.start_soon(p.run)
    elapsed = time.perf_counter() - t
    assert all(p.ok for p in procs), [p.failure_summary() for p in procs if not p.ok]
    return elapsed


def measure(mode: str, n: int) -> dict[str, float]:
    t = time.perf_counter()
    cluster = LocalCluster(n, mode=mode).start()  # type: ignore[arg-type]
    up = time.perf_counter() - t
    try:
        rss, pss = memory([s.pid for s in cluster.state.servers])
        ssh = trio.run(ssh_all, cluster)
    finally:
        t = time.perf_counter()
        cluster.stop()
        down = time.perf_counter() - t
    return {"up": up, "down": down, "rss": rss / n, "pss": pss / n, "ssh": ssh}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    modes = ["netns", "loopback"] if netns_available() is None else ["loopback"]
    lines = [
        f"Best of {args.repeat} runs (memory: of the last run). Up: until every sshd answers; "
        "down: until no process, namespace or link is left. Memory per host is the sshd "
        "listener's (RSS counts the shared pages once per process, PSS shares them out); the "
        "kernel's per-namespace memory (network stack, veth) is not included. `true` on "
        "all: one `SshProcess` per host, all in parallel.",
        "",
        "| mode | hosts | up | down | sshd RSS / host | sshd PSS / host | `true` on all |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for mode in modes:
        for n in args.sizes:
            runs = [measure(mode, n) for _ in range(args.repeat)]
            best = {k: min(r[k] for r in runs) for k in ("up", "down", "ssh")}
            row = (
                f"| {mode} | {n} | {best['up']:.2f} s | {best['down']:.2f} s "
                f"| {runs[-1]['rss'] / MIB:.1f} MiB | {runs[-1]['pss'] / MIB:.1f} MiB "
                f"| {best['ssh']:.2f} s |"
            )
            print(row, file=sys.stderr)
            lines.append(row)
    if len(modes) == 1:
        lines += ["", f"netns mode not measured: {netns_available()}."]
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section("Local cluster", body)


if __name__ == "__main__":
    main()
