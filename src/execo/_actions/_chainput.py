"""ChainPut: broadcast files along a TCP chain (here → h1 → h2 → ...) started by taktuk.

Every host runs a relay, passed inline as the command (nothing is copied beforehand and
nothing assumes the remote ``/tmp``): ``_chainput_relay.py`` where the host has Python 3.7 or
later (``chainput_python``), else ``_chainput.sh`` (sh, netcat, tee, sha256sum), both
shipped with the package. A relay listens on the file's port, keeps a copy and forwards the
stream to the next host that answers; a host that does not answer is skipped after a few
tries. The relays run as one :class:`~execo.TaktukRemote` per file (one identical command, so
taktuk broadcasts it once), or as a :class:`~execo.Remote` over another transport (each host
given its position). The local sender, the Python relay's send role run by this
interpreter, starts once every reachable host reports it is listening.

Each transfer has a secret of its own, given to the relays through their stdin (never on a
command line) and to the local sender through its environment; the stream starts with it, and
a relay refuses (keeps nothing, forwards nothing) a stream that does not: a connection from
anywhere else than the chain cannot inject data. Each relay checks at the end the byte count
and the sha256 of its copy against the source's: a wrong copy fails its host, it is never
reported as good. The stream is not encrypted.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import secrets
import shlex
import socket
import sys
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Any, Unpack

import anyio

from .._core._config import ConnectionParamsLike, configuration, resolve_connection_params
from .._core._host import HostLike, get_unique_hosts_list
from .._core._process import ProcessBase
from .._core._substitution import substitute_all
from .._transports._factories import TransportLike, remote_transport
from .._transports._taktuk import TaktukTransport
from ._action import Action, ActionOptions, Local, SequentialActions, _Started
from ._remote import Remote, RemoteProcessArgs, namespace_for
from ._taktuk import TaktukRemote

__all__ = ["ChainPut"]

_READY = r"^READY\b"  # "READY (python)" from the Python relay


def chainput_script() -> str:
    """The shell relay (package data)."""
    return resources.files("execo._actions").joinpath("_chainput.sh").read_text()


def chainput_python_relay() -> str:
    """The Python relay's source (it runs on its own: ``python3 -c <source> ...``)."""
    return resources.files("execo._actions").joinpath("_chainput_relay.py").read_text()


# Run as sh -c LAUNCH chainput PYTHON PYTHON_RELAY SHELL_RELAY ROLE ...: the Python relay
# where PYTHON (3.7 or later) is found, else the shell relay (PYTHON empty: always).
_LAUNCH = """py=$1 pysrc=$2 shsrc=$3
shift 3
if [ -n "$py" ] && command -v "$py" >/dev/null 2>&1 &&
    "$py" -c 'import sys; sys.exit(sys.version_info < (3, 7))' </dev/null 2>/dev/null; then
    exec "$py" -c "$pysrc" "$@"
fi
exec sh -c "$shsrc" chainput "$@"
"""


def _sha256(path: str) -> str:
    """The sha256 of a local file (what every copy must have), or "-" if it is no file."""
    if not os.path.isfile(path):
        return "-"
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _free_ports(count: int, port_range: tuple[int, int]) -> list[int]:
    """``count`` distinct ports of ``port_range`` that are free here, from a random start
    (so that two ChainPuts at once are unlikely to pick the same)."""
    start, end = port_range
    span = end - start
    first = random.randrange(span)
    ports: list[int] = []
    for i in range(span):
        port = start + (first + i) % span
        with socket.socket() as s:
            try:
                s.bind(("", port))
            except OSError:
                continue
        ports.append(port)
        if len(ports) == count:
            return ports
    raise OSError(f"not {count} free ports in {port_range}")


class _ChainCopy(Action):
    """One file along the chain: the relays (a TaktukRemote or a Remote), then the local
    sender."""

    _kind = "ChainPutFile"

    def __init__(
        self,
        relays: Remote,
        sender: Local,
        ready_timeout: float,
        drain_timeout: float,
        credentials: str,
    ) -> None:
        super().__init__(name=f"ChainPut {sender.name}")
        self.relays = relays
        self.sender = sender
        self.ready_timeout = ready_timeout
        self.drain_timeout = drain_timeout
        self._credentials = credentials  # "<secret> <sha256>", for the relays' stdin

    @property
    def processes(self) -> list[ProcessBase]:
        return [*self.relays.processes, *self.sender.processes]

    def _reset_processes(self) -> None:
        self.relays.reset()
        self.sender.reset()

    async def _body(self, status: _Started) -> None:
        status.ensure_started()
        async with self.relays:
            # Through stdin (never a command line): what each relay checks.
            await self.relays.write(self._credentials + "\n")
            ready = await self.relays.expect(_READY, timeout=self.ready_timeout)
            if any(found for _, found in ready):
                await self.sender.run()
            if self.sender.ok and any(found for _, found in ready):
                # The relays finish in cascade right after the sender; one whose upstream
                # broke would wait forever (netcat's -w does not bound the wait for a
                # connection).
                with anyio.move_on_after(self.drain_timeout):
                    await self.relays.wait()
            for p in self.relays.processes:
                p._expire()  # nothing (complete) will reach them: not ok, marked timed out


