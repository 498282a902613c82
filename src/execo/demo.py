"""The README demo: a small experiment on a local virtual cluster of real SSH hosts.

Run ``python -m execo.demo [--hosts N] [--mode auto|netns|loopback]``. It brings up a local
cluster of N hosts (as root: network namespaces on a bridge, each with its own hostname and
sshd; otherwise real sshd servers on 127.0.0.x), runs a local process, starts a netcat
receiver on every host and a sender on the next host (the user guide's netcat traffic
example), and prints what happened.
"""

from __future__ import annotations

import argparse
import time

import trio

from execo import Process, SshProcess
from execo.testbed import LocalCluster, Mode


async def experiment(n: int, mode: Mode = "auto") -> int:
    p = await Process("uname -sr").run()
    print(f"local: {p.stdout.strip()} (exit {p.exit_code}, {p.end_date - p.start_date:.3f} s)")  # type: ignore[operator]
    t0 = time.monotonic()
    async with LocalCluster(n, mode=mode) as cluster:
        hosts = cluster.hosts
        print(
            f"cluster: {n} hosts up in {time.monotonic() - t0:.2f} s ({cluster.mode} mode): "
            f"{hosts[0].address} .. {hosts[-1].address}, port {hosts[0].port}"
        )
        receivers = [SshProcess(f"nc -l -s {h.address} -p 6543 | wc -c", h) for h in hosts]
        senders = [
            SshProcess(f"head -c 1000000 /dev/zero | nc -q 0 {hosts[(i + 1) % n].address} 6543", h)
            for i, h in enumerate(hosts)
        ]
        t1 = time.monotonic()
        async with trio.open_nursery() as nursery:
            for r in receivers:
                await nursery.start(r.run)
            # every receiver is started; wait until each one listens
            for h in hosts:
                listening = f"ss -ltn | grep -q '{h.address}:6543 '"
                await SshProcess(
                    f"for i in $(seq 100); do {listening} && exit 0; sleep 0.05; done; exit 1", h
                ).run(check=True)
            for s in senders:
                nursery.start_soon(s.run)
        elapsed = time.monotonic() - t1
        print(f"netcat traffic between all {n} hosts: {elapsed:.2f} s")
        failures = 0
        for r in receivers:
            got = r.stdout.strip()
            print(f"  {r.host}: status={r.status.value:7} received {got} bytes")
            failures += not (r.ok and got == "1000000")
        failures += sum(not s.ok for s in senders)
    print("all ok" if not failures else f"{failures} failure(s)")
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=5)
    parser.add_argument("--mode", choices=["auto", "netns", "loopback"], default="auto")
    args = parser.parse_args()
    raise SystemExit(1 if trio.run(experiment, args.hosts, args.mode) else 0)


if __name__ == "__main__":
    main()
