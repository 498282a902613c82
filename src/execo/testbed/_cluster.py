"""LocalCluster: N real SSH hosts on this machine, as an async context manager."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Literal, Self, TypeVar

import anyio
import anyio.to_thread

from .._core._config import ConnectionParams
from .._core._host import Host
from ._backend import Backend, Node, Shaping
from ._errors import TestbedError
from ._loopback import LoopbackBackend, loopback_teardown
from ._netns import DEFAULT_SUBNET, NetnsBackend, netns_available, netns_teardown
from ._state import (
    ClusterState,
    default_state_dir,
    ensure_state_dir,
    list_states,
    proc_ref,
)

__all__ = ["LocalCluster", "Mode", "clean_stale", "teardown"]

Mode = Literal["auto", "netns", "loopback"]

logger = logging.getLogger("execo.testbed")

_T = TypeVar("_T")


def teardown(state: ClusterState) -> list[str]:
    """Undo a recorded cluster (stale, detached or live); returns what is left (empty: all).

    Safe to call again on what is left.
    """
    if state.mode == "netns":
        return netns_teardown(state)
    return loopback_teardown(state)


def clean_stale(state_dir: Path | None = None) -> list[str]:
    """Tear down the clusters of ``state_dir`` whose owner process is gone; returns their ids.

    Clusters of another mode than this process can undo (netns ones without root) are
    skipped.
    """
    cleaned = []
    for state in list_states(state_dir or default_state_dir()):
        if not state.stale or (state.mode == "netns" and os.geteuid() != 0):
            continue
        left = teardown(state)
        if left:
            logger.warning("stale local cluster %s: could not remove %s", state.id, left)
        else:
            logger.info("stale local cluster %s cleaned up", state.id)
            cleaned.append(state.id)
    return cleaned


class LocalCluster:
    """A virtual cluster of ``n`` SSH hosts on this machine.

    Use it as ``async with LocalCluster(n) as cluster:``; ``cluster.hosts`` are
    :class:`~execo.Host` objects carrying the port and client key, ready for
    :class:`~execo.SshProcess`. Leaving the block (normally, by an exception or a
    cancellation) tears everything down. Clusters left behind by a crashed process are torn
    down when the next one starts (same state directory).

    Modes:

    * ``"netns"`` (root): each host has its own network namespace, address
      (``10.251.K.i``) on a bridge, hostname, sshd on port 22, ``HOME`` and ``/tmp``.
      All fault injections work.
    * ``"loopback"`` (any user): each host is a 127.0.0.x address with its own sshd and
      ``HOME``; network, hostname and ``/tmp`` are shared. Only :meth:`kill_sshd` and
      :meth:`restart_sshd` work; the other faults raise
      :class:`~execo.testbed.NotSupportedError`.
    * ``"auto"``: netns when root and it works, else loopback.

    Args:
        n: number of hosts.
        mode: see above.
        state_dir: where the state file goes (default: :func:`default_state_dir`).
        subnet: netns mode: the private IPv4 range the clusters' /24s are taken from.
        private_tmp: netns mode: give each host its own ``/tmp``.
        name_prefix: hosts are named ``<name_prefix>-1`` ... (letters, digits, dashes).
        startup_timeout: seconds to wait for all the sshd servers to answer.
    """

    def __init__(
        self,
        n: int,
        *,
        mode: Mode = "auto",
        state_dir: str | os.PathLike[str] | None = None,
        subnet: str = DEFAULT_SUBNET,
        private_tmp: bool = True,
        name_prefix: str = "node",
        startup_timeout: float = 60.0,
    ) -> None:
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        if mode not in ("auto", "netns", "loopback"):
            raise ValueError(f"mode must be 'auto', 'netns' or 'loopback', got {mode!r}")
        if not re.fullmatch(r"[a-z][a-z0-9-]{0,30}", name_prefix):
            raise ValueError(f"name_prefix must be [a-z][a-z0-9-]*, got {name_prefix!r}")
        self.n = n
        self.requested_mode: Mode = mode
        self.state_dir = Path(state_dir) if state_dir is not None else default_state_dir()
        self._subnet = subnet
        self._private_tmp = private_tmp
        self._prefix = name_prefix
        self._timeout = startup_timeout
        self._backend: Backend | None = None
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- access

    def _live(self) -> Backend:
        if self._backend is None:
            raise TestbedError("the local cluster is not started")
        return self._backend

    @property
    def mode(self) -> Literal["netns", "loopback"]:
        """The mode actually in use."""
        return "netns" if isinstance(self._live(), NetnsBackend) else "loopback"

    @property
    def id(self) -> str:
        """The cluster's name in the state directory (``ns0``, ``lo-1a2b3c4d``...)."""
        return self._live().state.id

    @property
    def nodes(self) -> list[Node]:
        """The hosts with their names and private directories."""
        return list(self._live().nodes)

    @property
    def hosts(self) -> list[Host]:
        """The hosts, carrying their port and the client key."""
        return [node.host for node in self._live().nodes]

    @property
    def connection_params(self) -> ConnectionParams:
        """Connection parameters that reach every host (client key, port, no host-key check)."""
        backend = self._live()
        return ConnectionParams(keyfile=backend.state.keyfile, port=backend.nodes[0].host.port)

    @property
    def workdir(self) -> Path:
        """Keys, configurations, logs, and each host's directory under ``hosts/<name>``."""
        return self._live().workdir

    @property
    def ssh_config(self) -> Path:
        """An ssh client configuration with every host by name: ``ssh -F <it> node-1``."""
        return self.workdir / "ssh_config"

    @property
    def state(self) -> ClusterState:
        """The cluster's record (as in its state file)."""
        return self._live().state

    def node(self, host: Host | str) -> Node:
        """The node of a host, given as a :class:`~execo.Host`, an address or a name.

        Raises:
            KeyError: no such host in this cluster.
        """
        for node in self._live().nodes:
            if isinstance(host, Host):
                if node.host.address == host.address:
                    return node
            elif host in (node.name, node.host.address):
                return node
        raise KeyError(f"{host} is not a host of this local cluster")

    # ------------------------------------------------------------- lifecycle

    def start(self, *, detached: bool = False) -> Self:
        """Bring the cluster up (blocking); :meth:`__aenter__` runs this in a thread.

        Args:
            detached: record no owner: the cluster lives on after this process, until
                :meth:`stop` or ``python -m execo.testbed down``.

        Raises:
            TestbedError: it could not be brought up (everything made so far is removed).
        """
        if self._backend is not None:
            raise TestbedError("the local cluster is already started")
        ensure_state_dir(self.state_dir)
        clean_stale(self.state_dir)
        mode = self.requested_mode
        reason = netns_available()
        if mode == "netns" and reason is not None:
            raise TestbedError(f"netns mode is not possible here: {reason}")
        if mode == "auto" and reason is None:
            try:
                return self._start("netns", detached)
            except TestbedError as e:
                logger.warning("netns cluster failed (%s); falling back to loopback", e)
        return self._start("loopback" if mode == "auto" else mode, detached)

    def _start(self, mode: Literal["netns", "loopback"], detached: bool) -> Self:
        owner = None if detached else proc_ref(os.getpid())
        state = ClusterState(id="", mode=mode, n=self.n, owner=owner, workdir="")
        backend: Backend
        if mode == "netns":
            backend = NetnsBackend(
                state,
                state_dir=self.state_dir,
                subnet=self._subnet,
                prefix=self._prefix,
                private_tmp=self._private_tmp,
                startup_timeout=self._timeout,
            )
        else:
            backend = LoopbackBackend(state, state_dir=self.state_dir, prefix=self._prefix)
        try:
            backend.start()
        except BaseException as e:
            if state.path is not None:
                backend.stop()
            if isinstance(e, OSError | subprocess.SubprocessError | RuntimeError):
                raise TestbedError(f"{mode} cluster failed to start: {e}") from e
            raise
        self._backend = backend
        return self

    def stop(self) -> None:
        """Tear everything down (blocking); a no-op if not started.

        Raises:
            TestbedError: something could not be removed (it stays recorded for ``down``).
        """
        backend, self._backend = self._backend, None
        if backend is None:
            return
        with self._lock:
            backend.stop()
        path = backend.state.path
        # The state file is removed only once everything is gone; else try once more.
        left = teardown(backend.state) if path is not None and path.exists() else []
        if left:
            raise TestbedError(f"local cluster {backend.state.id}: could not remove {left}")

    async def __aenter__(self) -> Self:
        try:
            return await anyio.to_thread.run_sync(self.start)
        except BaseException:
            # e.g. Ctrl-C delivered while the (uncancellable) start was running: the cluster
            # may be up, and nobody will call __aexit__.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self.stop)
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.stop)

    # ---------------------------------------------------------------- faults

    async def _do(self, func: Callable[[], _T]) -> _T:
        def locked() -> _T:
            with self._lock:
                return func()

        return await anyio.to_thread.run_sync(locked)

    async def take_down(self, host: Host | str) -> None:
        """Take the host's network link down (netns): it is unreachable, but its processes
        keep running, as in a network failure."""
        backend, node = self._live(), self.node(host)
        await self._do(lambda: backend.set_link(node, False))

    async def bring_up(self, host: Host | str) -> None:
        """Bring the host's network link back up (netns)."""
        backend, node = self._live(), self.node(host)
        await self._do(lambda: backend.set_link(node, True))

    async def cut_link(self, a: Host | str, b: Host | str) -> None:
        """Drop all traffic between hosts ``a`` and ``b``, both ways (netns: blackhole routes
        in both namespaces); both stay reachable from the controller and the others."""
        backend, na, nb = self._live(), self.node(a), self.node(b)
        if na == nb:
            raise ValueError("cut_link needs two different hosts")
        await self._do(lambda: backend.cut_link(na, nb, True))

    async def restore_link(self, a: Host | str, b: Host | str) -> None:
        """Undo :meth:`cut_link`."""
        backend, na, nb = self._live(), self.node(a), self.node(b)
        await self._do(lambda: backend.cut_link(na, nb, False))

    async def set_netem(
        self,
        host: Host | str,
        *,
        delay: float | None = None,
        jitter: float | None = None,
        loss: float | None = None,
        rate: str | int | None = None,
    ) -> None:
        """Shape the traffic leaving the host with ``tc netem`` (netns); replaces any previous
        shaping; with no argument, removes it.

        Args:
            delay: added one-way latency, seconds.
            jitter: delay variation, seconds.
            loss: packet loss, percent (0-100).
            rate: bandwidth: bits per second, or a tc rate string such as ``"10mbit"``.

        Raises:
            NotSupportedError: loopback mode; or the kernel lacks netem and delay or loss was
                asked (a rate alone then falls back to a token bucket filter).
        """
        shaping = Shaping(delay=delay, jitter=jitter, loss=loss, rate=rate)
        backend, node = self._live(), self.node(host)
        await self._do(lambda: backend.set_qdisc(node, shaping))

    async def clear_netem(self, host: Host | str) -> None:
        """Remove the traffic shaping of :meth:`set_netem`."""
        await self.set_netem(host)

    async def kill_sshd(self, host: Host | str) -> None:
        """Stop the host's sshd: new connections are refused; open sessions live on."""
        backend, node = self._live(), self.node(host)
        await self._do(lambda: backend.kill_sshd(node))

    async def restart_sshd(self, host: Host | str) -> None:
        """Start the host's sshd again (a no-op if it runs); returns once it answers."""
        backend, node = self._live(), self.node(host)
        await self._do(lambda: backend.restart_sshd(node))

    def __repr__(self) -> str:
        if self._backend is None:
            return f"<LocalCluster n={self.n} not started>"
        return f"<LocalCluster {self.id} {self.mode} n={self.n}>"
