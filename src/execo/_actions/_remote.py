"""Remote actions: Remote (a command per host), Put and Get (a copy per host).

Each runs over a transport (:mod:`execo._transports`): OpenSSH (``ssh``/``scp`` clients),
asyncssh (sessions and SFTP on pooled in-process connections), taktuk (one tree for all the
hosts), or one of the user's. It is chosen per action (``transport=``) or by the configuration
(``remote_tool``, ``fileput_tool``, ``fileget_tool``). The processes of one run are opened in
one batch of the transport, which shares a pool or a taktuk tree among them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Literal, Unpack, cast

from .._core._config import ConnectionParamsLike
from .._core._host import Host, HostLike, get_hosts_list
from .._core._options import check_keywords
from .._core._process import ProcessBase, ProcessOptions, SshProcessOptions
from .._core._substitution import capture_namespace, needs_namespace, substitute_all
from .._core._util import name_from_cmdline, str_from_cmdline
from .._transports._base import Batch, Request, Transport
from .._transports._factories import TransportLike, copy_transport, remote_transport
from .._transports._process import CopyProcess, SshProcess
from ._action import Action, ActionOptions, _Started, run_processes

__all__ = ["Get", "Put", "Remote", "RemoteProcessArgs", "namespace_for"]


class RemoteProcessArgs(SshProcessOptions, total=False):
    """The ``process_args`` of a :class:`Remote`: the options of each
    :class:`~execo.SshProcess` (see :class:`~execo.SshProcessOptions`), and ``pty``."""

    pty: bool | None


def namespace_for(templates: Iterable[str], namespace: Mapping[str, Any] | None) -> dict[str, Any]:
    """The variables ``{{expr}}`` sees: ``namespace``, else (if some template needs one) the
    caller's, captured now."""
    if namespace is not None:
        return dict(namespace)
    if any(needs_namespace(t) for t in templates):
        return capture_namespace()
    return {}


class _TransportAction(Action):
    """What the remote actions share: a transport, and one batch of it per run."""

    transport: Transport
    _batch: Batch | None = None

    def _requests(self) -> list[Request]:
        return [p.request() for p in self._processes if isinstance(p, SshProcess | CopyProcess)]

    def _validate(self) -> None:
        """Let the transport refuse what it cannot carry, before anything starts."""
        procs = [p for p in self._processes if isinstance(p, SshProcess | CopyProcess)]
        self.transport.validate([p.make_request() for p in procs])

    async def _body(self, status: _Started) -> None:
        async with self.transport.batch(self._requests()) as batch:
            self._batch = batch
            batched = bool(getattr(self.transport, "notifies_exit", False))
            await run_processes(self._processes, self.fanout, status, batched=batched)

    def _reset_processes(self) -> None:
        self._processes = self._build()

    def _build(self) -> list[ProcessBase]:
        raise NotImplementedError


class Remote(_TransportAction):
    """One command on each host (duplicates kept).

    ``cmd`` and the file names among the output handlers of ``process_args`` are
    substituted per host: ``{{{host}}}`` and ``{{expression}}`` (see
    :func:`~execo.substitute`), with the variables of the code that built the action, or
    ``namespace``.

    Args:
        cmd: the remote command.
        hosts: where to run it.
        connection_params: per-call connection parameters.
        process_args: options of each :class:`~execo.SshProcess` (see
            :class:`~execo.RemoteProcessArgs`).
        namespace: variables for ``{{expression}}`` (default: the caller's).
        transport: ``"ssh"``, ``"asyncssh"``, ``"taktuk"`` or a transport object (default:
            ``configuration["remote_tool"]`` when it names ssh or asyncssh). With asyncssh,
            the connections come from the enclosing :func:`~execo.ssh_pool` (else from a pool
            of the action's own, closed when it ends).
        **options: see :class:`~execo.ActionOptions` (``timeout``, ``fanout``, ``name``...).
    """

    _kind = "Remote"
    _process_options: ClassVar[type | None] = RemoteProcessArgs

    def __init__(
        self,
        cmd: str | Sequence[str],
        hosts: Iterable[HostLike] | HostLike,
        *,
        connection_params: ConnectionParamsLike = None,
        process_args: RemoteProcessArgs | SshProcessOptions | ProcessOptions | None = None,
        namespace: Mapping[str, Any] | None = None,
        transport: TransportLike = None,
        **options: Unpack[ActionOptions],
    ) -> None:
        super().__init__(**options)
        self.transport = remote_transport(transport)
        self.cmd = cmd
        self.hosts = get_hosts_list(hosts)
        self.connection_params = connection_params
        args = cast(RemoteProcessArgs, dict(process_args)) if process_args else {}
        check_keywords(self, args, self._process_options or RemoteProcessArgs, where="process_args")
        self.process_args = args
        self._namespace = namespace_for(
            [str_from_cmdline(cmd), *_handler_templates(self.process_args)], namespace
        )
        self._processes = self._build()
        self._validate()

    def _default_name(self) -> str:
        return name_from_cmdline(self.cmd)

    def _build(self) -> list[ProcessBase]:
        cmds = substitute_all(str_from_cmdline(self.cmd), self.hosts, self._namespace)
        handlers = {
            key: [
                substitute_all(h, self.hosts, self._namespace) if isinstance(h, str) else h
                for h in specs
            ]
            for key, specs in (
                ("stdout_handlers", self.process_args.get("stdout_handlers", ())),
                ("stderr_handlers", self.process_args.get("stderr_handlers", ())),
            )
        }
        procs: list[ProcessBase] = []
        for i, host in enumerate(self.hosts):
            args = self.process_args.copy()
            if "stdout_handlers" in args:
                args["stdout_handlers"] = [_pick(h, i) for h in handlers["stdout_handlers"]]
            if "stderr_handlers" in args:
                args["stderr_handlers"] = [_pick(h, i) for h in handlers["stderr_handlers"]]
            procs.append(self._make_process(cmds[i], host, args))
        return procs

    def _make_process(self, cmd: str, host: Host, args: RemoteProcessArgs) -> ProcessBase:
        return SshProcess(
            cmd, host, connection_params=self.connection_params, transport=self.transport, **args
        )


