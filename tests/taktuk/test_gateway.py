"""``taktuk_gateway``: the taktuk tree reaches the hosts through a gateway (``-G``).

The proof uses a netns local cluster (root) in which two hosts cannot talk to the
controller at all (blackhole routes, in namespaces this test creates): without the
gateway they are unreachable; with it, their commands run, and their sshd saw the
connection come from the gateway's address. Real taktuk, real sshds.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest

from execo import ConnectionParams, Host, ProcessStatus, TaktukRemote, resolve_connection_params
from execo._transports._taktuk_protocol import taktuk_argv
from execo.testbed import LocalCluster, LoopbackSshd

from ..conftest import count_processes
from ..testbed.conftest import needs_netns

pytestmark = pytest.mark.skipif(shutil.which("taktuk") is None, reason="taktuk not installed")


def test_argv_through_a_gateway() -> None:
    params = resolve_connection_params({"taktuk_gateway": "gw", "host_rewrite_func": str.upper})
    argv = taktuk_argv(params, [("a", "ssh"), ("b", "ssh")], ["echo x", "echo x"])
    start = argv.index("-G")
    assert argv[start - 2 : start + 3] == [
        "-c", argv[start - 1], "-G", "GW", "-[",
    ]  # fmt: skip
    assert argv[start + 3 :] == [
        "-c", "ssh", "-m", "a", "-m", "b", "-]", "broadcast", "exec", "[", "echo x", "]",
    ]  # fmt: skip
    templates = [a for a in argv[: start - 2] if a.startswith("state=")]
    assert templates and "$position=~" in templates[0]  # "1.k" printed as k
    assert "-G" not in taktuk_argv(resolve_connection_params(), [("a", "ssh")], ["x"])


async def test_unreachable_gateway_makes_every_host_unreachable(sshd: LoopbackSshd) -> None:
    """Nothing listens on the gateway's address: each host says why, nothing hangs."""
    params = ConnectionParams(
        port=sshd.port, keyfile=str(sshd.keyfile), connect_timeout=2, taktuk_gateway="127.0.0.250"
    )
    r = TaktukRemote("true", sshd.hosts[:3], connection_params=params,
                     process_args={"nolog_error": True})  # fmt: skip
    await r.run()
    assert [p.status for p in r.processes] == [ProcessStatus.UNREACHABLE] * 3
    assert all("127.0.0.250" in (p.error_reason or "") for p in r.processes), r.processes


async def test_gateway_on_loopback(sshd: LoopbackSshd) -> None:
    """Loopback hosts through a loopback gateway: outputs, exit codes, positions."""
    params = ConnectionParams(
        port=sshd.port, keyfile=str(sshd.keyfile), taktuk_gateway=sshd.hosts[0].address
    )
    r = TaktukRemote("echo $TAKTUK_POSITION; exit {{codes}}", sshd.hosts[1:4],
                     connection_params=params, namespace={"codes": [0, 3, 0]})  # fmt: skip
    await r.run()
    assert [p.stdout for p in r.processes] == ["1.1\n", "1.2\n", "1.3\n"]
    assert [p.exit_code for p in r.processes] == [0, 3, 0]


def _blackhole(namespace: str, address: str) -> None:
    subprocess.run(
        ["ip", "-n", namespace, "route", "replace", "blackhole", f"{address}/32"], check=True
    )


@needs_netns
async def test_tree_goes_through_the_gateway(tmp_path: Path) -> None:
    async with LocalCluster(3, mode="netns", state_dir=tmp_path / "state") as cluster:
        gateway, *behind = cluster.nodes
        controller = gateway.host.address.rsplit(".", 1)[0] + ".254"
        for node in behind:
            assert node.namespace is not None
            _blackhole(node.namespace, controller)  # they cannot answer the controller
        fast = ConnectionParams(connect_timeout=2)
        hosts = [n.host for n in behind]
        direct = TaktukRemote("true", hosts, connection_params=fast,
                              process_args={"nolog_error": True})  # fmt: skip
        await direct.run()
        assert [p.status for p in direct.processes] == [ProcessStatus.UNREACHABLE] * 2

        # The gateway is reached with the action's connection parameters (key, port...).
        through = dataclasses.replace(
            cluster.connection_params, connect_timeout=2, taktuk_gateway=gateway.host.address
        )
        r = TaktukRemote("hostname; echo $SSH_CONNECTION", hosts, connection_params=through)
        await r.run()
        for node, p in zip(behind, r.processes, strict=True):
            assert p.status == ProcessStatus.OK, p.dump()
            name, client, _, server, _ = p.stdout.split()
            assert (name, server) == (node.name, node.host.address)
            assert client == gateway.host.address  # the connection came from the gateway
            assert p.host == Host.of(node.host)

        # Killing works through the gateway too: a timeout ends the remote commands.
        token = "1747.0"
        slow = TaktukRemote(f"sleep {token}", hosts, connection_params=through, timeout=3,
                            process_args={"nolog_timeout": True})  # fmt: skip
        await slow.run()
        assert [p.status for p in slow.processes] == [ProcessStatus.TIMEOUT] * 2
        assert count_processes(f"sleep {token}") == 0
