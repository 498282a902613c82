"""Local OS processes: :class:`Process`, and the channel it runs on, spawned in a session (hence
a process group) of its own, waited for through a pidfd, read without blocking the event loop."""

from __future__ import annotations

import contextlib
import errno
import os
import shlex
import signal as _signal
import subprocess
from collections.abc import Mapping, Sequence
from typing import IO

import anyio

from ._channel import ByteSource, Channel, ChannelInfo, ExitStatus, check_signal
from ._process import ProcessBase
from ._proctable import descendants, group_alive, snapshot
from ._supervisor import child_environment, detached_environment, supervise, unsupervise
from ._util import str_from_cmdline

__all__ = ["LocalChannel", "Process", "raise_nofile_limit", "spawn_local"]

_READ_SIZE = 65536


class _FdSource:
    """A pipe or pty master, read without blocking the event loop.

    ``owner`` is the file object that owns the fd (closing it closes the fd); without one,
    the fd is closed directly.
    """

    __slots__ = ("fd", "owner")

    def __init__(self, fd: int, owner: IO[bytes] | None = None) -> None:
        self.fd = fd
        self.owner = owner
        os.set_blocking(fd, False)

    async def read(self) -> bytes:
        while True:
            if self.fd < 0:
                return b""
            try:
                return os.read(self.fd, _READ_SIZE)
            except BlockingIOError:
                await anyio.wait_readable(self.fd)
            except OSError as e:
                if e.errno == errno.EIO:  # a pty whose slave side is closed: end of stream
                    return b""
                raise

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            anyio.notify_closing(fd)
            if self.owner is not None:
                self.owner.close()
            else:
                os.close(fd)


