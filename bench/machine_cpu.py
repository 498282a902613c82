"""Where the time of a warm `true` on N loopback hosts goes: the controller, or the sshds.

On loopback the sshds, their session processes and the remote shells run on the same cores
as the controller, so a warm run's wall time mixes both. This benchmark times one warm
`true` on N hosts (a second command over connections opened just before, after a pause that
lets the cold run's remote processes finish) and reports, beside the wall time, the
controller's own CPU (``time.process_time``) and the whole machine's busy CPU over the same
interval (``/proc/stat``: everything but idle and iowait), for:

- execo's Remote over its asyncssh transport, with the remote watchdog (the default);
- the same with ``detach=True`` (no watchdog: the command's wrapper only reports its pid);
- raw asyncssh (``conn.run("true")`` on every connection, gathered).

Every round runs each runner once, in a fresh process, in an order rotated by round; the
table gives the median of the rounds (best–worst).

Usage: python -m bench.machine_cpu [--n 200] [--rounds 5] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from bench._results import write_section
from execo.testbed import LoopbackSshd

_MACHINE = r"""
import json, time
def machine():
    v = list(map(int, open("/proc/stat").readline().split()[1:]))
    return (sum(v) - v[3] - v[4]) / 100.0  # busy seconds: all but idle and iowait
def report(warm, cpu, busy, failed):
    print(json.dumps({"warm": warm, "cpu": cpu, "busy": busy, "failed": failed}))
"""

OURS = (
    _MACHINE
    + r"""
import sys, trio
from execo import Host, Remote, ssh_pool
detach = sys.argv[1] == "detach"
port, key, addrs = int(sys.argv[2]), sys.argv[3], sys.argv[4:]
hosts = [Host(a, port=port, keyfile=key) for a in addrs]
params = {"host_key_policy": "insecure"}
async def main():
    async with ssh_pool():
        await Remote("true", hosts, transport="asyncssh", connection_params=params).run()
        await trio.sleep(1.0)
        m, c, t = machine(), time.process_time(), time.perf_counter()
        r = await Remote("true", hosts, transport="asyncssh", connection_params=params,
                         process_args={"detach": detach}).run()
        report(time.perf_counter() - t, time.process_time() - c, machine() - m, len(r.failed))
trio.run(main)
"""
)

RAW = (
    _MACHINE
    + r"""
import sys, asyncio, asyncssh
port, key, addrs = int(sys.argv[2]), sys.argv[3], sys.argv[4:]
async def main():
    k = asyncssh.read_private_key(key)
    cs = await asyncio.gather(*(asyncssh.connect(a, port=port, username="root",
                                client_keys=[k], known_hosts=None) for a in addrs))
    await asyncio.gather(*(c.run("true") for c in cs))
    await asyncio.sleep(1.0)
    m, c, t = machine(), time.process_time(), time.perf_counter()
    rs = await asyncio.gather(*(c.run("true") for c in cs))
    report(time.perf_counter() - t, time.process_time() - c, machine() - m,
           sum(1 for r in rs if r.exit_status != 0))
    for conn in cs:
        conn.close()
asyncio.run(main())
"""
)

RUNNERS = [
    ("execo Remote, asyncssh (watchdog)", OURS, "watchdog"),
    ("execo Remote, asyncssh, detach=True", OURS, "detach"),
    ("raw asyncssh 2.24 gather", RAW, "-"),
]


def _cell(xs: list[float], unit: str = "s") -> str:
    return f"{statistics.median(xs):.2f} {unit} ({min(xs):.2f}–{max(xs):.2f})".strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    n = args.n
    load_start = os.getloadavg()[0]
    samples: dict[str, list[dict[str, float]]] = {name: [] for name, _, _ in RUNNERS}
    with LoopbackSshd(n, first=2, max_startups="1000", max_sessions=10) as sshd:
        for r in range(args.rounds):
            for name, code, mode in RUNNERS[r % len(RUNNERS) :] + RUNNERS[: r % len(RUNNERS)]:
                time.sleep(2)  # the sshds reap the previous runner's sessions
                argv = [sys.executable, "-c", code, mode, str(sshd.port), str(sshd.keyfile)]
                out = subprocess.run(
                    [*argv, *sshd.addresses[:n]], capture_output=True, text=True, check=True
                )
                d = json.loads(out.stdout.strip().splitlines()[-1])
                samples[name].append(d)
                print(f"round {r + 1} {name}: {d}", flush=True)
    load_end = os.getloadavg()[0]
    lines = [
        f"N = {n} loopback hosts, {args.rounds} rounds, runners interleaved; 1-minute load "
        f"average {load_start:.2f} at the start, {load_end:.2f} at the end. Median "
        "(best–worst) of the rounds. *Machine busy*: every process's CPU over the warm run "
        "(the sshds, their sessions and the remote shells included), from /proc/stat.",
        "",
        "| runner | warm wall | controller CPU | machine busy CPU | of it, not the controller "
        "| failures |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, ds in samples.items():
        rest = [d["busy"] - d["cpu"] for d in ds]
        lines.append(
            f"| {name} | {_cell([d['warm'] for d in ds])} | {_cell([d['cpu'] for d in ds])} "
            f"| {_cell([d['busy'] for d in ds])} | {_cell(rest)} "
            f"| {sum(int(d['failed']) for d in ds)} |"
        )
    body = "\n".join(lines)
    print(body)
    if not args.no_write:
        write_section(f"Warm `true` on {n} hosts: controller and machine CPU", body)


if __name__ == "__main__":
    main()
