"""Processes as scopes: the state model, the lifecycle, kill/timeout/cancel, I/O.

:class:`ProcessBase` holds everything a process kind shares; a kind only says how to start
its command (:meth:`ProcessBase._spawn` returns a :class:`~execo._channel.Channel`).

Three ways to run one, all structured:

* ``await p.run()`` starts it and returns once it has ended;
* ``async with p:`` starts it; leaving the block waits for it; an exception or a
  cancellation inside the block kills it;
* ``await nursery.start(p.run)`` returns once it has started, in the caller's nursery.

Kill means SIGTERM to the whole process tree, then SIGKILL after a grace period, always
reaped; for remote kinds the remote tree dies too.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import re
import shlex
import signal as _signal
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Self

import anyio
import anyio.abc

from ._channel import Channel, ExitStatus, spawn_local
from ._config import configuration
from ._errors import ExecoUsageError, ProcessesFailed
from ._host import Host
from ._log import ensure_log_setup, logger, style
from ._output import (
    STDERR,
    STDOUT,
    LineSplitter,
    OutputHandlerSpec,
    Stream,
    StreamBuffer,
    make_sink,
)
from ._scope import Scoped
from ._util import UNSET, Unset, compact_output, name_from_cmdline, str_from_cmdline

__all__ = [
    "ExpectResult",
    "Process",
    "ProcessBase",
    "ProcessLifecycleHandler",
    "ProcessStatus",
]


class ProcessStatus(enum.StrEnum):
    """Where a process stands, in one word (per host, for remote ones)."""

    NOT_STARTED = "not started"
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"  # ended with a non-zero exit code or an unexpected signal
    TIMEOUT = "timeout"
    KILLED = "killed"
    ERROR = "error"  # could not be started
    UNREACHABLE = "unreachable"  # remote host could not be reached or logged into


class ProcessLifecycleHandler:
    """Hooks called when a process starts, ends and is reset (override what you need)."""

    def start(self, process: ProcessBase) -> None:
        """The process has started (or failed to start: ``end`` follows at once)."""

    def end(self, process: ProcessBase) -> None:
        """The process has ended."""

    def reset(self, process: ProcessBase) -> None:
        """The process was reset."""


@dataclasses.dataclass(frozen=True, slots=True)
class ExpectResult:
    """What :meth:`ProcessBase.expect` found: the index of the regex and its match.

    Both are None when nothing matched (timeout or end of stream). It is truthy only on a
    match, so ``if await p.expect(...)`` reads naturally, and it unpacks like execo's pair:
    ``index, match = await p.expect(...)``.
    """

    index: int | None
    match: re.Match[str] | None

    def __bool__(self) -> bool:
        return self.match is not None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.index, self.match))


RegexLike = str | re.Pattern[str]

_NOT_STARTED, _STARTING, _RUNNING, _ENDED = range(4)


class ProcessBase(Scoped):
    """State and lifecycle shared by every process kind.

    Args:
        cmd: the command: a string (split with shlex unless ``shell``), or an argv sequence.
        timeout: seconds from the start after which the process is killed and marked
            ``timeouted``; None: no timeout.
        shell: run ``cmd`` through ``/bin/sh -c`` (a sequence is shell-quoted first).
        pty: connect stdin and stdout to a pseudo-terminal (stderr stays separate locally).
        env: extra environment variables, added to the current environment.
        cwd: working directory.
        ignore_exit_code, ignore_timeout, ignore_error, ignore_expect_fail,
        ignore_write_error: such failures do not make the process not ``ok``.
        nolog_exit_code, nolog_timeout, nolog_error, nolog_expect_fail,
        nolog_write_error: such failures are logged at DEBUG, not WARNING.
        default_expect_timeout: timeout of :meth:`expect` when it is not given.
        default_stdout_handler, default_stderr_handler: keep the stream's text in
            ``stdout``/``stderr`` (turn off for huge outputs you only stream to handlers).
        stdout_handlers, stderr_handlers: where else the output goes (see
            :data:`~execo.OutputHandlerSpec`).
        lifecycle_handlers: :class:`ProcessLifecycleHandler` objects.
        name: a display name; defaults to the command, shortened.
        kill_grace: seconds between SIGTERM and SIGKILL; default
            ``configuration["kill_timeout"]``.
        stdin: give the process a stdin pipe you can :meth:`write` to (else /dev/null).
    """

    _kind: ClassVar[str] = "ProcessBase"

    def __init__(
        self,
        cmd: str | Sequence[str],
        *,
        timeout: float | None = None,
        shell: bool = False,
        pty: bool = False,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        ignore_exit_code: bool = False,
        nolog_exit_code: bool = False,
        ignore_timeout: bool = False,
        nolog_timeout: bool = False,
        ignore_error: bool = False,
        nolog_error: bool = False,
        ignore_expect_fail: bool = False,
        nolog_expect_fail: bool = False,
        ignore_write_error: bool = False,
        nolog_write_error: bool = False,
        default_expect_timeout: float | None = None,
        default_stdout_handler: bool = True,
        default_stderr_handler: bool = True,
        stdout_handlers: Iterable[OutputHandlerSpec] = (),
        stderr_handlers: Iterable[OutputHandlerSpec] = (),
        lifecycle_handlers: Iterable[ProcessLifecycleHandler] = (),
        name: str | None = None,
        kill_grace: float | Unset = UNSET,
        stdin: bool = True,
    ) -> None:
        _check_cmd(cmd)
        if timeout is not None and not (isinstance(timeout, int | float) and timeout >= 0):
            raise ValueError(f"timeout must be a number >= 0 or None, got {timeout!r}")
        self.cmd = cmd
        self.timeout = timeout
        self.shell = shell
        self.pty = pty
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self.ignore_exit_code = ignore_exit_code
        self.nolog_exit_code = nolog_exit_code
        self.ignore_timeout = ignore_timeout
        self.nolog_timeout = nolog_timeout
        self.ignore_error = ignore_error
        self.nolog_error = nolog_error
        self.ignore_expect_fail = ignore_expect_fail
        self.nolog_expect_fail = nolog_expect_fail
        self.ignore_write_error = ignore_write_error
        self.nolog_write_error = nolog_write_error
        self.default_expect_timeout = default_expect_timeout
        self.kill_grace = kill_grace
        self.stdin = stdin
        self.lifecycle_handlers: list[ProcessLifecycleHandler] = list(lifecycle_handlers)
        self.stdout_handlers: list[OutputHandlerSpec] = list(stdout_handlers)
        self.stderr_handlers: list[OutputHandlerSpec] = list(stderr_handlers)
        self._sinks = {
            STDOUT: [make_sink(h) for h in self.stdout_handlers],
            STDERR: [make_sink(h) for h in self.stderr_handlers],
        }
        self._capture = {STDOUT: default_stdout_handler, STDERR: default_stderr_handler}
        self._name = name
        self.host: Host | None = None
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
        self._kill_done: anyio.Event | None = None
        self._buffers = {
            s: StreamBuffer(s, encoding, errors, capture=self._capture[s]) for s in (STDOUT, STDERR)
        }
        for s, buf in self._buffers.items():
            buf.sinks = self._sinks[s]
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
        if self._ended_event is None:
            return self
        with anyio.move_on_after(timeout):
            await self._ended_event.wait()
        return self

    async def kill(self, sig: int = _signal.SIGTERM) -> Self:
        """Kill the process tree (``sig``, then SIGKILL after the grace period).

        Returns once the process has ended. A no-op on a process that is not running.
        """
        if self._phase == _STARTING and self._started_event is not None:
            await self._started_event.wait()
        if self._phase != _RUNNING:
            return self
        self.killed = True
        self._start_termination(sig)
        return await self.wait()

    def _expire(self) -> None:
        """Mark the process timed out and start killing it (an enclosing Action's timeout)."""
        if self._phase == _RUNNING:
            self.timeouted = True
            self.killed = True
            self._start_termination()

    def _start_termination(self, sig: int = _signal.SIGTERM) -> None:
        if self._terminating or self._tg is None:
            return
        self._terminating = True
        self._tg.start_soon(self._terminate, sig)

    async def _terminate(self, sig: int = _signal.SIGTERM) -> None:
        channel = self._channel
        assert channel is not None
        grace = configuration["kill_timeout"] if self.kill_grace is UNSET else self.kill_grace
        try:
            # Killing must finish even if the caller is cancelled meanwhile; it is bounded
            # by the grace period (and, remotely, the connect timeout).
            with anyio.CancelScope(shield=True):
                if sig != _signal.SIGTERM and hasattr(channel, "signal_group"):
                    channel.signal_group(sig)
                if await channel.terminate(float(grace)):
                    self.forced_kill = True
        finally:
            if self._kill_done is not None:
                self._kill_done.set()

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
        patterns = _compile(regexes)
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
        _log(level, "expect %r on %s of %s failed: %s", _pattern_list(patterns), s, self, why)
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

    def _filter_output(self, stream: Stream, data: bytes) -> bytes:
        """Transports that add protocol lines to the output strip them here."""
        return data

    def _on_exit(self, status: ExitStatus) -> None:
        """Hook for transports to interpret the exit status (e.g. ssh's 255)."""

    def _set_unreachable(self, reason: str) -> None:
        """The remote host could not be reached or logged into (``reason`` says why)."""
        self.error = True
        self._unreachable = True
        self.error_reason = f"unreachable: {reason}"

    def _channel_unreachable(self) -> bool:
        """Mark the process unreachable if its channel never connected (not when killed)."""
        reason = getattr(self._channel, "connect_error", None)
        if reason is None or self.killed:
            return False
        self._set_unreachable(reason)
        return True

    # ------------------------------------------------------------- lifecycle

    async def _lifecycle(self, task_status: anyio.abc.TaskStatus[Self]) -> None:
        if self._phase != _NOT_STARTED:
            raise ExecoUsageError(f"{self.name}: already started; reset() it to run it again")
        ensure_log_setup()
        self._phase = _STARTING
        self._ended_event = anyio.Event()
        self._started_event = anyio.Event()
        self._kill_done = anyio.Event()
        for buf in self._buffers.values():
            for sink in buf.sinks:
                sink.open()
        try:
            self._channel = await self._spawn()
        except (OSError, ValueError) as e:
            self._start_failed(e)
            task_status.started(self)
            return
        except BaseException:
            self._phase = _ENDED
            self._started_event.set()
            self._ended_event.set()
            raise
        self.pid = self._channel.pid
        self.start_date = time.time()
        self._phase = _RUNNING
        self._started_event.set()
        for h in self.lifecycle_handlers:
            _call_handler(h.start, self)
        task_status.started(self)
        channel = self._channel
        # Output keeps flowing while the process is being killed (a remote transport may need
        # a line from it to kill the remote side): the pumps are shielded from outside
        # cancellation and stopped explicitly, once the process is gone and drained.
        pump_scopes = [anyio.CancelScope(shield=True), anyio.CancelScope(shield=True)]
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
                        self.timeouted = True
                        self.killed = True  # as in execo: a signal was sent (by the timeout)
                        self._start_termination()
                        await channel.wait()
                except BaseException:
                    with anyio.CancelScope(shield=True):
                        self.killed = True
                        if not self._terminating:
                            self._terminating = True
                            await self._terminate()
                        await self._kill_done.wait()
                        await self._drain(pumps_done, pump_scopes)
                    raise
                finally:
                    self._tg = None
                if self._terminating:
                    await self._kill_done.wait()
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

    async def _drain(self, pumps_done: anyio.Event, scopes: list[anyio.CancelScope]) -> None:
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
        scopes: list[anyio.CancelScope],
    ) -> None:
        sources = [(s, src) for s, src in ((STDOUT, channel.stdout), (STDERR, channel.stderr))]
        remaining = [sum(src is not None for _, src in sources)]
        if not remaining[0]:
            done.set()

        async def pump(s: Stream, source: Any, scope: anyio.CancelScope) -> None:
            with scope:
                await self._pump(s, source)
            remaining[0] -= 1
            if not remaining[0]:
                done.set()

        for (s, source), scope in zip(sources, scopes, strict=True):
            if source is None:
                self._buffers[s].feed_text(self, "", eof=True)
            else:
                tg.start_soon(pump, s, source, scope)

    async def _pump(self, s: Stream, source: Any) -> None:
        buf = self._buffers[s]
        while True:
            try:
                data = await source.read()
            except OSError:
                data = b""
            if not data:
                buf.feed_bytes(self, self._filter_output(s, b""), eof=True)
                return
            data = self._filter_output(s, data)
            if data:
                buf.feed_bytes(self, data)

    def _start_failed(self, e: BaseException) -> None:
        self.error = True
        self.error_reason = _describe_error(e)
        self.start_date = time.time()
        self._phase = _RUNNING
        if self._started_event is not None:
            self._started_event.set()
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
        for sink_list in self._sinks.values():
            for sink in sink_list:
                sink.close()
        assert self._ended_event is not None
        self._ended_event.set()
        self._log_end()
        for h in self.lifecycle_handlers:
            _call_handler(h.end, self)

    def _log_end(self) -> None:
        warn = (
            (self.error and not self.nolog_error)
            or (self.timeouted and not self.nolog_timeout)
            or (
                (self.exit_code != 0 and not self.error)
                and not (self.nolog_exit_code or self.killed)
            )
        )
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
            fields.append(f"exit_signal={_signal_name(self.exit_signal)}")
        for flag in ("killed", "timeouted", "forced_kill", "expect_fail", "write_error"):
            if getattr(self, flag):
                fields.append(f"{flag}=True")
        if self.error:
            fields.append(f"error_reason={self.error_reason!r}")
        if self.start_date is not None and self.end_date is not None:
            fields.append(f"duration={self.end_date - self.start_date:.3f}s")
        fields.append(f"ok={self.ok}")
        return fields

    def __str__(self) -> str:
        return f"{style.object_repr(self._kind)}({', '.join(self._state_fields())})"

    def __repr__(self) -> str:
        return f"<{self._kind} {self.name!r} {self.status.value}>"

    def failure_summary(self) -> str:
        """One line: which process, on which host, what went wrong."""
        where = f" on {self.host}" if self.host is not None else ""
        what: str = self.status.value
        if self.error_reason:
            what += f": {self.error_reason}"
        elif self.exit_signal is not None:
            what += f": killed by {_signal_name(self.exit_signal)}"
        elif self.exit_code:
            what += f": exit code {self.exit_code}"
        if self.expect_fail:
            what += " (expect failed)"
        if self.write_error:
            what += " (write failed)"
        last = self.stderr.strip().splitlines()[-1:] if self._capture[STDERR] else []
        tail = f" — stderr: {last[0][:200]!r}" if last and not self.error_reason else ""
        return f"{self.name!r}{where}: {what}{tail}"

    def dump(self) -> str:
        """``str(self)`` followed by the (compacted) stdout and stderr."""
        threshold = configuration["compact_output_threshold"]
        out = str(self)
        if self.stdout:
            out += f"\n{style.emph('stdout:')}\n{compact_output(self.stdout, threshold)}"
        if self.stderr:
            out += f"\n{style.emph('stderr:')}\n{compact_output(self.stderr, threshold)}"
        return out


