"""The guardian of local children: they die with the controller, however it dies.

Every local child (a Process, an ssh or scp client, taktuk) runs in a session, hence a process
group, of its own. The first time one is spawned, the controller starts one *supervisor*: a
small Python process in a session of its own, whose stdin is a pipe from the controller. The
controller writes ``+<pgid>`` when it spawns a child and ``-<pgid>`` when it has reaped it:
one ``write()`` of a few bytes, no thread. When the pipe reaches end of file — the controller
exited or was killed, even with SIGKILL — the supervisor sends SIGTERM to every group still
registered and to every descendant of their members, in whatever group (taktuk puts its ssh
connectors in groups of their own), then SIGKILL to what is left after the grace period, and
exits (its program is :mod:`._guardian`).

What it does not cover: a child spawned in the few microseconds between ``fork`` and the
registration, when the controller dies exactly then; a daemon that detached itself from its
parent (double fork) before the controller died; ``detach=True`` children, never registered,
on purpose.
"""

from __future__ import annotations

import os
import sys
import threading

__all__ = ["supervise", "supervisor_pid", "unsupervise"]

_GUARDIAN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_guardian.py")

_GRACE = 2.0  # seconds between the supervisor's SIGTERM and its SIGKILL
_lock = threading.Lock()
_fd: int | None = None
_pid: int | None = None
_owner: int | None = None  # the pid that started it (a forked child starts its own)


def _start() -> int:
    global _fd, _pid, _owner
    read, write = os.pipe()
    try:
        null = os.open(os.devnull, os.O_RDWR)
        try:
            # posix_spawn, in a session of its own (no terminal signal reaches it); every
            # other descriptor of ours is close-on-exec (PEP 446), so it holds none of them.
            pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-I", "-S", _GUARDIAN, str(_GRACE)],
                os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, read, 0),
                    (os.POSIX_SPAWN_DUP2, null, 1),
                    (os.POSIX_SPAWN_DUP2, null, 2),
                ],
                setsid=True,
            )
        finally:
            os.close(null)
    finally:
        os.close(read)
    _fd, _pid, _owner = write, pid, os.getpid()
    return write


def _write(line: bytes) -> None:
    global _fd
    with _lock:
        fd = _fd if _owner == os.getpid() else None
        if fd is None:
            fd = _start()
        try:
            os.write(fd, line)
        except OSError:
            _fd = None  # the supervisor is gone (killed?): start another next time


def supervise(pgid: int) -> None:
    """The process group ``pgid`` dies with the controller."""
    _write(b"+%d\n" % pgid)


def unsupervise(pgid: int) -> None:
    """The group ``pgid`` has ended (or is detached): forget it."""
    if _fd is not None and _owner == os.getpid():
        _write(b"-%d\n" % pgid)


def supervisor_pid() -> int | None:
    """Pid of this controller's supervisor, once started (for tests)."""
    return _pid if _owner == os.getpid() else None
