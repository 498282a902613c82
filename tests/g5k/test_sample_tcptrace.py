"""FEATURES §5.2 ``g5k_tcptrace.py``, with Kadeployer, on a local cluster (netns, root).

The sample: deploy the nodes of the running jobs (``deploy(Deployment(nodes,
env_name="debian11-min"))``), then, as root on two deployed nodes: a ``nc`` receiver, a
``tcpdump`` capture on the sender's interface, a sender ``dd | nc {{dests}}``, the capture
killed, ``tcptrace`` with a file name stdout handler, and a Report of it all.

Here the nodes are the hosts of an ``execo.testbed.LocalCluster`` (their own network
namespace, hostname and sshd), named ``node-1`` ... as Grid'5000 nodes are, so they go to
the default frontend, which is "here": the kadeploy3 stand-in runs locally, through a real
`Kadeployer`, and marks each node deployed (a file the node looks for over real ssh, as
root). What differs from Grid'5000, and why: no OAR jobs to list (the cluster's hosts are
the jobs' nodes); no ``apt-get install`` (the test machine has tcpdump, tcptrace and
netcat, checked on the nodes instead); the interface comes from the route to the receiver,
not from the API (these nodes are not in its reference data).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from execo import Host, Remote, Report, SshProcess
from execo._core._config import ConnectionParamsLike
from execo.testbed import LocalCluster
from execo_g5k import config as g5k_config
from execo_g5k.kadeploy import Deployment, deploy

from ..testbed.conftest import needs_netns
from .wrappers import standin_wrapper

pytestmark = [
    needs_netns,
    pytest.mark.skipif(
        not (shutil.which("tcpdump") and shutil.which("tcptrace")),
        reason="tcpdump and tcptrace are needed (scripts/setup.sh installs them as root)",
    ),
]


@pytest.fixture
def kadeploy_standin() -> Iterator[Path]:
    """The stand-in as kadeploy3; its state where the nodes see it (their /tmp is private)."""
    state = Path(tempfile.mkdtemp(prefix="execo-tcptrace-", dir="/var/tmp"))
    state.chmod(0o755)
    wrapper = standin_wrapper(state / "kadeploy3", "kadeploy3", KADEPLOY_STANDIN_DIR=state)
    previous = g5k_config.set_g5k_configuration(
        dataclasses.replace(
            g5k_config.current_g5k_configuration(),
            kadeploy3=str(wrapper),
            default_frontend=None,
            check_deployed_command=f"test -e {state}/deployed/$(hostname)",
        )
    )
    try:
        yield state
    finally:
        g5k_config.set_g5k_configuration(previous)
        shutil.rmtree(state)


async def g5k_tcptrace(
    nodes: list[Host], root: ConnectionParamsLike, out_dir: Path
) -> tuple[list[Host], Report]:
    """The sample's flow once the nodes are known: deploy, then measure on two of them."""
    deployed, undeployed = await deploy(
        Deployment(nodes, env_name="debian11-min"), node_connection_params=root
    )
    assert len(deployed) >= 2, f"not enough nodes deployed: {undeployed}"
    source, dest = deployed[0], deployed[1]
    tools = await Remote(
        "command -v tcpdump tcptrace nc", [source, dest], connection_params=root
    ).run()  # the sample apt-get installs them
    route = await SshProcess(f"ip -o route get $(getent hosts {dest.address} | cut -d' ' -f1)",
                             source, connection_params=root).run()  # fmt: skip
    words = route.stdout.split()
    interface = words[words.index("dev") + 1]
    receiver = SshProcess("nc -l -p 6543 > /dev/null", dest, connection_params=root)
    capture = SshProcess(
        f"tcpdump --immediate-mode -U -i {interface} -s 96 -w /tmp/tcptrace.pcap tcp port 6543",
        source,
        connection_params=root,
    )
    async with receiver, capture:
        assert await capture.expect("listening on", stream="stderr", timeout=30)
        sender = await Remote(
            "dd if=/dev/zero bs=1M count=20 2>/dev/null | nc -q 0 {{dests}} 6543",
            [source],
            connection_params=root,
            namespace={"dests": [dest.address]},
        ).run()
        await receiver.wait(timeout=30)
        await capture.kill()
    tcptrace = await Remote(
        "tcptrace -l /tmp/tcptrace.pcap",
        [source],
        connection_params=root,
        process_args={"stdout_handlers": [str(out_dir / "{{{host}}}.tcptrace")]},
    ).run()
    return deployed, Report([tools, receiver, capture, sender, tcptrace])


async def test_g5k_tcptrace_flow(kadeploy_standin: Path, tmp_path: Path) -> None:
    async with LocalCluster(3, mode="netns", state_dir=tmp_path / "state") as cluster:
        nodes = [Host(n.name) for n in cluster.nodes]  # node-1 ... (the jobs' nodes)
        root = {"user": "root", "ssh_config": str(cluster.ssh_config)}
        deployed, report = await g5k_tcptrace(nodes, root, tmp_path)
    assert deployed == nodes
    runs = (kadeploy_standin / "runs.log").read_text().splitlines()
    assert runs == ["node-1 node-2 node-3"]  # one kadeploy3, for the one (default) frontend
    trace = (tmp_path / "node-1.tcptrace").read_text()
    assert "1 TCP connection traced" in trace, trace
    assert "host a:        node-1:" in trace and "host b:        node-2:6543" in trace
    sent = int(trace.split("unique bytes sent:")[1].split()[0])
    assert sent > 1_000_000, trace  # the bulk of the 20 MB went through the capture
    table = report.to_string()
    assert "ok" in table
    stats = report.stats()
    assert stats["num_processes"] == 6 and stats["num_ok"] == 6, table
