"""Actions over taktuk: TaktukRemote, TaktukPut, TaktukGet.

They are :class:`~execo.Remote`, :class:`~execo.Put` and :class:`~execo.Get` with the taktuk
transport: the same arguments, the same substitutions per host (commands, paths, output
handler file names), one :class:`~execo.TaktukProcess` (or copy process) per host, and one
local ``taktuk`` process that drives all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Unpack, cast

from .._core._config import ConnectionParamsLike
from .._core._host import Host, HostLike
from .._core._process import ProcessBase, ProcessOptions
from .._transports._factories import transport_named
from .._transports._process import TaktukProcess
from ._action import ActionOptions
from ._remote import Get, Put, Remote, RemoteProcessArgs

__all__ = ["TaktukGet", "TaktukPut", "TaktukRemote"]


class _TaktukPid:
    """What the three taktuk actions add: the pid of their local taktuk."""

    _batch: Any

    @property
    def taktuk_pid(self) -> int | None:
        """Pid of the local taktuk process of the current (or last) run."""
        return self._batch.local_pid if self._batch is not None else None


class TaktukRemote(_TaktukPid, Remote):
    """One command on each host (duplicates kept), all driven by one local ``taktuk``.

    Same arguments and substitutions as :class:`~execo.Remote` (``process_args`` are
    :class:`~execo.ProcessOptions`: no pty, shell, env or cwd with taktuk); each host gets
    a :class:`~execo.TaktukProcess`. Hosts may have their own user, key and port (then
    taktuk connects to every host from here: its work-stealing tree would contact a host
    with another host's connector). Killing ends the remote commands too.
    """

    _kind = "TaktukRemote"
    _process_options: ClassVar[type | None] = ProcessOptions

    def __init__(
        self,
        cmd: str | Sequence[str],
        hosts: Iterable[HostLike] | HostLike,
        *,
        connection_params: ConnectionParamsLike = None,
        process_args: ProcessOptions | None = None,
        namespace: Mapping[str, Any] | None = None,
        **options: Unpack[ActionOptions],
    ) -> None:
        super().__init__(
            cmd,
            hosts,
            connection_params=connection_params,
            process_args=cast(RemoteProcessArgs | None, process_args),  # checked: ProcessOptions
            namespace=namespace,
            transport=transport_named("taktuk"),
            **options,
        )

    def _make_process(self, cmd: str, host: Host, args: RemoteProcessArgs) -> ProcessBase:
        options = cast(ProcessOptions, args)  # Remote checked them against ProcessOptions
        return TaktukProcess(cmd, host, connection_params=self.connection_params, **options)


class TaktukPut(_TaktukPid, Put):
    """Copy local files to every host through taktuk's ``put`` (over its ssh tree).

    Same arguments as :class:`~execo.Put`; ``local_files`` and ``remote_location`` are
    substituted per host (execo's TaktukPut ignored substitutions). Paths may contain
    spaces; like taktuk, ``$VARIABLE`` in a path is expanded (locally for the source,
    remotely for the destination). Each host's process ends when all its files arrived
    (exit code 0) or one failed (exit code 1, taktuk's message in its stderr).
    """

    _kind = "TaktukPut"

    def __init__(
        self,
        hosts: Iterable[HostLike] | HostLike,
        local_files: Sequence[str],
        remote_location: str = ".",
        *,
        connection_params: ConnectionParamsLike = None,
        namespace: Mapping[str, Any] | None = None,
        process_args: ProcessOptions | None = None,
        **options: Unpack[ActionOptions],
    ) -> None:
        super().__init__(
            hosts,
            local_files,
            remote_location,
            connection_params=connection_params,
            namespace=namespace,
            process_args=process_args,
            transport=transport_named("taktuk"),
            **options,
        )


class TaktukGet(_TaktukPid, Get):
    """Copy files from every host to a local directory through taktuk's ``get``.

    Same arguments as :class:`~execo.Get`; paths are substituted per host, so
    ``local_location="results/{{{host}}}"`` keeps hosts apart (the directory must exist).
    """

    _kind = "TaktukGet"

    def __init__(
        self,
        hosts: Iterable[HostLike] | HostLike,
        remote_files: Sequence[str],
        local_location: str = ".",
        *,
        connection_params: ConnectionParamsLike = None,
        namespace: Mapping[str, Any] | None = None,
        process_args: ProcessOptions | None = None,
        **options: Unpack[ActionOptions],
    ) -> None:
        super().__init__(
            hosts,
            remote_files,
            local_location,
            connection_params=connection_params,
            namespace=namespace,
            process_args=process_args,
            transport=transport_named("taktuk"),
            **options,
        )
