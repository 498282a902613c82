"""Processes as scopes: the state model, the lifecycle, kill/timeout/cancel, I/O.

:class:`ProcessBase` holds everything a process kind shares; a kind only says how to start
its command (:meth:`ProcessBase._spawn` returns a :class:`~execo._core._channel.Channel`).

Three ways to run one, all structured:

* ``await p.run()`` starts it and returns once it has ended;
* ``async with p:`` starts it; leaving the block waits for it; an exception or a
  cancellation inside the block kills it;
* ``await nursery.start(p.run)`` returns once it has started, in the caller's nursery.

Kill means a signal (SIGTERM unless told) to the whole process tree, then SIGKILL after a
grace period, always reaped; for remote kinds the remote tree gets them too.
"""

from __future__ import annotations

import logging
import os
import re
import signal as _signal
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import (
    Any,
    ClassVar,
    Protocol,
    Self,
    TypeAlias,
    TypedDict,
    Unpack,
    cast,
    runtime_checkable,
)

import anyio
import anyio.abc

from ._channel import Channel, ExitNotifier, ExitStatus, PushSource, check_signal
from ._config import configuration
from ._errors import ExecoError, ExecoUsageError
from ._failures import describe_failures
from ._host import Host, fold_hosts
from ._log import ensure_log_setup, logger, style
from ._options import check_keywords
from ._output import (
    STDERR,
    STDOUT,
    ChunkSink,
    FileSink,
    LineSink,
    LineSplitter,
    Sink,
    Stream,
    StreamBuffer,
    SupportsWrite,
    WriterSink,
)
from ._scope import Scoped
from ._status import (
    ExpectResult,
    ProcessStatus,
    RegexLike,
    compile_regexes,
    describe_start_error,
    pattern_list,
    signal_name,
)
from ._util import UNSET, Unset, compact_output, name_from_cmdline

__all__ = [
    "ExpectResult",
    "LineHandler",
    "LocalProcessOptions",
    "OutputHandler",
    "OutputHandlerSpec",
    "ProcessBase",
    "ProcessLifecycleHandler",
    "ProcessOptions",
    "ProcessStatus",
    "ProcessesFailed",
    "SshProcessOptions",
    "make_sink",
]


class ProcessLifecycleHandler:
    """Hooks called when a process starts, ends and is reset (override what you need)."""

    def start(self, process: ProcessBase) -> None:
        """The process has started (or failed to start: ``end`` follows at once)."""

    def end(self, process: ProcessBase) -> None:
        """The process has ended."""

    def reset(self, process: ProcessBase) -> None:
        """The process was reset."""


@runtime_checkable
class OutputHandler(Protocol):
    """Receives raw decoded chunks of a stream, as they arrive."""

    def data_received(self, process: ProcessBase, stream: Stream, text: str, eof: bool) -> None:
        """``text`` was printed on ``stream`` (``eof``: and the stream is now closed)."""


class LineHandler:
    """Base class of handlers that receive whole lines (subclass and override on_line)."""

    def on_line(self, process: ProcessBase, stream: Stream, line: str) -> None:
        """A complete line (without its terminator) was printed."""


OutputHandlerSpec: TypeAlias = (
    str | os.PathLike[str] | OutputHandler | LineHandler | SupportsWrite | Callable[[str], object]
)
"""What an output handler may be: a file path (opened in append mode for the process's
lifetime), an :class:`OutputHandler` (chunks), a :class:`LineHandler` (lines), an object with
``write(str)`` (chunks), or a plain callable ``f(line)`` (lines)."""


def make_sink(spec: OutputHandlerSpec) -> Sink:
    """Normalise a user's handler; raises TypeError naming it when it is none of the kinds."""
    if isinstance(spec, str | os.PathLike):
        return FileSink(spec)
    if isinstance(spec, LineHandler):
        return LineSink(spec.on_line)
    if isinstance(spec, OutputHandler):
        return ChunkSink(spec.data_received)
    if callable(getattr(spec, "write", None)):
        return WriterSink(spec)  # type: ignore[arg-type]
    if callable(spec):
        func = spec

        def call(process: ProcessBase, stream: Stream, line: str) -> None:
            func(line)

        return LineSink(call)
    raise TypeError(
        f"output handler {spec!r} is not a file path, OutputHandler, LineHandler, "
        "writable object or callable"
    )


