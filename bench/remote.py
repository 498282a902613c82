"""`true` on N loopback hosts, side by side: execo over its asyncssh and ssh transports (cold,
and warm over the same pool), execo 2.8.2, parallel-ssh (ssh2 client), ClusterShell, raw
asyncssh, plain `ssh &`.

Every runner is a fresh process (peers in bench/_peers/venv, see setup_peers.sh) that times
only its own work and reports, as one JSON line: the cold time (connections opened), the warm
time (a second command over the same connections, for the runners that keep them), the
controller's CPU seconds for each (``time.process_time``: the ssh clients that OpenSSH-based
runners fork are not in it), its peak RSS (VmHWM), and its failures with their reasons. A
runner that fails some hosts is reported, not dropped; one that hangs is ended after a
timeout and counted as failing every host.

The targets are real OpenSSH sshds (LoopbackSshd: 16 addresses per sshd process, as many
sshds as the largest N needs) with MaxStartups 1000 (so that nobody is refused: sshd's
default 10:30:100 drops the concurrent handshakes of the fork-per-host peers) and
MaxSessions 10 (the default). For each N, every round runs every runner once, in an order
rotated by round; each cell is the median of the rounds, with the best and the worst.

Usage: python -m bench.remote [--ns 200,500,1000,2000] [--rounds 3] [--only a,b] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from bench._results import write_section
from execo import Host, Remote, ssh_pool
from execo.testbed import LoopbackSshd

PEER_PYTHON = Path(__file__).with_name("_peers") / "venv" / "bin" / "python"
SSH_OPTS = [
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
]  # fmt: skip

# Shared by the peer scripts: peak RSS (VmHWM: ru_maxrss would also count the pre-exec copy
# of the harness that forked us) and the JSON report.
COMMON = """
import json, time
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
def report(cold, cold_cpu, reasons, warm=None, warm_cpu=None):
    print(json.dumps({"cold": cold, "cold_cpu": cold_cpu, "warm": warm, "warm_cpu": warm_cpu,
                      "rss_kb": hwm(), "reasons": reasons}))
def clock():
    return time.perf_counter(), time.process_time()
def since(t):
    return time.perf_counter() - t[0], time.process_time() - t[1]
