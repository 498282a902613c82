"""kadeploy: the pure parts and the report corpus, then Kadeployer, kadeploy() and deploy()
with the stand-in kadeploy3.

kadeploy is packaged nowhere: `standins/kadeploy3` prints kadeploy 3's report (either
format) and fails nodes on demand. It runs here (no frontend) or on a "frontend" reached
over real ssh (the loopback sshd); deploy()'s check command runs over real ssh on the
loopback hosts, and on the real OAR test nodes.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from execo import Host, ProcessStatus
from execo.testbed import LoopbackSshd
from execo_g5k import config as g5k_config
from execo_g5k.kadeploy import (
    Deployment,
    Kadeployer,
    KadeployReportParser,
    deploy,
    kadeploy,
    kadeploy_argv,
    parse_kadeploy_output,
)
from execo_g5k.utils import get_kavlan_host_name

from ..conftest import count_processes
from .oar_cluster import STANDINS, OarCluster
from .wrappers import standin_wrapper

CORPUS = Path(__file__).parents[1] / "data" / "kadeploy"

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


@pytest.mark.parametrize("name", sorted(json.loads((CORPUS / "expected.json").read_text())))
def test_report_corpus(name: str) -> None:
    """Every fixture of both formats gives the expected report, fed whole or line by line."""
    expected = json.loads((CORPUS / "expected.json").read_text())[name]
    text = (CORPUS / name).read_text()
    good, bad = parse_kadeploy_output(text)
    assert good == expected["deployed"]
    assert bad == expected["failed"]
    parser = KadeployReportParser()
    events = [parser.feed_line(line) for line in text.splitlines(keepends=True)]
    assert [e[0] for e in events if e and e[1] is None] == expected["deployed"]
    assert {e[0]: e[1] for e in events if e and e[1] is not None} == expected["failed"]


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
        dataclasses.replace(g5k_config.current_g5k_configuration(), default_env_file="/e.dsc")
    )
    try:
        assert kadeploy_argv(Deployment(["a"]))[3:5] == ["-a", "/e.dsc"]
    finally:
        g5k_config.set_g5k_configuration(previous)
    assert get_kavlan_host_name("n-1.lyon.grid5000.fr", 4) == "n-1-kavlan-4.lyon.grid5000.fr"
    assert get_kavlan_host_name(Host("n-1"), 12) == "n-1-kavlan-12"


@pytest.fixture
def standin() -> Iterator[Path]:
    """The stand-in as kadeploy3 (run here: no default frontend), and its state directory
    (readable by the nodes' user). A wrapper passes the directory on, also over ssh."""
    state = Path(tempfile.mkdtemp(prefix="execo-kadeploy-"))
    state.chmod(0o755)
    wrapper = standin_wrapper(state / "kadeploy3", "kadeploy3", KADEPLOY_STANDIN_DIR=state)
    previous = g5k_config.set_g5k_configuration(
        dataclasses.replace(
            g5k_config.current_g5k_configuration(), kadeploy3=str(wrapper), default_frontend=None
        )
    )
    try:
        yield state
    finally:
        g5k_config.set_g5k_configuration(previous)
        shutil.rmtree(state)


def runs(state: Path) -> list[list[str]]:
    return [line.split() for line in (state / "runs.log").read_text().splitlines()]


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


async def test_kadeploy_timeout_is_honoured(standin: Path, monkeypatch) -> None:
    monkeypatch.setenv("KADEPLOY_STANDIN_DELAY", "30")
    started = time.monotonic()
    result = await kadeploy(Deployment(["node-1"], env_name="e"), timeout=1)
    # execo 2.8.2 lost deploy_timeout: kadeploy3 then ran its whole 30 s.
    assert time.monotonic() - started < 25
    assert result.processes[0].status == ProcessStatus.TIMEOUT
    assert result.deployed == [] and result.undeployed == [Host("node-1")]
    assert "timeout" in result.reasons["node-1"]
    assert count_processes(str(STANDINS / "kadeploy3")) == 0


async def test_kadeployer_is_an_action_with_live_host_sets(standin: Path, monkeypatch) -> None:
    """Old-format report, FQDNs for short names: the sets fill in as kadeploy prints."""
    monkeypatch.setenv("KADEPLOY_STANDIN_FORMAT", "3.1")
    monkeypatch.setenv("KADEPLOY_STANDIN_DOMAIN", "site.grid5000.fr")
    (standin / "fail").write_text("node-2 1\n")
    lines: list[str] = []
    k = Kadeployer(
        Deployment(["node-1", "node-2", Host("node-3")], env_name="debian11-min"),
        stdout_handlers=[lines.append],
    )
    assert k.name == "Kadeployer on 3 hosts / 1 frontends" and k.frontends == [None]
    assert k.deployed_hosts == set() and k.undeployed_hosts == set()
    async with k:
        await k.processes[0].expect("^Nodes not correctly deployed")
        assert k.deployed_hosts == {Host("node-1"), Host("node-3")}
    assert k.ok and k.finished_ok
    assert k.undeployed_hosts == {Host("node-2")}
    assert k.reasons == {"node-2": "Timeout in the wait_reboot step"}
    assert "local: Nodes correctly deployed on cluster node" in lines
    assert "local: node-1.site.grid5000.fr" in lines
    result = k.result()
    assert result.deployed == [Host("node-1"), Host("node-3")]
    # Run again (reset): node-2 deploys now.
    k.reset()
    await k.run()
    assert k.undeployed_hosts == set() and len(k.deployed_hosts) == 3


async def test_kadeployer_not_ok_when_nothing_deploys(standin: Path) -> None:
    (standin / "fail").write_text("node-1 always\nnode-2 always\n")
    k = await Kadeployer(Deployment(["node-1", "node-2"], env_name="e")).run()
    assert k.processes[0].ok  # kadeploy3 itself ran fine
    assert not k.ok and k.deployed_hosts == set()
    assert k.undeployed_hosts == {Host("node-1"), Host("node-2")}


async def test_kadeployer_reports_what_kadeploy_did_not(standin: Path) -> None:
    """A kadeploy3 that fails outright (an unknown environment) reports no node."""
    k = await Kadeployer(Deployment(["node-1"], env_name="missing-env")).run()
    assert not k.ok
    assert "does not exist" in k.processes[0].stderr
    assert k.reasons == {
        "node-1": "not in kadeploy3's report (kadeploy3: exit code 1: "
        "ERROR: The environment missing-env does not exist)"
    }


def test_kadeployer_bad_input_fails_before_anything_runs() -> None:
    with pytest.raises(ValueError, match="no environment"):
        Kadeployer(Deployment(["node-1"]))
    with pytest.raises(ValueError, match=r"cannot tell the frontend of host 'a\.b\.c\.example'"):
        Kadeployer(Deployment(["a.b.c.example"], env_name="e"))
    with pytest.raises(ValueError, match="no hosts"):
        Kadeployer(Deployment([], env_name="e"))
    with pytest.raises(TypeError, match="keyword"):
        Kadeployer(Deployment(["n"], env_name="e"), timout=3)  # type: ignore[call-arg]


async def test_kadeployer_one_process_per_frontend_over_ssh(
    standin: Path, sshd: LoopbackSshd
) -> None:
    """Nodes of two sites: two kadeploy3, each on its site's frontend (real ssh to a
    loopback sshd standing for both frontends); output lines prefixed by frontend."""
    (standin / "fail").write_text("n-2.siteb.grid5000.fr 1\n")
    frontend_params = {
        "host_rewrite_func": lambda site: "127.0.0.2",
        "port": sshd.port,
        "keyfile": str(sshd.keyfile),
    }
    lines: list[str] = []
    hosts = ["n-1.sitea.grid5000.fr", "n-3.siteb.grid5000.fr", "n-2.siteb.grid5000.fr"]
    k = Kadeployer(
        Deployment(hosts, env_name="e"),
        frontend_connection_params=frontend_params,
        stdout_handlers=[lines.append],
    )
    assert k.frontends == ["sitea", "siteb"]
    assert [p.name for p in k.processes] == ["kadeploy3 on sitea", "kadeploy3 on siteb"]
    await k.run()
    assert all(p.host == Host("sitea" if i == 0 else "siteb") for i, p in enumerate(k.processes))
    assert k.deployed_hosts == {Host("n-1.sitea.grid5000.fr"), Host("n-3.siteb.grid5000.fr")}
    assert k.undeployed_hosts == {Host("n-2.siteb.grid5000.fr")}
    assert "sitea: The deployment is successful on nodes" in lines
    assert "siteb: The deployment failed on nodes" in lines
    assert sorted(runs(standin)) == [
        ["n-1.sitea.grid5000.fr"],
        ["n-3.siteb.grid5000.fr", "n-2.siteb.grid5000.fr"],
    ]


async def test_deploy_uses_kadeployer_with_checks_on_real_ssh(
    standin: Path, sshd: LoopbackSshd
) -> None:
    """deploy(): the check command over real ssh (each loopback host looks for its own
    marker), the stand-in for the rest, retried until every node is deployed."""
    hosts = sshd.hosts[:3]
    node_params = {"port": sshd.port, "keyfile": str(sshd.keyfile)}
    check = f"test -e {standin}/deployed/$(echo $SSH_CONNECTION | cut -d' ' -f3)"
    (standin / "deployed").mkdir()
    (standin / "deployed" / hosts[0].address).touch()  # deployed already
    (standin / "fail").write_text(f"{hosts[1].address} 1\n")
    result = await deploy(Deployment(hosts, env_name="e"), check, node_params, num_tries=2)
    assert result.deployed == [Host(h.address) for h in hosts] and result.undeployed == []
    assert runs(standin) == [[hosts[1].address, hosts[2].address], [hosts[1].address]]
    assert len(result.processes) == 2


@pytest.mark.root
async def test_deploy_checks_retries_and_stops_when_enough(oar: OarCluster, standin: Path) -> None:
    """On the real OAR test nodes (their own hostnames), over ssh as the OAR test user."""
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
