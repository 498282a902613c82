"""Actions over taktuk: TaktukRemote, TaktukPut, TaktukGet.

They take the same arguments as :class:`~execo.Remote`, :class:`~execo.Put` and
:class:`~execo.Get`, apply the same substitutions per host (commands, paths, output handler
file names) and give one :class:`~execo.TaktukProcess` per host; one local ``taktuk``
process drives all of them.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from typing import Any

import anyio

from .._core._config import resolve_connection_params
from .._core._host import Host
from .._core._process import ProcessBase
from .._transports._taktuk import TaktukProcess, TaktukSession
from .._transports._taktuk_protocol import connector_command, delimiters_for, taktuk_argv
from ._action import _Started
from ._remote import Get, Put, Remote

__all__ = ["TaktukGet", "TaktukPut", "TaktukRemote"]


def _taktuk_procs(procs: Sequence[ProcessBase]) -> list[TaktukProcess]:
    out = []
    for p in procs:
        assert isinstance(p, TaktukProcess)
        out.append(p)
    return out


class _TaktukMixin:
    """What the three taktuk actions share: the session of the current run."""

    _taktuk_session: TaktukSession | None = None

    @property
    def taktuk_pid(self) -> int | None:
        """Pid of the local taktuk process of the current (or last) run."""
        session = self._taktuk_session
        return session.pid if session is not None else None


async def _run(
    action: Remote | Put | Get,
    status: _Started,
    *,
    commands: Sequence[str] | None = None,
    transfers: Sequence[tuple[str, Sequence[str], str]] | None = None,
) -> None:
    assert isinstance(action, _TaktukMixin)
    procs = _taktuk_procs(action._processes)
    if not procs:
        status.ensure_started()
        return
    session = TaktukSession(
        [p.host for p in procs if p.host is not None],
        [p.params for p in procs],
        resolve_connection_params(action.connection_params),
        commands=commands,
        transfers=transfers,
    )
    action._taktuk_session = session
    for i, p in enumerate(procs):
        p._attach(session, i)
    async with session.running(), anyio.create_task_group() as tg:
        # Every process waits for its own command to start, all at once.
        async with anyio.create_task_group() as starters:
            for p in procs:
                starters.start_soon(tg.start, p.run)
        status.ensure_started()


def _check_argv(action: Remote | Put | Get, commands: Sequence[str] | None) -> None:
    """Build the taktuk command line once at construction, so that a command line too
    long for the system is an error before anything starts."""
    procs = _taktuk_procs(action._processes)
    if procs:
        targets = [
            (p.params.rewritten_address(p.host.address), connector_command(p.params))
            for p in procs
            if p.host is not None
        ]
        taktuk_argv(resolve_connection_params(action.connection_params), targets, commands)


class TaktukRemote(_TaktukMixin, Remote):
    """One command on each host (duplicates kept), all driven by one local ``taktuk``.

    Same arguments and substitutions as :class:`~execo.Remote`; each host gets a
    :class:`~execo.TaktukProcess`. Hosts may have their own user, key and port (then
    taktuk connects to every host from here: its work-stealing tree would contact a host
    with another host's connector). Killing ends the remote commands too.
    """

    _kind = "TaktukRemote"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _check_argv(self, self._commands())

    def _make_process(self, cmd: str, host: Host, args: dict[str, Any]) -> ProcessBase:
        return TaktukProcess(cmd, host, connection_params=self.connection_params, **args)

    def _commands(self) -> list[str]:
        return [p.remote_cmd for p in _taktuk_procs(self._processes)]

    async def _body(self, status: _Started) -> None:
        await _run(self, status, commands=self._commands())


class _TransferMixin(_TaktukMixin):
    _transfer_kind = ""
    _processes: list[ProcessBase]
    process_args: dict[str, Any]

    def _transfer_process(
        self, host: Host, sources: list[str], destination: str, connection_params: Any
    ) -> ProcessBase:
        delimiters_for(*sources, destination)  # a path taktuk cannot carry: fail now
        cmd = f"taktuk {self._transfer_kind} {shlex.join(sources)} {shlex.quote(destination)}"
        p = TaktukProcess(cmd, host, connection_params=connection_params, **self.process_args)
        p.transfer = (self._transfer_kind, sources, destination)
        return p

    def _transfers(self) -> list[tuple[str, Sequence[str], str]]:
        out = []
        for p in _taktuk_procs(self._processes):
            assert p.transfer is not None
            out.append(p.transfer)
        return out


class TaktukPut(_TransferMixin, Put):
    """Copy local files to every host through taktuk's ``put`` (over its ssh tree).

    Same arguments as :class:`~execo.Put`; ``local_files`` and ``remote_location`` are
    substituted per host (execo's TaktukPut ignored substitutions). Paths may contain
    spaces; like taktuk, ``$VARIABLE`` in a path is expanded (locally for the source,
    remotely for the destination). Each host's process ends when all its files arrived
    (exit code 0) or one failed (exit code 1, taktuk's message in its stderr).
    """

    _kind = "TaktukPut"
    _transfer_kind = "put"

    def _make_process(self, host: Host, sources: list[str], destination: str) -> ProcessBase:
        return self._transfer_process(host, sources, destination, self.connection_params)

    async def _body(self, status: _Started) -> None:
        await _run(self, status, transfers=self._transfers())


class TaktukGet(_TransferMixin, Get):
    """Copy files from every host to a local directory through taktuk's ``get``.

    Same arguments as :class:`~execo.Get`; paths are substituted per host, so
    ``local_location="results/{{{host}}}"`` keeps hosts apart (the directory must exist).
    """

    _kind = "TaktukGet"
    _transfer_kind = "get"

    def _make_process(self, host: Host, sources: list[str], destination: str) -> ProcessBase:
        return self._transfer_process(host, sources, destination, self.connection_params)

    async def _body(self, status: _Started) -> None:
        await _run(self, status, transfers=self._transfers())
