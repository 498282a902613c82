"""One file to every host of a netns cluster where every link runs at ``--rate``: ChainPut,
parallel Put over scp, Put over asyncssh (SFTP), TaktukPut and execo 2.8.2's Put.

Links. ``LocalCluster.set_netem(host, rate=...)`` puts its qdisc (a token bucket filter,
``tbf``, on a kernel without netem, its bucket 4 ms of the rate) on the host's ``eth0``,
inside the host's namespace: it limits only what *leaves* the host. The controller is no
namespace of its own: it is the address of the cluster's bridge (``exbrK``) in the root
namespace, and what it sends goes out through the bridge device, then the host's veth, where
no qdisc is; measured with netcat here, controller to host ran at 2.4 Gbit/s with every host
limited to 1 Gbit/s. So this benchmark also puts the same tbf on the bridge device: a
bridge's own qdisc sees only what the root namespace sends into the bridge (what one host
forwards to another goes from its ``eth0`` through the bridge to the other's veth, never
through the bridge device's qdisc), which is the controller's outgoing link. Every sending
side is then limited to ``--rate``: the controller's link to the first host of the chain,
each host's link to the next, and the controller's single link that parallel scp shares
among all hosts. Receiving sides are not limited: in every runner here each host receives
from one sender only (the tree and the chain included), whose own limit already holds.
Before the rounds, a raw netcat stream over a controller link and a host link shows the rate
that the tbf actually lets through on this machine.

The limit is ``size * 8 / rate``: the time the file takes on one link; a pipeline adds its
fill (about a hop's latency per host) and start-up. ChainPut to a single host is run in each
round as a reference: its excess over the limit is the fixed cost (taktuk start, the
relay's set-up; the relays hash each block as it passes) that a chain pays once. ChainPut
runs twice: relays started by taktuk (the default, as execo 2.8.2) and over asyncssh.
Sizes are decimal (1 MB = 10**6 bytes), like rates (1gbit = 10**9 bit/s).

Each run copies the file into ``/tmp/bcast-<runner>/`` of every host (made empty before, by
one ``Remote``); afterwards one ``Remote`` reads each copy's size and sha256 (a missing or
wrong copy fails its host), and one ``Remote rm -rf`` removes the copies. Runs are
interleaved: round ``r`` runs every runner once, the order rotated by ``r``. The execo 2.8.2
runner is a fresh process of the peer virtualenv (``bench/setup_peers.sh``) that times its
own ``Put``. Every host is this machine: all the ssh encryption, the relays and the sha256
checks share its cores.

Usage: python -m bench.broadcast [--mb 200] [--hosts 20] [--rate 1gbit] [--rounds 3]
[--no-write] [--peer-python bench/_peers/venv/bin/python]  (as root)
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import trio

from bench._results import write_section
from execo import Action, ChainPut, Host, Put, Remote, TaktukPut
from execo.testbed import LocalCluster
from execo.testbed._backend import Shaping  # the tbf of LocalCluster.set_netem

PEER_PYTHON = Path(__file__).with_name("_peers") / "venv" / "bin" / "python"  # setup_peers.sh
CHECK_PORT = 5599  # the raw netcat stream of the link check

# Run by the peer virtualenv's python: key, port, file, directory, addresses; prints the
# seconds of its Put, then one line per failed host.
EXECO_282 = textwrap.dedent(
    """
    import logging, sys, time
    import execo
    execo.logger.setLevel(logging.CRITICAL)
    key, port, src, dest = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    addrs = sys.argv[5:]
    hosts = [execo.Host(a, port=port, keyfile=key) for a in addrs]
    t = time.perf_counter()
    put = execo.Put(hosts, [src], dest).run()
    print(time.perf_counter() - t)
    for p in put.processes:
        if not p.ok:
            last = (p.stderr.strip().splitlines() or [""])[-1]
            print(p.host.address, "exit code", p.exit_code, last[:200])
    """
)


@dataclass(frozen=True)
class Bench:
    """What every run needs."""

    cluster: LocalCluster
    data: Path
    size: int
    digest: str
    timeout: float
    peer_python: Path

    def name(self, host: Host | None) -> str:
        return "controller" if host is None else self.cluster.node(host).name


@dataclass
class Runner:
    """One way of copying, and its runs."""

    name: str
    slug: str
    copy: Callable[[Bench, list[Host], str], Awaitable[tuple[float, list[str]]]]
    one_host: bool = False
    times: list[float] = field(default_factory=list)  # of the runs without failure
    cpu: list[float] = field(default_factory=list)  # the machine's CPU seconds in those runs
    failures: list[str] = field(default_factory=list)  # "round r: host: reason"
    runs: int = 0


def bits_per_second(rate: str) -> float:
    """A tc rate (``1gbit``, ``500mbit``, ``100mbps``, ``1000000``) in bit/s."""
    bits = Shaping(rate=rate).bits_per_second()
    if bits is None:
        raise argparse.ArgumentTypeError(f"not a tc rate: {rate!r}")
    return bits


def machine_cpu() -> float:
    """CPU seconds this machine has spent busy since boot, all cores and processes."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...: all but idle and iowait.
    busy = sum(fields[:8]) - fields[3] - fields[4]
    return busy / os.sysconf("SC_CLK_TCK")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


