"""The asyncssh transport: remote commands and SFTP transfers as sessions of pooled connections.

A channel object lives on the caller's loop (trio or asyncio); its driver task lives on the
pool's asyncio loop and talks to asyncssh. Output, exit status and errors come back through
the bridge as callbacks, in order.

The command is wrapped as with OpenSSH (``echo __EXECO_RPID__ $$ >&2; cmd``): the remote
shell leads its own process group and reports its pid. Killing sends the SSH ``signal``
request (a fast path, which old sshds ignore), then runs ``remote_kill_script`` (SIGTERM to
the group, SIGKILL after the grace period) in a fresh session on the same connection (or
another pooled one when that one is full or gone). A channel that never connected is simply
cancelled: nothing runs remotely yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio
import asyncssh

from .._core._channel import ByteSource, ExitStatus
from .._core._config import EffectiveConnectionParams
from .._core._host import Host
from .._core._process import ProcessBase
from ._sshpool import SshPool, _Conn
from ._sshtarget import TargetKey, describe_connect_error

if TYPE_CHECKING:
    from ._openssh import SshProcess

__all__ = ["AsyncsshChannel", "SftpProcess", "channel_pool"]


class _Stream:
    """Bytes delivered by the driver, read by the process's pump (one reader)."""

    __slots__ = ("_chunks", "_eof", "_event")

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._eof = False
        self._event: anyio.Event | None = None

    def feed(self, data: bytes) -> None:
        self._chunks.append(data)
        if self._event is not None:
            self._event.set()

    def end(self) -> None:
        self._eof = True
        if self._event is not None:
            self._event.set()

    async def read(self) -> bytes:
        while True:
            if self._chunks:
                data = b"".join(self._chunks)
                self._chunks.clear()
                return data
            if self._eof:
                return b""
            self._event = anyio.Event()
            await self._event.wait()


async def channel_pool() -> tuple[SshPool, bool]:
    """The current pool, or a private one (and True: the caller must close it)."""
    pool = SshPool.current()
    if pool is not None:
        return pool, False
    pool = SshPool()
    pool.open()
    return pool, True


class _Base:
    """What command and SFTP channels share: driver task, status, kill by cancellation."""

    pid: int | None = None

    def __init__(self, pool: SshPool, private: bool, key: TargetKey) -> None:
        self._pool = pool
        self._private = private
        self._key = key
        self._status: ExitStatus | None = None
        self._exited = anyio.Event()
        self.connect_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._aborted = False
        self._conn: _Conn | None = None

    def _start(self) -> None:
        self._pool.bridge.to_loop(self._begin)

    def _begin(self) -> None:  # asyncio side
        if self._aborted:
            self._deliver_status(ExitStatus(None, int(signal.SIGTERM)))
            return
        self._task = asyncio.get_running_loop().create_task(self._drive())

    async def _drive(self) -> None:
        raise NotImplementedError

    def _deliver_status(self, status: ExitStatus, error: str | None = None) -> None:
        self._pool.bridge.to_host(self._finish, status, error)

    def _finish(self, status: ExitStatus, error: str | None) -> None:  # host side
        if self._status is not None:
            return
        self.connect_error = error
        self._end_streams()
        self._status = status
        self._exited.set()

    def _end_streams(self) -> None:
        pass

    def _abort(self) -> None:  # asyncio side
        self._aborted = True
        if self._task is not None:
            self._task.cancel()

    async def wait(self) -> ExitStatus:
        await self._exited.wait()
        assert self._status is not None
        return self._status

    def has_exited(self) -> bool:
        return self._status is not None

    async def _cancel_driver(self) -> None:
        self._pool.bridge.to_loop(self._abort)
        await self._exited.wait()

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            if self._status is None:
                await self._cancel_driver()
            if self._private:
                await self._pool.aclose()


class _Session(asyncssh.SSHClientSession[bytes]):
    def __init__(self, channel: AsyncsshChannel) -> None:
        self._channel = channel
        self._writable = asyncio.Event()
        self._writable.set()
        self.exit_status: int | None = None
        self.exit_signal: int | None = None

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        c = self._channel
        stream = c._err if datatype == asyncssh.EXTENDED_DATA_STDERR else c._out
        c._pool.bridge.to_host(stream.feed, bytes(data))

    def exit_status_received(self, status: int) -> None:
        self.exit_status = status

    def exit_signal_received(self, signal_: str, core_dumped: bool, msg: str, lang: str) -> None:
        try:
            self.exit_signal = int(signal.Signals[f"SIG{signal_}"])
        except KeyError:
            self.exit_signal = int(signal.SIGTERM)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()


