"""Remote actions: Remote (a command per host), Put and Get, factories.

Each runs over OpenSSH (``ssh``/``scp`` subprocesses) or over asyncssh (sessions and SFTP
on pooled in-process connections), chosen per action (``transport=``) or by
``configuration`` (``remote_tool``, ``fileput_tool``, ``fileget_tool``).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from .._core._channel import ExitStatus
from .._core._config import (
    ConnectionParamsLike,
    EffectiveConnectionParams,
    configuration,
    resolve_connection_params,
)
from .._core._errors import ConfigurationError
from .._core._host import Host, HostLike, get_hosts_list
from .._core._process import Process, ProcessBase
from .._core._substitution import capture_namespace, needs_namespace, substitute_all
from .._core._util import name_from_cmdline, str_from_cmdline
from .._transports._openssh import SshProcess, config_file_options, login_options, transport_for
from ._action import Action, _Started

__all__ = [
    "Get",
    "Put",
    "Remote",
    "ScpProcess",
    "get_fileget",
    "get_fileput",
    "get_process",
    "get_remote",
    "scp_argv_prefix",
]

_UNREACHABLE = re.compile(
    r"ssh: connect to host|Connection (refused|timed out|closed by|reset)|No route to host|"
    r"Could not resolve hostname|Permission denied \(|kex_exchange_identification|"
    r"Host key verification failed|lost connection"
)


def scp_argv_prefix(params: EffectiveConnectionParams) -> list[str]:
    """The scp argv before the file arguments (pure): batch mode, timeout, auth."""
    argv = [params.scp, *config_file_options(params), *params.scp_options]
    argv += login_options(params)
    return argv


class ScpProcess(Process):
    """A local scp process copying to or from ``host`` (tells an unreachable host apart)."""

    _kind = "ScpProcess"

    def _on_exit(self, status: ExitStatus) -> None:
        if (
            status.exit_code not in (0, None)
            and not self.killed
            and _UNREACHABLE.search(self.stderr)
        ):
            last = [line for line in self.stderr.strip().splitlines() if _UNREACHABLE.search(line)]
            self._set_unreachable(last[-1] if last else "scp failed to connect")


def _namespace_for(templates: Iterable[str], namespace: Mapping[str, Any] | None) -> dict[str, Any]:
    if namespace is not None:
        return dict(namespace)
    if any(needs_namespace(t) for t in templates):
        return capture_namespace()
    return {}


def _handler_templates(process_args: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for key in ("stdout_handlers", "stderr_handlers"):
        out += [h for h in process_args.get(key, ()) if isinstance(h, str)]
    return out


class Remote(Action):
    """One command on each host (duplicates kept), through ssh.

    ``cmd`` and the file names among the output handlers of ``process_args`` are
    substituted per host: ``{{{host}}}`` and ``{{expression}}`` (see
    :func:`~execo.substitute`), with the variables of the code that built the action, or
    ``namespace``.

    Args:
        cmd: the remote command.
        hosts: where to run it.
        connection_params: per-call connection parameters.
        process_args: keyword arguments for each :class:`~execo.SshProcess`.
        namespace: variables for ``{{expression}}`` (default: the caller's).
        transport: ``"ssh"`` or ``"asyncssh"`` (default: ``configuration["remote_tool"]``).
            With asyncssh, the connections come from the enclosing :func:`~execo.ssh_pool`
            (else from a pool of the action's own, closed when it ends).
        **kwargs: see :class:`~execo.Action` (``timeout``, ``fanout``, ``name``...).
    """

    _kind = "Remote"

    def __init__(
        self,
        cmd: str | Sequence[str],
        hosts: Iterable[HostLike] | HostLike,
        *,
        connection_params: ConnectionParamsLike = None,
        process_args: Mapping[str, Any] | None = None,
        namespace: Mapping[str, Any] | None = None,
        transport: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.transport = transport_for(transport)
        self.cmd = cmd
        self.hosts = get_hosts_list(hosts)
        self.connection_params = connection_params
        self.process_args = dict(process_args or {})
        self._namespace = _namespace_for(
            [str_from_cmdline(cmd), *_handler_templates(self.process_args)], namespace
        )
        self._processes = self._build()

    def _default_name(self) -> str:
        return name_from_cmdline(self.cmd)

    def _build(self) -> list[ProcessBase]:
        cmds = substitute_all(str_from_cmdline(self.cmd), self.hosts, self._namespace)
        handlers = {
            key: [
                substitute_all(h, self.hosts, self._namespace) if isinstance(h, str) else h
                for h in self.process_args.get(key, ())
            ]
            for key in ("stdout_handlers", "stderr_handlers")
        }
        procs: list[ProcessBase] = []
        for i, host in enumerate(self.hosts):
            args = dict(self.process_args)
            for key, hs in handlers.items():
                if key in args:
                    args[key] = [h[i] if isinstance(h, list) else h for h in hs]
            procs.append(self._make_process(cmds[i], host, args))
        return procs

    def _make_process(self, cmd: str, host: Host, args: dict[str, Any]) -> ProcessBase:
        return SshProcess(
            cmd, host, connection_params=self.connection_params, transport=self.transport, **args
        )

    def _reset_processes(self) -> None:
        self._processes = self._build()

    async def _body(self, status: _Started) -> None:
        await _in_pool(self.transport == "asyncssh", functools.partial(super()._body, status))


class _CopyAction(Action):
    _direction = ""

    def __init__(
        self,
        hosts: Iterable[HostLike] | HostLike,
        sources: Sequence[str],
        destination: str,
        *,
        connection_params: ConnectionParamsLike,
        namespace: Mapping[str, Any] | None,
        process_args: Mapping[str, Any] | None,
        transport: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if transport not in ("scp", "asyncssh"):
            raise ValueError(
                f"{self._kind}: transport must be 'scp' or 'asyncssh', got {transport!r}"
            )
        self.transport = transport
        if isinstance(sources, str):
            sources = [sources]
        for s in [*sources, destination]:
            if not isinstance(s, str | os.PathLike) or not str(s):
                raise ValueError(f"{self._kind}: file paths must be non-empty strings, got {s!r}")
        self.hosts = get_hosts_list(hosts)
        self.sources = [os.fspath(s) for s in sources]
        self.destination = os.fspath(destination)
        self.connection_params = connection_params
        self.process_args = dict(process_args or {})
        self._namespace = _namespace_for([*self.sources, self.destination], namespace)
        self._processes = self._build()

    def _default_name(self) -> str:
        return f"{self._kind} {self._direction} {len(self.hosts)} hosts"

    def _argv(self, host: Host, sources: list[str], destination: str) -> list[str]:
        raise NotImplementedError

    def _build(self) -> list[ProcessBase]:
        if not self.sources:
            return []
        sources = [substitute_all(s, self.hosts, self._namespace) for s in self.sources]
        dests = substitute_all(self.destination, self.hosts, self._namespace)
        procs: list[ProcessBase] = []
        for i, host in enumerate(self.hosts):
            procs.append(self._make_process(host, [s[i] for s in sources], dests[i]))
        return procs

    def _make_process(self, host: Host, sources: list[str], destination: str) -> ProcessBase:
        if self.transport == "asyncssh":
            from .._transports._asyncssh import SftpProcess

            return SftpProcess(
                host,
                self._params(host),
                put=isinstance(self, Put),
                sources=sources,
                destination=destination,
                **self.process_args,
            )
        p = ScpProcess(self._argv(host, sources, destination), **self.process_args)
        p.host = host
        return p

    def _reset_processes(self) -> None:
        self._processes = self._build()

    async def _body(self, status: _Started) -> None:
        await _in_pool(self.transport == "asyncssh", functools.partial(super()._body, status))

    def _params(self, host: Host) -> EffectiveConnectionParams:
        return resolve_connection_params(self.connection_params, host)


class Put(_CopyAction):
    """Copy local files to every host (scp, argv lists: paths with spaces are safe).

    ``local_files`` and ``remote_location`` are substituted per host. ``transport``:
    ``"scp"`` or ``"asyncssh"`` (SFTP on pooled connections); default
    ``configuration["fileput_tool"]`` when it names one of them, else scp.
    """

    _kind = "Put"
    _direction = "to"

    def __init__(
        self,
        hosts: Iterable[HostLike] | HostLike,
        local_files: Sequence[str],
        remote_location: str = ".",
        *,
        connection_params: ConnectionParamsLike = None,
        namespace: Mapping[str, Any] | None = None,
        process_args: Mapping[str, Any] | None = None,
        transport: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            hosts,
            local_files,
            remote_location,
            connection_params=connection_params,
            namespace=namespace,
            process_args=process_args,
            transport=_copy_tool("fileput_tool", transport),
            **kwargs,
        )

    def _argv(self, host: Host, sources: list[str], destination: str) -> list[str]:
        params = self._params(host)
        target = f"{params.rewritten_address(host.address)}:{destination}"
        return [*scp_argv_prefix(params), "--", *sources, target]


class Get(_CopyAction):
    """Copy files from every host to a local directory (scp).

    ``remote_files`` and ``local_location`` are substituted per host (for instance
    ``local_location="results/{{{host}}}"``). ``transport``: ``"scp"`` or ``"asyncssh"``
    (SFTP on pooled connections; remote names are glob patterns); default
    ``configuration["fileget_tool"]`` when it names one of them, else scp.
    """

    _kind = "Get"
    _direction = "from"

    def __init__(
        self,
        hosts: Iterable[HostLike] | HostLike,
        remote_files: Sequence[str],
        local_location: str = ".",
        *,
        connection_params: ConnectionParamsLike = None,
        namespace: Mapping[str, Any] | None = None,
        process_args: Mapping[str, Any] | None = None,
        transport: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            hosts,
            remote_files,
            local_location,
            connection_params=connection_params,
            namespace=namespace,
            process_args=process_args,
            transport=_copy_tool("fileget_tool", transport),
            **kwargs,
        )

    def _argv(self, host: Host, sources: list[str], destination: str) -> list[str]:
        params = self._params(host)
        address = params.rewritten_address(host.address)
        return [*scp_argv_prefix(params), "--", *(f"{address}:{s}" for s in sources), destination]


_TOOLS = {
    "remote_tool": ("ssh", "asyncssh", "taktuk"),
    "fileput_tool": ("scp", "asyncssh", "taktuk", "chainput"),
    "fileget_tool": ("scp", "asyncssh", "taktuk"),
}


async def _in_pool(pooled: bool, body: Callable[[], Awaitable[None]]) -> None:
    """Run ``body``, inside a pool of its own if it needs one and none is open."""
    from .._transports._sshpool import SshPool, ssh_pool

    if pooled and SshPool.current() is None:
        async with ssh_pool():
            await body()
    else:
        await body()


def _copy_tool(key: str, given: str | None) -> str:
    tool = given if given is not None else _tool(key, None)
    return tool if tool in ("scp", "asyncssh") or given is not None else "scp"


def _tool(key: str, given: str | int | None) -> str:
    tool = configuration[key] if given is None else given
    if isinstance(tool, int) and not isinstance(tool, bool):
        tool = {0: "ssh", 1: "scp", 2: "taktuk", 3: "chainput"}.get(tool, str(tool))
    if tool not in _TOOLS[key]:
        raise ConfigurationError(f"{key} must be one of {_TOOLS[key]}, got {tool!r}")
    return str(tool)


def _unavailable(key: str, tool: str) -> ConfigurationError:
    return ConfigurationError(f"{key} {tool!r} is not available in this version")


def get_remote(
    cmd: str | Sequence[str],
    hosts: Iterable[HostLike] | HostLike,
    *,
    remote_tool: str | int | None = None,
    **kwargs: Any,
) -> Action:
    """A Remote built with ``remote_tool`` (default: ``configuration['remote_tool']``, read
    now): ``"ssh"`` (:class:`Remote`) or ``"taktuk"`` (:class:`~execo.TaktukRemote`); execo's
    ``SSH``/``TAKTUK`` constants are accepted."""
    tool = _tool("remote_tool", remote_tool)
    if tool in ("ssh", "asyncssh"):
        return Remote(cmd, hosts, transport=tool, **kwargs)
    if tool == "taktuk":
        from ._taktuk import TaktukRemote

        return TaktukRemote(cmd, hosts, **kwargs)
    raise _unavailable("remote_tool", tool)


def get_fileput(
    hosts: Iterable[HostLike] | HostLike,
    local_files: Sequence[str],
    remote_location: str = ".",
    *,
    fileput_tool: str | int | None = None,
    **kwargs: Any,
) -> Action:
    """A Put built with ``fileput_tool`` (default: ``configuration['fileput_tool']``):
    ``"scp"`` (:class:`Put`), ``"taktuk"`` (:class:`~execo.TaktukPut`) or ``"chainput"``
    (:class:`~execo.ChainPut`)."""
    tool = _tool("fileput_tool", fileput_tool)
    if tool in ("scp", "asyncssh"):
        return Put(hosts, local_files, remote_location, transport=tool, **kwargs)
    if tool == "taktuk":
        from ._taktuk import TaktukPut

        return TaktukPut(hosts, local_files, remote_location, **kwargs)
    if tool == "chainput":
        from ._chainput import ChainPut

        return ChainPut(hosts, local_files, remote_location, **kwargs)
    raise _unavailable("fileput_tool", tool)


def get_fileget(
    hosts: Iterable[HostLike] | HostLike,
    remote_files: Sequence[str],
    local_location: str = ".",
    *,
    fileget_tool: str | int | None = None,
    **kwargs: Any,
) -> Action:
    """A Get built with ``fileget_tool`` (default: ``configuration['fileget_tool']``):
    ``"scp"`` (:class:`Get`) or ``"taktuk"`` (:class:`~execo.TaktukGet`)."""
    tool = _tool("fileget_tool", fileget_tool)
    if tool in ("scp", "asyncssh"):
        return Get(hosts, remote_files, local_location, transport=tool, **kwargs)
    if tool == "taktuk":
        from ._taktuk import TaktukGet

        return TaktukGet(hosts, remote_files, local_location, **kwargs)
    raise _unavailable("fileget_tool", tool)


def get_process(
    cmd: str | Sequence[str],
    host: HostLike | None = None,
    *,
    connection_params: ConnectionParamsLike = None,
    **kwargs: Any,
) -> ProcessBase:
    """An SshProcess when ``host`` is given (over ``configuration["remote_tool"]``, unless
    ``transport=`` says), else a local Process."""
    if host is not None:
        return SshProcess(cmd, host, connection_params=connection_params, **kwargs)
    return Process(cmd, **kwargs)
