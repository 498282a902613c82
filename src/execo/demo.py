"""The README demo: a small experiment campaign on a local virtual cluster of real SSH hosts.

Run ``python -m execo.demo [--hosts N] [--mode auto|netns|loopback] [--results DIR]``.

1. It brings up a local cluster of N hosts (as root: network namespaces on a bridge, each
   host with its own hostname, sshd and home; otherwise real sshd servers on 127.0.0.x).
2. It runs ``hostname`` on every host (one :class:`~execo.Remote` action).
3. It runs the user guide's netcat traffic example between all hosts, as actions: a
   receiver on every host, then a sender on every host to the next one (a ring).
4. It sweeps the parameters of that experiment (bytes sent x number of hosts taking part)
   with a crash-safe :class:`~execo_engine.ParamSweeper` stored in the results directory:
   run it again with the same ``--results`` and it continues where it stopped.
5. It prints the :class:`~execo.Report` of every action and the sweep's results.

Exit status 0 when every action succeeded and every transfer was complete.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import trio

from execo import Action, Host, Process, Remote, Report
from execo.testbed import LocalCluster, Mode
from execo_engine import AsyncParamSweeper, ParamSweeper, slugify, sweep

PORT = 6543


async def netcat_ring(hosts: list[Host], size: int) -> tuple[list[Action], float, bool]:
    """Every host sends ``size`` bytes to the next one over TCP; returns the actions run,
    the transfer time and whether every receiver got everything."""
    following = hosts[1:] + hosts[:1]  # {{following}} picks element i for host i
    receivers = Remote(
        f"nc -v -l -s {{{{{{host}}}}}} -p {PORT} | wc -c",
        hosts,
        name=f"receivers ({size} B)",
        namespace={},
        timeout=60,
    )
    senders = Remote(
        f"head -c {size} /dev/zero | nc -q 0 {{{{following}}}} {PORT}",
        hosts,
        name=f"senders ({size} B)",
        namespace={"following": [h.address for h in following]},
        timeout=60,
    )
    async with receivers:
        # netcat-traditional says "listening on [addr] ..." on stderr once it listens
        await receivers.expect(r"listening on", stream="stderr", timeout=10)
        t0 = time.monotonic()
        await senders.run()
    elapsed = time.monotonic() - t0
    complete = all(p.stdout.strip() == str(size) for p in receivers.processes)
    return [receivers, senders], elapsed, complete


async def experiment(n: int, mode: Mode = "auto", results: Path | None = None) -> int:
    """The whole demo; returns the number of failures."""
    p = await Process("uname -sr").run()
    print(f"local process: {p.stdout.strip()} (exit code {p.exit_code})")
    results = results or Path(tempfile.mkdtemp(prefix="execo-demo-"))
    failures = 0
    report = Report(name="demo")
    t0 = time.monotonic()
    async with LocalCluster(n, mode=mode) as cluster:
        hosts = cluster.hosts
        print(
            f"local cluster: {n} hosts up in {time.monotonic() - t0:.2f} s, {cluster.mode} "
            f"mode: {hosts[0].address} .. {hosts[-1].address} (port {hosts[0].port})"
        )
        names = await Remote("hostname", hosts, name="hostname").run()
        report.add([names])
        print("hostnames:", " ".join(p.stdout.strip() for p in names.processes))
        failures += not names.ok

        actions, elapsed, complete = await netcat_ring(hosts, 1_000_000)
        report.add(actions)
        print(f"netcat ring, 1 MB per host, {n} hosts: {elapsed:.2f} s, complete: {complete}")
        failures += (not complete) + sum(not a.ok for a in actions)

        sizes = [100_000, 10_000_000]
        widths = sorted({2, n} if n >= 2 else {n})
        combinations = sweep({"bytes": sizes, "hosts": widths})
        with ParamSweeper(results / "sweeper", combinations) as sync_sweeper:
            sweeper = AsyncParamSweeper(sync_sweeper)
            while (comb := await sweeper.get_next()) is not None:
                actions, elapsed, complete = await netcat_ring(
                    hosts[: comb["hosts"]], comb["bytes"]
                )
                report.add(actions)
                if not complete or not all(a.ok for a in actions):
                    failures += 1
                    await sweeper.skip(comb)
                    continue
                rate = comb["bytes"] * comb["hosts"] / elapsed / 1e6
                record = {**comb, "seconds": round(elapsed, 4), "MB/s": round(rate, 1)}
                (results / f"{slugify(comb)}.json").write_text(json.dumps(record))
                await sweeper.done(comb)
            print(f"sweep: {sync_sweeper}")
        for comb in combinations:
            path = results / f"{slugify(comb)}.json"
            if path.exists():
                r = json.loads(path.read_text())
                print(
                    f"  {r['bytes']:>10} B x {r['hosts']:>2} hosts: {r['seconds']:.3f} s, "
                    f"{r['MB/s']} MB/s in total"
                )
    print()
    print(report.to_string())
    print(f"results in {results}")
    print("all ok" if not failures else f"{failures} failure(s)")
    return failures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", type=int, default=5, help="cluster size (default 5)")
    parser.add_argument("--mode", choices=["auto", "netns", "loopback"], default="auto")
    parser.add_argument("--results", type=Path, default=None, help="default: a new temp dir")
    args = parser.parse_args()
    if args.hosts < 1:
        parser.error(f"--hosts must be at least 1, got {args.hosts}")
    raise SystemExit(1 if trio.run(experiment, args.hosts, args.mode, args.results) else 0)


if __name__ == "__main__":
    main()