class AsyncsshChannel(_Base):
    """A remote command in a session of a pooled asyncssh connection."""

    def __init__(
        self,
        process: SshProcess,
        pool: SshPool,
        private: bool,
        key: TargetKey,
        command: str,
    ) -> None:
        super().__init__(pool, private, key)
        self._process = process
        self._command = command
        self._pty = process.pty
        self._stdin = process.stdin
        self._out = _Stream()
        self._err = _Stream()
        self.stdout: ByteSource | None = self._out
        self.stderr: ByteSource | None = None if self._pty else self._err
        self._chan: asyncssh.SSHClientChannel[bytes] | None = None
        self._session: _Session | None = None
        self._opened: asyncio.Future[bool] | None = None
        self._opening = False
        self._start()

    def _end_streams(self) -> None:
        self._out.end()
        self._err.end()

    async def _drive(self) -> None:  # asyncio side
        loop = asyncio.get_running_loop()
        self._opened = loop.create_future()
        status = ExitStatus(255, None)
        error: str | None = None
        try:
            slot = await self._pool.fanout_slot()
            async with contextlib.AsyncExitStack() as stack:
                if slot is not None:
                    await stack.enter_async_context(slot)
                (chan, session), conn = await self._pool.session(self._key, self._open_session)
                self._conn = conn
                stack.callback(self._pool.release, conn)
                self._chan, self._session = chan, session
                self._opened.set_result(True)
                if not self._stdin:
                    chan.write_eof()
                await chan.wait_closed()
                if session.exit_status is not None:
                    status = ExitStatus(session.exit_status, None)
                elif session.exit_signal is not None:
                    status = ExitStatus(None, session.exit_signal)
        except asyncio.CancelledError:
            status = ExitStatus(None, int(signal.SIGTERM))
            if self._chan is not None:
                self._chan.close()
        except Exception as e:
            if self._chan is None:
                error = describe_connect_error(e)
        finally:
            if not self._opened.done():
                self._opened.set_result(False)
            self._deliver_status(status, error)

    async def _open_session(
        self, conn: asyncssh.SSHClientConnection
    ) -> tuple[asyncssh.SSHClientChannel[bytes], _Session]:
        self._opening = True  # from now on the command may run: kill it, don't just cancel
        chan, session = await conn.create_session(
            lambda: _Session(self),
            self._command,
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
        assert self._chan is not None
        assert self._session is not None
        if self._chan.is_closing():
            raise BrokenPipeError("the session is closed")
        self._chan.write(data)
        await self._session._writable.wait()

    async def close_stdin(self) -> None:
        if self._stdin and self._status is None:
            await self._pool.call(self._write_eof)

    async def _write_eof(self) -> None:  # asyncio side
        if self._opened is None or not await asyncio.shield(self._opened):
            return
        assert self._chan is not None
        if self._chan.is_closing():
            return
        if self._pty:
            self._chan.write(b"\x04")  # ^D: end of file on a terminal
        else:
            self._chan.write_eof()

    # --------------------------------------------------------------- kill

    def signal_group(self, sig: int) -> None:
        name = signal.Signals(sig).name.removeprefix("SIG")
        self._pool.bridge.to_loop(self._send_signal, name)

    def _send_signal(self, name: str) -> None:  # asyncio side
        if self._chan is not None:
            with contextlib.suppress(OSError, asyncssh.Error, ValueError):
                self._chan.send_signal(name)

    async def terminate(self, grace: float) -> bool:
        from ._openssh import remote_kill_script

        p = self._process
        forced = False
        if not await self._pool.call(self._abort_unless_opening):
            await self._exited.wait()  # never got as far as starting the command
            return False
        if p.remote_pid is None and self._status is None:
            # The marker may be in flight: the command might have started.
            with anyio.move_on_after(grace):
                while p.remote_pid is None and not p._marker_done and p._marker_event:
                    await p._marker_event.wait()
        if p.remote_pid is not None and self._status is None:
            script = remote_kill_script(p.remote_pid, grace)
            with anyio.move_on_after(p.params.connect_timeout + grace + 5):
                forced = await self._pool.call(self._kill_remote, script)
            with anyio.move_on_after(min(grace, 2.0)):
                await self._exited.wait()
        if self._status is None:
            await self._cancel_driver()
        return forced

    async def _abort_unless_opening(self) -> bool:  # asyncio side
        if self._opening:
            return True
        self._abort()
        return False

    async def _kill_remote(self, script: str) -> bool:  # asyncio side
        self._send_signal("TERM")  # fast path: sshd >= 7.9 passes it to the shell
        result: asyncssh.SSHCompletedProcess | None = None
        if self._conn is not None and not self._conn.closed:
            try:
                result = await self._conn.conn.run(script, check=False)
            except (OSError, asyncssh.Error):
                result = None
        if result is None:  # that connection is full or gone: another pooled one
            try:
                result, conn = await self._pool.session(
                    self._key, lambda c: c.run(script, check=False)
                )
                self._pool.release(conn)
            except Exception:
                return False
        return result is not None and result.exit_status == 9


class _SftpChannel(_Base):
    """An SFTP transfer in a session of a pooled connection; errors go to stderr."""

    stdout = None

    def __init__(
        self,
        pool: SshPool,
        private: bool,
        key: TargetKey,
        put: bool,
        sources: Sequence[str],
        destination: str,
    ) -> None:
        super().__init__(pool, private, key)
        self._put = put
        self._sources = list(sources)
        self._destination = destination
        self._err = _Stream()
        self.stderr: ByteSource | None = self._err
        self._start()

    def _end_streams(self) -> None:
        self._err.end()

    async def _drive(self) -> None:  # asyncio side
        status = ExitStatus(1, None)
        error: str | None = None
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
            status = ExitStatus(None, int(signal.SIGTERM))
        except Exception as e:
            if connected:
                message = str(e) or type(e).__name__
                verb = "put" if self._put else "get"
                what = " ".join(self._sources)
                line = f"sftp {verb} {what}: {message}\n"
                self._pool.bridge.to_host(self._err.feed, line.encode())
            else:
                error = describe_connect_error(e)
                status = ExitStatus(255, None)
        finally:
            self._deliver_status(status, error)

    async def _transfer(self, sftp: asyncssh.SFTPClient) -> None:
        if self._put:
            await sftp.put(self._sources, self._destination, preserve=True, recurse=True)
        else:
            await sftp.mget(self._sources, self._destination, preserve=True, recurse=True)

    async def send(self, data: bytes) -> None:
        raise BrokenPipeError("an SFTP transfer has no stdin")

    async def close_stdin(self) -> None:
        pass

    async def terminate(self, grace: float) -> bool:
        await self._cancel_driver()
        return False


async def _start_sftp(conn: asyncssh.SSHClientConnection) -> asyncssh.SFTPClient:
    return await conn.start_sftp_client()


class SftpProcess(ProcessBase):
    """A copy to (``put=True``) or from a host over SFTP, on a pooled asyncssh connection.

    Made by :class:`~execo.Put` and :class:`~execo.Get` with the ``asyncssh`` tool. Sources
    of a Get are remote glob patterns; a failure's message is on ``stderr``.
    """

    _kind = "SftpProcess"

    def __init__(
        self,
        host: Host,
        params: EffectiveConnectionParams,
        *,
        put: bool,
        sources: Sequence[str],
        destination: str,
        **kwargs: Any,
    ) -> None:
        verb = "put" if put else "get"
        super().__init__(f"sftp {verb} {' '.join(sources)} {destination}", **kwargs)
        self.host = host
        self.params = params
        self.put = put
        self.sources = list(sources)
        self.destination = destination

    async def _spawn(self) -> Any:
        assert self.host is not None
        pool, private = await channel_pool()
        key = pool.target_for(self.params, self.host.address)
        return _SftpChannel(pool, private, key, self.put, self.sources, self.destination)

    def _on_exit(self, status: ExitStatus) -> None:
        self._channel_unreachable()

    def __repr__(self) -> str:
        return f"<SftpProcess {self.name!r} on {self.host} {self.status.value}>"