class Process(ProcessBase):
    """A local OS process, in its own process group.

    ``cmd`` is an argv sequence, or a string split with :func:`shlex.split`; with
    ``shell=True`` it is run by ``/bin/sh -c``. See :class:`ProcessBase` for the rest.
    """

    _kind = "Process"

    def argv(self) -> list[str]:
        """The argv actually executed."""
        if self.shell:
            return ["/bin/sh", "-c", str_from_cmdline(self.cmd)]
        if isinstance(self.cmd, str):
            return shlex.split(self.cmd)
        return list(self.cmd)

    async def _spawn(self) -> Channel:
        env = None
        if self.env is not None:
            import os

            env = {**os.environ, **self.env}
        return await spawn_local(self.argv(), env=env, cwd=self.cwd, pty=self.pty, stdin=self.stdin)


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


def _compile(regexes: RegexLike | Sequence[RegexLike]) -> list[re.Pattern[str]]:
    items: Sequence[RegexLike] = (
        [regexes] if isinstance(regexes, str | re.Pattern) else list(regexes)
    )
    if not items:
        raise ValueError("expect() needs at least one regex")
    return [r if isinstance(r, re.Pattern) else re.compile(r, re.MULTILINE) for r in items]


def _pattern_list(patterns: list[re.Pattern[str]]) -> list[str]:
    return [p.pattern for p in patterns]


def _describe_error(e: BaseException) -> str:
    if isinstance(e, FileNotFoundError) and e.filename:
        return f"command not found: {e.filename}"
    if isinstance(e, OSError) and e.errno == 24:
        return (
            "too many open files (EMFILE): raise the limit (ulimit -n) or run fewer "
            "processes at once"
        )
    if isinstance(e, OSError) and e.strerror:
        name = f": {e.filename}" if e.filename else ""
        return f"{e.strerror}{name}"
    return str(e) or type(e).__name__


def _signal_name(sig: int) -> str:
    try:
        return _signal.Signals(sig).name
    except ValueError:
        return str(sig)


def _call_handler(func: Any, process: ProcessBase) -> None:
    try:
        func(process)
    except Exception:
        logger.exception("lifecycle handler %r of %s raised", func, process)


def _log(level: int, msg: str, *args: object) -> None:
    if logger.isEnabledFor(level):
        logger.log(level, msg, *args)