"""

# Each peer script gets: port, key file, addresses...
PEERS = {
    "execo 2.8.2 Remote": textwrap.dedent(
        """
        import sys, logging, collections
        import execo
        execo.logger.setLevel(logging.CRITICAL)
        port, key, addrs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
        hosts = [execo.Host(a, port=port, keyfile=key) for a in addrs]
        t = clock()
        r = execo.Remote("true", hosts).run()
        cold, cpu = since(t)
        reasons = collections.Counter(
            p.error_reason or f"exit {p.exit_code}" for p in r.processes if not p.ok)
        report(cold, cpu, reasons)
        """
    ),
    "parallel-ssh 2.16 (ssh2), pool_size=N": textwrap.dedent(
        """
        import sys, collections
        from pssh.clients import ParallelSSHClient
        port, key, addrs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
        client = ParallelSSHClient(addrs, port=port, pkey=key, pool_size=len(addrs),
                                   allow_agent=False, num_retries=1)
        def run(reasons):
            t = clock()
            out = client.run_command("true", stop_on_errors=False)
            client.join(out)
            for o in out:
                if o.exception is not None:
                    reasons[type(o.exception).__name__] += 1
                elif o.exit_code != 0:
                    reasons[f"exit {o.exit_code}"] += 1
            return since(t)
        reasons = collections.Counter()
        cold, cold_cpu = run(reasons)
        warm, warm_cpu = run(reasons)
        report(cold, cold_cpu, reasons, warm, warm_cpu)
        """
    ),
    "ClusterShell 1.10, fanout=N": textwrap.dedent(
        """
        import sys, collections
        from ClusterShell.Task import task_self
        from ClusterShell.NodeSet import NodeSet
        port, key, addrs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
        task = task_self()
        task.set_info("ssh_options", f"-p {port} -i {key} -o StrictHostKeyChecking=no "
                      "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR")
        task.set_info("fanout", len(addrs))
        t = clock()
        task.shell("true", nodes=NodeSet.fromlist(addrs))
        task.resume()
        cold, cpu = since(t)
        reasons = collections.Counter()
        answered = 0
        for rc, nodes in task.iter_retcodes():
            answered += len(nodes)
            if rc != 0:
                reasons[f"exit {rc}"] += len(nodes)
        if answered < len(addrs):
            reasons["no exit status"] += len(addrs) - answered
        report(cold, cpu, reasons)
        """
    ),
    "raw asyncssh 2.24 gather": textwrap.dedent(
        """
        import sys, asyncio, asyncssh, collections
        port, key, addrs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
        reasons = collections.Counter()
        async def one(a):
            try:
                c = await asyncssh.connect(a, port, client_keys=[key], known_hosts=None)
                await c.run("true", check=True)
                return c
            except Exception as e:
                reasons[type(e).__name__] += 1
        async def again(c):
            try:
                await c.run("true", check=True)
            except Exception as e:
                reasons[type(e).__name__] += 1
        async def main():
            t = clock()
            conns = await asyncio.gather(*(one(a) for a in addrs))
            cold = since(t)
            live = [c for c in conns if c is not None]
            t = clock()
            await asyncio.gather(*(again(c) for c in live))
            warm = since(t)
            for c in live:
                c.close()
            return cold, warm
        (cold, cold_cpu), (warm, warm_cpu) = asyncio.run(main())
        report(cold, cold_cpu, reasons, warm, warm_cpu)
        """
    ),
}

OURS_ASYNCSSH = "execo (this), asyncssh transport"
OURS_SSH = "execo (this), ssh transport"
PSSH = "parallel-ssh 2.16 (ssh2), pool_size=N"
PLAIN = "plain `ssh &` + wait"


def _short(reason: str) -> str:
    return reason if len(reason) <= 70 else reason[:67] + "..."


async def _ours(transport: str, hosts: list[Host]) -> dict[str, Any]:
    params = {"host_key_policy": "insecure"}  # like every peer here: no host-key check
    reasons: Counter[str] = Counter()
    out: dict[str, Any] = {"warm": None, "warm_cpu": None}
    async with ssh_pool():
        t, c = time.perf_counter(), time.process_time()
        r = await Remote("true", hosts, transport=transport, connection_params=params).run()
        out["cold"], out["cold_cpu"] = time.perf_counter() - t, time.process_time() - c
        reasons.update(_short(p.failure_reason()) for p in r.failed)
        if transport != "ssh":
            t, c = time.perf_counter(), time.process_time()
            r = await Remote("true", hosts, transport=transport, connection_params=params).run()
            out["warm"], out["warm_cpu"] = time.perf_counter() - t, time.process_time() - c
            reasons.update(_short(p.failure_reason()) for p in r.failed)
    out["reasons"] = dict(reasons)
    return out


def one_of_ours(transport: str, port: int, key: str, addrs: list[str]) -> None:
    """In a fresh process: time our Remote, report like the peer scripts."""
    hosts = [Host(a, port=port, keyfile=key) for a in addrs]
    out = trio.run(_ours, transport, hosts)
    out["rss_kb"] = hwm()
    print(json.dumps(out))


def hwm() -> int:
    """Peak RSS of this process in KB (VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


@dataclass
class Sample:
    """One runner's run at one N."""

    cold: float
    cold_cpu: float | None
    warm: float | None
    warm_cpu: float | None
    rss_kb: int | None
    reasons: dict[str, int] = field(default_factory=dict)

    @property
    def failures(self) -> int:
        return sum(self.reasons.values())


def run_script(argv: list[str], n: int, timeout: float) -> Sample:
    t = time.perf_counter()
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Sample(time.perf_counter() - t, None, None, None, None, {"hung (timeout)": n})
    if out.returncode != 0:
        tail = out.stderr.strip().splitlines()[-1:] or [f"exit {out.returncode}"]
        return Sample(time.perf_counter() - t, None, None, None, None, {f"crashed: {tail[0]}": n})
    d = json.loads(out.stdout.strip().splitlines()[-1])
    return Sample(d["cold"], d["cold_cpu"], d["warm"], d["warm_cpu"], d["rss_kb"], d["reasons"])


def plain_ssh(port: int, key: str, addrs: list[str]) -> Sample:
    argv = ["ssh", "-p", str(port), "-i", key, *SSH_OPTS]
    t = time.perf_counter()
    procs = [subprocess.Popen([*argv, a, "true"], stdin=subprocess.DEVNULL) for a in addrs]
    codes = Counter(p.wait() for p in procs)
    elapsed = time.perf_counter() - t
    return Sample(elapsed, None, None, None, None, {f"exit {c}": k for c, k in codes.items() if c})


def runners(port: int, key: str) -> list[tuple[str, list[str] | None]]:
    me = [sys.executable, "-m", "bench.remote", "--one"]
    out: list[tuple[str, list[str] | None]] = [
        (OURS_ASYNCSSH, [*me, "asyncssh", str(port), key]),
        (OURS_SSH, [*me, "ssh", str(port), key]),
    ]
    for name, script in PEERS.items():
        out.append((name, [str(PEER_PYTHON), "-c", COMMON + script, str(port), key]))
    out.append((PLAIN, None))
    return out


def _stats(xs: list[float]) -> tuple[float, float, float]:
    return statistics.median(xs), min(xs), max(xs)


def _cell(xs: list[float | None]) -> str:
    vals = [x for x in xs if x is not None]
    if not vals:
        return "–"
    med, lo, hi = _stats(vals)
    return f"{med:.2f} s ({lo:.2f}–{hi:.2f})"


def _cpu(xs: list[float | None], n: int) -> str:
    vals = [x for x in xs if x is not None]
    return "–" if not vals else f"{statistics.median(vals) / n * 1000:.2f}"


def _median(samples: list[Sample], attr: str) -> float | None:
    vals = [getattr(s, attr) for s in samples if getattr(s, attr) is not None]
    return statistics.median(vals) if vals else None


def table(n: int, results: dict[str, list[Sample]], load: tuple[float, float]) -> list[str]:
    lines = [
        f"### N = {n}",
        "",
        f"1-minute load average: {load[0]:.2f} at the start, {load[1]:.2f} at the end.",
        "",
        "| runner | cold: median (best–worst) | warm: median (best–worst) "
        "| CPU ms/host cold | CPU ms/host warm | peak RSS | failures |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, samples in results.items():
        rss = [s.rss_kb for s in samples if s.rss_kb is not None]
        reasons: Counter[str] = Counter()
        for s in samples:
            reasons.update(s.reasons)
        fails = (
            "0"
            if not reasons
            else "; ".join(f"{k}: {v}" for k, v in reasons.most_common(3))
            + f" (of {n * len(samples)})"
        )
        lines.append(
            f"| {name} | {_cell([s.cold for s in samples])} | "
            f"{_cell([s.warm for s in samples])} | {_cpu([s.cold_cpu for s in samples], n)} | "
            f"{_cpu([s.warm_cpu for s in samples], n)} | "
            f"{'–' if not rss else f'{max(rss) / 1024:.0f} MB'} | {fails} |"
        )
    return lines


def verdicts(n: int, results: dict[str, list[Sample]]) -> list[str]:
    out: list[str] = []
    ours = results.get(OURS_ASYNCSSH)
    if not ours:
        return out
    pssh = results.get(PSSH)
    warm = _median(ours, "warm")
    if pssh and warm is not None and (pw := _median(pssh, "warm")):
        out.append(
            f"- warm: {warm:.2f} s = **{warm / pw:.2f}×** parallel-ssh warm ({pw:.2f} s); "
            "target ≤ 0.8× (N = 200, 1000)."
        )
        oc, pc = _median(ours, "warm_cpu"), _median(pssh, "warm_cpu")
        if oc is not None and pc:
            out.append(
                f"- controller CPU per host, warm: {oc / n * 1000:.2f} ms against "
                f"parallel-ssh's {pc / n * 1000:.2f} ms (**{oc / pc:.2f}×**); target ≤ 1×."
            )
    peers = {
        k: m
        for k, v in results.items()
        if not k.startswith("execo (this)")
        and (m := _median([s for s in v if not s.failures], "cold")) is not None
    }
    cold = _median(ours, "cold")
    if peers and cold is not None:
        best = min(peers, key=lambda k: peers[k])
        out.append(
            f"- cold: {cold:.2f} s = **{cold / peers[best]:.2f}×** the best peer without "
            f"failures ({best}, {peers[best]:.2f} s), medians; target ≤ 0.9×."
        )
    rss = max((s.rss_kb for s in ours if s.rss_kb), default=0)
    out.append(f"- peak RSS: {rss / 1024:.0f} MB (target ≤ 100 MB at N = 1000).")
    fails = sum(s.failures for s in ours)
    out.append(f"- failures over {len(ours)} round(s): {fails} (target 0 at N = 2000).")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns", default="200,500,1000,2000")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated name fragments of runners")
    ap.add_argument("--one", nargs=3, metavar=("TRANSPORT", "PORT", "KEY"))
    ap.add_argument("addrs", nargs="*")
    args = ap.parse_args()
    if args.one:
        transport, port, key = args.one
        one_of_ours(transport, int(port), key, args.addrs)
        return
    if not PEER_PYTHON.exists():
        sys.exit("run bench/setup_peers.sh first")
    ns = [int(n) for n in args.ns.split(",")]
    only = [o for o in args.only.split(",") if o]
    started = os.getloadavg()[0]
    out: list[str] = []
    with LoopbackSshd(max(ns), first=2, max_startups="1000", max_sessions=10) as sshd:
        key = str(sshd.keyfile)
        chosen = [r for r in runners(sshd.port, key) if not only or any(o in r[0] for o in only)]
        n_sshd = len(sshd.pids)
        for n in ns:
            addrs = sshd.addresses[:n]
            timeout = 120 + n * 0.5
            results: dict[str, list[Sample]] = {name: [] for name, _ in chosen}
            load_start = os.getloadavg()[0]
            for r in range(args.rounds):
                order = chosen[r % len(chosen) :] + chosen[: r % len(chosen)]
                for name, argv in order:
                    time.sleep(2)  # let the sshds reap the previous runner's sessions
                    s = (
                        plain_ssh(sshd.port, key, addrs)
                        if argv is None
                        else run_script([*argv, *addrs], n, timeout)
                    )
                    results[name].append(s)
                    print(
                        f"N={n} round {r + 1} {name}: cold {s.cold:.2f} s warm {s.warm} "
                        f"cpu {s.cold_cpu}/{s.warm_cpu} rss {s.rss_kb} KB "
                        f"failures {s.reasons or 0}",
                        flush=True,
                    )
            section = [*table(n, results, (load_start, os.getloadavg()[0])), ""]
            section += verdicts(n, results)
            print("\n".join(section), flush=True)
            out += [*section, ""]
    if args.no_write or args.only:
        return
    body = (
        f"`true` on N loopback hosts: real OpenSSH sshds ({n_sshd} sshd processes at 16 "
        "addresses each, MaxStartups 1000, MaxSessions 10). 1-minute load average "
        f"{started:.2f} when the run started; {args.rounds} rounds per N, every runner once "
        "per round, in an order rotated by round; each cell is the median of the rounds "
        "(best–worst). Times are measured inside each runner around its own work "
        "(interpreter start-up excluded); warm is a second `true` over the connections the "
        "cold run opened. CPU is the controller process's own (`time.process_time`), per "
        "host: the ssh clients forked by the OpenSSH-based runners are not in it, nor in "
        "their peak RSS (VmHWM). Every runner skips host-key checking.\n\n" + "\n".join(out)
    )
    write_section("Remote `true` on N hosts", body)


if __name__ == "__main__":
    main()