def _kill_each(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _any_alive(pids: list[int]) -> bool:
    """Whether one of ``pids`` still runs (zombies excepted)."""
    if not pids:
        return False
    live = {e.pid for e in snapshot() if not e.zombie}
    return any(p in live for p in pids)


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class LocalChannel:
    """An OS process started in a new session, hence its own process group.

    It is started with :class:`subprocess.Popen` directly on the event loop (vfork+exec
    costs a fraction of a millisecond; a thread round trip per process costs more), and its
    exit is awaited through a pidfd, so no thread and no SIGCHLD handler are involved.
    """

    def __init__(
        self, popen: subprocess.Popen[bytes], pty_master: int | None, *, supervised: bool
    ) -> None:
        self._popen = popen
        self._supervised = supervised
        self.pid: int | None = popen.pid
        self._stdin_fd = pty_master if pty_master is not None else _fileno(popen.stdin)
        if self._stdin_fd is not None:
            os.set_blocking(self._stdin_fd, False)
        self._pty_master = pty_master
        self._out: _FdSource | None = None
        if pty_master is not None:
            self._out = _FdSource(pty_master)
        elif popen.stdout is not None:
            self._out = _FdSource(popen.stdout.fileno(), popen.stdout)
        self._err = _FdSource(popen.stderr.fileno(), popen.stderr) if popen.stderr else None
        self.stdout: ByteSource | None = self._out
        self.stderr: ByteSource | None = self._err
        self._status: ExitStatus | None = None
        self.info = ChannelInfo()
        self._wait_lock = anyio.Lock()
        try:
            self._pidfd: int | None = os.pidfd_open(popen.pid)
        except (AttributeError, OSError):
            self._pidfd = None

    async def wait(self) -> ExitStatus:
        async with self._wait_lock:
            if self._status is None:
                rc = self._popen.poll()
                if rc is None and self._pidfd is not None:
                    await anyio.wait_readable(self._pidfd)
                    rc = self._popen.wait()
                delay = 0.001
                while rc is None:  # no pidfd (old kernel): poll with backoff
                    await anyio.sleep(delay)
                    delay = min(delay * 2, 0.05)
                    rc = self._popen.poll()
                self._status = ExitStatus.from_returncode(rc)
                self._close_pidfd()
        return self._status

    def _close_pidfd(self) -> None:
        if self._pidfd is not None:
            fd, self._pidfd = self._pidfd, None
            anyio.notify_closing(fd)
            os.close(fd)

    def has_exited(self) -> bool:
        return self._status is not None

    async def send(self, data: bytes) -> None:
        if self._stdin_fd is None:
            raise BrokenPipeError("stdin is closed")
        await _write_fd(self._stdin_fd, data)

    async def close_stdin(self) -> None:
        if self._pty_master is not None:
            await _write_fd(self._pty_master, b"\x04")  # ^D: end of file on a terminal
            return
        if self._stdin_fd is not None:
            self._stdin_fd = None
            if self._popen.stdin is not None:
                self._popen.stdin.close()

    def signal_group(self, sig: int) -> None:
        """Send ``sig`` to the process group now (no-op once the group is gone)."""
        if self.pid is not None:
            _killpg(self.pid, sig)

    async def signal(self, sig: int) -> None:
        self.signal_group(check_signal(sig))

    async def terminate(self, grace: float, sig: int = _signal.SIGTERM) -> bool:
        pgid = self.pid
        if pgid is None:
            await self.wait()
            return False
        sig = check_signal(sig)
        # The tree: the group, and what descends from it in other groups (taktuk's ssh
        # connectors have groups of their own).
        others = descendants(pgid, snapshot())
        _killpg(pgid, sig)
        _kill_each(others, sig)
        with anyio.move_on_after(grace):
            await self.wait()
            delay = 0.005
            while group_alive(pgid) or _any_alive(others):
                await anyio.sleep(delay)
                delay = min(delay * 2, 0.1)
            return False
        forced = group_alive(pgid) or _any_alive(others)
        _killpg(pgid, _signal.SIGKILL)
        _kill_each(others, _signal.SIGKILL)
        await self.wait()
        return forced

    async def aclose(self) -> None:
        if self._supervised and self.pid is not None:
            self._supervised = False
            unsupervise(self.pid)
        self._stdin_fd = None
        for source in (self._out, self._err):
            if source is not None:
                source.close()
        if self._popen.stdin is not None and not self._popen.stdin.closed:
            with contextlib.suppress(OSError):  # a broken pipe when flushing: nothing to lose
                self._popen.stdin.close()
        if self._status is not None:
            self._close_pidfd()


def _fileno(f: IO[bytes] | None) -> int | None:
    return f.fileno() if f is not None else None


async def _write_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        if fd < 0:
            raise BrokenPipeError("stdin is closed")
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            await anyio.wait_writable(fd)
            continue
        view = view[n:]


_nofile_raised = False


def raise_nofile_limit() -> int:
    """Raise the soft limit on open files to the hard limit (once); returns the soft limit.

    Each local process costs up to three pipe ends while it runs, so fan-out is bounded by
    this limit; better the largest one allowed than an EMFILE at a few hundred processes.
    """
    global _nofile_raised
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if not _nofile_raised:
        _nofile_raised = True
        if hard == resource.RLIM_INFINITY or soft < hard:
            target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
                soft = target
            except (ValueError, OSError):
                pass
    return soft


def _popen(
    argv: Sequence[str],
    stdin: int,
    stdout: int,
    env: Mapping[str, str] | Mapping[bytes, bytes] | None,
    cwd: str | None,
) -> subprocess.Popen[bytes]:
    # Deliberately synchronous: vfork+exec takes well under a millisecond, less than the
    # thread round trip that would keep it off the event loop.
    return subprocess.Popen(
        list(argv),
        stdin=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        start_new_session=True,
        bufsize=0,
    )


async def spawn_local(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None,
    cwd: str | None,
    pty: bool,
    stdin: bool = True,
    supervised: bool = True,
) -> LocalChannel:
    """Start ``argv`` in a new session (its own process group), with pipes or a pty.

    Args:
        supervised: the group dies with this controller, however it dies (see
            :mod:`._supervisor`); False for what must outlive it (``detach=True``).

    Raises:
        OSError: the command could not be started (missing binary, EMFILE, ...).
    """
    if not _nofile_raised:
        raise_nofile_limit()
    child_env = child_environment(env) if supervised else detached_environment(env)
    if not pty:
        stdin_arg = subprocess.PIPE if stdin else subprocess.DEVNULL
        popen = _popen(argv, stdin_arg, subprocess.PIPE, child_env, cwd)
        master = None
    else:
        master, slave = os.openpty()
        try:
            popen = _popen(argv, slave, slave, child_env, cwd)
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
    if supervised:
        supervise(popen.pid)
    return LocalChannel(popen, master, supervised=supervised)


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
        env = {**os.environ, **self.env} if self.env is not None else None
        return await spawn_local(
            self.argv(),
            env=env,
            cwd=self.cwd,
            pty=self.pty,
            stdin=self.stdin,
            supervised=not self.detach,
        )
