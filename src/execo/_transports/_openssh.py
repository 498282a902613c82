"""The OpenSSH transport: a command runs under a local ``ssh`` client, a copy under ``scp``.

Commands carry the pid marker of :mod:`execo._transports._remote_command`; killing or
signalling runs the kill script through a second ssh connection, then the local client ends
by itself. A command whose marker never arrived, with ssh's exit status 255, never ran: the
host was unreachable (or the login failed) and the client's last line of stderr says why. scp
has no marker: its connection errors are recognised in its stderr.
"""

from __future__ import annotations

import contextvars
import dataclasses
import os
import re
import secrets
import signal as _signal
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio

from .._core._channel import ByteSource, ChannelInfo, ExitStatus
from .._core._config import DEFAULT_SSH_CONFIG, EffectiveConnectionParams
from .._core._local import LocalChannel, spawn_local
from ._base import Batch, CommandRequest, CopyRequest, Request
from ._remote_command import RemoteCommand, Watchdog, keeper_command

__all__ = [
    "OpenSshTransport",
    "ScpChannel",
    "config_file_options",
    "login_options",
    "scp_argv",
    "scp_argv_prefix",
    "ssh_argv",
]


def ssh_argv(params: EffectiveConnectionParams, address: str, *, pty: bool) -> list[str]:
    """The ssh client argv up to and including the destination (pure).

    BatchMode and ConnectTimeout are always set, so ssh never prompts and never hangs
    connecting.
    """
    argv = [params.ssh, *config_file_options(params), *params.ssh_options]
    argv += ["-tt" if pty else "-T", *login_options(params)]
    argv += ["--", params.rewritten_address(address)]
    return argv


def login_options(params: EffectiveConnectionParams) -> list[str]:
    """The OpenSSH options every connection gets (pure): batch mode, connect timeout, the
    user, key and port of the host, if set, the key exchange algorithms, if chosen, and
    keepalives (shared by ssh, scp and taktuk's connector)."""
    argv = ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={max(1, round(params.connect_timeout))}"]
    if params.user:
        argv += ["-o", f"User={params.user}"]
    if params.keyfile:
        argv += ["-i", params.keyfile]
    if params.port:
        argv += ["-o", f"Port={params.port}"]
    if params.kex_algorithms:
        argv += ["-o", f"KexAlgorithms={','.join(params.kex_algorithms)}"]
    if params.keepalive_timeout is not None:
        # A silently cut connection: the client gives up within keepalive_timeout.
        interval = max(1, round(params.keepalive_timeout / 3))
        argv += ["-o", f"ServerAliveInterval={interval}", "-o", "ServerAliveCountMax=3"]
    return argv


def config_file_options(params: EffectiveConnectionParams) -> list[str]:
    """``-F file`` when the configured ssh_config is not OpenSSH's default (pure)."""
    if params.ssh_config == DEFAULT_SSH_CONFIG:
        return []
    return ["-F", params.ssh_config or "/dev/null"]


def scp_argv_prefix(params: EffectiveConnectionParams) -> list[str]:
    """The scp argv before the file arguments (pure): batch mode, timeout, auth."""
    argv = [params.scp, *config_file_options(params), *params.scp_options]
    argv += login_options(params)
    return argv


def scp_argv(request: CopyRequest) -> list[str]:
    """The whole scp command line of a copy (pure; argv words, so spaces are safe)."""
    params = request.params
    address = params.rewritten_address(request.host.address)
    if ":" in address:  # IPv6: scp reads host:path, so the address goes in brackets
        address = f"[{address}]"
    prefix = [*scp_argv_prefix(params), "--"]
    if request.direction == "put":
        return [*prefix, *request.sources, f"{address}:{request.destination}"]
    return [*prefix, *(f"{address}:{s}" for s in request.sources), request.destination]


def _local_env(request: CommandRequest) -> dict[str, str] | None:
    return {**os.environ, **request.local_env} if request.local_env is not None else None


class _LocalClient:
    """A channel carried by a local client program (ssh, scp): what they share."""

    def __init__(self, local: LocalChannel, remote: RemoteCommand) -> None:
        self._local = local
        self._remote = remote
        self.info: ChannelInfo = remote.info
        self.pid = local.pid

    def has_exited(self) -> bool:
        return self._local.has_exited()

    async def send(self, data: bytes) -> None:
        await self._local.send(data)

    async def close_stdin(self) -> None:
        await self._local.close_stdin()

    async def aclose(self) -> None:
        await self._local.aclose()


