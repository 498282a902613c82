"""kadeploy: the pure parts, then kadeploy()/deploy() with the stand-in kadeploy3.

kadeploy is packaged nowhere: `standins/kadeploy3` prints kadeploy 3's report and fails
nodes on demand. deploy()'s check command runs over real ssh on the real OAR test nodes.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from execo import Host
from execo_g5k import config as g5k_config
from execo_g5k.kadeploy import (
    Deployment,
    deploy,
    kadeploy,
    kadeploy_argv,
    parse_kadeploy_output,
)
from execo_g5k.utils import get_kavlan_host_name

from .oar_cluster import OarCluster

REPORT_3_2 = """\
Deployment #D-6c3 started
Launching a deployment on node-1.lyon.grid5000.fr,node-2.lyon.grid5000.fr
End of deployment for node-1.lyon.grid5000.fr after 182s
Deployment #D-6c3 done

The deployment is successful on nodes
node-1.lyon.grid5000.fr
The deployment failed on nodes
node-2.lyon.grid5000.fr (Deploy[SetDeploymentEnvUntrusted-wait_reboot]: Timeout)
"""

REPORT_3_1 = """\
Nodes correctly deployed on cluster sagittaire
sagittaire-1.lyon.grid5000.fr
Nodes not correctly deployed on cluster sagittaire
sagittaire-2.lyon.grid5000.fr (reboot failed)
sagittaire-3.lyon.grid5000.fr
"""


def test_reports():
    assert parse_kadeploy_output(REPORT_3_2) == (
        ["node-1.lyon.grid5000.fr"],
        {"node-2.lyon.grid5000.fr": "Deploy[SetDeploymentEnvUntrusted-wait_reboot]: Timeout"},
    )
    good, bad = parse_kadeploy_output(REPORT_3_1.replace("\n", "\r\n"))
    assert good == ["sagittaire-1.lyon.grid5000.fr"]
    assert bad == {
        "sagittaire-2.lyon.grid5000.fr": "reboot failed",
        "sagittaire-3.lyon.grid5000.fr": "failed",
    }
    assert parse_kadeploy_output("End of deployment for node-1 after 182s\n") == ([], {})


def test_deployment_and_argv():
    hosts: list[Host | str] = [
        Host("n-1.lyon.grid5000.fr"),
        "n-2.lyon.grid5000.fr",
        "n-1.lyon.grid5000.fr",
    ]
    options = "--no-kexec -r ext4"
    d = Deployment(hosts, env_name="debian11-min", user="deploy", vlan=4, other_options=options)
    assert d.addresses == ("n-1.lyon.grid5000.fr", "n-2.lyon.grid5000.fr")
    assert kadeploy_argv(d) == [
        "kadeploy3", "-k", "-d", "-e", "debian11-min", "-u", "deploy", "--vlan", "4",
        "--no-kexec", "-r", "ext4", "-m", "n-1.lyon.grid5000.fr", "-m", "n-2.lyon.grid5000.fr",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="not both"):
        Deployment(["a"], env_name="x", env_file="y")
    with pytest.raises(ValueError, match="no environment"):
        kadeploy_argv(Deployment(["a"]))
    previous = g5k_config.set_g5k_configuration(
        dataclasses.replace(g5k_config.g5k_configuration, default_env_file="/e.dsc")
    )
    try:
        assert kadeploy_argv(Deployment(["a"]))[3:5] == ["-a", "/e.dsc"]
    finally:
        g5k_config.set_g5k_configuration(previous)
    assert get_kavlan_host_name("n-1.lyon.grid5000.fr", 4) == "n-1-kavlan-4.lyon.grid5000.fr"
    assert get_kavlan_host_name(Host("n-1"), 12) == "n-1-kavlan-12"


@pytest.fixture
def standin(oar: OarCluster) -> Iterator[Path]:
    """The stand-in as kadeploy3, and its state directory (readable by the nodes' user)."""
    state = Path(tempfile.mkdtemp(prefix="execo-kadeploy-"))
    state.chmod(0o755)
    previous = g5k_config.set_g5k_configuration(
        dataclasses.replace(g5k_config.g5k_configuration, kadeploy3=str(oar.bindir / "kadeploy3"))
    )
    mp = pytest.MonkeyPatch()
    mp.setenv("KADEPLOY_STANDIN_DIR", str(state))
    try:
        yield state
    finally:
        mp.undo()
        g5k_config.set_g5k_configuration(previous)
        shutil.rmtree(state)


def runs(state: Path) -> list[list[str]]:
    return [line.split() for line in (state / "runs.log").read_text().splitlines()]


@pytest.mark.root
async def test_kadeploy_reports_failed_nodes(standin: Path) -> None:
    (standin / "fail").write_text("node-2 1\n")
    d = Deployment(["node-1", "node-2", "node-3"], env_name="debian11-min")
    result = await kadeploy(d)
    deployed, undeployed = result
    assert deployed == [Host("node-1"), Host("node-3")]
    assert undeployed == [Host("node-2")]
    assert "wait_reboot" in result.reasons["node-2"]
    assert len(result.processes) == 1  # one kadeploy3 for the site of the three nodes
    assert runs(standin) == [["node-1", "node-2", "node-3"]]
    argv = kadeploy_argv(d)
    assert argv[argv.index("-e") + 1] == "debian11-min"


@pytest.mark.root
async def test_kadeploy_timeout_is_honoured(standin: Path, monkeypatch) -> None:
    monkeypatch.setenv("KADEPLOY_STANDIN_DELAY", "30")
    started = time.monotonic()
    result = await kadeploy(Deployment(["node-1"], env_name="e"), timeout=1)
    assert time.monotonic() - started < 15  # execo 2.8.2 ignored deploy_timeout
    assert result.deployed == [] and result.undeployed == [Host("node-1")]
    assert "timeout" in result.reasons["node-1"]


@pytest.mark.root
async def test_deploy_checks_retries_and_stops_when_enough(oar: OarCluster, standin: Path) -> None:
    check = f"test -e {standin}/deployed/$(hostname)"
    (standin / "deployed").mkdir()
    (standin / "deployed" / "node-1").touch()  # already deployed: kadeploy skips it
    (standin / "fail").write_text("node-2 1\n")  # fails once, then deploys
    d = Deployment(["node-1", "node-2", "node-3"], env_name="debian11-min")
    result = await deploy(d, check, oar.node_params, num_tries=2)
    assert result.deployed == [Host("node-1"), Host("node-2"), Host("node-3")]
    assert result.undeployed == []
    assert runs(standin) == [["node-2", "node-3"], ["node-2"]]

    # Enough once 2 nodes are there: one try only, although node-3 always fails.
    shutil.rmtree(standin / "deployed")
    (standin / "runs.log").unlink()
    (standin / "fail").write_text("node-3 always\n")
    seen: list[tuple[int, int]] = []

    def enough(deployed: list[Host], undeployed: list[Host]) -> bool:
        seen.append((len(deployed), len(undeployed)))
        return len(deployed) >= 2

    result = await deploy(d, check, oar.node_params, num_tries=3, check_enough_func=enough)
    assert result.undeployed == [Host("node-3")] and len(result.deployed) == 2
    assert seen == [(0, 3), (2, 1)]
    assert runs(standin) == [["node-1", "node-2", "node-3"]]

    # Without a check command, kadeploy's report decides; the tries run out.
    (standin / "runs.log").unlink()
    result = await deploy(Deployment(["node-3", "node-4"], env_name="e"), False, num_tries=2)
    assert result.deployed == [Host("node-4")] and result.undeployed == [Host("node-3")]
    assert "wait_reboot" in result.reasons["node-3"]
    assert runs(standin) == [["node-3", "node-4"], ["node-3"]]