def _pick(handler: Any, index: int) -> Any:
    return handler[index] if isinstance(handler, list) else handler


def _handler_templates(process_args: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for key in ("stdout_handlers", "stderr_handlers"):
        out += [h for h in process_args.get(key, ()) if isinstance(h, str)]
    return out


class _CopyAction(_TransportAction):
    _direction: ClassVar[Literal["put", "get"]] = "put"
    _process_options: ClassVar[type | None] = ProcessOptions

    def __init__(
        self,
        hosts: Iterable[HostLike] | HostLike,
        sources: Sequence[str],
        destination: str,
        *,
        connection_params: ConnectionParamsLike,
        namespace: Mapping[str, Any] | None,
        process_args: ProcessOptions | None,
        transport: Transport,
        **options: Unpack[ActionOptions],
    ) -> None:
        super().__init__(**options)
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
        args: ProcessOptions = process_args.copy() if process_args else {}
        check_keywords(self, args, ProcessOptions, where="process_args")
        self.process_args = args
        self._namespace = namespace_for([*self.sources, self.destination], namespace)
        self._processes = self._build()
        self._validate()

    def _default_name(self) -> str:
        where = "to" if self._direction == "put" else "from"
        return f"{self._kind} {where} {len(self.hosts)} hosts"

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
        return CopyProcess(
            host,
            self._direction,
            sources,
            destination,
            connection_params=self.connection_params,
            transport=self.transport,
            **self.process_args,
        )


class Put(_CopyAction):
    """Copy local files to every host (argv lists: paths with spaces are safe).

    ``local_files`` and ``remote_location`` are substituted per host; local files may start
    with ``~`` (your home, expanded here; a remote ``~`` is the remote home). ``transport``:
    ``"scp"`` (OpenSSH), ``"asyncssh"`` (SFTP on pooled connections), ``"taktuk"``, or a
    transport object; default ``configuration["fileput_tool"]`` when it names scp or
    asyncssh, else scp.
    """

    _kind = "Put"
    _direction = "put"

    def __init__(
        self,
        hosts: Iterable[HostLike] | HostLike,
        local_files: Sequence[str],
        remote_location: str = ".",
        *,
        connection_params: ConnectionParamsLike = None,
        namespace: Mapping[str, Any] | None = None,
        process_args: ProcessOptions | None = None,
        transport: TransportLike = None,
        **options: Unpack[ActionOptions],
    ) -> None:
        super().__init__(
            hosts,
            local_files,
            remote_location,
            connection_params=connection_params,
            namespace=namespace,
            process_args=process_args,
            transport=copy_transport("fileput_tool", transport),
            **options,
        )


class Get(_CopyAction):
    """Copy files from every host to a local directory.

    ``remote_files`` and ``local_location`` are substituted per host (for instance
    ``local_location="results/{{{host}}}"``); the local directory is made when the copy
    starts if it does not exist, and may start with ``~``. ``transport``: ``"scp"``,
    ``"asyncssh"`` (SFTP on pooled connections; remote names are glob patterns),
    ``"taktuk"`` or a transport object; default ``configuration["fileget_tool"]`` when it
    names scp or asyncssh, else scp.
    """

    _kind = "Get"
    _direction = "get"

    def __init__(
        self,
        hosts: Iterable[HostLike] | HostLike,
        remote_files: Sequence[str],
        local_location: str = ".",
        *,
        connection_params: ConnectionParamsLike = None,
        namespace: Mapping[str, Any] | None = None,
        process_args: ProcessOptions | None = None,
        transport: TransportLike = None,
        **options: Unpack[ActionOptions],
    ) -> None:
        super().__init__(
            hosts,
            remote_files,
            local_location,
            connection_params=connection_params,
            namespace=namespace,
            process_args=process_args,
            transport=copy_transport("fileget_tool", transport),
            **options,
        )
