"""The loopback cluster (any user): one sshd per host on 127.0.0.x, a private HOME each.

All hosts share the machine's network stack, hostname and file system, except ``HOME``.
Killing a host's sshd works; link faults and netem need the netns mode.
"""

from __future__ import annotations

import secrets
import subprocess
import tempfile
from pathlib import Path

from .._core._host import Host
from ._backend import MARKER, Backend, Node, remove_workdir, write_ssh_config
from ._errors import TestbedError
from ._sshd import LoopbackSshd
from ._state import (
    ClusterState,
    claim_state,
    descendants,
    kill_refs,
    proc_ref,
    remove_state,
    wait_gone,
    write_state,
)

__all__ = ["LoopbackBackend", "loopback_teardown"]

MAX_HOSTS = 250


class LoopbackBackend(Backend):
    """Runs a loopback cluster on :class:`~execo.testbed.LoopbackSshd` (one server per host)."""

    mode = "loopback"

    def __init__(self, state: ClusterState, *, state_dir: Path, prefix: str) -> None:
        super().__init__(state)
        if not 1 <= state.n <= MAX_HOSTS:
            raise ValueError(f"a loopback cluster has 1..{MAX_HOSTS} hosts, got {state.n}")
        self._state_dir = state_dir
        self._prefix = prefix
        self._sshd: LoopbackSshd | None = None

    def start(self) -> None:
        while True:
            self.state.id = f"lo-{secrets.token_hex(4)}"
            if claim_state(self._state_dir, self.state):
                break
        workdir = Path(tempfile.mkdtemp(prefix=f"execo-testbed-{self.state.id}-"))
        (workdir / MARKER).touch()
        self.state.workdir = str(workdir)
        write_state(self.state)
        names = [f"{self._prefix}-{i}" for i in range(1, self.state.n + 1)]
        homes = [workdir / "hosts" / name / "home" for name in names]
        sshd = LoopbackSshd(self.state.n, workdir=workdir, addresses_per_sshd=1, homes=homes)
        self._sshd = sshd
        try:
            sshd.start()
        except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
            raise TestbedError(f"loopback sshd failed to start: {e}") from e
        self.state.keyfile = str(sshd.keyfile)
        for name, address, home in zip(names, sshd.addresses, homes, strict=True):
            host = Host(address, port=sshd.port, keyfile=str(sshd.keyfile))
            self.nodes.append(Node(name=name, host=host, home=home))
            self.state.hosts.append({"name": name, "address": address, "port": sshd.port})
        write_ssh_config(workdir / "ssh_config", self.nodes)
        self._record_servers()

    def _record_servers(self) -> None:
        assert self._sshd is not None
        self.state.servers = [r for r in map(proc_ref, self._sshd.pids) if r is not None]
        write_state(self.state)

    def _index(self, node: Node) -> int:
        assert self._sshd is not None
        return self._sshd.server_of(node.host.address)

    def kill_sshd(self, node: Node) -> None:
        assert self._sshd is not None
        self._sshd.stop_server(self._index(node))
        self._record_servers()

    def restart_sshd(self, node: Node) -> None:
        assert self._sshd is not None
        try:
            self._sshd.start_server(self._index(node))
        except RuntimeError as e:
            raise TestbedError(f"{node.name}: sshd failed to restart: {e}") from e
        finally:
            self._record_servers()

    def stop(self) -> None:
        sshd, self._sshd = self._sshd, None
        loopback_teardown(self.state, sshd)


def loopback_teardown(state: ClusterState, sshd: LoopbackSshd | None = None) -> list[str]:
    """Undo a loopback cluster from its record; returns the processes that survived.

    The sessions the servers forked are killed first (found as their descendants), then the
    servers themselves (reaped through ``sshd`` when this process started them).
    """
    servers = [s for s in state.servers if s.alive()]
    sessions = descendants(s.pid for s in servers)
    kill_refs(sessions)
    if sshd is not None:
        sshd.stop()
    kill_refs(servers)
    left = [f"pid {r.pid}" for r in wait_gone(sessions + servers)]
    remove_workdir(state.workdir)
    if not left:
        remove_state(state)
    return left
