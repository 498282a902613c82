"""The netns cluster (root): up, SshProcess on every host, faults, down with nothing left."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import trio

from execo import ConnectionParams, ProcessStatus, SshProcess
from execo.testbed import LocalCluster, NotSupportedError

from .conftest import Snapshot, needs_netns

pytestmark = needs_netns


async def run_all(procs: list[SshProcess]) -> None:
    async with trio.open_nursery() as nursery:
        for p in procs:
            nursery.start_soon(p.run)


async def test_20_hosts_up_ssh_on_all_down_nothing_left(state_dir: Path) -> None:
    async with LocalCluster(20, mode="netns", state_dir=state_dir) as cluster:
        assert cluster.mode == "netns" and len(cluster.hosts) == 20
        assert len({h.address for h in cluster.hosts}) == 20
        probes = [
            SshProcess(
                "hostname; echo $HOME; echo mine > ~/f; echo mine > /tmp/g; "
                # a stray background process teardown must kill:
                "setsid sleep 1000 >/dev/null 2>&1 < /dev/null & "
                # hosts reach each other by name (own /etc/hosts):
                f"exec 3<>/dev/tcp/{peer.name}/22; head -c 4 <&3",
                node.host,
            )
            for node, peer in zip(cluster.nodes, cluster.nodes[1:] + cluster.nodes[:1], strict=True)
        ]
        with trio.fail_after(60):
            await run_all(probes)
        for node, p in zip(cluster.nodes, probes, strict=True):
            assert p.status == ProcessStatus.OK, p.dump()
            name, home, banner = p.stdout.split()
            assert (name, home, banner) == (node.name, str(node.home), "SSH-")
            assert (node.home / "f").read_text() == "mine\n"  # private HOME
            assert node.tmp is not None and (node.tmp / "g").read_text() == "mine\n"
        snapshot = Snapshot(cluster.state)
        strays = len(snapshot.pids) - 20
        assert strays >= 20, "the background sleeps should be in the namespaces"
    assert snapshot.leftovers() == []


async def test_host_taken_down_mid_run_is_unreachable_then_back(state_dir: Path) -> None:
    fast = ConnectionParams(
        connect_timeout=1,
        ssh_options=(
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2",
        ),
    )  # fmt: skip
    async with LocalCluster(4, mode="netns", state_dir=state_dir) as cluster:
        victim = cluster.hosts[1]
        procs = [
            SshProcess("sleep 2; echo done", h, connection_params=fast, timeout=10)
            for h in cluster.hosts
        ]
        t0 = time.monotonic()
        ended: dict[int, float] = {}

        async def run(i: int, p: SshProcess) -> None:
            await p.run()
            ended[i] = time.monotonic() - t0

        async with trio.open_nursery() as nursery:
            for i, p in enumerate(procs):
                nursery.start_soon(run, i, p)
            await trio.sleep(0.8)
            await cluster.take_down(victim)
        for i in (0, 2, 3):
            assert procs[i].status == ProcessStatus.OK and procs[i].stdout == "done\n"
            assert ended[i] < 5, "the others were stalled"
        assert not procs[1].ok and procs[1].status in (ProcessStatus.FAILED, ProcessStatus.TIMEOUT)

        with trio.fail_after(10):
            again = await SshProcess("true", victim, connection_params=fast, nolog_error=True).run()
        assert again.status == ProcessStatus.UNREACHABLE

        await cluster.bring_up(victim)
        after = await SshProcess("hostname", victim, connection_params=fast).run()
        assert after.status == ProcessStatus.OK and after.stdout == "node-2\n"


async def test_cut_link_between_two_hosts_only(state_dir: Path) -> None:
    probe = "timeout 2 bash -c 'exec 3<>/dev/tcp/{}/22; head -c 4 <&3'"
    async with LocalCluster(3, mode="netns", state_dir=state_dir) as cluster:
        a, b, c = cluster.nodes
        await cluster.cut_link(a.host, b.name)
        cut = await SshProcess(probe.format(b.name), a.host, nolog_exit_code=True).run()
        other = await SshProcess(probe.format(c.name), a.host).run()
        from_controller = await SshProcess("true", b.host).run()
        assert not cut.ok and other.stdout == "SSH-" and from_controller.ok
        await cluster.restore_link(a.host, b.host)
        restored = await SshProcess(probe.format(b.name), a.host).run()
        assert restored.stdout == "SSH-"
        with pytest.raises(ValueError, match="two different"):
            await cluster.cut_link(a.host, a.name)


async def test_netem_rate_limits_traffic(state_dir: Path) -> None:
    download = "head -c 2000000 /dev/zero"
    async with LocalCluster(1, mode="netns", state_dir=state_dir) as cluster:
        host = cluster.hosts[0]
        await cluster.set_netem(host, rate="8mbit")  # 2 MB at 1 MB/s: about 2 s
        t0 = time.monotonic()
        slow = await SshProcess(download, host, default_stdout_handler=False).run()
        limited = time.monotonic() - t0
        await cluster.clear_netem(host)
        t0 = time.monotonic()
        await SshProcess(download, host, default_stdout_handler=False).run()
        free = time.monotonic() - t0
        assert slow.ok and limited > 1.5 and free < limited / 2


async def test_netem_delay(state_dir: Path, netem: None) -> None:
    async with LocalCluster(1, mode="netns", state_dir=state_dir) as cluster:
        host = cluster.hosts[0]
        await cluster.set_netem(host, delay=0.3)
        t0 = time.monotonic()
        await SshProcess("true", host).run(check=True)
        assert time.monotonic() - t0 > 0.6  # several round trips, each 0.3 s longer
        await cluster.clear_netem(host)
        t0 = time.monotonic()
        await SshProcess("true", host).run(check=True)
        assert time.monotonic() - t0 < 0.6


async def test_without_netem_delay_is_not_supported_but_rate_is(state_dir: Path) -> None:
    async with LocalCluster(1, mode="netns", state_dir=state_dir) as cluster:
        host = cluster.hosts[0]
        refusal = ""
        try:
            await cluster.set_netem(host, delay=0.01, loss=1)
        except NotSupportedError as e:
            refusal = str(e)
        assert not refusal or "CONFIG_NET_SCH_NETEM" in refusal
        await cluster.set_netem(host, rate=10_000_000)  # netem, or tbf without it
        await cluster.clear_netem(host)
        await cluster.clear_netem(host)  # idempotent


async def test_kill_and_restart_sshd(state_dir: Path) -> None:
    async with LocalCluster(2, mode="netns", state_dir=state_dir) as cluster:
        a, b = cluster.hosts
        async with SshProcess("echo in; sleep 30", a) as session:
            assert await session.expect("in", timeout=10)
            await cluster.kill_sshd(a)
            refused = await SshProcess("true", a, nolog_error=True).run()
            assert refused.status == ProcessStatus.UNREACHABLE
            assert "refused" in (refused.error_reason or "")
            assert session.running, "an open session survives its sshd, as on a real host"
            assert (await SshProcess("true", b).run()).ok
            await cluster.restart_sshd(a)
            assert (await SshProcess("hostname", a).run()).stdout == "node-1\n"
            await session.kill()
        assert len([s for s in cluster.state.servers if s.alive()]) == 2


async def test_concurrent_clusters_in_different_state_dirs_get_distinct_slots(
    tmp_path: Path,
) -> None:
    clusters = [LocalCluster(2, mode="netns", state_dir=tmp_path / f"s{i}") for i in range(3)]
    try:

        async def start(cluster: LocalCluster) -> None:
            await trio.to_thread.run_sync(cluster.start)

        async with trio.open_nursery() as nursery:
            for c in clusters:
                nursery.start_soon(start, c)
        assert len({c.id for c in clusters}) == 3
        assert len({h.address for c in clusters for h in c.hosts}) == 6
        procs = [SshProcess("hostname", h) for c in clusters for h in c.hosts]
        await run_all(procs)
        assert all(p.ok for p in procs)
    finally:
        for c in clusters:
            c.stop()