async def timed(b: Bench, action: Action) -> tuple[float, list[str]]:
    """Run an action; its time and its failed processes."""
    t = time.perf_counter()
    with trio.move_on_after(b.timeout) as scope:
        await action.run()
    elapsed = time.perf_counter() - t
    if scope.cancelled_caught:
        return elapsed, [f"timed out after {b.timeout:.0f} s"]
    return elapsed, [
        f"{b.name(p.host)}: {p.failure_reason()}" for p in action.processes if not p.ok
    ]


async def chainput(b: Bench, hosts: list[Host], dest: str) -> tuple[float, list[str]]:
    return await timed(b, ChainPut(hosts, [str(b.data)], dest))


async def chainput_asyncssh(b: Bench, hosts: list[Host], dest: str) -> tuple[float, list[str]]:
    # The relays started over asyncssh instead of taktuk (the data goes the same way).
    params = {"host_key_policy": "insecure"}
    return await timed(
        b, ChainPut(hosts, [str(b.data)], dest, transport="asyncssh", connection_params=params)
    )


async def scp(b: Bench, hosts: list[Host], dest: str) -> tuple[float, list[str]]:
    return await timed(b, Put(hosts, [str(b.data)], dest))


async def sftp(b: Bench, hosts: list[Host], dest: str) -> tuple[float, list[str]]:
    # The hosts share one host key: no check, as the scp runners (execo's ssh options).
    params = {"host_key_policy": "insecure"}
    return await timed(
        b, Put(hosts, [str(b.data)], dest, transport="asyncssh", connection_params=params)
    )


async def taktukput(b: Bench, hosts: list[Host], dest: str) -> tuple[float, list[str]]:
    return await timed(b, TaktukPut(hosts, [str(b.data)], dest))


async def _kill_group(process: trio.Process) -> None:
    os.killpg(process.pid, signal.SIGKILL)


async def execo_282(b: Bench, hosts: list[Host], dest: str) -> tuple[float, list[str]]:
    key = b.cluster.connection_params.keyfile
    argv = [str(b.peer_python), "-c", EXECO_282, str(key), str(hosts[0].port), str(b.data), dest]
    argv += [h.address for h in hosts]
    t = time.perf_counter()
    with trio.move_on_after(b.timeout) as scope:
        done = await trio.run_process(
            argv,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            start_new_session=True,  # its scp children are ended with it
            deliver_cancel=_kill_group,
        )
    if scope.cancelled_caught:
        return time.perf_counter() - t, [f"timed out after {b.timeout:.0f} s"]
    lines = done.stdout.decode(errors="replace").splitlines()
    if done.returncode != 0 or not lines:
        err = (done.stderr.decode(errors="replace").strip().splitlines() or [""])[-1]
        return time.perf_counter() - t, [f"execo 2.8.2 exit code {done.returncode}: {err}"]
    failures = []
    for line in lines[1:]:
        address, _, reason = line.partition(" ")
        failures.append(f"{b.name(b.cluster.node(address).host)}: {reason}")
    return float(lines[0]), failures


async def verify(b: Bench, hosts: list[Host], dest: str) -> list[str]:
    """Every host's copy, by size and sha256 (one Remote)."""
    path = f"{dest}/{b.data.name}"
    check = Remote(f"wc -c < {path} && sha256sum < {path}", hosts, name="check copies")
    await check.run()
    failures = []
    for p in check.processes:
        fields = p.stdout.split()
        if not p.ok or len(fields) < 2:
            failures.append(f"{b.name(p.host)}: no copy ({p.failure_reason()})")
        elif int(fields[0]) != b.size:
            failures.append(f"{b.name(p.host)}: copy of {fields[0]} bytes, not {b.size}")
        elif fields[1] != b.digest:
            failures.append(f"{b.name(p.host)}: wrong copy (sha256 {fields[1][:12]}...)")
    return failures


