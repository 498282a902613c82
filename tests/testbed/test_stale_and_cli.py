"""Crash recovery (stale state cleaned at the next start or by ``down``) and the CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from execo import SshProcess
from execo.testbed import LocalCluster, list_states

from .conftest import Snapshot, link_names, needs_netns, netns_names

MODES = [pytest.param("netns", marks=needs_netns), "loopback"]

CRASHING_OWNER = """
import sys, trio
from execo.testbed import LocalCluster

async def main():
    async with LocalCluster(int(sys.argv[1]), mode=sys.argv[2], state_dir=sys.argv[3]) as c:
        print("UP", c.id, flush=True)
        await trio.sleep(1000)

trio.run(main)
"""


async def crash_a_cluster(n: int, mode: str, state_dir: Path) -> Snapshot:
    """Start a cluster in a subprocess, SIGKILL it once up; the record of what it left."""
    owner = await trio.lowlevel.open_process(
        [sys.executable, "-c", CRASHING_OWNER, str(n), mode, str(state_dir)],
        stdout=subprocess.PIPE,
    )
    try:
        assert owner.stdout is not None
        line = b""
        with trio.fail_after(60):
            while not line.endswith(b"\n"):
                chunk = await owner.stdout.receive_some()
                assert chunk, "the owner exited before its cluster was up"
                line += chunk
        assert line.startswith(b"UP ")
    finally:
        owner.send_signal(signal.SIGKILL)
        await owner.wait()
        if owner.stdout is not None:
            await owner.stdout.aclose()
    [state] = list_states(state_dir)
    assert state.stale and state.id == line.split()[1].decode()
    snapshot = Snapshot(state)
    assert snapshot.leftovers(), "a SIGKILLed owner leaves its cluster behind"
    assert all(s.alive() for s in state.servers)
    return snapshot


@pytest.mark.parametrize("mode", MODES)
async def test_stale_cluster_of_crashed_owner_cleaned_at_next_start(
    state_dir: Path, mode: str
) -> None:
    crashed = await crash_a_cluster(3, mode, state_dir)
    next_one = LocalCluster(1, mode=mode, state_dir=state_dir, name_prefix="next")  # type: ignore[arg-type]
    async with next_one as cluster:
        assert crashed.leftovers(now_used_by=cluster.state) == []
        assert [s.id for s in list_states(state_dir)] == [cluster.id]
        assert (await SshProcess("true", cluster.hosts[0]).run()).ok
    assert list_states(state_dir) == []


def cli(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "execo.testbed", "--state-dir", str(state_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("mode", MODES)
async def test_down_cleans_stale_cluster(state_dir: Path, mode: str) -> None:
    crashed = await crash_a_cluster(2, mode, state_dir)
    status = cli(state_dir, "status")
    assert "stale" in status.stdout
    down = cli(state_dir, "down")
    assert down.returncode == 0, down.stderr
    assert crashed.leftovers() == []


@pytest.mark.parametrize("mode", MODES)
def test_cli_up_status_down(state_dir: Path, mode: str) -> None:
    up = cli(state_dir, "up", "2", "--mode", mode, "--json")
    assert up.returncode == 0, up.stderr
    info = json.loads(up.stdout)
    [state] = list_states(state_dir)
    snapshot = Snapshot(state)
    try:
        assert info["mode"] == mode and info["owner"] == "detached" and len(info["hosts"]) == 2
        ssh = subprocess.run(
            ["ssh", "-F", info["ssh_config"], "-o", "BatchMode=yes", "node-2", "echo $HOME"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert ssh.stdout.strip().endswith("hosts/node-2/home"), ssh.stderr
        listed = json.loads(cli(state_dir, "status", "--json").stdout)
        assert [c["id"] for c in listed] == [info["id"]]
        assert listed[0]["servers_alive"] == 2
        assert cli(state_dir, "down", "no-such-id").returncode == 1
    finally:
        down = cli(state_dir, "down", info["id"])
    assert down.returncode == 0, down.stderr
    assert snapshot.leftovers() == []
    assert "no local cluster" in cli(state_dir, "status").stdout


def test_down_refuses_a_cluster_owned_by_a_live_process(state_dir: Path) -> None:
    with_owner = LocalCluster(1, mode="loopback", state_dir=state_dir).start()
    try:
        down = cli(state_dir, "down", with_owner.id)
        assert down.returncode == 1 and "--force" in down.stderr
        assert cli(state_dir, "down").returncode == 0  # nothing detached or stale: no-op
        assert [s.id for s in list_states(state_dir)] == [with_owner.id]
    finally:
        with_owner.stop()


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True)


@needs_netns
async def test_down_orphans_removes_unrecorded_objects_only(
    state_dir: Path, tmp_path: Path
) -> None:
    # A cluster whose state file is lost: its namespaces, veths and bridge, nothing in them.
    slot = 250
    made = [f"execo{slot}-node-1", f"exv{slot}-1", f"exbr{slot}"]
    ip("netns", "add", made[0])
    ip("link", "add", made[2], "type", "bridge")
    ip("link", "add", made[1], "type", "veth", "peer", "eth0", "netns", made[0])
    # A live cluster recorded elsewhere (another state directory): must be left alone.
    async with LocalCluster(1, mode="netns", state_dir=tmp_path / "other") as live:
        status = cli(state_dir, "status")
        assert all(name in status.stdout for name in made), status.stdout
        assert not any(ns in status.stdout for ns in live.state.namespaces)
        down = cli(state_dir, "down", "--orphans")
        assert down.returncode == 0, down.stderr
        assert all(name in down.stdout for name in made)
        assert not netns_names() & {made[0]} and not link_names() & set(made[1:])
        assert (await SshProcess("true", live.hosts[0]).run()).ok
    assert "orphan network objects" not in cli(state_dir, "status").stdout
