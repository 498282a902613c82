"""The taktuk transport: one local ``taktuk`` process drives every host of a batch.

A :class:`TaktukSession` runs taktuk, reads its records (see :mod:`._taktuk_protocol`) and
feeds one channel per host, so a host's process has the state model, output handling,
``expect``, ``lines`` and timeout of every other process. :class:`TaktukTransport` opens one
session per batch (the processes of an action, or a lone process).

Killing (timeout, ``kill()``, cancellation): taktuk's ``quit`` leaves running commands
behind, and so does killing taktuk itself. Every remote command therefore reports its shell's
pid (the leader of the command's process group: taktuk runs each command as ``sh -c`` in a
group of its own). A kill sends taktuk ``<ranks> kill 15`` (the requests of every process
killed at the same moment go out as one command), escalates to ``kill 9`` after the grace
period, and if the host still has not ended (the taktuk tree is broken, or taktuk itself
died) kills the process group through a fresh ssh connection, as the OpenSSH transport does.
The signal asked for is the one sent (``<ranks> kill <signal>``).
"""

from __future__ import annotations

import contextvars
import os
import shutil
import signal as _signal
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio
import anyio.abc

from .._core._channel import ByteSource, ChannelInfo, ExitStatus, FedSource, check_signal
from .._core._config import EffectiveConnectionParams
from .._core._host import Host
from .._core._local import LocalChannel, spawn_local
from .._core._log import logger
from ._base import Batch, CommandRequest, CopyRequest, Request
from ._openssh import ssh_argv
from ._remote_command import kill_script, parse_marker, wrap
from ._taktuk_protocol import (
    Record,
    State,
    connector_command,
    decode_wait_status,
    delimiters_for,
    parse_record,
    taktuk_argv,
)

__all__ = ["TaktukSession", "TaktukTransport"]

_QUIT_TIMEOUT = 5.0  # taktuk's own exit after "quit", before we kill it
_SSH_KILLERS = 32  # fresh ssh connections at once when taktuk cannot kill


class _Host:
    """What the session knows about one host (one position on taktuk's command line)."""

    def __init__(self, position: int, host: Host, params: EffectiveConnectionParams) -> None:
        self.info = ChannelInfo()
        self.position = position
        self.host = host
        self.params = params
        self.rank: int | None = None
        self.connected = False
        self.started = False
        self.status: ExitStatus | None = None
        self.ended = anyio.Event()
        self.out = FedSource()
        self.err = FedSource()
        self.seen_stderr = False
        self.connector_lines: list[str] = []
        self.kill_signal: int | None = None
        self.pending_input: list[bytes | None] = []  # None: close stdin
        self.transfers_left = 0
        self.transfer_failed = False
        self.started_event = anyio.Event()


