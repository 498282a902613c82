"""How to drive asyncssh (asyncio only) from trio: connect + `true` on N loopback hosts.

Compares, on the same sshds, the raw asyncssh work (one connection and one `true` per host,
all at once) run
  * natively under asyncio.run (the floor),
  * under trio.run through execo's bridge (one asyncio loop in one thread; results back
    through the trio token),
  * under trio.run through an anyio blocking portal (an asyncio loop in a portal thread,
    futures back through the trio token),
  * under trio.run through trio-asyncio (in bench/_peers/venv),
and execo's own Remote over the asyncssh transport under trio and under asyncio.

Usage: python -m bench.asyncssh_bridge [--n 50] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.from_thread
import asyncssh
import trio

from bench._results import write_section
from execo import Host, Remote, ssh_pool
from execo._transports._bridge import ThreadBridge
from execo.testbed import LoopbackSshd

PEER_PYTHON = Path(__file__).with_name("_peers") / "venv" / "bin" / "python"

TRIO_ASYNCIO = textwrap.dedent(
    """
    import sys, time, asyncio, asyncssh, trio, trio_asyncio
    port, key = int(sys.argv[1]), sys.argv[2]
    addrs = sys.argv[3:]
    async def one(addr):
        async with asyncssh.connect(addr, port, client_keys=[key], known_hosts=None) as c:
            await c.run("true", check=True)
    async def all_():
        await asyncio.gather(*(one(a) for a in addrs))
    async def main():
        async with trio_asyncio.open_loop():
            t = time.perf_counter()
            await trio_asyncio.aio_as_trio(all_)()
            print(time.perf_counter() - t)
    trio.run(main)
    """
)


async def one(addr: str, port: int, key: str) -> None:
    async with asyncssh.connect(addr, port, client_keys=[key], known_hosts=None) as c:
        await c.run("true", check=True)


async def gather_all(hosts: list[Host]) -> None:
    await asyncio.gather(*(one(h.address, h.port or 22, str(h.keyfile)) for h in hosts))


def native(hosts: list[Host]) -> float:
    async def main() -> float:
        t = time.perf_counter()
        await gather_all(hosts)
        return time.perf_counter() - t

    return asyncio.run(main())


def via_execo_bridge(hosts: list[Host]) -> float:
    async def main() -> float:
        bridge = ThreadBridge()
        try:
            t = time.perf_counter()
            async with trio.open_nursery() as n:
                for h in hosts:
                    n.start_soon(bridge.run, one, h.address, h.port or 22, str(h.keyfile))
            return time.perf_counter() - t
        finally:
            await bridge.aclose()

    return trio.run(main)


def via_portal(hosts: list[Host]) -> float:
    async def main() -> float:
        token = trio.lowlevel.current_trio_token()
        with anyio.from_thread.start_blocking_portal("asyncio") as portal:

            async def call(h: Host) -> None:
                done = trio.Event()
                fut = portal.start_task_soon(one, h.address, h.port or 22, str(h.keyfile))
                fut.add_done_callback(lambda _: token.run_sync_soon(done.set))
                await done.wait()
                fut.result()

            t = time.perf_counter()
            async with trio.open_nursery() as n:
                for h in hosts:
                    n.start_soon(call, h)
            return time.perf_counter() - t

    return trio.run(main)


def via_trio_asyncio(hosts: list[Host]) -> float | None:
    if not PEER_PYTHON.exists():
        return None
    argv = [str(PEER_PYTHON), "-c", TRIO_ASYNCIO, str(hosts[0].port), str(hosts[0].keyfile)]
    out = subprocess.run(
        argv + [h.address for h in hosts], capture_output=True, text=True, check=True
    ).stdout
    return float(out.split()[-1])


async def execo_remote(hosts: list[Host]) -> float:
    params = {"host_key_policy": "insecure"}
    async with ssh_pool():
        t = time.perf_counter()
        r = await Remote("true", hosts, transport="asyncssh", connection_params=params).run()
        elapsed = time.perf_counter() - t
    assert r.ok, [p.dump() for p in r.failed]
    return elapsed


def execo_trio(hosts: list[Host]) -> float:
    return trio.run(execo_remote, hosts)


def execo_asyncio(hosts: list[Host]) -> float:
    return anyio.run(execo_remote, hosts, backend="asyncio")


RUNNERS: list[tuple[str, Callable[[list[Host]], float | None]]] = [
    ("raw asyncssh, native asyncio.run", native),
    ("raw asyncssh under trio, execo bridge (loop thread + trio token)", via_execo_bridge),
    ("raw asyncssh under trio, anyio blocking portal + trio token", via_portal),
    ("raw asyncssh under trio, trio-asyncio 0.16", via_trio_asyncio),
    ("execo Remote (asyncssh transport) under trio", execo_trio),
    ("execo Remote (asyncssh transport) under asyncio", execo_asyncio),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    results: dict[str, list[float]] = {name: [] for name, _ in RUNNERS}
    with LoopbackSshd(args.n, first=60) as sshd:
        hosts = sshd.hosts
        native(hosts[:2])  # warm-up: imports, first handshakes
        for _ in range(args.repeat):
            for name, fn in RUNNERS:  # interleaved, so machine noise hits all alike
                value = fn(hosts)
                if value is not None:
                    results[name].append(value)
    rows = []
    for name, _ in RUNNERS:
        vals = results[name]
        if not vals:
            rows.append(f"| {name} | not installed | |")
            continue
        rows.append(f"| {name} | {statistics.median(vals):.2f} s | {min(vals):.2f} s |")
        print(f"{name}: median {statistics.median(vals):.3f} s, best {min(vals):.3f} s")
    body = (
        f"Connect + `true` on {args.n} loopback hosts (one connection per host, all at once), "
        f"{args.repeat} interleaved runs; asyncssh {asyncssh.__version__}, "
        f"trio {trio.__version__}, anyio {_version('anyio')}.\n\n"
        "| runner | median | best |\n|---|---:|---:|\n" + "\n".join(rows)
    )
    if not args.no_write:
        write_section("asyncssh under trio: the bridge", body)


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    main()
