"""The loopback cluster (what users without root get), and the API around both modes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import trio

from execo import Host, ProcessStatus, SshProcess
from execo.testbed import LocalCluster, NotSupportedError, TestbedError

from .conftest import NETNS_REASON, Snapshot, needs_netns


async def test_loopback_hosts_have_own_home_and_sshd(state_dir: Path) -> None:
    async with LocalCluster(5, mode="loopback", state_dir=state_dir) as cluster:
        assert cluster.mode == "loopback" and cluster.id.startswith("lo-")
        procs = [SshProcess("echo $HOME; echo x > ~/mine", h) for h in cluster.hosts]
        async with trio.open_nursery() as nursery:
            for p in procs:
                nursery.start_soon(p.run)
        for node, p in zip(cluster.nodes, procs, strict=True):
            assert p.ok and p.stdout == f"{node.home}\n"
            assert (node.home / "mine").exists() and node.tmp is None
        assert len({p.stdout for p in procs}) == 5
        # plain addresses work with the cluster's connection parameters
        bare = Host(cluster.hosts[0].address)
        p = await SshProcess("true", bare, connection_params=cluster.connection_params).run()
        assert p.ok
        snapshot = Snapshot(cluster.state)
    assert snapshot.leftovers() == []


async def test_loopback_kill_restart_sshd_and_unsupported_faults(state_dir: Path) -> None:
    async with LocalCluster(2, mode="loopback", state_dir=state_dir) as cluster:
        a, b = cluster.hosts
        await cluster.kill_sshd(a)
        down = await SshProcess("true", a, nolog_error=True).run()
        assert down.status == ProcessStatus.UNREACHABLE
        assert (await SshProcess("true", b).run()).ok, "one sshd per host: b is unaffected"
        await cluster.restart_sshd("node-1")
        assert (await SshProcess("true", a).run()).ok
        for fault in (
            cluster.take_down(a),
            cluster.bring_up(a),
            cluster.cut_link(a, b),
            cluster.set_netem(a, delay=0.1),
        ):
            with pytest.raises(NotSupportedError, match="netns mode"):
                await fault
        snapshot = Snapshot(cluster.state)
    assert snapshot.leftovers() == []


async def test_node_lookup_and_errors(state_dir: Path) -> None:
    cluster = LocalCluster(2, mode="loopback", state_dir=state_dir)
    with pytest.raises(TestbedError, match="not started"):
        _ = cluster.hosts
    async with cluster:
        first = cluster.nodes[0]
        assert cluster.node("node-1") == cluster.node(first.host.address) == first
        assert cluster.node(Host(first.host.address)) == first
        with pytest.raises(KeyError):
            cluster.node("node-9")
        with pytest.raises(TestbedError, match="already started"):
            cluster.start()
        assert "loopback" in repr(cluster) and cluster.ssh_config.exists()
    assert "not started" in repr(cluster)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 0}, "positive"),
        ({"n": 2, "mode": "vm"}, "mode"),
        ({"n": 2, "name_prefix": "Bad Name"}, "name_prefix"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        LocalCluster(**kwargs)  # type: ignore[arg-type]


def test_netns_mode_without_root_is_a_clear_error(state_dir: Path) -> None:
    if NETNS_REASON is None:
        pytest.skip("netns mode works here")
    with pytest.raises(TestbedError, match="netns mode is not possible"):
        LocalCluster(1, mode="netns", state_dir=state_dir).start()


async def test_auto_mode_picks_netns_as_root(state_dir: Path) -> None:
    async with LocalCluster(1, state_dir=state_dir) as cluster:
        expected = "netns" if NETNS_REASON is None else "loopback"
        assert cluster.mode == expected, NETNS_REASON
    assert os.listdir(state_dir) == []


@pytest.mark.parametrize("mode", [pytest.param("netns", marks=needs_netns), "loopback"])
async def test_cancelled_or_failing_block_tears_down(state_dir: Path, mode: str) -> None:
    snapshots = []
    with trio.CancelScope() as scope:
        async with LocalCluster(2, mode=mode, state_dir=state_dir) as cluster:  # type: ignore[arg-type]
            snapshots.append(Snapshot(cluster.state))
            scope.cancel()
            await trio.sleep_forever()
    assert scope.cancelled_caught
    with pytest.raises(ZeroDivisionError):
        async with LocalCluster(2, mode=mode, state_dir=state_dir) as cluster:  # type: ignore[arg-type]
            snapshots.append(Snapshot(cluster.state))
            _ = 1 / 0
    assert [s.leftovers() for s in snapshots] == [[], []]


async def test_auto_mode_falls_back_to_loopback_when_netns_fails(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    if NETNS_REASON is not None:
        pytest.skip(f"netns mode not available anyway: {NETNS_REASON}")

    def broken(self: object) -> None:
        raise OSError("no CAP_NET_ADMIN in this container")

    monkeypatch.setattr("execo.testbed._netns.NetnsBackend._create_network", broken)
    async with LocalCluster(1, state_dir=state_dir) as cluster:
        assert cluster.mode == "loopback"
        assert (await SshProcess("true", cluster.hosts[0]).run()).ok
    assert "falling back to loopback" in caplog.text and "CAP_NET_ADMIN" in caplog.text
    assert os.listdir(state_dir) == []
    with pytest.raises(TestbedError, match="netns cluster failed to start: no CAP_NET_ADMIN"):
        LocalCluster(1, mode="netns", state_dir=state_dir).start()
    assert os.listdir(state_dir) == []
