"""Channels: a started command, as the process layer sees it, whatever the transport.

A :class:`Channel` gives the output streams, stdin, the exit status, a typed record of what
it learnt about the command (:class:`ChannelInfo`: the remote pid, why it never connected...)
and a way to signal or kill the whole process tree. Local processes
(:mod:`execo._core._local`) and every remote transport (:mod:`execo._transports`) provide
channels, so the process model never depends on the transport.
"""

from __future__ import annotations

import signal as _signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import anyio

__all__ = [
    "ByteSource",
    "Channel",
    "ChannelInfo",
    "ExitNotifier",
    "ExitStatus",
    "FedSource",
    "check_signal",
]


@dataclass(frozen=True, slots=True)
class ExitStatus:
    """How a command ended: an exit code, or the signal that killed it."""

    exit_code: int | None
    signal: int | None

    @classmethod
    def from_returncode(cls, rc: int) -> ExitStatus:
        """From a subprocess-style return code (negative: killed by that signal)."""
        return cls(None, -rc) if rc < 0 else cls(rc, None)


@dataclass(slots=True)
class ChannelInfo:
    """What a channel learns about its command while it runs (filled in by the transport).

    Attributes:
        remote_pid: pid of the remote shell, which leads the remote command's process group
            (None locally, and until the remote side reported it).
        connect_error: why the host could not be reached or logged into; set only when the
            command never started (the process is then UNREACHABLE).
        start_error: why the command could not be run although the host was reached, or
            was lost track of by the transport (the process is then ERROR).
        error: why the transport failed after the command had started (a lost session...);
            the exit status stays what the transport reported.
        kill_error: why a kill or signal could not be delivered to the remote side.
    """

    remote_pid: int | None = None
    connect_error: str | None = None
    start_error: str | None = None
    error: str | None = None
    kill_error: str | None = None


class ByteSource(Protocol):
    """Where output bytes come from; ``b""`` means end of stream."""

    async def read(self) -> bytes: ...


class PushSource(ByteSource, Protocol):
    """A source that can also push its bytes to a consumer (see :class:`FedSource`): the
    process then needs no task to read it. Only sources whose ``can_push`` is true are
    used so."""

    can_push: bool

    def subscribe(self, consumer: Callable[[bytes], None]) -> None: ...

    def unsubscribe(self) -> None: ...


class Channel(Protocol):
    """A started command."""

    pid: int | None
    """The local pid of what runs the command here (a local process, an ssh client), if any."""
    stdout: ByteSource | None
    stderr: ByteSource | None
    info: ChannelInfo

    async def wait(self) -> ExitStatus:
        """Wait until the command ends (may be called by several tasks)."""
        ...

    def has_exited(self) -> bool:
        """Whether the command has ended and been reaped."""
        ...

    async def send(self, data: bytes) -> None:
        """Write to the command's stdin."""
        ...

    async def close_stdin(self) -> None:
        """Close the command's stdin (end of file for it)."""
        ...

    async def signal(self, sig: int) -> None:
        """Deliver ``sig`` to the whole process tree of the command, without waiting."""
        ...

    async def terminate(self, grace: float, sig: int = _signal.SIGTERM) -> bool:
        """Kill the whole process tree: ``sig``, then SIGKILL after ``grace`` seconds.

        Returns whether SIGKILL was needed. Returns once the command is reaped.
        """
        ...

    async def aclose(self) -> None:
        """Release the channel's resources (after the command has ended)."""
        ...


class ExitNotifier(Protocol):
    """A channel that reports its own end, so that no task needs to wait for it.

    ``callback`` is called once, on the caller's loop and outside any task (at once if
    the command has ended already), after every output chunk was pushed and both streams
    were closed; its sources are push sources. Such a channel needs no ``aclose()`` once it
    has reported its end.
    """

    def notify_exit(self, callback: Callable[[ExitStatus], None]) -> None: ...


def check_signal(sig: object) -> int:
    """``sig`` as a signal number, or a ValueError naming it (before anything is sent)."""
    if isinstance(sig, bool) or not isinstance(sig, int):
        raise TypeError(f"a signal must be an int or a signal.Signals, got {sig!r}")
    try:
        return int(_signal.Signals(sig))
    except ValueError:
        raise ValueError(f"{sig!r} is not a signal number of this system") from None


class FedSource:
    """A byte stream that a transport feeds (from callbacks or records) and a process's
    output pump reads: chunks are handed over joined, ``close()`` is the end of stream.

    Push mode: once a consumer subscribes (:meth:`subscribe`), each chunk goes straight
    to it, in the feeder's call, with no task reading (``b""``: the end of stream);
    :meth:`unsubscribe` stops the flow (what comes later is dropped).
    """

    __slots__ = ("_chunks", "_consumer", "_eof", "_event", "_stopped")

    can_push = True

    def __init__(self) -> None:
        self._chunks: list[bytes] | None = None  # made by the first chunk nobody takes
        self._eof = False
        self._event: anyio.Event | None = None
        self._consumer: Callable[[bytes], None] | None = None
        self._stopped = False

    def feed(self, data: bytes) -> None:
        if data and not self._eof:
            if self._consumer is not None:
                self._consumer(data)
            elif not self._stopped:
                if self._chunks is None:
                    self._chunks = [data]
                else:
                    self._chunks.append(data)
                self._wake()

    def close(self) -> None:
        if self._eof:
            return
        self._eof = True
        if self._consumer is not None:
            self._consumer(b"")
        self._wake()

    def subscribe(self, consumer: Callable[[bytes], None]) -> None:
        """Push every chunk to ``consumer`` from now on (what was fed already, at once)."""
        if self._chunks:
            data = b"".join(self._chunks)
            self._chunks = None
            consumer(data)
        self._consumer = consumer
        if self._eof:
            consumer(b"")

    def unsubscribe(self) -> None:
        """Stop pushing (and keep nothing more)."""
        self._consumer = None
        self._stopped = True

    def _wake(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def read(self) -> bytes:
        while not self._chunks:
            if self._eof:
                return b""
            if self._event is None:
                self._event = anyio.Event()
            await self._event.wait()
        chunks, self._chunks = self._chunks, None
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
