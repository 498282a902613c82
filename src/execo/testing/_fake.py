"""An in-memory transport for the unit tests of experiment scripts (as httpx's MockTransport).

``FakeTransport(handler)`` answers every request (a command or a copy on one host) with the
:class:`Reply` that ``handler`` returns: output, exit code or signal, how long the command
runs, whether the host is unreachable, whether it ignores SIGTERM. The processes and actions
that run over it behave as over a real transport: same states, expect, timeouts, kill; the
transport records what it was asked (``requests``, ``signals``, ``stdin``).

Each fake command runs as a task of the batch (the action, or the lone process), so it is
structured like everything else: nothing outlives the scope that started it.
"""

from __future__ import annotations

import contextvars
import dataclasses
import inspect
import signal as _signal
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Literal, TypeAlias

import anyio
import anyio.abc

from .._core._channel import ByteSource, ChannelInfo, ExitStatus, FedSource, check_signal
from .._transports._base import Batch, CommandRequest, CopyRequest, Request

__all__ = ["Emit", "FakeTransport", "Handler", "Reply", "SignalRecord"]


@dataclasses.dataclass(frozen=True, slots=True)
class Emit:
    """Output a fake command prints ``after`` seconds (from its start, or the previous Emit)."""

    after: float
    text: str | bytes
    stream: Literal["stdout", "stderr"] = "stdout"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """How one fake command (or copy) behaves.

    Attributes:
        stdout, stderr: printed at once when the command starts.
        emits: more output, over time (:class:`Emit`).
        exit_code: its exit code when it ends by itself (None with ``exit_signal``).
        exit_signal: the signal it dies of when it ends by itself.
        duration: seconds it runs after its last output; None: until killed.
        unreachable: the host cannot be reached; this is why (as ssh would say it).
        connect_delay: seconds before the command starts (or the host proves unreachable).
        start_error: the host was reached but the command could not be run; this is why.
        ignores: signals it survives (a kill then needs SIGKILL: ``forced_kill``).
        echo_stdin: what is written to its stdin comes back on its stdout.
    """

    stdout: str | bytes = ""
    stderr: str | bytes = ""
    emits: Sequence[Emit] = ()
    exit_code: int | None = 0
    exit_signal: int | None = None
    duration: float | None = 0.0
    unreachable: str | None = None
    connect_delay: float = 0.0
    start_error: str | None = None
    ignores: frozenset[int] = frozenset()
    echo_stdin: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class SignalRecord:
    """A signal the fake transport delivered: to which request, which signal, and whether it
    was part of a kill (else a :meth:`~execo.ProcessBase.send_signal`)."""

    request: Request
    signal: int
    kill: bool


Handler: TypeAlias = Callable[[Request], "Reply | Awaitable[Reply]"]
"""What answers a request: a function (or coroutine function) of it returning a Reply."""


def _bytes(text: str | bytes) -> bytes:
    return text.encode() if isinstance(text, str) else text


class _FakeChannel:
    """The channel of one fake command, run by a task of its batch."""

    pid: int | None = None

    def __init__(self, transport: FakeTransport, request: Request, reply: Reply) -> None:
        self._transport = transport
        self._request = request
        self._reply = reply
        self.info = ChannelInfo()
        self._out = FedSource()
        self._err = FedSource()
        self.stdout: ByteSource | None = self._out
        self.stderr: ByteSource | None = self._err
        self._status: ExitStatus | None = None
        self._ended = anyio.Event()
        self._started = anyio.Event()
        self._stdin_open = True
        # Only a kill ends the fake remote side, as on a real host: not the cancellation of
        # the scope around it (the batch aborts what is left when it closes).
        self._scope = anyio.CancelScope(shield=True)
        self._killed_by: int | None = None
        self._on_exit: Callable[[ExitStatus], None] | None = None

    def notify_exit(self, callback: Callable[[ExitStatus], None]) -> None:
        """Call ``callback`` once the fake command has ended (at once if it has)."""
        if self._status is not None:
            callback(self._status)
        else:
            self._on_exit = callback

    async def run(self) -> None:
        """The fake remote side: connect, print, run, end (or be killed)."""
        reply = self._reply
        try:
            with self._scope:
                if reply.connect_delay:
                    await anyio.sleep(reply.connect_delay)
                if reply.unreachable is not None:
                    self.info.connect_error = reply.unreachable
                    self._end(ExitStatus(255, None))
                    return
                if reply.start_error is not None:
                    self.info.start_error = reply.start_error
                    self._end(ExitStatus(None, None))
                    return
                self.info.remote_pid = self._transport._next_pid()
                self._started.set()
                self._out.feed(_bytes(reply.stdout))
                self._err.feed(_bytes(reply.stderr))
                for e in reply.emits:
                    await anyio.sleep(e.after)
                    (self._out if e.stream == "stdout" else self._err).feed(_bytes(e.text))
                if reply.duration is None:
                    await anyio.sleep_forever()
                else:
                    await anyio.sleep(reply.duration)
            if self._killed_by is None:
                self._end(ExitStatus(reply.exit_code, reply.exit_signal))
        finally:
            if self._status is None:
                self._end(ExitStatus(None, self._killed_by or int(_signal.SIGKILL)))

    def _end(self, status: ExitStatus) -> None:
        if self._status is None:
            self._status = status
            self._out.close()
            self._err.close()
            self._started.set()
            self._ended.set()
            notify, self._on_exit = self._on_exit, None
            if notify is not None:
                notify(status)

    async def wait(self) -> ExitStatus:
        await self._ended.wait()
        assert self._status is not None
        return self._status

    def has_exited(self) -> bool:
        return self._status is not None

    async def send(self, data: bytes) -> None:
        if self._status is not None or not self._stdin_open:
            raise BrokenPipeError("stdin is closed")
        self._transport.stdin.setdefault(id(self._request), bytearray()).extend(data)
        if self._reply.echo_stdin:
            self._out.feed(data)

    async def close_stdin(self) -> None:
        self._stdin_open = False

    def _deliver(self, sig: int, *, kill: bool) -> bool:
        """Record ``sig``; True if it ends the command."""
        self._transport.signals.append(SignalRecord(self._request, sig, kill))
        fatal = sig == _signal.SIGKILL or (kill and sig not in self._reply.ignores)
        if fatal and self._status is None:
            self._killed_by = sig
            self._scope.cancel()
        return fatal

    async def signal(self, sig: int) -> None:
        if self._status is None:
            self._deliver(check_signal(sig), kill=False)

    async def terminate(self, grace: float, sig: int = _signal.SIGTERM) -> bool:
        if self._status is None and not self._started.is_set():
            self._killed_by = int(_signal.SIGTERM)
            self._scope.cancel()  # still connecting: nothing runs yet
            await self._ended.wait()
            return False
        if self._status is not None:
            return False
        if not self._deliver(check_signal(sig), kill=True):
            with anyio.move_on_after(grace):
                await self._ended.wait()
            if self._status is None:
                self._deliver(int(_signal.SIGKILL), kill=True)
                await self._ended.wait()
                return True
        await self._ended.wait()
        return False

    async def aclose(self) -> None:
        pass


