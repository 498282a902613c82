"""Send a process's stdout and stderr into files: ``redirect_outputs`` and ``copy_outputs``.

Both work on file descriptors 1 and 2, so the output of child processes and C code is caught
too; ``sys.stdout`` and ``sys.stderr`` are not replaced (only switched to line buffering).
``copy_outputs`` runs one small Python ``tee`` per stream in its own session: a Ctrl-C sent to
the terminal's process group does not reach it, so it keeps draining the pipe until the engine
has exited and every line is in the file; no signal masks are needed.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Final, TextIO, final

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["RedirectedOutputs", "copy_outputs", "redirect_outputs"]

_TEE: Final = """
import os, sys
out = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
targets = [1, out]
while True:
    data = os.read(0, 65536)
    if not data:
        break
    for fd in list(targets):
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(fd, view):]
        except OSError:
            if fd != out:
                targets.remove(fd)  # the terminal went away: keep the file going
"""


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError, OSError):
            stream.flush()


def _line_buffer(stream: TextIO) -> Callable[[], None] | None:
    """Switch ``stream`` to line buffering; return what switches it back (None: nothing to)."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is None:
        return None
    previous = bool(getattr(stream, "line_buffering", False))
    with contextlib.suppress(ValueError, OSError):
        reconfigure(line_buffering=True)
        return lambda: reconfigure(line_buffering=previous)
    return None


def _open_append(path: str) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)


def _targets(stdout_filename: str, stderr_filename: str | None) -> list[tuple[int, str]]:
    return [(1, stdout_filename), (2, stderr_filename or stdout_filename)]


@final
class RedirectedOutputs:
    """Outputs sent to files; :meth:`restore` puts the original descriptors back."""

    def __init__(self, saved: dict[int, int], tees: list[subprocess.Popen[bytes]]) -> None:
        self._saved = saved
        self._tees = tees
        self._unbuffer = [_line_buffer(stream) for stream in (sys.stdout, sys.stderr) if stream]

    def restore(self, timeout: float = 10.0) -> None:
        """Flush, give fds 1 and 2 back, and wait (up to ``timeout``) for the tees to drain."""
        _flush()
        for fd, saved in self._saved.items():
            os.dup2(saved, fd)
            os.close(saved)
        self._saved = {}
        for tee in self._tees:
            try:
                tee.wait(timeout)
            except subprocess.TimeoutExpired:
                tee.kill()
                tee.wait()
        self._tees = []
        for undo in self._unbuffer:
            if undo is not None:
                with contextlib.suppress(ValueError, OSError):
                    undo()
        self._unbuffer = []


def redirect_outputs(stdout_filename: str, stderr_filename: str | None = None) -> RedirectedOutputs:
    """Append everything written to fds 1 and 2 to files instead (files created mode 0644).

    Args:
        stdout_filename: the file for stdout.
        stderr_filename: the file for stderr; None: the stdout file (merged outputs).
    """
    _flush()
    saved: dict[int, int] = {}
    try:
        for fd, path in _targets(stdout_filename, stderr_filename):
            target = _open_append(path)
            saved[fd] = os.dup(fd)
            os.dup2(target, fd)
            os.close(target)
    except BaseException:
        RedirectedOutputs(saved, []).restore()
        raise
    return RedirectedOutputs(saved, [])


def copy_outputs(stdout_filename: str, stderr_filename: str | None = None) -> RedirectedOutputs:
    """Like :func:`redirect_outputs`, but the outputs still reach their original destination.

    Args:
        stdout_filename: the file for stdout.
        stderr_filename: the file for stderr; None: the stdout file (merged outputs).
    """
    _flush()
    pipes: list[tuple[int, int]] = []
    tees: list[subprocess.Popen[bytes]] = []
    saved: dict[int, int] = {}
    try:
        # Start both tees before touching fds 1 and 2, so that neither inherits a pipe end.
        for fd, path in _targets(stdout_filename, stderr_filename):
            read_end, write_end = os.pipe()
            pipes.append((fd, write_end))
            try:
                tees.append(
                    subprocess.Popen(
                        [sys.executable, "-c", _TEE, path],
                        stdin=read_end,
                        stdout=fd,
                        start_new_session=True,
                    )
                )
            finally:
                os.close(read_end)
        for fd, write_end in pipes:
            saved[fd] = os.dup(fd)
            os.dup2(write_end, fd)
    except BaseException:
        for _, write_end in pipes:
            os.close(write_end)
        RedirectedOutputs(saved, tees).restore()
        raise
    for _, write_end in pipes:
        os.close(write_end)
    return RedirectedOutputs(saved, tees)