async def one_run(b: Bench, runner: Runner, round_: int) -> None:
    """Empty the destinations, copy, check, remove the copies; record the outcome."""
    hosts = b.cluster.hosts[:1] if runner.one_host else b.cluster.hosts
    dest = f"/tmp/bcast-{runner.slug}"
    await Remote(f"rm -rf {dest} && mkdir -p {dest}", hosts, name="prepare").run(check=True)
    cpu, t = machine_cpu(), time.perf_counter()
    try:
        elapsed, failures = await runner.copy(b, hosts, dest)
    except Exception as e:  # a broken runner is a result, not the end of the benchmark
        elapsed, failures = time.perf_counter() - t, [f"raised {type(e).__name__}: {e}"]
    cpu = machine_cpu() - cpu
    failures += [f for f in await verify(b, hosts, dest) if f not in failures]
    await Remote(f"rm -rf {dest}", hosts, name="clean up").run(check=True)
    runner.runs += 1
    if failures:
        runner.failures += [f"round {round_ + 1}: {f}" for f in failures]
    else:
        runner.times.append(elapsed)
        runner.cpu.append(cpu)
    state = "ok" if not failures else f"{len(failures)} failure(s): {failures[0]}"
    print(
        f"  round {round_ + 1}  {runner.name}: {elapsed:.2f} s, CPU {cpu:.1f} s, {state}",
        flush=True,
    )


async def limit_links(cluster: LocalCluster, rate: str) -> None:
    """Every host's outgoing traffic, and the controller's (the bridge device), at ``rate``."""
    for host in cluster.hosts:
        await cluster.set_netem(host, rate=rate)
    bridge = cluster.state.bridge
    assert bridge is not None
    await trio.run_process(
        ["tc", "qdisc", "replace", "dev", bridge, "root", *Shaping(rate=rate).tbf_args()]
    )