class ProcessOptions(TypedDict, total=False):
    """The keyword options of every process kind (all optional).

    Keys:
        timeout: seconds from the start after which the process is killed and marked
            ``timeouted``; None (default): no timeout.
        ignore_exit_code, ignore_timeout, ignore_error, ignore_expect_fail,
            ignore_write_error: such failures do not make the process not ``ok``.
        nolog_exit_code, nolog_timeout, nolog_error, nolog_expect_fail,
            nolog_write_error: such failures are logged at DEBUG, not WARNING.
        default_expect_timeout: timeout of :meth:`~ProcessBase.expect` when not given.
        default_stdout_handler, default_stderr_handler: keep the stream's text in
            ``stdout``/``stderr`` (default True; turn off for huge outputs you only stream
            to handlers).
        stdout_handlers, stderr_handlers: where else the output goes (see
            :data:`~execo.OutputHandlerSpec`).
        lifecycle_handlers: :class:`ProcessLifecycleHandler` objects.
        name: a display name; defaults to the command, shortened.
        kill_grace: seconds between the kill signal and SIGKILL; default
            ``configuration["kill_timeout"]``.
        stdin: give the process a stdin you can :meth:`~ProcessBase.write` to (default
            True; else it reads /dev/null).
        detach: let the command outlive this controller (default False): no supervisor
            kills it when the controller dies, and no remote watchdog ends it when its
            connection ends. For daemons an experiment starts on purpose; within the
            process's scope, kill, timeout and cancellation still end it.
    """

    timeout: float | None
    ignore_exit_code: bool
    nolog_exit_code: bool
    ignore_timeout: bool
    nolog_timeout: bool
    ignore_error: bool
    nolog_error: bool
    ignore_expect_fail: bool
    nolog_expect_fail: bool
    ignore_write_error: bool
    nolog_write_error: bool
    default_expect_timeout: float | None
    default_stdout_handler: bool
    default_stderr_handler: bool
    stdout_handlers: Iterable[OutputHandlerSpec]
    stderr_handlers: Iterable[OutputHandlerSpec]
    lifecycle_handlers: Iterable[ProcessLifecycleHandler]
    name: str | None
    kill_grace: float | Unset
    stdin: bool
    detach: bool


class SshProcessOptions(ProcessOptions, total=False):
    """:class:`ProcessOptions`, plus the environment and working directory of the local
    program that runs the command (the ``ssh`` client, for :class:`~execo.SshProcess`).

    Keys:
        env: extra environment variables, added to the current environment.
        cwd: working directory.
    """

    env: Mapping[str, str] | None
    cwd: str | None


class LocalProcessOptions(SshProcessOptions, total=False):
    """Everything a local :class:`~execo.Process` takes.

    Keys:
        shell: run ``cmd`` through ``/bin/sh -c`` (a sequence is shell-quoted first).
        pty: connect stdin and stdout to a pseudo-terminal (stderr stays separate).
    """

    shell: bool
    pty: bool


class ProcessesFailed(ExecoError):
    """Some processes did not finish ok (raised when asked: ``check=True``,
    ``raise_for_error()``).

    The message names the failed hosts (folded: ``node-[1-3]``) and why, one line per
    distinct command and reason.

    Attributes:
        processes: the failed processes, each carrying its full state (host, exit code,
            signal, stdout, stderr, error_reason).
    """

    def __init__(self, processes: Sequence[ProcessBase]) -> None:
        self.processes: list[ProcessBase] = list(processes)
        super().__init__(self._summary())

    @property
    def hosts(self) -> list[Host]:
        """The hosts of the failed processes (in order, duplicates kept)."""
        return [p.host for p in self.processes if p.host is not None]

    def _summary(self) -> str:
        n = len(self.processes)
        where = f" on {fold_hosts(self.hosts)}" if self.hosts else ""
        lines = [f"{n} process{'es' if n != 1 else ''} failed{where}:"]
        lines.extend(f"  {line}" for line in describe_failures(self.processes))
        return "\n".join(lines)


_NOT_STARTED, _STARTING, _RUNNING, _ENDED = range(4)


