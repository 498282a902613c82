"""The transport seam: what every way of reaching a host implements.

A :class:`Transport` turns a request — one command on one host (:class:`CommandRequest`), or
one copy to or from one host (:class:`CopyRequest`) — into a started
:class:`~execo._core._channel.Channel`. The process layer never knows which transport it
talks to: states, output, expect, kill, timeouts are the same over all of them.

Requests that start together (the processes of one action) are opened inside one
:meth:`Transport.batch`, which lets a transport share what it can: nothing for OpenSSH (one
``ssh`` client per command), a pool of connections for asyncssh, one ``taktuk`` tree for
taktuk. A process run on its own opens a batch of one. ``open()`` is only called inside a
batch that holds its request (matched by identity); a batch reports a failure to start (taktuk
missing...) from ``open()``, never from entering it, so that it becomes the process's error.

Transports are objects: users pick one by name (``transport="asyncssh"``, execo's
``SSH``/``TAKTUK``/``SCP`` constants, ``configuration["remote_tool"]``) through
:mod:`execo._transports._factories`, or pass their own (``execo.testing.FakeTransport``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Literal, Protocol, TypeAlias, runtime_checkable

from .._core._channel import Channel
from .._core._config import EffectiveConnectionParams
from .._core._host import Host
from ._remote_command import DEFAULT_WATCHDOG, Watchdog

__all__ = ["Batch", "CommandRequest", "CopyRequest", "Request", "Transport", "Watchdog"]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class CommandRequest:
    """One command to run on one host.

    Attributes:
        host: where.
        params: the connection parameters resolved for that host.
        command: the command line as the remote shell receives it.
        pty: allocate a remote terminal (stderr is then merged into stdout remotely).
        stdin: the command gets a stdin that the process writes to (else end of file).
        kill_grace: seconds between SIGTERM and SIGKILL when a kill is needed before the
            process itself asks for one (cancelled while connecting).
        watchdog: how the remote watchdog ends the command with its connection (a
            transport may add its heartbeat file); None: detached, the command outlives
            the controller (and a local client program is not supervised either).
        local_env: environment of a local client program, if the transport runs one.
        local_cwd: working directory of that local program.
    """

    host: Host
    params: EffectiveConnectionParams
    command: str
    pty: bool = False
    stdin: bool = True
    kill_grace: float = 5.0
    watchdog: Watchdog | None = DEFAULT_WATCHDOG
    local_env: Mapping[str, str] | None = None
    local_cwd: str | None = None

    def __repr__(self) -> str:
        return f"CommandRequest(host={str(self.host)!r}, command={self.command!r})"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class CopyRequest:
    """One copy between here and one host.

    Attributes:
        host: the remote end.
        params: the connection parameters resolved for that host.
        direction: ``"put"`` (local ``sources`` to the remote ``destination``) or ``"get"``
            (remote ``sources`` to the local ``destination``).
        sources: the files or directories to copy (copied recursively).
        destination: where to put them.
    """

    host: Host
    params: EffectiveConnectionParams
    direction: Literal["put", "get"]
    sources: tuple[str, ...]
    destination: str

    def __repr__(self) -> str:
        return (
            f"CopyRequest(host={str(self.host)!r}, direction={self.direction!r}, "
            f"sources={self.sources!r}, destination={self.destination!r})"
        )


Request: TypeAlias = CommandRequest | CopyRequest


class Batch:
    """What a transport keeps while a set of requests runs (subclassed by transports)."""

    @property
    def local_pid(self) -> int | None:
        """Pid of the one local program that carries the whole batch (taktuk), if any."""
        return None


@runtime_checkable
class Transport(Protocol):
    """A way to run commands on hosts and to copy files to and from them.

    Optional: a transport whose channels all report their own end
    (:class:`~execo._core._channel.ExitNotifier`) says so with a true ``notifies_exit``
    attribute; an action then follows all its processes from one task (asyncssh does).
    """

    @property
    def name(self) -> str:
        """A short name for messages and reprs (``"ssh"``, ``"asyncssh"``, ``"taktuk"``)."""
        ...

    def validate(self, requests: Sequence[Request]) -> None:
        """Raise ValueError (naming the culprit) if this transport cannot carry them; called
        when an action is built, before anything starts."""
        ...

    def batch(self, requests: Sequence[Request]) -> AbstractAsyncContextManager[Batch]:
        """A scope inside which ``requests`` are opened (see the module documentation)."""
        ...

    async def open(self, request: Request) -> Channel:
        """Start ``request`` (inside a batch that holds it) and return its channel.

        Raises:
            OSError: it could not be started here (missing program, no file descriptor...);
                the process becomes ERROR with the reason.
        """
        ...
