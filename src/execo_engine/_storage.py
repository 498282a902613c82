"""File primitives of the sweeper: the directory lock, record files, group commit, atomic writes.

Locking: one ``LOCK`` file per storage directory, locked with ``fcntl.lockf`` (a POSIX record
lock, which Linux implements over NFSv3 through NLM and natively in NFSv4; taking it makes the
NFS client revalidate its cache, and releasing it flushes dirty pages to the server). POSIX
locks belong to a process, not to a thread or a file descriptor, and closing *any* descriptor of
the locked file drops them; so one :class:`DirLock` per directory is shared by every sweeper of
the process, and it pairs the file lock with a ``threading.RLock``.
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import threading
from typing import TYPE_CHECKING, Any, ClassVar, Final

from ._errors import SweeperFormatError
from ._log import logger
from ._records import frame

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    #: Decodes the bytes read from a record file: ``(records, good bytes)``.
    Parse = Callable[[bytes], tuple[list[Any], int]]

__all__ = ["DirLock", "RecordFile", "Shrunk", "atomic_write", "fsync_dir"]

_fdatasync: Final[Callable[[int], None]] = getattr(os, "fdatasync", os.fsync)


class DirLock:
    """The process-wide lock of one storage directory: a thread lock plus a POSIX record lock.

    Reentrant: the file lock is taken by the outermost acquisition only.
    """

    _registry: ClassVar[dict[str, DirLock]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, fd: int, key: str) -> None:
        self._fd = fd
        self._key = key
        self._rlock = threading.RLock()
        self._depth = 0
        self._users = 0

    @classmethod
    def for_path(cls, path: str) -> DirLock:
        """The shared lock of the lock file ``path`` (created if needed); release with close().

        The file is opened once per process (keyed by its real path): opening and closing a
        second descriptor would drop the lock held through the first.
        """
        key = os.path.realpath(path)
        with cls._registry_lock:
            lock = cls._registry.get(key)
            if lock is None:
                fd = os.open(key, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                lock = cls._registry[key] = cls(fd, key)
            lock._users += 1
            return lock

    def close(self) -> None:
        """One user fewer; the last one closes the file."""
        with self._registry_lock:
            self._users -= 1
            if self._users == 0:
                del self._registry[self._key]
                os.close(self._fd)

    def acquire(self) -> None:
        """Take the lock (the thread lock, then the file lock if this is the outermost)."""
        self._rlock.acquire()
        if self._depth == 0:
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._rlock.release()
                raise
        self._depth += 1

    def release(self) -> None:
        """Undo one :meth:`acquire`."""
        self._depth -= 1
        try:
            if self._depth == 0:
                fcntl.lockf(self._fd, fcntl.LOCK_UN)
        finally:
            self._rlock.release()

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class Shrunk(Exception):
    """A record file is shorter than what was already read from it (it was replaced)."""


class RecordFile:
    """An append-only file of framed records, read incrementally, synced by group commit.

    Reading and appending happen under the :class:`DirLock`; :meth:`sync` happens outside it,
    and concurrent callers share one ``fdatasync``: the first becomes the leader and syncs
    everything written so far, the others wait for a sync that covers their record.
    """

    def __init__(self, path: str, fd: int, parse: Parse) -> None:
        self.path = path
        self.fd = fd
        self.end = 0  # bytes read or written so far: the offset of the next record
        self.records = 0  # good records read or written
        self._parse = parse
        self._cond = threading.Condition(threading.Lock())
        self._durable = 0
        self._syncing = False

    @classmethod
    def open(cls, path: str, parse: Parse) -> RecordFile | None:
        """Open an existing record file, or None if it does not exist."""
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        return cls(path, fd, parse)

    @classmethod
    def create(cls, path: str, header: bytes, parse: Parse) -> RecordFile:
        """Create the file with its header record, atomically (replacing a stale one)."""
        atomic_write(path, frame(header))
        created = cls.open(path, parse)
        if created is None:  # pragma: no cover - removed behind our back, under our lock
            raise FileNotFoundError(errno.ENOENT, "record file vanished", path)
        return created

    def read_new(self) -> list[Any]:
        """The records appended since the last call; a torn or damaged tail is cut off.

        Must be called under the directory lock: the cut is only right when no writer is
        active, i.e. when the tail was left by a writer that died.

        Raises:
            Shrunk: the file is shorter than what was already read.
            SweeperFormatError: the file does not start with a valid record (it is not cut).
        """
        size = os.fstat(self.fd).st_size
        if size == self.end:
            return []
        if size < self.end:
            raise Shrunk(self.path)
        data = os.pread(self.fd, size - self.end, self.end)
        records, good = self._parse(data)
        if good == 0 and self.end == 0:
            raise SweeperFormatError(f"{self.path}: not an execo sweeper file (no valid header)")
        if good < len(data):
            logger.warning(
                "%s: cutting %d bytes of torn or damaged records at offset %d",
                self.path,
                len(data) - good,
                self.end + good,
            )
            os.ftruncate(self.fd, self.end + good)
        self.end += good
        self.records += len(records)
        return records

    def append(self, data: bytes, count: int) -> int:
        """Write ``data`` (``count`` framed records) at the end; returns the new end offset."""
        offset = self.end
        written = os.pwrite(self.fd, data, offset)
        if written < len(data):  # rare: a short write; finish it
            view = memoryview(data)[written:]
            while view:
                n = os.pwrite(self.fd, view, offset + written)
                written += n
                view = view[n:]
        offset += written
        self.end = offset
        self.records += count
        return offset

    def sync(self, upto: int) -> None:
        """Return once everything up to offset ``upto`` is on stable storage (group commit)."""
        with self._cond:
            while self._durable < upto:
                if self._syncing:
                    self._cond.wait()
                    continue
                self._syncing = True
                target = self.end  # every append that returned before this is covered
                self._cond.release()
                try:
                    _fdatasync(self.fd)
                finally:
                    self._cond.acquire()
                    self._syncing = False
                    self._cond.notify_all()
                self._durable = max(self._durable, target)

    def close(self) -> None:
        """Close the descriptor (once no sync is running)."""
        with self._cond:
            while self._syncing:
                self._cond.wait()
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1


def fsync_dir(path: str) -> None:
    """Make the directory entries of ``path`` durable (renames, creations)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    except OSError as e:  # pragma: no cover - some file systems refuse fsync on directories
        if e.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)


def atomic_write(path: str, data: bytes) -> None:
    """Replace ``path`` by a file holding ``data``: write a temporary, fsync, rename, fsync dir."""
    directory = os.path.dirname(path) or "."
    tmp = f"{path}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(directory)
