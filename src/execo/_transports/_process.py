"""The process kinds that run over a transport: a remote command (:class:`SshProcess`, and
:class:`TaktukProcess`, the same over taktuk) and a copy (:class:`CopyProcess`, with
:class:`SftpProcess` for asyncssh's SFTP; :class:`ScpProcess` is a local scp command line).

They only build a request (:mod:`._base`) and let the transport open it: the state model,
output, expect, kill and timeout are :class:`~execo.ProcessBase`'s.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Literal, Unpack

from .._core._channel import Channel
from .._core._config import (
    ConnectionParamsLike,
    EffectiveConnectionParams,
    resolve_connection_params,
)
from .._core._host import Host, HostLike
from .._core._local import Process, spawn_local
from .._core._options import check_keywords
from .._core._process import LocalProcessOptions, ProcessBase, ProcessOptions, SshProcessOptions
from .._core._util import str_from_cmdline
from ._base import CommandRequest, CopyRequest, Transport, Watchdog
from ._factories import TransportLike, copy_transport, remote_transport, transport_named
from ._openssh import ScpChannel

__all__ = [
    "CopyProcess",
    "ScpProcess",
    "SftpProcess",
    "SshProcess",
    "TaktukProcess",
    "watchdog_for",
]


def watchdog_for(params: EffectiveConnectionParams) -> Watchdog:
    """The remote watchdog the connection parameters ask for (no heartbeat yet: the
    transport that keeps one adds its file)."""
    bound = params.keepalive_timeout
    stale = (
        0.0 if bound is None else max(1.0, bound - params.watchdog_period - params.watchdog_grace)
    )
    return Watchdog(period=params.watchdog_period, grace=params.watchdog_grace, stale=stale)


class SshProcess(ProcessBase):
    """A command run on a remote host, over any transport.

    Args:
        cmd: the remote command, a shell string (an argv sequence is shell-quoted).
        host: where to run it; its user/keyfile/port win over ``connection_params``.
        connection_params: per-call connection parameters (a ConnectionParams or dict).
        pty: allocate a remote pty (``ssh -tt``); stderr is then merged into stdout by the
            remote terminal. Default: the connection parameters' ``pty``.
        transport: ``"ssh"`` (the OpenSSH client, a local subprocess), ``"asyncssh"`` (a
            session of a pooled in-process connection, see :func:`~execo.ssh_pool`),
            ``"taktuk"``, or a transport object. Default: ``configuration["remote_tool"]``
            when it names ssh or asyncssh, else ssh.
        **options: see :class:`~execo.SshProcessOptions` (``timeout``, handlers, flags...).

    Attributes:
        remote_pid: pid of the remote shell, which leads the remote process group.
        transport: the transport object.
    """

    _kind = "SshProcess"

    def __init__(
        self,
        cmd: str | Sequence[str],
        host: HostLike,
        *,
        connection_params: ConnectionParamsLike = None,
        pty: bool | None = None,
        transport: TransportLike = None,
        **options: Unpack[SshProcessOptions],
    ) -> None:
        if "shell" in options:
            raise TypeError(
                f"{type(self).__name__}() runs its command through the remote shell: no shell="
            )
        check_keywords(self, options, SshProcessOptions)
        self._host = Host.of(host)
        self.connection_params = connection_params
        self.params = resolve_connection_params(connection_params, self._host)
        self.transport: Transport = remote_transport(transport)
        super().__init__(cmd, pty=self.params.pty if pty is None else pty, **options)
        self.host = self._host

    def _clear_state(self) -> None:
        super()._clear_state()
        self._request: CommandRequest | None = None

    @property
    def remote_cmd(self) -> str:
        """The remote command line, as the remote shell receives it (before our prefix)."""
        return str_from_cmdline(self.cmd)

    @property
    def remote_pid(self) -> int | None:
        """Pid of the remote shell (the leader of the remote process group), once known."""
        return self._channel.info.remote_pid if self._channel is not None else None

    def request(self) -> CommandRequest:
        """What this run asks of the transport (built at the start of a run, then kept)."""
        if self._request is None:
            self._request = self.make_request()
        return self._request

    def make_request(self) -> CommandRequest:
        """A request from the attributes as they are now."""
        assert self.host is not None
        return CommandRequest(
            host=self.host,
            params=self.params,
            command=self.remote_cmd,
            pty=self.pty,
            stdin=self.stdin,
            kill_grace=self._grace(),
            watchdog=None if self.detach else watchdog_for(self.params),
            local_env=self.env,
            local_cwd=self.cwd,
        )

    def _run_scope(self) -> AbstractAsyncContextManager[object]:
        return self.transport.batch([self.request()])

    async def _spawn(self) -> Channel:
        return await self.transport.open(self.request())

    def _state_fields(self) -> list[str]:
        fields = super()._state_fields()
        if self.remote_pid is not None:
            fields.append(f"remote_pid={self.remote_pid}")
        return fields

    def __repr__(self) -> str:
        return f"<{self._kind} {self.name!r} on {self.host} {self.status.value}>"


class TaktukProcess(SshProcess):
    """A command on one host over taktuk (the processes of :class:`~execo.TaktukRemote`).

    Run on its own it drives a taktuk of its own; in a TaktukRemote, one taktuk carries every
    host. It has the state model of every process (``exit_code``, ``exit_signal``,
    ``stdout`` with its newlines, ``stderr``, ``timeouted``, ``killed``, ``status``
    UNREACHABLE when taktuk could not connect or lost the connection).

    Args:
        cmd: the remote command.
        host: where.
        connection_params: per-call connection parameters (taktuk's and its connector's).
        **options: see :class:`~execo.ProcessOptions` (no pty, shell, env or cwd with
            taktuk).
    """

    _kind = "TaktukProcess"

    def __init__(
        self,
        cmd: str | Sequence[str],
        host: HostLike,
        *,
        connection_params: ConnectionParamsLike = None,
        **options: Unpack[ProcessOptions],
    ) -> None:
        for bad in ("shell", "pty", "env", "cwd"):
            if bad in options:
                raise TypeError(f"{type(self).__name__}() does not support {bad}= (taktuk)")
        check_keywords(self, options, ProcessOptions)
        super().__init__(
            cmd,
            host,
            connection_params=connection_params,
            pty=False,
            transport=transport_named("taktuk"),
            **options,
        )


def _copy_name(direction: str, host: Host, sources: Sequence[str], destination: str) -> str:
    what = " ".join(os.path.basename(s.rstrip("/")) or s for s in sources)
    if direction == "put":
        return f"put {what} → {host.address}:{destination}"
    return f"get {host.address}:{what} → {destination}"


class CopyProcess(ProcessBase):
    """A copy between here and one host, over any transport (the processes of
    :class:`~execo.Put` and :class:`~execo.Get`).

    Args:
        host: the remote end.
        direction: ``"put"`` (local ``sources`` to the remote ``destination``) or ``"get"``.
        sources: what to copy (recursively); local ones (put) may start with ``~``.
        destination: where; for a get, a local directory (``~`` expanded), made when it
            does not exist.
        connection_params: per-call connection parameters; or
        params: already resolved ones.
        transport: ``"scp"`` (OpenSSH), ``"asyncssh"`` (SFTP), ``"taktuk"`` or a
            transport object; default ``configuration["fileput_tool"]`` (or
            ``fileget_tool``) when it names scp or asyncssh, else scp.
        **options: see :class:`~execo.ProcessOptions`.
    """

    _kind = "CopyProcess"

    def __init__(
        self,
        host: HostLike,
        direction: Literal["put", "get"],
        sources: Sequence[str],
        destination: str,
        *,
        connection_params: ConnectionParamsLike = None,
        params: EffectiveConnectionParams | None = None,
        transport: TransportLike = None,
        **options: Unpack[ProcessOptions],
    ) -> None:
        check_keywords(self, options, ProcessOptions)
        if direction not in ("put", "get"):
            raise ValueError(f"direction must be 'put' or 'get', got {direction!r}")
        h = Host.of(host)
        self.direction: Literal["put", "get"] = direction
        # The local side's "~" is ours to expand (scp and SFTP would take it literally).
        local = os.path.expanduser
        self.sources = [
            local(os.fspath(s)) if direction == "put" else os.fspath(s) for s in sources
        ]
        self.destination = (
            local(os.fspath(destination)) if direction == "get" else os.fspath(destination)
        )
        self.connection_params = connection_params
        self.params = (
            params if params is not None else resolve_connection_params(connection_params, h)
        )
        key: Literal["fileput_tool", "fileget_tool"] = (
            "fileput_tool" if direction == "put" else "fileget_tool"
        )
        self.transport: Transport = copy_transport(key, transport)
        options.setdefault("name", _copy_name(direction, h, self.sources, self.destination))
        description = f"{direction} {' '.join(self.sources)} {self.destination}"
        super().__init__(description, **options)
        self.host = h

    @property
    def put(self) -> bool:
        """Whether this copies to the host."""
        return self.direction == "put"

    def _clear_state(self) -> None:
        super()._clear_state()
        self._request: CopyRequest | None = None

    def request(self) -> CopyRequest:
        """What this run asks of the transport (built at the start of a run, then kept)."""
        if self._request is None:
            self._request = self.make_request()
        return self._request

    def make_request(self) -> CopyRequest:
        """A request from the attributes as they are now."""
        assert self.host is not None
        return CopyRequest(
            host=self.host,
            params=self.params,
            direction=self.direction,
            sources=tuple(self.sources),
            destination=self.destination,
        )

    def _run_scope(self) -> AbstractAsyncContextManager[object]:
        return self.transport.batch([self.request()])

    def _make_local_directory(self) -> None:
        """A get copies into a local directory: make it (a few syscalls, done inline)."""
        if self.direction == "get" and not os.path.lexists(self.destination):
            os.makedirs(self.destination)

    async def _spawn(self) -> Channel:
        self._make_local_directory()
        return await self.transport.open(self.request())

    def __repr__(self) -> str:
        return f"<{self._kind} {self.name!r} {self.status.value}>"


class SftpProcess(CopyProcess):
    """A copy to (``put=True``) or from a host over SFTP, on a pooled asyncssh connection.

    Sources of a get are remote glob patterns; a failure's message is on ``stderr``.
    """

    _kind = "SftpProcess"

    def __init__(
        self,
        host: Host,
        params: EffectiveConnectionParams,
        *,
        put: bool,
        sources: Sequence[str],
        destination: str,
        **options: Unpack[ProcessOptions],
    ) -> None:
        super().__init__(
            host,
            "put" if put else "get",
            sources,
            destination,
            params=params,
            transport=transport_named("asyncssh"),
            **options,
        )


class ScpProcess(Process):
    """A local ``scp`` command line (argv given) that tells an unreachable host apart: its
    connection errors make it UNREACHABLE, as for every other transport."""

    _kind = "ScpProcess"

    def __init__(self, cmd: str | Sequence[str], **options: Unpack[LocalProcessOptions]) -> None:
        super().__init__(cmd, **options)

    async def _spawn(self) -> Channel:
        env = {**os.environ, **self.env} if self.env is not None else None
        local = await spawn_local(self.argv(), env=env, cwd=self.cwd, pty=False, stdin=self.stdin)
        return ScpChannel(local)