class ChainPut(SequentialActions):
    """Copy local files to many hosts along a TCP chain, each host forwarding to the next.

    Every link carries the data at once, so the time hardly grows with the number of hosts
    (scp from here, as :class:`~execo.Put` does, divides the bandwidth among them). Needs
    Python 3.7 or later (``chainput_python``) or netcat-traditional and ``sh`` on every
    host, and TCP from each host to the next.
    Duplicated hosts are removed. A host that cannot be reached is skipped (the previous
    host forwards to the next one). One port per file, chosen free here from
    ``configuration["port_range"]``; the relays keep their temporary files in the remote
    ``$TMPDIR`` (or ``/tmp``).

    Args:
        hosts: where to copy (order = chain order).
        local_files: the files to send.
        remote_location: remote directory (or file name, for one file); substituted per
            host (``{{{host}}}``, ``{{expr}}``).
        connection_params: taktuk, ssh and the ``chainput_*`` / ``nc`` settings.
        namespace: variables for ``{{expr}}``.
        transport: what starts the relays. None or ``"taktuk"``: one taktuk tree, as execo
            2.8.2 does; ``"ssh"``, ``"asyncssh"`` or a transport object: one remote command
            per host over it (with asyncssh, at a fifth of taktuk's start-up CPU on 20
            hosts). The data never goes through it.
        **options: see :class:`~execo.ActionOptions`.
    """

    _kind = "ChainPut"

    def __init__(
        self,
        hosts: Iterable[HostLike] | HostLike,
        local_files: Sequence[str],
        remote_location: str = ".",
        *,
        connection_params: ConnectionParamsLike = None,
        namespace: Mapping[str, Any] | None = None,
        transport: TransportLike = None,
        **options: Unpack[ActionOptions],
    ) -> None:
        if isinstance(local_files, str):
            local_files = [local_files]
        self.hosts = get_unique_hosts_list(hosts)
        self.local_files = [os.fspath(f) for f in local_files]
        self.remote_location = os.fspath(remote_location)
        self.connection_params = connection_params
        self.transport = remote_transport("taktuk" if transport is None else transport)
        self._namespace = namespace_for([self.remote_location], namespace)
        super().__init__(self._build(), hide_subactions=True, **options)

    def _default_name(self) -> str:
        return f"ChainPut to {len(self.hosts)} hosts"

    def _build(self) -> list[Action]:
        if not self.hosts or not self.local_files:
            return []
        p = resolve_connection_params(self.connection_params)
        retry = p.chainput_chain_retry
        hops = math.ceil(retry * len(self.hosts)) if isinstance(retry, float) else int(retry)
        dests = substitute_all(self.remote_location, self.hosts, self._namespace)
        chain: list[str] = []
        for host, dest in zip(self.hosts, dests, strict=True):
            params = resolve_connection_params(self.connection_params, host)
            chain += [params.rewritten_address(host.address), dest]
        ports = _free_ports(len(self.local_files), configuration["port_range"])
        python_relay = chainput_python_relay()
        launch = ["sh", "-c", _LAUNCH, "chainput", p.chainput_python or ""]
        launch += [python_relay, chainput_script()]
        ready_timeout = 2 * p.connect_timeout + 30
        copies: list[Action] = []
        for path, port in zip(self.local_files, ports, strict=True):
            size = os.path.getsize(path) if os.path.isfile(path) else -1
            secret = secrets.token_hex(16)  # per transfer: a stream without it is refused
            digest = _sha256(path)
            common = [
                p.nc,
                str(p.chainput_nc_client_timeout),
                str(p.chainput_nc_server_timeout),
                str(p.chainput_host_retry),
                str(max(1, hops)),
                str(p.chainput_try_delay),
                str(size),
            ]
            relay = [*launch, "relay", str(port), *common, os.path.basename(path.rstrip("/"))]
            relay += chain
            # The sender is this interpreter: the Python relay's send role (sendfile).
            python = sys.executable or "python3"  # empty in some embedded interpreters
            send = [python, "-c", python_relay, "send", str(port), *common]
            send += [path, *chain]
            name = os.path.basename(path.rstrip("/"))
            relays = self._relays(shlex.join(relay), f"chainput relay {name}")
            sender = Local(
                send,
                name=f"chainput send {name}",
                process_args={
                    "name": f"chainput send {name}",
                    "env": {"EXECO_CHAINPUT_SECRET": secret},
                },
            )
            drain = p.chainput_nc_server_timeout
            copies.append(_ChainCopy(relays, sender, ready_timeout, drain, f"{secret} {digest}"))
        return copies

    def _relays(self, cmd: str, name: str) -> Remote:
        """The relays: one taktuk tree (the same command everywhere, each relay finds its
        position in ``$TAKTUK_POSITION``), or one command per host with its position."""
        args: RemoteProcessArgs = {
            "ignore_expect_fail": True,
            "nolog_expect_fail": True,
            "name": name,
        }
        if isinstance(self.transport, TaktukTransport):
            return TaktukRemote(
                cmd,
                self.hosts,
                connection_params=self.connection_params,
                namespace={},
                name=name,
                process_args=args,
            )
        positions = list(range(1, len(self.hosts) + 1))
        return Remote(
            "EXECO_CHAINPUT_POSITION={{chainput_position}} " + cmd,
            self.hosts,
            connection_params=self.connection_params,
            namespace={"chainput_position": positions},
            transport=self.transport,
            name=name,
            process_args=args,
        )

    def _reset_processes(self) -> None:
        self.actions = self._build()
