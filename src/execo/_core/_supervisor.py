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

Every supervised child also gets the environment variable ``EXECO_SUPERVISOR=<mark>``
(inherited by its descendants), and the supervisor ends every process that carries the mark:
that covers a child forked in the instant between ``fork`` and its registration (the
supervisor is started before the first child), and descendants that left the group, such as
a daemon that forked twice. What it does not cover: a descendant that both left the group and
cleared its environment (sudo does), and ``detach=True`` children, which get no mark and no
registration, on purpose.
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
from collections.abc import Mapping

__all__ = [
    "MARK",
    "child_environment",
    "detached_environment",
    "supervise",
    "supervisor_pid",
    "unsupervise",
]

MARK = "EXECO_SUPERVISOR"
"""The environment variable that marks the children (and their descendants) of this
controller: the supervisor also ends every process that carries its mark, which covers a
child forked in the instant before its registration, and descendants that left its group."""

_GUARDIAN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_guardian.py")

_GRACE = 2.0  # seconds between the supervisor's SIGTERM and its SIGKILL
_lock = threading.Lock()
_fd: int | None = None
_pid: int | None = None
_owner: int | None = None  # the pid that started it (a forked child starts its own)
_mark: str | None = None


def _start() -> int:
    global _fd, _pid, _owner, _mark
    mark = f"{os.getpid()}-{secrets.token_hex(8)}"
    read, write = os.pipe()
    try:
        null = os.open(os.devnull, os.O_RDWR)
        try:
            # posix_spawn, in a session of its own (no terminal signal reaches it); every
            # other descriptor of ours is close-on-exec (PEP 446), so it holds none of them.
            pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-I", "-S", _GUARDIAN, str(_GRACE), f"{MARK}={mark}"],
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
    _fd, _pid, _owner, _mark = write, pid, os.getpid(), mark
    return write


def _ensure() -> tuple[int, str]:
    """The supervisor's pipe and mark, starting it first if needed (caller holds _lock)."""
    if _fd is None or _owner != os.getpid() or _mark is None:
        _start()
    assert _fd is not None
    assert _mark is not None
    return _fd, _mark


def child_environment(env: Mapping[str, str] | None) -> Mapping[str, str] | Mapping[bytes, bytes]:
    """The environment for a supervised child: ``env`` (default: ours) with the mark; the
    supervisor is started now, before the child exists. Ours is taken as bytes
    (``os.environb``), which subprocess passes on without decoding and encoding each
    variable again."""
    with _lock:
        _, mark = _ensure()
    if env is None:
        return {**os.environb, _MARK_B: os.fsencode(mark)}
    return {**env, MARK: mark}


def detached_environment(env: Mapping[str, str] | None) -> Mapping[str, str] | None:
    """The environment for a detached child: without the mark of a supervisor above us (this
    controller may itself run under another one)."""
    source = os.environ if env is None else env
    if MARK not in source:
        return env
    return {k: v for k, v in source.items() if k != MARK}


_MARK_B = os.fsencode(MARK)


def _write(line: bytes) -> None:
    global _fd
    with _lock:
        fd, _ = _ensure()
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
