"""The taktuk transport against ssh on loopback hosts: ``true`` on 20/50/100 hosts with
TaktukRemote and Remote, and a 50 MB file to 10 hosts with ChainPut and Put (scp).

Usage: python -m bench.taktuk [--sizes 20 50 100] [--repeat 2] [--mb 50] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import trio

from bench._results import write_section
from execo import Action, ChainPut, Put, Remote, TaktukRemote
from execo.testbed import LoopbackSshd


async def timed(action: Action) -> float:
    t = time.perf_counter()
    await action.run()
    elapsed = time.perf_counter() - t
    assert action.ok, [p.failure_summary() for p in action.processes if not p.ok]
    return elapsed


def best(times: list[float]) -> str:
    return f"{min(times):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 50, 100])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--copy-hosts", type=int, default=10)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    n_max = max([*args.sizes, args.copy_hosts])
    rows = []
    with LoopbackSshd(n_max, first=100) as sshd, tempfile.TemporaryDirectory() as tmp:
        hosts = sshd.hosts
        for n in args.sizes:
            tk, ssh = [], []
            for _ in range(args.repeat):
                tk.append(trio.run(timed, TaktukRemote("true", hosts[:n])))
                ssh.append(trio.run(timed, Remote("true", hosts[:n])))
            rows.append(f"| `true` on {n} hosts | {best(tk)} | {best(ssh)} |")
            print(rows[-1], flush=True)
        data = Path(tmp) / "payload"
        with open(data, "wb") as f:
            f.write(os.urandom(args.mb * 1024 * 1024))
        targets = hosts[: args.copy_hosts]
        for h in targets:
            (Path(tmp) / "dst" / h.address).mkdir(parents=True)
        dest = f"{tmp}/dst/{{{{{{host}}}}}}"
        chain, scp = [], []
        for _ in range(args.repeat):
            chain.append(trio.run(timed, ChainPut(targets, [str(data)], dest)))
            scp.append(trio.run(timed, Put(targets, [str(data)], dest)))
        rows.append(
            f"| {args.mb} MB file to {len(targets)} hosts | ChainPut {best(chain)} "
            f"| Put (scp) {best(scp)} |"
        )
        print(rows[-1], flush=True)
    load = os.getloadavg()[0]
    body = (
        "`python -m bench.taktuk`: one loopback sshd per 16 hosts on this machine, best of "
        f"{args.repeat}. **The machine has 2 CPUs and was shared with other jobs while this "
        f"ran** (load average {load:.0f} at the end), so the numbers are noisy. Every host "
        "is this same machine, which is the worst case for taktuk: each taktuk node is a "
        "Perl interpreter compiling taktuk (self-propagated with `-s`), and all of them "
        "compete for the same 2 cores with the ssh handshakes, where on a real cluster each "
        "node's own CPU does that work in parallel and the root handles only a few "
        "connections. Likewise the chain's advantage over scp (every link busy at once, no "
        "encryption) cannot show when all the links are one machine's memory bandwidth.\n\n"
        "| what | TaktukRemote / ChainPut | Remote / Put (ssh, scp) |\n|---|---|---|\n"
        + "\n".join(rows)
    )
    if not args.no_write:
        write_section("Taktuk transport", body)
    print(body)


if __name__ == "__main__":
    main()
