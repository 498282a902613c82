"""The asyncssh transport: remote commands and SFTP transfers as sessions of pooled connections.

A channel object lives on the caller's loop (trio or asyncio); its driver task lives on the
pool's asyncio loop and talks to asyncssh. Output, exit status and errors come back through
the bridge as callbacks, in order.

The command is wrapped by the remote-command protocol (:mod:`._remote_command`): the remote
shell leads its own process group and reports its pid. Killing sends the SSH ``signal``
request (a fast path, which old sshds ignore), then runs the kill script (the signal to the
group, SIGKILL after the grace period) in a fresh session on the same connection (or another
pooled one when that one is full or gone). A channel that never connected is simply
cancelled: nothing runs remotely yet. A batch (the processes of an action, or a lone
process) takes its connections from the enclosing :func:`~execo.ssh_pool`, or opens a pool of
its own for its duration.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import signal as _signal
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio
import asyncssh

from .._core._channel import ByteSource, ChannelInfo, ExitStatus, FedSource, check_signal
from ._base import Batch, CommandRequest, CopyRequest, Request
from ._remote_command import RemoteCommand, wrap
from ._sshpool import SshPool, _Conn, ssh_pool
from ._sshtarget import TargetKey, describe_connect_error

__all__ = ["AsyncsshChannel", "AsyncsshTransport"]


class _Base:
    """What command and SFTP channels share: driver task, status, kill by cancellation."""

    pid: int | None = None

    def __init__(self, pool: SshPool, key: TargetKey, info: ChannelInfo) -> None:
        self._pool = pool
        self._key = key
        self._status: ExitStatus | None = None
        self._exited: anyio.Event | None = None  # made by the first waiter
        self.info = info
        self._task: asyncio.Task[None] | None = None
        self._aborted = False
        self._conn: _Conn | None = None
        self._on_exit: Callable[[ExitStatus], None] | None = None

    def _start(self) -> None:
        self._pool.bridge.to_loop(self._begin)

    def _begin(self) -> None:  # asyncio side
        if self._aborted:
            self._deliver_status(ExitStatus(None, int(_signal.SIGTERM)))
            return
        self._task = asyncio.get_running_loop().create_task(self._drive())

    async def _drive(self) -> None:
        raise NotImplementedError

    def _deliver_status(
        self, status: ExitStatus, error: str | None = None, start_error: str | None = None
    ) -> None:
        self._pool.bridge.to_host(self._finish, status, error, start_error)

    def _finish(
        self, status: ExitStatus, error: str | None, start_error: str | None
    ) -> None:  # host side
        if self._status is not None:
            return
        if error is not None:
            self.info.connect_error = error
        if start_error is not None:
            self.info.start_error = start_error
        self._end_streams()
        self._status = status
        exited, self._exited = self._exited, None
        if exited is not None:
            exited.set()
        notify, self._on_exit = self._on_exit, None
        if notify is not None:
            notify(status)

    def notify_exit(self, callback: Callable[[ExitStatus], None]) -> None:
        """Call ``callback`` once the command has ended (host side; at once if it has)."""
        if self._status is not None:
            callback(self._status)
        else:
            self._on_exit = callback

    def _end_streams(self) -> None:
        pass

    def _abort(self) -> None:  # asyncio side
        self._aborted = True
        if self._task is not None:
            self._task.cancel()

    async def _until_exited(self) -> None:
        if self._status is None:
            if self._exited is None:
                self._exited = anyio.Event()
            await self._exited.wait()
        else:
            await anyio.lowlevel.checkpoint()

    async def wait(self) -> ExitStatus:
        await self._until_exited()
        assert self._status is not None
        return self._status

    def has_exited(self) -> bool:
        return self._status is not None

    async def _cancel_driver(self) -> None:
        self._pool.bridge.to_loop(self._abort)
        await self._until_exited()

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            if self._status is None:
                await self._cancel_driver()


class _Session(asyncssh.SSHClientSession[bytes]):
    def __init__(self, channel: AsyncsshChannel, conn: _Conn) -> None:
        self._channel = channel
        self._conn = conn
        self._started = False
        self._writable: asyncio.Event | None = None  # None: writable (made when paused)
        self.exit_status: int | None = None
        self.exit_signal: int | None = None
        self.lost: Exception | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc
        if self._started:
            self._channel._pool.command_ended(self._conn, self)

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        if not self._started:  # the first output (the pid marker): the command runs
            self._started = True
            self._channel._pool.command_started(self._conn, self)
        c = self._channel
        stream = c._err if datatype == asyncssh.EXTENDED_DATA_STDERR else c._out
        c._pool.bridge.to_host(stream.feed, bytes(data))

    def exit_status_received(self, status: int) -> None:
        self.exit_status = status

    def exit_signal_received(self, signal_: str, core_dumped: bool, msg: str, lang: str) -> None:
        try:
            self.exit_signal = int(_signal.Signals[f"SIG{signal_}"])
        except KeyError:
            self.exit_signal = int(_signal.SIGTERM)

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = asyncio.Event()
        self._writable.clear()

    def resume_writing(self) -> None:
        if self._writable is not None:
            self._writable.set()


class AsyncsshChannel(_Base):
    """A remote command in a session of a pooled asyncssh connection."""

    def __init__(self, request: CommandRequest, pool: SshPool, key: TargetKey) -> None:
        self._remote = RemoteCommand(request.command, pty=request.pty, watchdog=request.watchdog)
        super().__init__(pool, key, self._remote.info)
        self._request = request
        self._command = self._remote.wrapped
        self._pty = request.pty
        self._stdin = request.stdin
        self._out = FedSource()
        self._err = FedSource()
        self.stdout: ByteSource | None = self._remote.source(self._out, marker=self._pty)
        self.stderr: ByteSource | None = (
            None if self._pty else self._remote.source(self._err, marker=True)
        )
        self._chan: asyncssh.SSHClientChannel[bytes] | None = None
        self._session: _Session | None = None
        self._opened: asyncio.Future[bool] | None = None
        self._opening = False
        self._start()

    def _end_streams(self) -> None:
        self._out.close()
        self._err.close()

    async def _drive(self) -> None:  # asyncio side
        loop = asyncio.get_running_loop()
        self._opened = loop.create_future()
        status = ExitStatus(255, None)
        error: str | None = None
        refused: str | None = None
        try:
            slot = await self._pool.fanout_slot()
            if slot is None:
                status = await self._run_session()
            else:
                async with slot:
                    status = await self._run_session()
        except asyncio.CancelledError:
            status = ExitStatus(None, int(_signal.SIGTERM))
            if self._chan is not None:
                self._chan.close()
        except Exception as e:
            reason = describe_connect_error(e)
            if _refused(e):  # connected, but the server would not run it
                refused = f"the host refused to run the command ({e})"
                status = ExitStatus(None, None)
            elif self._chan is None:
                error = reason
            else:  # the session was open: the connection broke under the command
                self._pool.bridge.to_host(self._failed_after_open, reason)
        finally:
            if not self._opened.done():
                self._opened.set_result(False)
            self._deliver_status(status, error, refused)
            # An ended process may be kept for long (its action's report): let go of the
            # session, its buffers and the connection.
            self._chan = self._session = self._conn = None
            self._task = self._opened = None

    async def _run_session(self) -> ExitStatus:  # asyncio side
        (chan, session), conn = await self._pool.session(self._key, self._open_session)
        self._conn = conn
        try:
            assert self._opened is not None
            self._chan, self._session = chan, session
            self._opened.set_result(True)
            if not self._stdin:
                chan.write_eof()
            await chan.wait_closed()
        finally:
            self._pool.release(conn)
        if session.exit_status is not None:
            return ExitStatus(session.exit_status, None)
        if session.exit_signal is not None:
            return ExitStatus(None, session.exit_signal)
        # As OpenSSH's client: 255, and here the reason.
        why = describe_connect_error(session.lost) if session.lost else "closed"
        self._pool.bridge.to_host(self._failed_after_open, f"ended without an exit status ({why})")
        return ExitStatus(255, None)

    def _failed_after_open(self, reason: str) -> None:  # host side
        self.info.error = f"the SSH session failed: {reason}"

    async def _open_session(self, c: _Conn) -> tuple[asyncssh.SSHClientChannel[bytes], _Session]:
        self._opening = True  # from now on the command may run: kill it, don't just cancel
        command = self._command
        watchdog = self._request.watchdog
        if watchdog is not None and watchdog.stale is not None and c.heartbeat is not None:
            # This connection keeps a heartbeat. Once its keeper keeps, the command only
            # registers with it (no process of its own); until then it has its own watchdog,
            # which watches the heartbeat too (silent cuts).
            command = wrap(
                self._request.command,
                pty=self._pty,
                watchdog=dataclasses.replace(watchdog, heartbeat=c.heartbeat),
                registry=c.heartbeat if c.keeping else None,
            )
        chan, session = await c.conn.create_session(
            functools.partial(_Session, self, c),
            command,
            term_type="xterm" if self._pty else None,
            request_pty=self._pty,
            encoding=None,
        )
        assert isinstance(session, _Session)
        return chan, session

    # -------------------------------------------------------------- stdin

    async def send(self, data: bytes) -> None:
        if not self._stdin or self._status is not None:
            raise BrokenPipeError("stdin is closed")
        await self._pool.call(self._write, data)

    async def _write(self, data: bytes) -> None:  # asyncio side
        if self._opened is None or not await asyncio.shield(self._opened):
            raise BrokenPipeError("the session is not open")
        chan, session = self._chan, self._session
        if chan is None or session is None or chan.is_closing():
            raise BrokenPipeError("the session is closed")
        chan.write(data)
        if session._writable is not None:
            await session._writable.wait()

    async def close_stdin(self) -> None:
        if self._stdin and self._status is None:
            await self._pool.call(self._write_eof)

    async def _write_eof(self) -> None:  # asyncio side
        if self._opened is None or not await asyncio.shield(self._opened):
            return
        chan = self._chan
        if chan is None or chan.is_closing():
            return
        if self._pty:
            chan.write(b"\x04")  # ^D: end of file on a terminal
        else:
            chan.write_eof()

    # --------------------------------------------------------------- kill

    def _send_signal(self, name: str) -> None:  # asyncio side
        if self._chan is not None:
            with contextlib.suppress(OSError, asyncssh.Error, ValueError):
                self._chan.send_signal(name)

    def _bound(self, grace: float) -> float:
        return self._request.params.connect_timeout + grace + 5

    async def signal(self, sig: int) -> None:
        name = _signal.Signals(check_signal(sig)).name.removeprefix("SIG")
        if self._status is None and await self._pool.call(self._opening_or_open):
            self._pool.bridge.to_loop(self._send_signal, name)  # fast path (sshd >= 7.9)
            await self._remote.signal(self._run_script, sig=sig, bound=self._bound(0))

    async def terminate(self, grace: float, sig: int = _signal.SIGTERM) -> bool:
        if not await self._pool.call(self._abort_unless_opening):
            await self._until_exited()  # never got as far as starting the command
            return False
        name = _signal.Signals(check_signal(sig)).name.removeprefix("SIG")
        self._pool.bridge.to_loop(self._send_signal, name)  # fast path (sshd >= 7.9)
        forced = await self._remote.kill(
            self._run_script,
            grace=grace,
            sig=sig,
            bound=self._bound(grace),
            exited=self.has_exited,
        )
        if self.info.remote_pid is not None and self._status is None:
            with anyio.move_on_after(min(grace, 2.0)):
                await self._until_exited()
        if self._status is None:
            await self._cancel_driver()
        return forced

    async def _opening_or_open(self) -> bool:  # asyncio side
        return self._opening

    async def _abort_unless_opening(self) -> bool:  # asyncio side
        if self._opening:
            return True
        self._abort()
        return False

    async def _run_script(self, script: str) -> int | None:
        return await self._pool.call(self._run_remote, script)

    async def _run_remote(self, script: str) -> int | None:  # asyncio side
        result: asyncssh.SSHCompletedProcess | None = None
        if self._conn is not None and not self._conn.closed:
            try:
                result = await self._conn.conn.run(script, check=False)
            except (OSError, asyncssh.Error):
                result = None
        if result is None:  # that connection is full or gone: another pooled one
            try:
                result, conn = await self._pool.session(
                    self._key, lambda c: c.conn.run(script, check=False)
                )
            except Exception as e:
                raise OSError(describe_connect_error(e)) from e
            self._pool.release(conn)
        assert result is not None
        return result.exit_status


class _SftpChannel(_Base):
    """An SFTP transfer in a session of a pooled connection; errors go to stderr."""

    stdout: ByteSource | None = None

    def __init__(self, request: CopyRequest, pool: SshPool, key: TargetKey) -> None:
        super().__init__(pool, key, ChannelInfo())
        self._put = request.direction == "put"
        self._sources = list(request.sources)
        self._destination = request.destination
        self._err = FedSource()
        self.stderr: ByteSource | None = self._err
        self._start()

    def _end_streams(self) -> None:
        self._err.close()

    async def _drive(self) -> None:  # asyncio side
        status = ExitStatus(1, None)
        error: str | None = None
        refused: str | None = None
        connected = False
        try:
            slot = await self._pool.fanout_slot()
            async with contextlib.AsyncExitStack() as stack:
                if slot is not None:
                    await stack.enter_async_context(slot)
                sftp, conn = await self._pool.session(self._key, _start_sftp)
                connected = True
                stack.callback(self._pool.release, conn)
                try:
                    await self._transfer(sftp)
                    status = ExitStatus(0, None)
                finally:
                    sftp.exit()
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(sftp.wait_closed(), 5)
        except asyncio.CancelledError:
            status = ExitStatus(None, int(_signal.SIGTERM))
        except Exception as e:
            if connected:
                message = str(e) or type(e).__name__
                verb = "put" if self._put else "get"
                what = " ".join(self._sources)
                line = f"sftp {verb} {what}: {message}\n"
                self._pool.bridge.to_host(self._err.feed, line.encode())
            elif _refused(e):
                refused = (
                    "the host has no SFTP subsystem (sshd_config: Subsystem sftp ...); "
                    "scp -O copies without it: transport='scp' with '-O' in scp_options"
                )
                status = ExitStatus(None, None)
            else:
                error = describe_connect_error(e)
                status = ExitStatus(255, None)
        finally:
            self._deliver_status(status, error, refused)

    async def _transfer(self, sftp: asyncssh.SFTPClient) -> None:
        if self._put:
            await sftp.put(self._sources, self._destination, preserve=True, recurse=True)
        else:
            await sftp.mget(self._sources, self._destination, preserve=True, recurse=True)

    async def send(self, data: bytes) -> None:
        raise BrokenPipeError("an SFTP transfer has no stdin")

    async def close_stdin(self) -> None:
        pass

    async def signal(self, sig: int) -> None:
        pass  # a transfer is no remote process: nothing to signal

    async def terminate(self, grace: float, sig: int = _signal.SIGTERM) -> bool:
        await self._cancel_driver()
        return False


def _refused(e: Exception) -> bool:
    """The connection was fine, but the server refused the session's request (the command,
    the subsystem): no reason to take the host as unreachable."""
    return (
        isinstance(e, asyncssh.ChannelOpenError) and e.code == asyncssh.OPEN_REQUEST_SESSION_FAILED
    )


async def _start_sftp(c: _Conn) -> asyncssh.SFTPClient:
    return await c.conn.start_sftp_client()


@asynccontextmanager
async def _pooled(requests: Sequence[Request]) -> AsyncIterator[Batch]:
    if SshPool.current() is not None:
        yield Batch()
        return
    async with ssh_pool():
        yield Batch()


class AsyncsshTransport:
    """Commands and SFTP copies as sessions of pooled in-process connections (asyncssh):
    no process per command, connections shared through :func:`~execo.ssh_pool`."""

    name = "asyncssh"
    notifies_exit = True
    """Its channels report their own end: an action follows its processes from one task."""

    def validate(self, requests: Sequence[Request]) -> None:
        pass

    def batch(self, requests: Sequence[Request]) -> AbstractAsyncContextManager[Batch]:
        return _pooled(requests)

    async def open(self, request: Request) -> AsyncsshChannel | _SftpChannel:
        pool = SshPool.current()
        if pool is None:
            raise RuntimeError("an asyncssh channel is opened inside its batch (a pool)")
        key = pool.target_for(request.params, request.host.address)
        if isinstance(request, CopyRequest):
            return _SftpChannel(request, pool, key)
        return AsyncsshChannel(request, pool, key)

    def __repr__(self) -> str:
        return "AsyncsshTransport()"