class TaktukSession:
    """One running taktuk and the hosts it drives (the batch of a :class:`TaktukTransport`).

    Args:
        requests: per host, in order (duplicates allowed: each is a taktuk instance), the
            command to run, or the copy to make; all commands or all copies. The taktuk
            binary and its options are those of the first request's parameters (they do not
            depend on the host).

    Raises:
        ValueError: commands and copies mixed, or a command line too long for the system.
    """

    def __init__(self, requests: Sequence[Request]) -> None:
        commands = [r for r in requests if isinstance(r, CommandRequest)]
        copies = [r for r in requests if isinstance(r, CopyRequest)]
        if commands and copies:
            raise ValueError("one taktuk runs either commands or copies, not both")
        self._hosts = [_Host(i + 1, r.host, r.params) for i, r in enumerate(requests)]
        targets = [
            (r.params.rewritten_address(r.host.address), connector_command(r.params))
            for r in requests
        ]
        wrapped = [wrap(r.command, pty=False, watchdog=r.watchdog) for r in commands] or None
        action_params = requests[0].params if requests else None
        self.argv = taktuk_argv(action_params, targets, wrapped) if action_params else []
        transfers = [(r.direction, r.sources, r.destination) for r in copies] or None
        self._transfers = transfers
        # Local sources that do not exist, checked now (not on the event loop later).
        self._missing = {
            src
            for kind, sources, _ in transfers or ()
            if kind == "put"
            for src in sources
            if not os.path.exists(os.path.expandvars(src))
        }
        if transfers is not None:
            for h, (_, sources, _) in zip(self._hosts, transfers, strict=True):
                h.transfers_left = len(sources)
        self._channel: LocalChannel | None = None
        self._start_error: OSError | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._write_lock = anyio.Lock()
        self._kill_queue: dict[int, set[_Host]] = {}
        self._stderr = bytearray()
        self._reader_done = anyio.Event()
        self._tmpdir: str | None = None
        self._transfers_sent = False
        self._abort = False

    # ----------------------------------------------------------- process side

    async def channel(self, index: int, grace: float) -> _HostChannel:
        """The channel of host ``index`` (0-based), once its command has started (or the
        host has ended: unreachable...), so that a process's timeout counts from the start
        of its command, not from the connection; file transfers have no command to wait for.

        Raises:
            OSError: taktuk itself could not be started.
        """
        if self._start_error is not None:
            raise self._start_error
        h = self._hosts[index]
        if self._transfers is None:
            try:
                await h.started_event.wait()
            except BaseException:
                # Cancelled while connecting: the command must not start and live on.
                with anyio.CancelScope(shield=True):
                    await self.kill(h, grace)
                raise
        return _HostChannel(self, h)

    @property
    def pid(self) -> int | None:
        """Pid of the local taktuk process (None before it starts)."""
        return self._channel.pid if self._channel is not None else None

    def host_state(self, index: int) -> _Host:
        return self._hosts[index]

    # -------------------------------------------------------------- lifecycle

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run taktuk for the duration of the block; on leaving, quit it (always reaped)."""
        logger.debug("taktuk argv: %s", self.argv)
        try:
            self._channel = await spawn_local(self.argv, env=None, cwd=None, pty=False)
        except OSError as e:
            self._start_error = e
            yield
            return
        async with anyio.create_task_group() as tg:
            self._tg = tg
            tg.start_soon(self._shielded, self._read_stdout)
            tg.start_soon(self._shielded, self._read_stderr)
            try:
                yield
            finally:
                with anyio.CancelScope(shield=True):
                    await self._shutdown()

    async def _shielded(self, func: object) -> None:
        with anyio.CancelScope(shield=True):
            await func()  # type: ignore[operator]

    async def _shutdown(self) -> None:
        channel = self._channel
        assert channel is not None
        if self._abort and not channel.has_exited():
            await channel.terminate(1.0)
        if not channel.has_exited():
            try:
                await self._send(b"quit\n")
                await channel.close_stdin()
            except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass
            with anyio.move_on_after(_QUIT_TIMEOUT):
                await channel.wait()
            if not channel.has_exited():
                logger.debug("taktuk did not quit; killing it")
                await channel.terminate(1.0)
        with anyio.move_on_after(5):
            await self._reader_done.wait()
        await self._finalize("taktuk ended before this host's command did")
        await channel.aclose()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    async def _finalize(self, reason: str) -> None:
        """End every host still open; kill what may still run remotely (taktuk is gone)."""
        orphans = [h for h in self._hosts if not h.ended.is_set() and h.info.remote_pid is not None]
        if orphans:
            await _ssh_kill_all(orphans, grace=0.5)
        for h in self._hosts:
            if h.ended.is_set():
                continue
            if not h.connected and h.info.connect_error is None and h.kill_signal is None:
                why = self._stderr.decode(errors="replace").strip().splitlines()
                h.info.connect_error = why[-1] if why else "taktuk never reached the host"
            elif h.kill_signal is None and h.info.start_error is None:
                h.info.start_error = reason
            self._end(h, h.status or ExitStatus(None, None))

    # ---------------------------------------------------------------- reading

    async def _read_stderr(self) -> None:
        assert self._channel is not None
        assert self._channel.stderr is not None
        while data := await self._channel.stderr.read():
            self._stderr += data
            del self._stderr[:-8192]

    async def _read_stdout(self) -> None:
        assert self._channel is not None
        assert self._channel.stdout is not None
        pending = b""
        try:
            while True:
                data = await self._channel.stdout.read()
                if not data:
                    break
                *lines, pending = (pending + data).split(b"\n")
                for line in lines:
                    record = parse_record(line)
                    if record is None:
                        logger.debug("taktuk: unparsed line %r", line[:200])
                    else:
                        await self._dispatch(record)
        except OSError:
            pass
        await self._channel.wait()
        self._reader_done.set()
        await self._finalize("taktuk exited before this host's command ended")

    async def _dispatch(self, r: Record) -> None:
        if r.position == 0 or r.position > len(self._hosts):
            self._root_record(r)
            return
        h = self._hosts[r.position - 1]
        if r.kind == "O":
            h.out.feed(r.data + (b"\n" if r.eol else b""))
        elif r.kind == "R":
            if not h.seen_stderr:
                h.seen_stderr = True
                pid = parse_marker(r.data)
                if pid is not None:
                    h.info.remote_pid = pid
                    return
            h.err.feed(r.data + (b"\n" if r.eol else b""))
        elif r.kind == "S" and r.code is not None:
            h.status = ExitStatus(*decode_wait_status(r.code))
        elif r.kind == "N":
            text = r.data.decode(errors="replace").strip()
            if text:
                h.connector_lines.append(text)
                h.err.feed(text.encode() + b"\n")
        elif r.kind == "K":
            h.err.feed(r.data + b"\n")
        elif r.kind == "T" and r.code is not None:
            await self._state(h, r)

    def _root_record(self, r: Record) -> None:
        if r.kind == "T" and r.code == State.FILE_SEND_FAILED and self._transfers is not None:
            # A put the root could not send: fail every host still waiting.
            for h in self._hosts:
                if h.transfers_left and not h.ended.is_set():
                    h.transfer_failed = True
                    h.transfers_left = 0
                    self._end(h, ExitStatus(1, None))
        elif r.kind in ("K", "X", "N") and r.data:
            logger.debug("taktuk: %s", r.data.decode(errors="replace"))

    async def _state(self, h: _Host, r: Record) -> None:
        code = r.code
        if code == State.CONNECTION_INITIALIZED:
            h.connected = True
        elif code == State.CONNECTION_FAILED or (
            code == State.CONNECTION_LOST and not h.ended.is_set()
        ):
            if code == State.CONNECTION_FAILED:
                lines = h.connector_lines
                h.info.connect_error = lines[-1] if lines else "connection failed"
            else:
                h.info.connect_error = "connection lost"
            self._end(h, ExitStatus(None, None))
            await self._maybe_send_transfers()
        elif code == State.NUMBERED and r.rank is not None:
            h.rank = r.rank
            h.connected = True
            await self._maybe_send_transfers()
        elif code == State.COMMAND_STARTED:
            h.started = True
            h.started_event.set()
            if r.rank is not None:
                h.rank = r.rank
            self._after_start(h)
        elif code == State.COMMAND_FAILED:
            h.info.start_error = "taktuk could not execute the command"
            self._end(h, ExitStatus(None, None))
        elif code == State.COMMAND_TERMINATED:
            self._end(h, h.status or ExitStatus(None, None))
        elif code in (State.FILE_RECEPTION_FAILED, State.FILE_SEND_FAILED):
            h.transfer_failed = True
            self._transfer_done(h)
        elif code == State.FILE_RECEPTION_TERMINATED:
            self._transfer_done(h)

    def _after_start(self, h: _Host) -> None:
        """Deliver what was asked before the command started (a kill, stdin data)."""
        if self._tg is None or h.rank is None:
            return
        lines = []
        if h.kill_signal is not None:
            lines.append(f"{h.rank} kill {h.kill_signal}\n".encode())
        for data in h.pending_input:
            lines.append(self._input_line(h.rank, data))
        h.pending_input.clear()
        if lines:
            self._tg.start_soon(self._shielded, lambda: self._send(b"".join(lines)))

    def _transfer_done(self, h: _Host) -> None:
        h.transfers_left -= 1
        if h.transfers_left <= 0 and not h.ended.is_set():
            self._end(h, ExitStatus(1 if h.transfer_failed else 0, None))

    def _end(self, h: _Host, status: ExitStatus) -> None:
        if h.ended.is_set():
            return
        h.status = status
        h.out.close()
        h.err.close()
        h.ended.set()
        h.started_event.set()

    # ------------------------------------------------------------- transfers

    async def _maybe_send_transfers(self) -> None:
        """Once every host is numbered or unreachable, send the puts/gets, grouped by
        identical paths, each to the set of ranks it concerns."""
        if self._transfers is None or self._transfers_sent:
            return
        if any(h.rank is None and not h.ended.is_set() for h in self._hosts):
            return
        self._transfers_sent = True
        groups: dict[tuple[str, str, str], list[int]] = {}
        for h, (kind, sources, dest) in zip(self._hosts, self._transfers, strict=True):
            if h.ended.is_set() or h.rank is None:
                continue
            for src in sources:
                groups.setdefault((kind, src, dest), []).append(h.rank)
        lines = []
        for (verb, src, dest), ranks in groups.items():
            if verb == "put" and src in self._missing:
                # taktuk would fail the whole command at the root, for every host.
                for h in self._hosts:
                    if h.rank in ranks:
                        h.err.feed(f"no such local file: {src}\n".encode())
                        h.transfer_failed = True
                        self._transfer_done(h)
                continue
            opening, closing = delimiters_for(src, dest)
            lines.append(
                f"{rank_set(ranks)} {verb} {opening} {src} {closing} {opening} {dest} {closing}\n"
            )
        if lines:
            await self._send("".join(lines).encode())

    # ------------------------------------------------------------ commands

    async def _send(self, data: bytes) -> None:
        channel = self._channel
        if channel is None or channel.has_exited():
            return
        async with self._write_lock:
            try:
                await channel.send(data)
            except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                logger.debug("taktuk: could not send %r", data[:200])

    def _input_line(self, rank: int, data: bytes | None) -> bytes:
        if data is None:
            return f"{rank} input close\n".encode()
        if self._tmpdir is None:
            self._tmpdir = tempfile.mkdtemp(prefix="execo-taktuk-")
        fd, path = tempfile.mkstemp(dir=self._tmpdir)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        opening, closing = delimiters_for(path)
        return f"{rank} input file {opening} {path} {closing}\n".encode()

    async def write(self, h: _Host, data: bytes | None) -> None:
        if h.ended.is_set():
            raise BrokenPipeError("the command has ended")
        if h.rank is None or not h.started:
            h.pending_input.append(data)
            return
        await self._send(self._input_line(h.rank, data))

    async def _queue_signal(self, h: _Host, sig: int, *, kill: bool = True) -> None:
        """Queue ``sig`` for ``h`` and send every queued kill of that signal as one command."""
        if kill:
            h.kill_signal = sig
        self._kill_queue.setdefault(sig, set()).add(h)
        await anyio.sleep(0.01)  # let the other processes killed at this moment queue theirs
        queued = self._kill_queue.pop(sig, set())
        ranks = sorted(q.rank for q in queued if q.rank is not None and not q.ended.is_set())
        if not ranks:
            return
        running = [x for x in self._hosts if x.started and not x.ended.is_set()]
        target = "broadcast" if len(ranks) == len(running) else rank_set(ranks)
        await self._send(f"{target} kill {sig}\n".encode())

    async def send_signal(self, h: _Host, sig: int) -> None:
        """Deliver ``sig`` to the command of ``h`` (its whole process group), nothing more."""
        if not h.ended.is_set() and self._transfers is None:
            await self._queue_signal(h, sig, kill=False)

    async def kill(self, h: _Host, grace: float, sig: int = _signal.SIGTERM) -> bool:
        """Kill the command of ``h`` with ``sig``, then SIGKILL after ``grace``; returns
        whether SIGKILL was needed."""
        if h.ended.is_set():
            return False
        if self._transfers is not None:
            # No remote command to kill: stop taktuk itself when the session closes.
            self._abort = True
            h.info.start_error = "transfer killed"
            self._end(h, ExitStatus(None, None))
            return False
        await self._queue_signal(h, sig)
        with anyio.move_on_after(grace):
            await h.ended.wait()
        if h.ended.is_set():
            return False
        await self._queue_signal(h, _signal.SIGKILL)
        with anyio.move_on_after(min(grace, 2.0)):
            await h.ended.wait()
        if not h.ended.is_set() and h.info.remote_pid is not None:
            await _ssh_kill_all([h], grace=0.5)
            with anyio.move_on_after(1.0):
                await h.ended.wait()
        if not h.ended.is_set():
            h.info.start_error = h.info.start_error or "killed; taktuk gave no exit status"
            self._end(h, ExitStatus(None, _signal.SIGKILL if h.started else None))
        return True


def rank_set(ranks: Sequence[int]) -> str:
    """taktuk's set notation for ``ranks``: ``1-3/7/9-10`` (pure)."""
    parts: list[str] = []
    values = sorted(set(ranks))
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        parts.append(str(values[i]) if i == j else f"{values[i]}-{values[j]}")
        i = j + 1
    return "/".join(parts)