class ProcessBase(Scoped):
    """State and lifecycle shared by every process kind.

    Args:
        cmd: the command: a string (split with shlex unless ``shell``), or an argv sequence.
        **options: see :class:`LocalProcessOptions` (every process kind takes the
            :class:`ProcessOptions`; local ones also ``shell``, ``pty``, ``env``, ``cwd``).
    """

    _kind: ClassVar[str] = "ProcessBase"

    def __init__(self, cmd: str | Sequence[str], **options: Unpack[LocalProcessOptions]) -> None:
        check_keywords(self, options, LocalProcessOptions)
        _check_cmd(cmd)
        timeout = options.get("timeout")
        if timeout is not None and not (isinstance(timeout, int | float) and timeout >= 0):
            raise ValueError(f"timeout must be a number >= 0 or None, got {timeout!r}")
        env = options.get("env")
        self.cmd = cmd
        self.timeout = timeout
        self.shell = options.get("shell", False)
        self.pty = options.get("pty", False)
        self.env = dict(env) if env is not None else None
        self.cwd = options.get("cwd")
        self.ignore_exit_code = options.get("ignore_exit_code", False)
        self.nolog_exit_code = options.get("nolog_exit_code", False)
        self.ignore_timeout = options.get("ignore_timeout", False)
        self.nolog_timeout = options.get("nolog_timeout", False)
        self.ignore_error = options.get("ignore_error", False)
        self.nolog_error = options.get("nolog_error", False)
        self.ignore_expect_fail = options.get("ignore_expect_fail", False)
        self.nolog_expect_fail = options.get("nolog_expect_fail", False)
        self.ignore_write_error = options.get("ignore_write_error", False)
        self.nolog_write_error = options.get("nolog_write_error", False)
        self.default_expect_timeout = options.get("default_expect_timeout")
        self.kill_grace: float | Unset = options.get("kill_grace", UNSET)
        self.stdin = options.get("stdin", True)
        self.detach = options.get("detach", False)
        self.lifecycle_handlers: list[ProcessLifecycleHandler] = list(
            options.get("lifecycle_handlers", ())
        )
        self.stdout_handlers: list[OutputHandlerSpec] = list(options.get("stdout_handlers", ()))
        self.stderr_handlers: list[OutputHandlerSpec] = list(options.get("stderr_handlers", ()))
        for spec in (*self.stdout_handlers, *self.stderr_handlers):
            make_sink(spec)  # a handler of no known kind is refused here, naming itself
        self.default_stdout_handler: bool = options.get("default_stdout_handler", True)
        self.default_stderr_handler: bool = options.get("default_stderr_handler", True)
        self._name = options.get("name")
        self.host: Host | None = None
        self._in_action = False  # set by the action that runs it: it logs the summary
        self._clear_state()

    # ------------------------------------------------------------------ state

    def _clear_state(self) -> None:
        encoding = configuration["encoding"]
        errors = configuration["encoding_errors"]
        self._phase = _NOT_STARTED
        self.start_date: float | None = None
        self.end_date: float | None = None
        self.error = False
        self.error_reason: str | None = None
        self.killed = False
        self.timeouted = False
        self.forced_kill = False
        self.exit_code: int | None = None
        self.exit_signal: int | None = None
        self.pid: int | None = None
        self.expect_fail = False
        self.write_error = False
        self._unreachable = False
        self._channel: Channel | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._ended_event: anyio.Event | None = None
        self._started_event: anyio.Event | None = None
        self._terminating = False
        self._kill_over = False  # the kill that _terminating started has finished
        self._kill_error_seen: str | None = None
        self._kill_done: anyio.Event | None = None
        self._group: ProcessGroup | None = None
        self._exit_status: ExitStatus | None = None
        self._buffers = {
            STDOUT: StreamBuffer(STDOUT, encoding, errors, self.default_stdout_handler),
            STDERR: StreamBuffer(STDERR, encoding, errors, self.default_stderr_handler),
        }
        self._expect_cursor: dict[Stream, int] = {}

    @property
    def name(self) -> str:
        """Display name (the command, shortened, unless given)."""
        return self._name if self._name is not None else name_from_cmdline(self.cmd)

    @name.setter
    def name(self, value: str | None) -> None:
        self._name = value

    @property
    def started(self) -> bool:
        """The process was started (successfully or not)."""
        return self._phase >= _RUNNING

    @property
    def ended(self) -> bool:
        """The process has ended (or failed to start)."""
        return self._phase == _ENDED

    @property
    def running(self) -> bool:
        """Started and not yet ended."""
        return self._phase == _RUNNING

    @property
    def stdout(self) -> str:
        """Everything printed on stdout so far."""
        return self._buffers[STDOUT].text()

    @property
    def stderr(self) -> str:
        """Everything printed on stderr so far (with ``pty``, stderr stays separate)."""
        return self._buffers[STDERR].text()

    @property
    def ok(self) -> bool:
        """No failure that is not ignored (a process not yet ended is ok so far)."""
        if self.expect_fail and not self.ignore_expect_fail:
            return False
        if self.write_error and not self.ignore_write_error:
            return False
        if not self.ended:
            return True
        if self.error and not self.ignore_error:
            return False
        if self.timeouted and not self.ignore_timeout:
            return False
        return self.exit_code == 0 or self.ignore_exit_code or self.killed

    @property
    def finished_ok(self) -> bool:
        """Started, ended, and ok."""
        return self.started and self.ended and self.ok

    @property
    def status(self) -> ProcessStatus:
        """One word for the outcome: OK, FAILED, TIMEOUT, KILLED, ERROR, UNREACHABLE..."""
        if not self.started:
            return ProcessStatus.NOT_STARTED
        if not self.ended:
            return ProcessStatus.RUNNING
        if self._unreachable:
            return ProcessStatus.UNREACHABLE
        if self.error:
            return ProcessStatus.ERROR
        if self.timeouted:
            return ProcessStatus.TIMEOUT
        if self.killed:
            return ProcessStatus.KILLED
        return ProcessStatus.OK if self.ok else ProcessStatus.FAILED

    # --------------------------------------------------------------- running

    async def run(
        self,
        *,
        timeout: float | Unset | None = UNSET,
        check: bool = False,
        task_status: anyio.abc.TaskStatus[Self] = anyio.TASK_STATUS_IGNORED,
    ) -> Self:
        """Start the process and wait until it ends; returns self.

        Args:
            timeout: overrides the constructor's ``timeout`` for this run.
            check: raise :class:`ProcessesFailed` if the process is not ok at the end.
            task_status: so that ``await nursery.start(p.run)`` returns once started.

        Raises:
            ProcessesFailed: with ``check``, when the process did not finish ok.
            ExecoUsageError: it was already started (call :meth:`reset` first).
        """
        if timeout is not UNSET:
            self.timeout = timeout
        await self._lifecycle(task_status)
        if check:
            self.raise_for_error()
        return self

    async def wait(self, timeout: float | None = None) -> Self:
        """Wait until the process ends (or ``timeout`` seconds pass); returns self.

        Raises:
            ExecoUsageError: the process was never started.
        """
        if self._phase == _NOT_STARTED:
            raise ExecoUsageError(f"{self.name}: wait() on a process that was never started")
        if self._phase == _ENDED:
            return self
        if self._ended_event is None:
            self._ended_event = anyio.Event()
        with anyio.move_on_after(timeout):
            await self._ended_event.wait()
        return self

    async def kill(self, sig: int = _signal.SIGTERM) -> Self:
        """Kill the process tree: ``sig`` to every process of it, then SIGKILL after the
        grace period (``kill_grace``) if it has not ended.

        ``sig`` reaches the whole tree on every transport (the remote one included).
        Returns once the process has ended. A no-op on a process that is not running.

        Raises:
            ValueError: ``sig`` is not a signal number (nothing is sent).
        """
        sig = check_signal(sig)
        await self._until_started()
        if self._phase != _RUNNING:
            return self
        self.killed = True
        self._start_termination(sig)
        return await self.wait()

    async def send_signal(self, sig: int) -> None:
        """Deliver ``sig`` to the whole process tree (local or remote), without waiting and
        without escalating: the process keeps running unless ``sig`` ends it (``SIGUSR1``,
        ``SIGHUP``, ``SIGSTOP``...). A no-op on a process that is not running.

        Raises:
            ValueError: ``sig`` is not a signal number.
        """
        sig = check_signal(sig)
        await self._until_started()
        if self._phase != _RUNNING or self._channel is None:
            return
        await self._channel.signal(sig)
        self._note_kill_error()

    def _expire(self) -> None:
        """Mark the process timed out and start killing it (its own timeout, or an enclosing
        Action's)."""
        if self._phase == _RUNNING:
            self.timeouted = True
            self.killed = True  # as in execo: a signal was sent (by the timeout)
            self._start_termination()
        elif self._phase == _STARTING:
            # Still connecting (taktuk waits for the remote start): the cancellation that
            # follows ends the start; the outcome is the timeout's, not a kill's.
            self.timeouted = True

    def _start_termination(self, sig: int = _signal.SIGTERM) -> None:
        if self._terminating or self._tg is None:
            return
        self._terminating = True
        self._tg.start_soon(self._terminate, sig)

    def _grace(self) -> float:
        return float(configuration["kill_timeout"] if self.kill_grace is UNSET else self.kill_grace)

    async def _terminate(self, sig: int = _signal.SIGTERM) -> None:
        channel = self._channel
        assert channel is not None
        try:
            # Killing must finish even if the caller is cancelled meanwhile; it is bounded
            # by the grace period (and, remotely, the connect timeout).
            with anyio.CancelScope(shield=True):
                if await channel.terminate(self._grace(), sig):
                    self.forced_kill = True
                self._note_kill_error()
        finally:
            self._kill_over = True
            if self._kill_done is not None:
                self._kill_done.set()
            if self._exit_status is not None:
                self._end_batched()  # a batched process whose channel ended meanwhile

    def _note_kill_error(self) -> None:
        """A signal the transport could not deliver is logged, and kept in error_reason."""
        channel = self._channel
        reason = channel.info.kill_error if channel is not None else None
        if reason is not None and reason != self._kill_error_seen:
            self._kill_error_seen = reason
            if self.error_reason is None:
                self.error_reason = reason
            logger.warning("%s: %s", self.failure_summary(), reason)

    async def write(self, data: str | bytes) -> None:
        """Write to the process's stdin (str is encoded with the configured encoding).

        A failure sets ``write_error`` (logged), it does not raise.
        """
        if isinstance(data, str):
            data = data.encode(configuration["encoding"], configuration["encoding_errors"])
        if self._channel is None or not self.running:
            self._set_write_error("process is not running")
            return
        try:
            await self._channel.send(data)
        except (OSError, anyio.ClosedResourceError, anyio.BrokenResourceError) as e:
            self._set_write_error(repr(e))

    async def close_stdin(self) -> None:
        """Close stdin: the process reads end of file."""
        if self._channel is not None and self.running:
            try:
                await self._channel.close_stdin()
            except (OSError, anyio.ClosedResourceError, anyio.BrokenResourceError) as e:
                self._set_write_error(repr(e))

    def _set_write_error(self, reason: str) -> None:
        self.write_error = True
        level = logging.DEBUG if self.nolog_write_error else logging.WARNING
        _log(level, "write to %s failed: %s", self, reason)

    async def expect(
        self,
        regexes: RegexLike | Sequence[RegexLike],
        *,
        timeout: float | Unset | None = UNSET,
        stream: Stream | str | int = STDOUT,
        backtrack: bool = True,
    ) -> ExpectResult:
        """Wait until one of ``regexes`` matches the output; the earliest match wins.

        The output is searched from where the previous expect on this stream stopped (from
        the beginning for the first one with ``backtrack``, else from now). Of all the
        regexes, the match that starts first in the text wins (ties go to the first regex
        in the list); the next expect starts right after it, so no text is skipped.

        Args:
            regexes: one or several regexes (strings are compiled with ``re.MULTILINE``).
            timeout: seconds to wait; default ``default_expect_timeout``; 0: don't wait.
            stream: which stream to search.
            backtrack: on the first expect of this stream, search the output already
                received too.

        Returns:
            ``ExpectResult(index, match)``, or ``ExpectResult(None, None)`` when the
            timeout expires or the stream ends first (``expect_fail`` is then set).
        """
        patterns = compile_regexes(regexes)
        if timeout is UNSET:
            timeout = self.default_expect_timeout
        s = Stream.of(stream)
        buf = self._buffers[s]
        if not buf.capture:
            raise ExecoUsageError(
                f"{self.name}: expect() needs the {s} text: don't turn its default handler off"
            )
        cursor = self._expect_cursor.get(s)
        if cursor is None:
            cursor = 0 if backtrack else len(buf)
        deadline = None if timeout is None else anyio.current_time() + timeout
        while True:
            text = buf.text()
            best: tuple[int, re.Match[str]] | None = None
            for i, pattern in enumerate(patterns):
                m = pattern.search(text, cursor)
                if m is not None and (best is None or m.start() < best[1].start()):
                    best = (i, m)
            if best is not None:
                self._expect_cursor[s] = best[1].end()
                return ExpectResult(*best)
            self._expect_cursor[s] = cursor
            if buf.eof or self.ended or (deadline is not None and anyio.current_time() >= deadline):
                break
            changed = buf.changed_event()
            with anyio.move_on_after(None if deadline is None else deadline - anyio.current_time()):
                await changed.wait()
        self.expect_fail = True
        level = logging.DEBUG if self.nolog_expect_fail else logging.WARNING
        why = "stream ended" if (buf.eof or self.ended) else f"timeout ({timeout} s)"
        _log(level, "expect %r on %s of %s failed: %s", pattern_list(patterns), s, self, why)
        return ExpectResult(None, None)

    async def lines(self, stream: Stream | str | int = STDOUT) -> AsyncIterator[str]:
        """Iterate over the lines of a stream (from the start), until it ends."""
        s = Stream.of(stream)
        buf = self._buffers[s]
        if not buf.capture:
            raise ExecoUsageError(f"{self.name}: lines() needs the {s} text")
        splitter = LineSplitter()
        index = 0
        while True:
            chunks, index = buf.chunks_from(index)
            eof = buf.eof or self.ended
            for line in splitter.feed("".join(chunks), eof=eof):
                yield line
            if eof:
                return
            await buf.changed_event().wait()

    def reset(self) -> Self:
        """Forget the last run so the process can run again; returns self.

        Raises:
            ExecoUsageError: the process is running.
        """
        if self._phase in (_STARTING, _RUNNING):
            raise ExecoUsageError(f"{self.name}: reset() while running; kill() it first")
        for h in self.lifecycle_handlers:
            _call_handler(h.reset, self)
        self._clear_state()
        return self

    def raise_for_error(self) -> None:
        """Raise :class:`ProcessesFailed` if the process is not ok."""
        if not self.ok:
            raise ProcessesFailed([self])

    # ----------------------------------------------------------- subclasses

    async def _spawn(self) -> Channel:
        """Start the command; raise OSError if it cannot be started."""
        raise NotImplementedError

    def _run_scope(self) -> AbstractAsyncContextManager[object]:
        """What a run of this process needs around it (a transport's pool or tree, when the
        process is not part of an action that opened one); nothing by default."""
        return nullcontext()

    def _on_exit(self, status: ExitStatus) -> None:
        """Interpret what the channel learnt: never connected (UNREACHABLE), or a transport
        failure after the start (kept in ``error_reason``)."""
        if self._channel_unreachable():
            return
        info = self._channel.info if self._channel is not None else None
        if info is None or self.killed:
            return
        if info.start_error is not None:
            self.error = True
            self.error_reason = info.start_error
        elif info.error is not None and self.error_reason is None:
            self.error_reason = info.error

    def _set_unreachable(self, reason: str) -> None:
        """The remote host could not be reached or logged into (``reason`` says why)."""
        self.error = True
        self._unreachable = True
        self.error_reason = f"unreachable: {reason}"

    def _channel_unreachable(self) -> bool:
        """Mark the process unreachable if its channel never connected (not when killed)."""
        reason = self._channel.info.connect_error if self._channel is not None else None
        if reason is None or self.killed:
            return False
        self._set_unreachable(reason)
        return True

    # ------------------------------------------------------------- lifecycle

    async def _lifecycle(self, task_status: anyio.abc.TaskStatus[Self]) -> None:
        self._enter_start()
        try:
            async with self._run_scope():
                await self._run_channel(task_status)
        except BaseException:
            self._start_aborted()
            raise

    def _enter_start(self) -> None:
        if self._phase != _NOT_STARTED:
            raise ExecoUsageError(f"{self.name}: already started; reset() it to run it again")
        # The handlers and the capture are read now (attributes the user may change until
        # the start); a handler of no known kind is refused before anything starts.
        for buf, handlers, capture in (
            (self._buffers[STDOUT], self.stdout_handlers, self.default_stdout_handler),
            (self._buffers[STDERR], self.stderr_handlers, self.default_stderr_handler),
        ):
            buf.sinks = [make_sink(h) for h in handlers] if handlers else ()
            buf.capture = capture
        ensure_log_setup()
        self._phase = _STARTING
        # Its events (started, ended, kill done) are made by their first waiter: most
        # processes of a large action are never waited for one by one.

    async def _until_started(self) -> None:
        if self._phase == _STARTING:
            if self._started_event is None:
                self._started_event = anyio.Event()
            await self._started_event.wait()

    async def _until_killed(self) -> None:
        """Wait for the end of the kill that ``_terminating`` started."""
        if not self._kill_over:
            if self._kill_done is None:
                self._kill_done = anyio.Event()
            await self._kill_done.wait()

    def _set_started(self) -> None:
        event, self._started_event = self._started_event, None
        if event is not None:
            event.set()

    def _set_ended(self) -> None:
        """Wake the waiters of the end; an ended process keeps no event (it may be kept
        for long, in its action's report)."""
        started, ended, killed = self._started_event, self._ended_event, self._kill_done
        self._ended_event = self._started_event = self._kill_done = None
        for event in (started, ended, killed):
            if event is not None:
                event.set()

    def _start_aborted(self) -> None:
        """The run (or the end of a batched process) was left by an exception before the
        process ended: it has ended."""
        if self._phase != _ENDED:
            self._phase = _ENDED
            self._set_ended()

    async def _run_channel(self, task_status: anyio.abc.TaskStatus[Self]) -> None:
        channel = await self._spawn_channel(task_status)
        if channel is not None:
            await self._supervise(channel)

    async def _spawn_channel(self, task_status: anyio.abc.TaskStatus[Self]) -> Channel | None:
        """Start the command: the channel, or None when it could not be started (the process
        has then ended, with its error)."""
        for buf in self._buffers.values():
            for sink in buf.sinks:
                sink.open()
        try:
            self._channel = await self._spawn()
        except (OSError, ValueError) as e:
            self._start_failed(e)
            task_status.started(self)
            return None
        except anyio.get_cancelled_exc_class():
            # Cancelled while the transport was starting it (taktuk waits for the remote
            # command to start): the transport killed what may have started.
            self.killed = True
            raise
        self.pid = self._channel.pid
        self.start_date = time.time()
        self._phase = _RUNNING
        self._set_started()
        for h in self.lifecycle_handlers:
            _call_handler(h.start, self)
        task_status.started(self)
        return self._channel

    async def _supervise(self, channel: Channel) -> None:
        """Follow a started command until it has ended: output, timeout, kill, the end."""
        # Output keeps flowing while the process is being killed (a remote transport may need
        # a line from it to kill the remote side): the pumps are shielded from outside
        # cancellation and stopped explicitly, once the process is gone and drained. A
        # source that pushes (asyncssh, taktuk) needs no pump task: it feeds the buffers
        # from its callbacks until it is unsubscribed.
        pump_scopes: list[_Stoppable] = []
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                pumps_done = anyio.Event()
                self._start_pumps(tg, channel, pumps_done, pump_scopes)
                try:
                    if self.timeout is None:
                        await channel.wait()
                        timed_out = False
                    else:
                        with anyio.move_on_after(self.timeout) as timeout_scope:
                            await channel.wait()
                        timed_out = timeout_scope.cancelled_caught
                    if timed_out:
                        self._expire()
                        await channel.wait()
                except BaseException:
                    with anyio.CancelScope(shield=True):
                        self.killed = True
                        if not self._terminating:
                            self._terminating = True
                            await self._terminate()
                        await self._until_killed()
                        await self._drain(pumps_done, pump_scopes)
                    raise
                finally:
                    self._tg = None
                if self._terminating:
                    await self._until_killed()
                await self._drain(pumps_done, pump_scopes)
        finally:
            for scope in pump_scopes:
                scope.cancel()
            with anyio.CancelScope(shield=True):
                await channel.aclose()
                for buf in self._buffers.values():
                    buf.feed_text(self, "", eof=True)
                if channel.has_exited():
                    self._finish(await channel.wait())
                else:
                    self._finish(ExitStatus(None, None))

    # ---------------------------------------- batched: one task for many processes

    async def _begin_batched(self, group: ProcessGroup) -> bool:
        """Start as one of ``group``'s processes; returns whether it is running under the
        group (False: it could not start, and has ended).

        A channel that reports its own end (:class:`~execo._core._channel.ExitNotifier`,
        whose sources push) needs no task of its own: its output goes to the buffers from
        the transport's callbacks, its end arrives as a callback, and the group's task
        group runs what a kill or a timeout needs. Any other channel is followed by a task
        of its own in that task group, as :meth:`run` does.
        """
        self._enter_start()
        try:
            channel = await self._spawn_channel(anyio.TASK_STATUS_IGNORED)
        except BaseException:
            self._start_aborted()
            raise
        if channel is None:
            return False
        self._tg = group.tg
        self._group = group
        notify = getattr(channel, "notify_exit", None)
        sources = ((STDOUT, channel.stdout), (STDERR, channel.stderr))
        if notify is None or not all(
            src is None or getattr(src, "can_push", False) for _, src in sources
        ):
            group.tg.start_soon(self._supervise_in_group, channel, group)
            return True
        for s, source in sources:
            if source is None:
                self._buffers[s].feed_text(self, "", eof=True)
            else:
                pushing = cast("PushSource", source)
                pushing.subscribe(self._consumer(self._buffers[s], _nothing))
        if self.timeout is not None:
            group.deadline(self, anyio.current_time() + self.timeout)
        cast("ExitNotifier", channel).notify_exit(self._channel_exited)
        return True

    async def _supervise_in_group(self, channel: Channel, group: ProcessGroup) -> None:
        try:
            await self._supervise(channel)
        finally:
            self._group = None
            group.ended(self)

    def _channel_exited(self, status: ExitStatus) -> None:
        """The channel's end (a callback of the transport, outside any task)."""
        self._exit_status = status
        if self._terminating and not self._kill_over:
            return  # the kill in progress ends the process when it is done
        self._end_batched()

    def _end_batched(self) -> None:
        group, self._group = self._group, None
        status, self._exit_status = self._exit_status, None
        if group is None or status is None:
            return
        self._tg = None
        try:
            channel = self._channel
            for stream in (channel.stdout, channel.stderr) if channel is not None else ():
                if stream is not None:
                    cast("PushSource", stream).unsubscribe()
            for buf in self._buffers.values():
                buf.feed_text(self, "", eof=True)
            self._finish(status)
        except BaseException as e:  # a handler of the user's failed: the group raises it
            self._start_aborted()
            group.failed(e)
        finally:
            group.ended(self)

    def _batch_abort(self) -> None:
        """The group is cancelled: kill the process, as a cancelled :meth:`run` does."""
        if self._phase == _RUNNING and self._group is not None:
            self.killed = True
            self._start_termination()

    async def _drain(self, pumps_done: anyio.Event, scopes: list[_Stoppable]) -> None:
        """Let the pumps read what is left, for a bounded time, then stop them."""
        if not pumps_done.is_set():
            with anyio.move_on_after(configuration["output_drain_timeout"]):
                await pumps_done.wait()
        for scope in scopes:
            scope.cancel()

    def _start_pumps(
        self,
        tg: anyio.abc.TaskGroup,
        channel: Channel,
        done: anyio.Event,
        scopes: list[_Stoppable],
    ) -> None:
        sources = ((STDOUT, channel.stdout), (STDERR, channel.stderr))
        remaining = [sum(src is not None for _, src in sources)]
        if not remaining[0]:
            done.set()

        def ended() -> None:
            remaining[0] -= 1
            if not remaining[0]:
                done.set()

        async def pump(s: Stream, source: Any, scope: anyio.CancelScope) -> None:
            with scope:
                await self._pump(s, source)
            ended()

        for s, source in sources:
            if source is None:
                self._buffers[s].feed_text(self, "", eof=True)
            elif getattr(source, "can_push", False):
                pushing = cast("PushSource", source)
                scopes.append(_Unsubscribe(pushing))
                pushing.subscribe(self._consumer(self._buffers[s], ended))
            else:
                scope = anyio.CancelScope(shield=True)
                scopes.append(scope)
                tg.start_soon(pump, s, source, scope)

    def _consumer(self, buf: Any, ended: Callable[[], None]) -> Callable[[bytes], None]:
        """What a pushing source calls with each chunk (``b""``: its end)."""
        return _Consumer(self, buf, ended)

    async def _pump(self, s: Stream, source: Any) -> None:
        buf = self._buffers[s]
        while True:
            try:
                data = await source.read()
            except OSError:
                data = b""
            if not data:
                buf.feed_bytes(self, b"", eof=True)
                return
            buf.feed_bytes(self, data)

    def _start_failed(self, e: BaseException) -> None:
        self.error = True
        self.error_reason = describe_start_error(e)
        self.start_date = time.time()
        self._phase = _RUNNING
        self._set_started()
        for h in self.lifecycle_handlers:
            _call_handler(h.start, self)
        for buf in self._buffers.values():
            buf.feed_text(self, "", eof=True)
        self._finish(ExitStatus(None, None))

    def _finish(self, status: ExitStatus) -> None:
        self.exit_code = status.exit_code
        self.exit_signal = status.signal
        self._on_exit(status)
        self.end_date = time.time()
        self._phase = _ENDED
        for buf in self._buffers.values():
            for sink in buf.sinks:
                sink.close()
        self._set_ended()
        self._log_end()
        for h in self.lifecycle_handlers:
            _call_handler(h.end, self)

    def _warns(self) -> bool:
        """Whether its end is worth a warning: a failure neither ignored nor ``nolog_``."""
        return bool(
            (self.error and not (self.nolog_error or self.ignore_error))
            or (self.timeouted and not (self.nolog_timeout or self.ignore_timeout))
            or (
                (self.exit_code != 0 and not self.error and not self.timeouted)
                and not (self.nolog_exit_code or self.ignore_exit_code or self.killed)
            )
        )

    def _log_end(self) -> None:
        """A warning with the whole dump for a failure on its own; within an action the dump
        is logged at DEBUG, and the action logs one summary warning for all its failures."""
        warn = self._warns() and not self._in_action
        level = logging.WARNING if warn else logging.DEBUG
        if logger.isEnabledFor(level):
            logger.log(level, "%s", self.dump())

    # --------------------------------------------------------------- display

    def stats(self) -> dict[str, Any]:
        """A Report-style record of this process (JSON-serialisable)."""
        return {
            "name": self.name,
            "start_date": self.start_date,
            "end_date": self.end_date,
            "num_processes": 1,
            "num_started": int(self.started),
            "num_ended": int(self.ended),
            "num_errors": int(self.error),
            "num_timeouts": int(self.timeouted),
            "num_forced_kills": int(self.forced_kill),
            "num_non_zero_exit_codes": int(self.ended and not self.error and self.exit_code != 0),
            "num_expect_fail": int(self.expect_fail),
            "num_write_error": int(self.write_error),
            "num_ok": int(self.ok),
            "num_finished_ok": int(self.finished_ok),
            "sub_stats": [],
        }

    def _state_fields(self) -> list[str]:
        fields = [
            f"name={self.name!r}",
            f"status={self.status.value}",
            f"started={self.started}",
            f"ended={self.ended}",
        ]
        if self.host is not None:
            fields.insert(1, f"host={self.host}")
        if self.pid is not None:
            fields.append(f"pid={self.pid}")
        if self.exit_code is not None:
            fields.append(f"exit_code={self.exit_code}")
        if self.exit_signal is not None:
            fields.append(f"exit_signal={signal_name(self.exit_signal)}")
        for flag in ("killed", "timeouted", "forced_kill", "expect_fail", "write_error"):
            if getattr(self, flag):
                fields.append(f"{flag}=True")
        if self.error_reason:
            fields.append(f"error_reason={self.error_reason!r}")
        if self.start_date is not None and self.end_date is not None:
            fields.append(f"duration={self.end_date - self.start_date:.3f}s")
        fields.append(f"ok={self.ok}")
        return fields

    def __str__(self) -> str:
        return f"{style.object_repr(self._kind)}({', '.join(self._state_fields())})"

    def __repr__(self) -> str:
        return f"<{self._kind} {self.name!r} {self.status.value}>"

    def failure_reason(self) -> str:
        """What went wrong, without saying where: ``failed: exit code 1 — stderr: 'No such
        file'``, ``unreachable: Connection refused``, ``timeout``..."""
        what: str = self.status.value
        if self.error_reason:
            reason = self.error_reason
            what = reason if reason.startswith(what + ":") else f"{what}: {reason}"
        elif self.exit_signal is not None:
            what += f": killed by {signal_name(self.exit_signal)}"
        elif self.exit_code:
            what += f": exit code {self.exit_code}"
        if self.expect_fail:
            what += " (expect failed)"
        if self.write_error:
            what += " (write failed)"
        last = self.stderr.strip().splitlines()[-1:] if self._buffers[STDERR].capture else []
        if last and not self.error_reason:
            what += f" — stderr: {last[0][:200]!r}"
        return what

    def failure_summary(self) -> str:
        """One line: which process, on which host, what went wrong."""
        where = f" on {self.host}" if self.host is not None else ""
        return f"{self.name!r}{where}: {self.failure_reason()}"

    def dump(self) -> str:
        """``str(self)`` followed by the (compacted) stdout and stderr."""
        threshold = configuration["compact_output_threshold"]
        out = str(self)
        if self.stdout:
            out += f"\n{style.emph('stdout:')}\n{compact_output(self.stdout, threshold)}"
        if self.stderr:
            out += f"\n{style.emph('stderr:')}\n{compact_output(self.stderr, threshold)}"
        return out