class _SshChannel(_LocalClient):
    """A local ssh client running one remote command."""

    def __init__(self, request: CommandRequest, remote: RemoteCommand, local: LocalChannel) -> None:
        super().__init__(local, remote)
        self._request = request
        self.stdout: ByteSource | None = remote.source(local.stdout, marker=request.pty)
        self.stderr: ByteSource | None = remote.source(
            local.stderr, marker=not request.pty, tail=True
        )

    async def wait(self) -> ExitStatus:
        status = await self._local.wait()
        if status.exit_code == 255 and self.info.remote_pid is None:
            self.info.connect_error = self._remote.last_line() or "ssh exited with 255"
        return status

    async def _run_script(self, script: str) -> int | None:
        p = self._request
        argv = [*ssh_argv(p.params, p.host.address, pty=False), script]
        channel = await spawn_local(argv, env=None, cwd=None, pty=False, stdin=False)
        try:
            return (await channel.wait()).exit_code
        finally:
            await channel.aclose()

    def _bound(self, grace: float) -> float:
        return self._request.params.connect_timeout + grace + 5

    async def signal(self, sig: int) -> None:
        if not self._local.has_exited():
            await self._remote.signal(self._run_script, sig=sig, bound=self._bound(0))

    async def terminate(self, grace: float, sig: int = _signal.SIGTERM) -> bool:
        forced = await self._remote.kill(
            self._run_script,
            grace=grace,
            sig=sig,
            bound=self._bound(grace),
            exited=self._local.has_exited,
        )
        if self.info.remote_pid is not None and not self._local.has_exited():
            # ssh ends by itself once the remote command is gone.
            with anyio.move_on_after(min(grace, 2.0)):
                await self._local.wait()
        if not self._local.has_exited():
            forced = await self._local.terminate(grace) or forced
        return forced


_UNREACHABLE = re.compile(
    r"ssh: connect to host|Connection (refused|timed out|closed by|reset)|No route to host|"
    r"Could not resolve hostname|Permission denied \(|kex_exchange_identification|"
    r"Host key verification failed|lost connection"
)


class ScpChannel(_LocalClient):
    """A local scp process; its connection errors (in its stderr) make the host unreachable."""

    def __init__(self, local: LocalChannel) -> None:
        super().__init__(local, RemoteCommand("", pty=False))  # only for the stderr tail
        self.stdout: ByteSource | None = local.stdout
        self.stderr: ByteSource | None = self._remote.source(local.stderr, marker=False, tail=True)

    async def wait(self) -> ExitStatus:
        status = await self._local.wait()
        if status.exit_code not in (0, None):
            lines = [ln for ln in self._remote.tail.splitlines() if _UNREACHABLE.search(ln)]
            if lines:
                self.info.connect_error = lines[-1].strip()
        return status

    async def signal(self, sig: int) -> None:
        await self._local.signal(sig)

    async def terminate(self, grace: float, sig: int = _signal.SIGTERM) -> bool:
        return await self._local.terminate(grace, sig)


class _Keeper:
    """The heartbeat keeper of one target in a batch: an extra ssh client running
    :func:`keeper_command`, fed a line every ``every`` seconds while commands of the batch run
    on that target (started only once one has run for ``_KEEPER_DELAY``: short commands
    cost no second connection)."""

    def __init__(self, name: str, argv: list[str], every: float) -> None:
        self.name = name
        self.argv = argv
        self.every = every
        self.channels: list[_SshChannel] = []

    def busy(self) -> bool:
        """Some command of this target has started remotely and still runs."""
        return any(not c.has_exited() and c.info.remote_pid is not None for c in self.channels)

    async def run(self) -> None:
        await anyio.sleep(_KEEPER_DELAY)
        while self.busy():
            try:
                local = await spawn_local(self.argv, env=None, cwd=None, pty=False)
            except OSError:
                return  # no keeper: the commands' watchdogs stay unarmed, nothing worse
            try:
                while self.busy() and not local.has_exited():
                    try:
                        await local.send(b"\n")
                    except OSError:
                        break
                    with anyio.move_on_after(self.every):
                        await local.wait()
            finally:
                with anyio.CancelScope(shield=True):
                    await local.close_stdin()  # the remote loop ends, its file goes
                    with anyio.move_on_after(0.5):
                        await local.wait()
                    if not local.has_exited():
                        await local.terminate(0.5)
                    await local.aclose()
            if self.busy():
                await anyio.sleep(1.0)  # the connection broke: try again (a cut fails)