async def _ssh_kill_all(hosts: Sequence[_Host], grace: float) -> None:
    """Kill the remote process groups of ``hosts`` through fresh ssh connections."""
    limiter = anyio.CapacityLimiter(_SSH_KILLERS)

    async def one(h: _Host) -> None:
        assert h.info.remote_pid is not None
        argv = [
            *ssh_argv(h.params, h.host.address, pty=False),
            kill_script(h.info.remote_pid, grace),
        ]
        async with limiter:
            with anyio.move_on_after(h.params.connect_timeout + grace + 5):
                try:
                    channel = await spawn_local(argv, env=None, cwd=None, pty=False, stdin=False)
                except OSError as e:
                    h.info.kill_error = f"remote kill through ssh failed: {e.strerror or e}"
                    logger.warning("cannot kill pid %s on %s: %s", h.info.remote_pid, h.host, e)
                    return
                try:
                    await channel.wait()
                finally:
                    await channel.aclose()

    with anyio.CancelScope(shield=True):
        async with anyio.create_task_group() as tg:
            for h in hosts:
                tg.start_soon(one, h)


class _HostChannel:
    """The channel of one host inside a taktuk session."""

    pid: int | None = None

    def __init__(self, session: TaktukSession, host: _Host) -> None:
        self._session = session
        self._host = host
        self.info = host.info
        self.stdout: ByteSource | None = host.out
        self.stderr: ByteSource | None = host.err

    async def wait(self) -> ExitStatus:
        await self._host.ended.wait()
        assert self._host.status is not None
        return self._host.status

    def has_exited(self) -> bool:
        return self._host.ended.is_set()

    async def send(self, data: bytes) -> None:
        await self._session.write(self._host, data)

    async def close_stdin(self) -> None:
        await self._session.write(self._host, None)

    async def signal(self, sig: int) -> None:
        await self._session.send_signal(self._host, check_signal(sig))

    async def terminate(self, grace: float, sig: int = _signal.SIGTERM) -> bool:
        return await self._session.kill(self._host, grace, check_signal(sig))

    async def aclose(self) -> None:
        pass