class _FakeBatch(Batch):
    def __init__(self, tg: anyio.abc.TaskGroup, requests: Sequence[Request]) -> None:
        self.tg = tg
        self.ids = {id(r) for r in requests}
        self.channels: list[_FakeChannel] = []

    def abort(self) -> None:
        """End the fake commands still running (their processes are gone)."""
        for channel in self.channels:
            if channel._status is None:
                channel._scope.cancel()


_batches: contextvars.ContextVar[tuple[_FakeBatch, ...]] = contextvars.ContextVar(
    "execo_fake_batches", default=()
)


class FakeTransport:
    """A transport whose hosts are in memory (see the module documentation).

    Args:
        handler: answers each request (also a coroutine function); or a Reply for every
            request; or a dict from host address to Reply (``default`` for the others).
        default: the Reply for hosts the dict does not name.
        name: the transport's name in messages.

    Attributes:
        requests: every request opened, in order.
        signals: every signal delivered (:class:`SignalRecord`).
        stdin: what was written to each command's stdin, by ``id(request)``.
        notifies_exit: its channels report their own end, as asyncssh's do, so that an
            action follows all its processes from one task (default True); False (on an
            instance or a subclass) gives each process a task of its own, as with OpenSSH.
    """

    notifies_exit: bool = True

    def __init__(
        self,
        handler: Handler | Reply | Mapping[str, Reply] | None = None,
        *,
        default: Reply | None = None,
        name: str = "fake",
    ) -> None:
        self._handler = handler
        self._default = default if default is not None else Reply()
        self._name = name
        self.requests: list[Request] = []
        self.signals: list[SignalRecord] = []
        self.stdin: dict[int, bytearray] = {}
        self._pids = 4000

    @property
    def name(self) -> str:
        return self._name

    def _next_pid(self) -> int:
        self._pids += 1
        return self._pids

    def validate(self, requests: Sequence[Request]) -> None:
        pass

    def batch(self, requests: Sequence[Request]) -> AbstractAsyncContextManager[Batch]:
        return self._batch(requests)

    @asynccontextmanager
    async def _batch(self, requests: Sequence[Request]) -> AsyncIterator[Batch]:
        enclosing = _batches.get()
        if requests and all(any(id(r) in b.ids for b in enclosing) for r in requests):
            yield Batch()
            return
        async with anyio.create_task_group() as tg:
            batch = _FakeBatch(tg, requests)
            token = _batches.set((*enclosing, batch))
            try:
                yield batch
            finally:
                _batches.reset(token)
                batch.abort()

    async def _reply_for(self, request: Request) -> Reply:
        h = self._handler
        if h is None:
            return self._default
        if isinstance(h, Reply):
            return h
        if isinstance(h, Mapping):
            return h.get(request.host.address, self._default)
        reply = h(request)
        if inspect.isawaitable(reply):
            reply = await reply
        if not isinstance(reply, Reply):
            raise TypeError(f"the FakeTransport handler returned {reply!r}, not a Reply")
        return reply

    async def open(self, request: Request) -> _FakeChannel:
        batch = next((b for b in reversed(_batches.get()) if id(request) in b.ids), None)
        if batch is None:
            raise RuntimeError("a FakeTransport channel is opened inside its batch")
        self.requests.append(request)
        channel = _FakeChannel(self, request, await self._reply_for(request))
        batch.channels.append(channel)
        batch.tg.start_soon(channel.run)
        return channel

    def commands(self) -> list[str]:
        """The command lines asked for, in order (copies left out)."""
        return [r.command for r in self.requests if isinstance(r, CommandRequest)]

    def copies(self) -> list[CopyRequest]:
        """The copies asked for, in order."""
        return [r for r in self.requests if isinstance(r, CopyRequest)]

    def __repr__(self) -> str:
        return f"FakeTransport(name={self._name!r}, {len(self.requests)} requests)"