class _OpenSshBatch(Batch):
    """The keepers of a batch, one per target of its commands (when silent cuts are
    watched: ``keepalive_timeout`` not None)."""

    def __init__(self, requests: Sequence[Request]) -> None:
        self.ids = {id(r) for r in requests}
        self.keepers: dict[tuple[str, ...], _Keeper] = {}
        tag = secrets.token_hex(4)
        for r in requests:
            if not isinstance(r, CommandRequest) or r.watchdog is None:
                continue
            bound = r.params.keepalive_timeout
            if bound is None or r.watchdog.stale is None:
                continue
            key = tuple(ssh_argv(r.params, r.host.address, pty=False))
            if key not in self.keepers:
                name = f".execo-hb-{tag}-{len(self.keepers) + 1}"
                keeper = keeper_command(name, Watchdog(stale=max(1.0, bound * 0.8)))
                self.keepers[key] = _Keeper(name, [*key, keeper], max(0.5, bound / 10))

    def keeper_for(self, request: CommandRequest) -> _Keeper | None:
        return self.keepers.get(tuple(ssh_argv(request.params, request.host.address, pty=False)))


_KEEPER_DELAY = 1.0
_batches: contextvars.ContextVar[tuple[_OpenSshBatch, ...]] = contextvars.ContextVar(
    "execo_openssh_batches", default=()
)


@asynccontextmanager
async def _batch(requests: Sequence[Request]) -> AsyncIterator[Batch]:
    enclosing = _batches.get()
    if requests and all(any(id(r) in b.ids for b in enclosing) for r in requests):
        yield Batch()  # its commands are those of an enclosing batch
        return
    batch = _OpenSshBatch(requests)
    if not batch.keepers:
        yield batch
        return
    token = _batches.set((*enclosing, batch))
    try:
        async with anyio.create_task_group() as tg:
            for keeper in batch.keepers.values():
                tg.start_soon(keeper.run)
            try:
                yield batch
            finally:
                tg.cancel_scope.cancel()  # every command has ended: the keepers go
    finally:
        _batches.reset(token)


class OpenSshTransport:
    """Commands under the OpenSSH client (``ssh``), copies under ``scp``: one local client
    per command, so ``~/.ssh/config``, ProxyJump, ControlMaster and agents all apply. A
    batch keeps one heartbeat connection per target of its commands that run more than a
    second, so that a connection cut silently ends them (see :mod:`._remote_command`)."""

    name = "ssh"

    def validate(self, requests: Sequence[Request]) -> None:
        pass

    def batch(self, requests: Sequence[Request]) -> AbstractAsyncContextManager[Batch]:
        return _batch(requests)

    def command_argv(self, request: CommandRequest, remote: RemoteCommand) -> list[str]:
        """The local ssh client's whole argv for a command (pure)."""
        argv = ssh_argv(request.params, request.host.address, pty=request.pty)
        return [*argv, remote.wrapped]

    async def open(self, request: Request) -> _SshChannel | ScpChannel:
        if isinstance(request, CopyRequest):
            argv = scp_argv(request)
            return ScpChannel(await spawn_local(argv, env=None, cwd=None, pty=False, stdin=False))
        keeper = next(
            (k for b in _batches.get() if id(request) in b.ids if (k := b.keeper_for(request))),
            None,
        )
        watchdog = request.watchdog
        if keeper is not None and watchdog is not None:
            watchdog = dataclasses.replace(watchdog, heartbeat=keeper.name)
        remote = RemoteCommand(request.command, pty=request.pty, watchdog=watchdog)
        local = await spawn_local(
            self.command_argv(request, remote),
            env=_local_env(request),
            cwd=request.local_cwd,
            pty=False,
            stdin=request.stdin,
            supervised=request.watchdog is not None,
        )
        channel = _SshChannel(request, remote, local)
        if keeper is not None:
            keeper.channels.append(channel)
        return channel

    def __repr__(self) -> str:
        return "OpenSshTransport()"