class _TaktukBatch(Batch):
    def __init__(self, session: TaktukSession, requests: Sequence[Request]) -> None:
        self.session = session
        self.requests = list(requests)
        self.index = {id(r): i for i, r in enumerate(self.requests)}

    @property
    def local_pid(self) -> int | None:
        return self.session.pid

    def position(self, request: Request) -> int | None:
        i = self.index.get(id(request))
        return i if i is not None and self.requests[i] is request else None


_batches: contextvars.ContextVar[tuple[_TaktukBatch, ...]] = contextvars.ContextVar(
    "execo_taktuk_batches", default=()
)


class TaktukTransport:
    """Every command (or copy) of a batch carried by one local ``taktuk``, which deploys
    itself along a tree of ssh connections: one local process for thousands of hosts."""

    name = "taktuk"

    def validate(self, requests: Sequence[Request]) -> None:
        for r in requests:
            if isinstance(r, CommandRequest) and r.pty:
                raise ValueError(f"taktuk cannot give {r.host} a pty: no pty= with taktuk")
            if isinstance(r, CopyRequest):
                delimiters_for(*r.sources, r.destination)  # a path taktuk cannot carry
        TaktukSession(requests)  # the command line fits the system's limits

    def batch(self, requests: Sequence[Request]) -> AbstractAsyncContextManager[Batch]:
        return self._batch(requests)

    @asynccontextmanager
    async def _batch(self, requests: Sequence[Request]) -> AsyncIterator[Batch]:
        enclosing = _batches.get()
        if requests and all(any(b.position(r) is not None for b in enclosing) for r in requests):
            yield Batch()  # already carried by the taktuk of an enclosing batch
            return
        session = TaktukSession(requests)
        batch = _TaktukBatch(session, requests)
        token = _batches.set((*enclosing, batch))
        try:
            async with session.running():
                yield batch
        finally:
            _batches.reset(token)

    async def open(self, request: Request) -> _HostChannel:
        for batch in reversed(_batches.get()):
            i = batch.position(request)
            if i is not None:
                return await batch.session.channel(i, _grace_of(request))
        raise RuntimeError("a taktuk channel is opened inside the batch that holds it")

    def __repr__(self) -> str:
        return "TaktukTransport()"


def _grace_of(request: Request) -> float:
    return request.kill_grace if isinstance(request, CommandRequest) else 0.0
