"""The tool factories of execo: ``get_process``, ``get_remote``, ``get_fileput``,
``get_fileget``. The tool is given (``remote_tool=``...: a name, one of execo's constants, or
a transport object) or read from ``configuration`` when the factory is called; the names are
resolved by :mod:`execo._transports._factories`."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Unpack, cast

from .._core._config import ConnectionParamsLike
from .._core._host import HostLike
from .._core._local import Process
from .._core._options import check_keywords
from .._core._process import (
    LocalProcessOptions,
    ProcessBase,
    ProcessOptions,
    SshProcessOptions,
)
from .._transports._factories import (
    TransportLike,
    fileput_choice,
    tool_transport,
    transport_named,
)
from .._transports._process import SshProcess
from ._action import Action, ActionOptions
from ._chainput import ChainPut
from ._remote import Get, Put, Remote, RemoteProcessArgs
from ._taktuk import TaktukGet, TaktukPut, TaktukRemote

__all__ = ["get_fileget", "get_fileput", "get_process", "get_remote"]


def _named(func: Callable[..., object]) -> frozenset[str]:
    """The named parameters of ``func`` (to suggest the closest one to a misspelled keyword)."""
    return frozenset(inspect.signature(func).parameters) - {"options"}


def get_remote(
    cmd: str | Sequence[str],
    hosts: Iterable[HostLike] | HostLike,
    *,
    remote_tool: TransportLike = None,
    connection_params: ConnectionParamsLike = None,
    process_args: RemoteProcessArgs | None = None,
    namespace: Mapping[str, Any] | None = None,
    **options: Unpack[ActionOptions],
) -> Action:
    """A Remote built with ``remote_tool`` (default: ``configuration['remote_tool']``, read
    now): ``"ssh"`` or ``"asyncssh"`` (:class:`Remote`), ``"taktuk"``
    (:class:`~execo.TaktukRemote`), or a transport object; execo's ``SSH``/``TAKTUK``
    constants are accepted."""
    check_keywords(
        "get_remote",
        options,
        ActionOptions,
        process_options=RemoteProcessArgs,
        also=_named(get_remote),
    )
    transport = tool_transport("remote_tool", remote_tool)
    if transport is transport_named("taktuk"):
        return TaktukRemote(
            cmd,
            hosts,
            connection_params=connection_params,
            process_args=cast(ProcessOptions | None, process_args),  # TaktukRemote checks them
            namespace=namespace,
            **options,
        )
    return Remote(
        cmd,
        hosts,
        connection_params=connection_params,
        process_args=process_args,
        namespace=namespace,
        transport=transport,
        **options,
    )


def get_fileput(
    hosts: Iterable[HostLike] | HostLike,
    local_files: Sequence[str],
    remote_location: str = ".",
    *,
    fileput_tool: TransportLike = None,
    connection_params: ConnectionParamsLike = None,
    namespace: Mapping[str, Any] | None = None,
    process_args: ProcessOptions | None = None,
    **options: Unpack[ActionOptions],
) -> Action:
    """A Put built with ``fileput_tool`` (default: ``configuration['fileput_tool']``):
    ``"scp"`` or ``"asyncssh"`` (:class:`Put`), ``"taktuk"`` (:class:`~execo.TaktukPut`),
    ``"chainput"`` (:class:`~execo.ChainPut`, which takes no ``process_args``), or a
    transport object."""
    check_keywords(
        "get_fileput",
        options,
        ActionOptions,
        process_options=ProcessOptions,
        also=_named(get_fileput),
    )
    choice = fileput_choice(fileput_tool)
    if isinstance(choice, str):  # CHAINPUT_ACTION: the broadcast is an action
        if process_args:
            raise TypeError("get_fileput(): ChainPut takes no process_args")
        return ChainPut(
            hosts,
            local_files,
            remote_location,
            connection_params=connection_params,
            namespace=namespace,
            **options,
        )
    if choice is transport_named("taktuk"):
        return TaktukPut(
            hosts,
            local_files,
            remote_location,
            connection_params=connection_params,
            namespace=namespace,
            process_args=process_args,
            **options,
        )
    return Put(
        hosts,
        local_files,
        remote_location,
        connection_params=connection_params,
        namespace=namespace,
        process_args=process_args,
        transport=choice,
        **options,
    )


def get_fileget(
    hosts: Iterable[HostLike] | HostLike,
    remote_files: Sequence[str],
    local_location: str = ".",
    *,
    fileget_tool: TransportLike = None,
    connection_params: ConnectionParamsLike = None,
    namespace: Mapping[str, Any] | None = None,
    process_args: ProcessOptions | None = None,
    **options: Unpack[ActionOptions],
) -> Action:
    """A Get built with ``fileget_tool`` (default: ``configuration['fileget_tool']``):
    ``"scp"`` or ``"asyncssh"`` (:class:`Get`), ``"taktuk"`` (:class:`~execo.TaktukGet`),
    or a transport object."""
    check_keywords(
        "get_fileget",
        options,
        ActionOptions,
        process_options=ProcessOptions,
        also=_named(get_fileget),
    )
    transport = tool_transport("fileget_tool", fileget_tool)
    if transport is transport_named("taktuk"):
        return TaktukGet(
            hosts,
            remote_files,
            local_location,
            connection_params=connection_params,
            namespace=namespace,
            process_args=process_args,
            **options,
        )
    return Get(
        hosts,
        remote_files,
        local_location,
        connection_params=connection_params,
        namespace=namespace,
        process_args=process_args,
        transport=transport,
        **options,
    )


class GetProcessOptions(LocalProcessOptions, total=False):
    """What :func:`get_process` takes: a local Process's options, plus, with a host, the
    remote ones (``transport``)."""

    transport: TransportLike


def get_process(
    cmd: str | Sequence[str],
    host: HostLike | None = None,
    *,
    connection_params: ConnectionParamsLike = None,
    **options: Unpack[GetProcessOptions],
) -> ProcessBase:
    """An SshProcess when ``host`` is given (over ``configuration["remote_tool"]``, unless
    ``transport=`` says), else a local Process (``transport`` and ``connection_params`` are
    then ignored, as in execo)."""
    check_keywords("get_process", options, GetProcessOptions, also=_named(get_process))
    transport = options.pop("transport", None)
    if host is None:
        return Process(cmd, **cast(LocalProcessOptions, options))
    if options.pop("shell", None):
        raise TypeError("get_process() with a host runs the remote shell: no shell=")
    pty = options.pop("pty", None)
    return SshProcess(
        cmd,
        host,
        connection_params=connection_params,
        pty=pty,
        transport=transport,
        **cast(SshProcessOptions, options),
    )
