"""Long run: 20,000 short commands through one asyncssh pool on 50 testbed hosts, while their
sshds are killed and restarted at random. Not a test: it reports whether the controller's
file descriptors and memory stay flat, that every failure is attributed to a host that was
being disturbed, and that nothing hangs.

    python -m bench.longrun [--hosts 50] [--commands 20000] [--chaos-every 1.5]

Chaos, one host at a time, at random: either the sshd listener is stopped for a while (new
connections refused, open ones live on), or every sshd process of the host is killed (its
connections drop under running commands), then it is restarted.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import signal
import subprocess
import time

import trio

from execo import Host, Remote, ssh_pool
from execo.testbed import LocalCluster

from ._results import write_section


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def fd_kinds() -> collections.Counter[str]:
    kinds: collections.Counter[str] = collections.Counter()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        kinds[target.split(":")[0] if ":" in target else "file"] += 1
    return kinds


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def kill_all_sshd(namespace: str) -> int:
    """Kill every sshd process in a host's network namespace (its connections drop)."""
    out = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True)
    killed = 0
    for pid in out.stdout.split():
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip().startswith("sshd"):
                    os.kill(int(pid), signal.SIGKILL)
                    killed += 1
        except (OSError, ValueError):
            continue
    return killed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--commands", type=int, default=20000)
    parser.add_argument("--chaos-every", type=float, default=1.5)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--write", action="store_true", help="write bench/RESULTS.md")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    load = os.getloadavg()[0]
    async with LocalCluster(args.hosts) as cluster:
        params = {
            **cluster.connection_params.given(),
            "host_key_policy": "insecure",
            "connect_timeout": 5,
        }
        hosts = cluster.hosts
        disturbed: dict[Host, list[list[float]]] = collections.defaultdict(list)
        failures: collections.Counter[str] = collections.Counter()
        failed: list[tuple[Host, float, float, str]] = []
        rounds = args.commands // len(hosts)
        worst_round = 0.0
        chaos_events = collections.Counter[str]()

        async def chaos(stop: trio.Event) -> None:
            while not stop.is_set():
                await trio.sleep(rng.uniform(0.5, 2 * args.chaos_every))
                victim = rng.choice(hosts)
                start = time.monotonic()
                window = [start, float("inf")]
                disturbed[victim].append(window)
                if rng.random() < 0.5:
                    await cluster.kill_sshd(victim)
                    chaos_events["listener stopped"] += 1
                else:
                    node = cluster.node(victim)
                    await trio.to_thread.run_sync(kill_all_sshd, str(node.namespace))
                    chaos_events["every sshd killed"] += 1
                await trio.sleep(rng.uniform(0.3, 2.0))
                await cluster.restart_sshd(victim)
                window[1] = time.monotonic() + 1.0

        def attributed(host: Host, when: tuple[float, float]) -> bool:
            return any(a - 1 <= when[1] and when[0] <= b for a, b in disturbed[host])

        async with ssh_pool() as pool:
            # warm up, then the first measure
            await Remote("true", hosts, transport="asyncssh", connection_params=params).run()
            fds0, rss0 = fds(), rss_mb()
            t0 = time.monotonic()
            stop = trio.Event()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(chaos, stop)
                for _ in range(rounds):
                    began = time.monotonic()
                    r = Remote(
                        "true",
                        hosts,
                        transport="asyncssh",
                        connection_params=params,
                        process_args={"nolog_error": True, "nolog_exit_code": True},
                    )
                    with trio.fail_after(120):  # nothing hangs
                        await r.run()
                    ended = time.monotonic()
                    worst_round = max(worst_round, ended - began)
                    for p in r.processes:
                        if not p.ok:
                            why = (p.error_reason or f"exit {p.exit_code}")[:60]
                            failures[why] += 1
                            assert p.host is not None
                            failed.append((p.host, began, ended, why))
                stop.set()
                nursery.cancel_scope.cancel()
            elapsed = time.monotonic() - t0
            await trio.sleep(1)  # let the last closes settle
            fds1, rss1 = fds(), rss_mb()
            kinds = fd_kinds()
            stats = pool.statistics()
    unattributed = [f"{h}: {why}" for h, a, b, why in failed if not attributed(h, (a, b))]
    total = rounds * len(hosts)
    lines = [
        f"{total} commands (`true`) in {rounds} rounds of one Remote on {len(hosts)} netns "
        f"testbed hosts, one asyncssh pool, in {elapsed:.1f} s "
        f"(load average {load:.2f} at the start).",
        "",
        f"Chaos: {sum(chaos_events.values())} events ({dict(chaos_events)}).",
        "",
        "| | start | end |",
        "|---|---:|---:|",
        f"| controller file descriptors | {fds0} | {fds1} |",
        f"| controller RSS | {rss0:.0f} MB | {rss1:.0f} MB |",
        "",
        f"Failures: {sum(failures.values())} of {total}, every one on a host being disturbed "
        f"at the time: {'yes' if not unattributed else 'NO: ' + '; '.join(unattributed[:5])}."
        f" Slowest round: {worst_round:.1f} s (none hung).",
        "",
        "| reason | count |",
        "|---|---:|",
        *(f"| {why} | {n} |" for why, n in failures.most_common(8)),
        "",
        f"Pool: {stats.connections_opened} connections opened "
        f"({stats.connections_open} open at the end), {stats.connect_failures} "
        f"connect failures, {stats.sessions_opened} sessions; descriptors at the end: "
        f"{dict(kinds)}.",
    ]
    report = "\n".join(lines)
    print(report)
    if args.write:
        write_section("Long run: 20,000 commands under sshd chaos", report)


if __name__ == "__main__":
    trio.run(main)
