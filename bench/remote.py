"""`true` on N loopback hosts, side by side: execo over each transport (cold and warm pool),
execo 2.8.2, parallel-ssh (ssh2 client), ClusterShell, raw asyncssh, plain `ssh &`.

Every runner is a fresh process (peers in bench/_peers/venv, see setup_peers.sh) that times
only its own work and reports its peak RSS (the controller's; the ssh clients that the
OpenSSH-based runners fork are not counted). The targets are real sshds (LoopbackSshd:
OpenSSH, 16 addresses per sshd process) with MaxStartups 1000 (so that nobody is refused:
sshd's default 10:30:100 drops the concurrent handshakes of the fork-per-host peers) and
MaxSessions 10 (the default).

Usage: python -m bench.remote [--ns 10,50,100,200] [--repeat 1] [--no-write]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
import time
from pathlib import Path

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

# Peak RSS of this process: VmHWM (ru_maxrss would also count the pre-exec copy of the
# parent that forked us, the benchmark harness itself).
HWM = """
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
"""

# Each peer script gets: port, key file, addresses...; prints "seconds rss_kb [warm]".
PEERS = {
    "execo 2.8.2 Remote": textwrap.dedent(
        """
        import sys, time, logging
        import execo
        execo.logger.setLevel(logging.ERROR)
        port, key, addrs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
        hosts = [execo.Host(a, port=port, keyfile=key) for a in addrs]
        t = time.perf_counter()
        r = execo.Remote("true", hosts).run()
        el = time.perf_counter() - t
        assert r.ok
        print(el, hwm())
        """
    ),
    "parallel-ssh 2.16 (ssh2), pool_size=N": textwrap.dedent(
        """
        import sys, time
        from pssh.clients import ParallelSSHClient
        port, key, addrs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
        client = ParallelSSHClient(addrs, port=port, pkey=key, pool_size=len(addrs),
                                   allow_agent=False, num_retries=1)
        def run():
            t = time.perf_counter()
            out = client.run_command("true")
            client.join(out)
            assert all(o.exit_code == 0 for o in out), [o.exception for o in out]
            return time.perf_counter() - t
        cold = run()
        warm = run()
        print(cold, hwm(), warm)
        """
    ),
    "ClusterShell 1.10, fanout=N": textwrap.dedent(
        """
        import sys, time
        from ClusterShell.Task import task_self
        from ClusterShell.NodeSet import NodeSet
        port, key, addrs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
        task = task_self()
        task.set_info("ssh_options", f"-p {port} -i {key} -o StrictHostKeyChecking=no "
                      "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR")
        task.set_info("fanout", len(addrs))
        t = time.perf_counter()
        task.shell("true", nodes=NodeSet.fromlist(addrs))
        task.resume()
        el = time.perf_counter() - t
        assert task.max_retcode() == 0, list(task.iter_retcodes())
        print(el, hwm())
        """
    ),
    "raw asyncssh 2.24 gather": textwrap.dedent(
        """
        import sys, time, asyncio, asyncssh
        port, key, addrs = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
        async def one(a):
            async with asyncssh.connect(a, port, client_keys=[key], known_hosts=None) as c:
                await c.run("true", check=True)
        async def main():
            t = time.perf_counter()
            await asyncio.gather(*(one(a) for a in addrs))
            return time.perf_counter() - t
        el = asyncio.run(main())
        print(el, hwm())
        """
    ),
}


async def _ours(transport: str, hosts: list[Host]) -> tuple[float, float | None]:
    params = {"host_key_policy": "insecure"}  # like every peer here: no host-key check
    async with ssh_pool():
        t = time.perf_counter()
        r = await Remote("true", hosts, transport=transport, connection_params=params).run()
        cold = time.perf_counter() - t
        assert r.ok, [p.dump() for p in r.failed][:3]
        if transport == "ssh":
            return cold, None
        t = time.perf_counter()
        r = await Remote("true", hosts, transport=transport, connection_params=params).run()
        warm = time.perf_counter() - t
        assert r.ok
    return cold, warm


def one_of_ours(transport: str, port: int, key: str, addrs: list[str]) -> None:
    """In a fresh process: time our Remote, print like the peer scripts."""
    hosts = [Host(a, port=port, keyfile=key) for a in addrs]
    cold, warm = trio.run(_ours, transport, hosts)
    rss = hwm()
    print(cold, rss, *([warm] if warm is not None else []))


def hwm() -> int:
    """Peak RSS of this process in KB (VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def run_script(argv: list[str]) -> tuple[float, int | None, float | None]:
    out = subprocess.run(argv, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{argv[:3]} failed: {out.stderr[-2000:]}")
    fields = out.stdout.split()
    warm = float(fields[2]) if len(fields) > 2 else None
    return float(fields[0]), int(fields[1]), warm


def plain_ssh(port: int, key: str, addrs: list[str]) -> tuple[float, int | None, float | None]:
    argv = ["ssh", "-p", str(port), "-i", key, *SSH_OPTS]
    t = time.perf_counter()
    procs = [subprocess.Popen([*argv, a, "true"], stdin=subprocess.DEVNULL) for a in addrs]
    codes = [p.wait() for p in procs]
    elapsed = time.perf_counter() - t
    assert codes == [0] * len(addrs), codes
    return elapsed, None, None


def runners(port: int, key: str) -> list[tuple[str, list[str] | None]]:
    me = [sys.executable, "-m", "bench.remote", "--one"]
    out: list[tuple[str, list[str] | None]] = [
        ("execo (this), asyncssh transport", [*me, "asyncssh", str(port), key]),
        ("execo (this), ssh transport", [*me, "ssh", str(port), key]),
    ]
    for name, script in PEERS.items():
        out.append((name, [str(PEER_PYTHON), "-c", HWM + script, str(port), key]))
    out.append(("plain `ssh &` + wait", None))
    return out


def fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f} s"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns", default="10,50,100,200")
    ap.add_argument("--repeat", type=int, default=1)
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
    # cold[name][n], warm[name][n], rss[name][n]
    cold: dict[str, dict[int, float]] = {}
    warm: dict[str, dict[int, float]] = {}
    rss: dict[str, dict[int, int]] = {}
    only = [o for o in args.only.split(",") if o]

    def selected(port: int, key: str) -> list[tuple[str, list[str] | None]]:
        return [r for r in runners(port, key) if not only or any(o in r[0] for o in only)]

    with LoopbackSshd(max(ns), first=2, max_startups="1000", max_sessions=10) as sshd:
        key = str(sshd.keyfile)
        names = [name for name, _ in selected(sshd.port, key)]
        n_sshd = len(sshd.pids)
        for n in ns:
            addrs = sshd.addresses[:n]
            for _ in range(args.repeat):
                for name, argv in selected(sshd.port, key):
                    if argv is None:
                        c, r, w = plain_ssh(sshd.port, key, addrs)
                    else:
                        c, r, w = run_script([*argv, *addrs])
                    print(f"N={n} {name}: {c:.2f} s warm={w} rss={r} KB", flush=True)
                    if c < cold.setdefault(name, {}).get(n, float("inf")):
                        cold[name][n] = c
                        if r is not None:
                            rss.setdefault(name, {})[n] = r
                    if w is not None and w < warm.setdefault(name, {}).get(n, float("inf")):
                        warm[name][n] = w
    header = "| runner | " + " | ".join(f"N={n}" for n in ns) + f" | peak RSS, N={max(ns)} |"
    lines = [header, "|---|" + "---:|" * (len(ns) + 1)]
    for name in names:
        row = [fmt(cold[name].get(n)) for n in ns]
        mem = rss.get(name, {}).get(max(ns))
        lines.append(f"| {name} | " + " | ".join(row) + f" | {_mb(mem)} |")
        if warm.get(name):
            row = [fmt(warm[name].get(n)) for n in ns]
            lines.append(
                f"| {name}, warm (2nd run, same connections) | " + " | ".join(row) + " | |"
            )
    print("\n".join(lines))
    if args.no_write or args.only:
        return
    n = max(ns)
    peers = [k for k in names if not k.startswith("execo (this)")]
    best_peer = min(peers, key=lambda k: cold[k][n])
    ours = cold["execo (this), asyncssh transport"][n]
    ours_warm = warm["execo (this), asyncssh transport"][n]
    old = cold["execo 2.8.2 Remote"][n]
    summary = (
        f"At N={n}: asyncssh transport cold {ours:.2f} s = "
        f"{ours / cold[best_peer][n]:.2f}× the best peer ({best_peer}, "
        f"{cold[best_peer][n]:.2f} s; target ≤ 0.9×); warm {ours_warm:.2f} s = "
        f"{old / ours_warm:.1f}× faster than execo 2.8.2 ({old:.2f} s; target ≥ 10×)."
    )
    print(summary)
    body = (
        f"`true` on N loopback hosts (real OpenSSH sshds, {n_sshd} sshd processes "
        "at 16 addresses each, MaxStartups 1000, MaxSessions 10); best of "
        f"{args.repeat} run(s) per cell, all runners interleaved; time measured inside each "
        "runner around its own work (interpreter start-up excluded). Peak RSS is the "
        "controller process's (VmHWM): the ssh clients forked by the OpenSSH-based "
        "runners are not in it. The asyncssh transport and raw asyncssh run without "
        "host-key checking, like every peer here.\n\n" + "\n".join(lines) + "\n\n" + summary
    )
    write_section("Remote `true` on N hosts", body)


def _mb(kb: int | None) -> str:
    return "–" if kb is None else f"{kb / 1024:.0f} MB"


if __name__ == "__main__":
    main()
