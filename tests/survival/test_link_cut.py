"""A connection cut silently (a testbed host's link taken down: no packet gets through, none
is refused) ends its remote command within the keepalive bound: the remote watchdog misses
the heartbeats the controller sends through a keeper, and kills the command's tree; the local
side gives up too (client keepalives)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import trio

from execo import Host, ProcessStatus, SshProcess, ssh_pool
from execo.testbed import LocalCluster

from ..conftest import count_processes, describe_processes
from ..testbed.conftest import needs_netns

BOUND = 8.0  # keepalive_timeout for the test (the default is 30 s)


@pytest.mark.root
@needs_netns
@pytest.mark.parametrize("transport", ["ssh", "asyncssh", "asyncssh-warm"])
async def test_link_cut_ends_the_remote_command_within_the_bound(
    tmp_path: Path, transport: str
) -> None:
    token = f"sleep {550 + len(transport)}.5"
    async with LocalCluster(2, mode="netns", state_dir=tmp_path / "state") as cluster:
        victim = cluster.hosts[0]
        params = {
            **cluster.connection_params.given(),
            "keepalive_timeout": BOUND,
            "host_key_policy": "insecure",  # each cluster has new host keys
        }
        warm = transport.endswith("-warm")
        transport = transport.removesuffix("-warm")
        async with ssh_pool():
            if warm:  # the command registers with the keeper of a connection that keeps
                # Outliving KEEPER_AFTER, it gets its connection a keeper.
                first = SshProcess(
                    "sleep 1.5", victim, transport=transport, connection_params=params
                )
                await first.run()
                await trio.sleep(1.5)
            remote_end = await cut_and_watch(cluster, victim, token, transport, params)
        assert remote_end <= BOUND + 2, remote_end
        await cluster.bring_up(victim)


async def cut_and_watch(
    cluster: LocalCluster, victim: Host, token: str, transport: str, params: dict[str, object]
) -> float:
    """Cut the victim's link under a running command: how long until the command is gone."""
    p = SshProcess(token, victim, transport=transport, connection_params=params)
    p.nolog_exit_code = p.nolog_error = True
    async with p:
        with trio.fail_after(15):
            while count_processes(token, exact=True) < 1:
                await trio.sleep(0.05)
        await trio.sleep(2.5)  # past the keeper's start: the watchdog has seen beats
        await cluster.take_down(victim)
        cut = time.monotonic()
        with trio.move_on_after(BOUND + 6):
            while count_processes(token, exact=True):
                await trio.sleep(0.1)
        remote_end = time.monotonic() - cut
        assert count_processes(token, exact=True) == 0, describe_processes(token)
        with trio.fail_after(BOUND + 10):
            await p.wait()
    assert p.status == ProcessStatus.FAILED  # the client gave up: exit status 255
    return remote_end
