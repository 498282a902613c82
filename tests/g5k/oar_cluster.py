"""A real OAR 2.5.9 server on this machine, for the tests (session fixture).

``scripts/oar_up.sh`` installs the Debian packages if needed (idempotent: about 2 s when
everything is there), starts PostgreSQL, OAR's server and one sshd per node (``node-1`` to
``node-4`` in network namespaces), and creates the non-root user ``oartest`` (OAR refuses
root's jobs). The tests reach the "frontend" as ``oartest@127.0.0.1`` over ssh, like a
script on a laptop reaching a site frontend, or locally through wrappers that run the OAR
commands as ``oartest`` (the ``no ssh`` path). At the end ``scripts/oar_down.sh`` stops
what was started, by pid, unless OAR was already running before the session; the packages
stay installed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from execo_g5k import config as g5k_config

ROOT = Path(__file__).resolve().parents[2]
STANDINS = Path(__file__).parent / "standins"
USER = "oartest"
BRING_UP: dict[str, float] = {}
_FINAL = ("Error", "Terminated")


def _almighty_running() -> bool:
    try:
        pid = int(Path("/var/run/oar-server.pid").read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


@dataclasses.dataclass
class OarCluster:
    """What the tests need to talk to the OAR server."""

    key: str  # oartest's private key (a copy readable by the tests)
    bindir: Path  # wrappers: oarsub/oarstat/oardel as oartest, oarsh, oargrid*, kadeploy3
    nodes: list[str]

    @property
    def frontend_params(self) -> dict[str, object]:
        """Any site name reaches the frontend as oartest@127.0.0.1."""
        return {"user": USER, "keyfile": self.key, "host_rewrite_func": lambda site: "127.0.0.1"}

    @property
    def node_params(self) -> dict[str, object]:
        """Plain ssh to the nodes (classic sshd on :22 in each node's namespace)."""
        return {"user": USER, "keyfile": self.key}

    @property
    def oarsh_params(self) -> dict[str, object]:
        """execo's default_oarsh_oarcp_params, with oarsh run as oartest."""
        return {"ssh": str(self.bindir / "oarsh-as-oartest"), "pty": True}

    def jobs(self) -> dict[int, dict[str, object]]:
        """Every current job, as root sees them."""
        out = subprocess.run(["oarstat", "-f", "-J"], capture_output=True, text=True).stdout
        return {int(k): v for k, v in json.loads(out).items()} if out.strip() else {}

    def delete_all_jobs(self) -> None:
        ids = [
            str(j) for j, f in self.jobs().items() if f.get("state") not in ("Error", "Terminated")
        ]
        if ids:
            subprocess.run(["oardel", *ids], capture_output=True)

    def settle_for_reservations(self) -> None:
        """Waits for one pass of OAR's scheduler (forced every 10 s by oar_up.sh).

        Until then the Gantt chart still holds the jobs just deleted, and an advance
        reservation over their resources is refused ("This reservation could run at...").
        """
        self.delete_all_jobs()
        # Deleted jobs go through Finishing first; the pass must come after they end.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(
            f.get("state") not in _FINAL for f in self.jobs().values()
        ):
            time.sleep(0.5)
        time.sleep(11)


def _wrapper(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)


def _make_bindir(bindir: Path) -> None:
    bindir.mkdir(parents=True, exist_ok=True)
    for tool in ("oarsub", "oarstat", "oardel", "oarnodes", "oarprint"):
        _wrapper(bindir / tool, f'cd ~{USER} && exec runuser -u {USER} -- /usr/bin/{tool} "$@"')
    _wrapper(bindir / "oarsh-as-oartest", f'exec runuser -u {USER} -- /usr/bin/oarsh "$@"')
    for tool in ("oargridsub", "oargridstat", "oargriddel"):
        (bindir / tool).symlink_to(STANDINS / "oargrid_standin.py")
    (bindir / "kadeploy3").symlink_to(STANDINS / "kadeploy3")


@pytest.fixture(scope="session")
def oar_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OarCluster]:
    if os.geteuid() != 0:
        pytest.skip("the real OAR server needs root (apt-get, PostgreSQL, network namespaces)")
    if shutil.which("apt-get") is None or not Path("/etc/debian_version").exists():
        pytest.skip("the real OAR server is brought up from Debian 12 packages (no apt-get here)")
    was_running = _almighty_running()
    tmp = tmp_path_factory.mktemp("oar")
    log = tmp / "oar_up.log"
    start = time.monotonic()
    with log.open("w") as out:
        for _ in range(2):  # once more if a daemon was slow to release its port
            rc = subprocess.run(
                ["bash", str(ROOT / "scripts" / "oar_up.sh")],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "OAR_SMOKE": "0"},
            ).returncode
            if rc == 0:
                break
    BRING_UP["seconds"] = time.monotonic() - start
    BRING_UP["was_running"] = float(was_running)
    if rc != 0:
        pytest.fail(f"scripts/oar_up.sh failed ({rc}):\n{log.read_text()[-3000:]}")
    key = tmp / "oartest_key"
    shutil.copy(Path(f"~{USER}/.ssh/id_rsa").expanduser(), key)
    key.chmod(0o600)
    bindir = tmp / "bin"
    _make_bindir(bindir)
    nodes = subprocess.run(["oarnodes", "-l"], capture_output=True, text=True).stdout.split()
    cluster = OarCluster(key=str(key), bindir=bindir, nodes=sorted(set(nodes)))
    cluster.delete_all_jobs()
    yield cluster
    cluster.delete_all_jobs()
    if not was_running:
        subprocess.run(["bash", str(ROOT / "scripts" / "oar_down.sh")], capture_output=True)


@pytest.fixture
def oar(oar_cluster: OarCluster) -> Iterator[OarCluster]:
    """The cluster, fast polling, no default frontend; leftover jobs deleted afterwards."""
    previous = g5k_config.set_g5k_configuration(
        dataclasses.replace(
            g5k_config.current_g5k_configuration(),
            polling_interval=1.0,
            tiny_polling_interval=0.5,
            default_frontend=None,
            default_timeout=120.0,
        )
    )
    oar_cluster.delete_all_jobs()
    try:
        yield oar_cluster
    finally:
        g5k_config.set_g5k_configuration(previous)
        oar_cluster.delete_all_jobs()