async def stream(b: Bench, src_namespace: str | None, dst_namespace: str, address: str) -> float:
    """Seconds for the file over a raw netcat stream (``None``: from the controller)."""
    listen = ["ip", "netns", "exec", dst_namespace, "nc", "-v", "-l", "-p", str(CHECK_PORT)]
    listener = await trio.lowlevel.open_process(
        listen, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        assert listener.stderr is not None
        seen = b""
        while b"listening" not in seen.lower():
            chunk = await listener.stderr.receive_some()
            if not chunk:
                raise RuntimeError(f"netcat cannot listen in {dst_namespace}: {seen!r}")
            seen += chunk
        prefix = [] if src_namespace is None else ["ip", "netns", "exec", src_namespace]
        send = [*prefix, "sh", "-c", f'nc -q 0 {address} {CHECK_PORT} < "$0"', str(b.data)]
        t = time.perf_counter()
        await trio.run_process(send)
        await listener.wait()
        return time.perf_counter() - t
    finally:
        if listener.returncode is None:
            listener.kill()
        with trio.CancelScope(shield=True):
            await listener.wait()


def fmt(x: float | None, unit: str = " s") -> str:
    return "–" if x is None else f"{x:.2f}{unit}"


def report(
    args: argparse.Namespace,
    b: Bench,
    runners: list[Runner],
    *,
    started: str,
    load: tuple[float, float],
    check: str,
) -> str:
    """The markdown section."""
    limit = b.size * 8 / bits_per_second(args.rate)
    med = {r.slug: statistics.median(r.times) if r.times else None for r in runners}
    scp_median = med["scp"]
    rows = [
        "| runner | ok runs | median | best | worst | median / limit | Put (scp) / this "
        "| machine CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runners:
        m = med[r.slug]
        # Against parallel scp to all the hosts: not for the 1-host reference.
        speedup = scp_median / m if scp_median is not None and m and not r.one_host else None
        rows.append(
            f"| {r.name} | {len(r.times)}/{r.runs} | {fmt(m)} "
            f"| {fmt(min(r.times) if r.times else None)} "
            f"| {fmt(max(r.times) if r.times else None)} "
            f"| {fmt(m / limit if m is not None else None, '×')} | {fmt(speedup, '×')} "
            f"| {fmt(statistics.median(r.cpu) if r.cpu else None)} |"
        )
    one = med["chainput1"]
    targets = []
    for slug, what in [("chainput", "ChainPut"), ("chainput_asyncssh", "ChainPut over asyncssh")]:
        chain = med[slug]
        if chain is None:
            continue
        ratio = chain / limit
        targets.append(
            f"{what} median / limit = {ratio:.2f}× (target ≤ 1.5×: "
            f"{'met' if ratio <= 1.5 else 'missed'})"
        )
        if scp_median is not None:
            speedup = scp_median / chain
            targets.append(
                f"Put (scp) / {what} = {speedup:.2f}× (target ≥ 5×: "
                f"{'met' if speedup >= 5 else 'missed'})"
            )
    fill = (
        f" ChainPut to 1 host takes {one:.2f} s, {one - limit:.2f} s over the limit: the "
        "fixed cost of a chain (the relays' start-up, the fill and drain of the pipe)."
        if one is not None
        else ""
    )
    failures = [f"- {r.name}, {f}" for r in runners for f in r.failures]
    body = [
        f"`python -m bench.broadcast --mb {args.mb} --hosts {args.hosts} --rate {args.rate} "
        f"--rounds {args.rounds}`: a {args.mb} MB file of random data to {args.hosts} hosts "
        f"of a netns LocalCluster, every link (the controller's included) limited to "
        f"{args.rate} by a tbf. Started {started}; {args.rounds} round(s), runners "
        f"interleaved; load average (1 min) {load[0]:.1f} at the start, {load[1]:.1f} at the "
        f"end. Median, best, worst: of the runs where every host got a correct copy.",
        "",
        f"Limit = size × 8 / rate = **{limit:.2f} s**, plus the chain fill.{fill} {check}.",
        "",
        f"Machine CPU: the seconds this machine's {os.cpu_count()} cores were busy during a "
        "copy (median), every process counted: the runner's own only on a quiet machine. "
        "Every host is this machine, so its ssh, relays and checks share these cores: CPU / "
        "cores is a floor for the elapsed time here that a real cluster would not have.",
        "",
        *rows,
        "",
        "Targets: " + ("; ".join(targets) if targets else "ChainPut had no successful run") + ".",
    ]
    if failures:
        body += ["", "Failures:", "", *failures]
    return "\n".join(body)


async def bench(args: argparse.Namespace) -> str:
    load_start = os.getloadavg()[0]
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    size = args.mb * 10**6
    limit = size * 8 / bits_per_second(args.rate)
    runners = [
        Runner("ChainPut", "chainput", chainput),
        Runner("ChainPut, relays started over asyncssh", "chainput_asyncssh", chainput_asyncssh),
        Runner("Put (scp)", "scp", scp),
        Runner("Put (asyncssh, SFTP)", "sftp", sftp),
        Runner("TaktukPut", "taktuk", taktukput),
        Runner("execo 2.8.2 Put (scp)", "execo282", execo_282),
        Runner("ChainPut, 1 host (reference)", "chainput1", chainput, one_host=True),
    ]
    with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as tmp:
        data = Path(tmp) / "payload"
        data.write_bytes(os.urandom(size))
        async with LocalCluster(args.hosts, mode="netns", name_prefix="bc") as cluster:
            await limit_links(cluster, args.rate)
            # Generous: parallel scp shares one link among all the hosts.
            timeout = 120 + 5 * limit * (args.hosts + 2)
            b = Bench(cluster, data, size, sha256(data), timeout, args.peer_python)
            n1, n2 = cluster.nodes[0], cluster.nodes[min(1, args.hosts - 1)]
            t = await stream(b, None, str(n1.namespace), n1.host.address)
            check = f"Raw netcat stream of the file: controller → {n1.name} {t:.2f} s"
            if n2 is not n1:
                t = await stream(b, n1.namespace, str(n2.namespace), n2.host.address)
                check += f", {n1.name} → {n2.name} {t:.2f} s"
            print(check, flush=True)
            for round_ in range(args.rounds):
                k = round_ % len(runners)
                for runner in runners[k:] + runners[:k]:
                    await one_run(b, runner, round_)
        load = (load_start, os.getloadavg()[0])
        return report(args, b, runners, started=started, load=load, check=check)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=200, help="file size, MB (10**6 bytes)")
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--rate", default="1gbit", help="tc rate of every link")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--peer-python", type=Path, default=PEER_PYTHON, help="a python with execo 2.8.2"
    )
    args = parser.parse_args()
    bits_per_second(args.rate)
    if os.geteuid() != 0:
        sys.exit("bench.broadcast needs root (a netns cluster)")
    if not args.peer_python.exists():
        sys.exit(f"no {args.peer_python}: run bench/setup_peers.sh first (execo 2.8.2)")
    body = trio.run(bench, args)
    if not args.no_write:
        write_section(f"Broadcast: {args.mb} MB to {args.hosts} hosts at {args.rate}", body)
    print(body)


if __name__ == "__main__":
    main()