# ------------------------------------------------------------------ helpers


def _check_cmd(cmd: object) -> None:
    if isinstance(cmd, str):
        if not cmd.strip():
            raise ValueError("empty command")
        return
    if isinstance(cmd, Sequence) and not isinstance(cmd, bytes):
        if not cmd:
            raise ValueError("empty command")
        for part in cmd:
            if not isinstance(part, str):
                raise TypeError(f"command arguments must be strings, got {part!r} in {cmd!r}")
        return
    raise TypeError(f"command must be a string or a sequence of strings, got {cmd!r}")


def _call_handler(func: Any, process: ProcessBase) -> None:
    try:
        func(process)
    except Exception:
        logger.exception("lifecycle handler %r of %s raised", func, process)


def _log(level: int, msg: str, *args: object) -> None:
    if logger.isEnabledFor(level):
        logger.log(level, msg, *args)


class _Stoppable(Protocol):
    def cancel(self) -> None: ...


class _Unsubscribe:
    """Stops a pushing source, as cancelling its scope stops a pump task."""

    __slots__ = ("_source",)

    def __init__(self, source: PushSource) -> None:
        self._source = source

    def cancel(self) -> None:
        self._source.unsubscribe()


class ProcessGroup(Protocol):
    """What runs batched processes (:meth:`ProcessBase._begin_batched`): the task group
    where their kills and followers run, and what it is told."""

    @property
    def tg(self) -> anyio.abc.TaskGroup: ...

    def ended(self, process: ProcessBase) -> None:
        """``process`` has ended."""

    def failed(self, error: BaseException) -> None:
        """Ending a process raised ``error`` (a user's handler): raise it from the group."""

    def deadline(self, process: ProcessBase, when: float) -> None:
        """Call ``process._expire()`` at ``when`` (anyio's clock)."""


def _nothing() -> None:
    pass


class _Consumer:
    """What a pushing source calls with each chunk of one stream (``b""``: its end).

    An object rather than a closure: one object per stream instead of a function, its
    cells and their tuple, and what a large action keeps alive the garbage collector
    scans again at each full collection.
    """

    __slots__ = ("_buf", "_ended", "_process")

    def __init__(self, process: ProcessBase, buf: StreamBuffer, ended: Callable[[], None]) -> None:
        self._process = process
        self._buf = buf
        self._ended = ended

    def __call__(self, data: bytes) -> None:
        if data:
            self._buf.feed_bytes(self._process, data)
        else:
            self._buf.feed_bytes(self._process, b"", eof=True)
            self._ended()
