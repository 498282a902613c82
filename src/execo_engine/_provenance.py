"""What an engine run ran on: a JSON record in its result directory (``provenance.json``).

The file holds one entry per run in that directory (a run continued with ``-c`` appends
one)::

    {"format": 1, "engine": "MyEngine", "runs": [
      {"run": 1, "run_name": ..., "status": "ok", "exit_code": 0, "error": null,
       "start": "2026-03-23T09:00:00+00:00", "end": ..., "start_ts": ..., "end_ts": ...,
       "host": ..., "user": ..., "pid": ..., "cwd": ..., "result_dir": ..., "continued": false,
       "command_line": [...], "engine_args": [...],
       "python": {"version": "3.11.7", "implementation": "CPython", "executable": ...},
       "versions": {"execo": "3.0.0.dev0", "trio": ..., "anyio": ..., ...},
       "engine_file": ..., "engine_sha256": ...,
       "git": {"commit": ..., "dirty": false, "root": ..., "tracked": true} or null}]}

An entry is written when the run starts (``"status": "running"``) and completed when it
ends: ``ok`` (exit code 0), ``failed`` (1, with the error), ``interrupted`` (130: Ctrl-C or
cancellation) or ``exited`` (`SystemExit`'s code). A run killed outright stays
``running``. Updates replace the file atomically, under a lock (runs on several hosts may
share the directory).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import getpass
import hashlib
import importlib.metadata
import json
import os
import platform
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any, Final

import anyio

from ._log import logger
from ._storage import atomic_write

__all__ = ["PROVENANCE_FILE", "ProvenanceRecord", "dependency_versions", "git_state"]

PROVENANCE_FILE: Final = "provenance.json"
FORMAT: Final = 1
# execo's own distribution, its dependencies and its extras' (present or not).
_DISTRIBUTIONS: Final = (
    "execo", "trio", "anyio", "rich", "ClusterShell", "asyncssh", "httpx", "keyring",
    "matplotlib", "networkx",
)  # fmt: skip


def dependency_versions() -> dict[str, str | None]:
    """The installed versions of execo and its main dependencies (None: not installed)."""
    versions: dict[str, str | None] = {}
    for name in _DISTRIBUTIONS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    if versions["execo"] is None:  # not installed: the package itself says
        import execo

        versions["execo"] = execo.__version__
    return versions


def _sha256(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None


async def _git(directory: str, *args: str) -> str | None:
    try:
        done = await anyio.run_process(["git", "-C", directory, *args], check=False)
    except OSError:  # no git at all
        return None
    return done.stdout.decode(errors="replace").strip() if done.returncode == 0 else None


async def git_state(file: str | None) -> dict[str, object] | None:
    """``{"commit", "dirty", "root", "tracked"}`` of the git work tree holding `file`, or
    None when there is none (or no git). ``dirty``: tracked files differ from the commit
    (untracked ones, such as result directories, do not count); ``tracked``: whether `file`
    itself is under version control."""
    if file is None:
        return None
    directory = os.path.dirname(file)
    root = await _git(directory, "rev-parse", "--show-toplevel")
    if root is None:
        return None
    commit = await _git(directory, "rev-parse", "HEAD")  # None in a repository with no commit
    status = await _git(directory, "status", "--porcelain", "--untracked-files=no")
    tracked = await _git(directory, "ls-files", "--error-unmatch", "--", file) is not None
    return {"commit": commit, "dirty": bool(status), "root": root, "tracked": tracked}


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).isoformat()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid
        return str(os.getuid())


@contextlib.contextmanager
def _locked(path: str) -> Iterator[None]:
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _read(path: str, engine: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
        if isinstance(document, dict) and isinstance(document.get("runs"), list):
            return document
        raise ValueError("not a provenance record")
    except FileNotFoundError:
        pass
    except ValueError as e:
        aside = f"{path}.broken-{int(time.time())}"
        os.replace(path, aside)
        logger.warning("%s is unreadable (%s): moved to %s, starting a new one", path, e, aside)
    return {"format": FORMAT, "engine": engine, "runs": []}


def _write(path: str, document: dict[str, Any]) -> None:
    atomic_write(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"))


class ProvenanceRecord:
    """One run's entry in ``<result_dir>/provenance.json`` (see the module docstring)."""

    def __init__(self, result_dir: str, engine: str) -> None:
        self.path = os.path.join(result_dir, PROVENANCE_FILE)
        self.engine = engine
        self.entry: dict[str, Any] = {}

    async def start(
        self,
        *,
        run_name: str,
        engine_file: str | None,
        engine_args: Sequence[str],
        continued: bool,
    ) -> dict[str, Any]:
        """Collects the run's facts and appends its entry; returns it."""
        now = time.time()
        entry: dict[str, Any] = {
            "run": 0,
            "run_name": run_name,
            "status": "running",
            "exit_code": None,
            "error": None,
            "start": _iso(now),
            "end": None,
            "start_ts": now,
            "end_ts": None,
            "host": socket.gethostname(),
            "user": _user(),
            "pid": os.getpid(),
            "cwd": os.getcwd(),
            "result_dir": os.path.dirname(self.path),
            "continued": continued,
            "command_line": list(sys.argv),
            "engine_args": list(engine_args),
            "python": {
                "version": platform.python_version(),
                "implementation": platform.python_implementation(),
                "executable": sys.executable,
            },
            "versions": dependency_versions(),
            "engine_file": engine_file,
            "engine_sha256": _sha256(engine_file) if engine_file else None,
            "git": await git_state(engine_file),
        }
        with _locked(self.path):
            document = _read(self.path, self.engine)
            entry["run"] = len(document["runs"]) + 1
            document["runs"].append(entry)
            _write(self.path, document)
        self.entry = entry
        return entry

    def finish(self, status: str, exit_code: int | None, error: str | None) -> None:
        """Completes this run's entry (the others are kept as they are on disk)."""
        now = time.time()
        self.entry.update(
            status=status, exit_code=exit_code, error=error, end=_iso(now), end_ts=now
        )
        with _locked(self.path):
            document = _read(self.path, self.engine)
            runs = document["runs"]
            for i, entry in enumerate(runs):
                if entry.get("run") == self.entry["run"] and entry.get("pid") == self.entry["pid"]:
                    runs[i] = self.entry
                    break
            else:
                runs.append(self.entry)
            _write(self.path, document)


def outcome(error: BaseException | None) -> tuple[str, int, str | None]:
    """``(status, exit_code, error)`` of a run that ended with `error` (None: success)."""
    if error is None:
        return "ok", 0, None
    if isinstance(error, SystemExit):
        code = error.code if isinstance(error.code, int) else (0 if error.code is None else 1)
        return "exited", code, None if code == 0 else repr(error)
    if _is_interrupt(error):
        return "interrupted", 130, type(error).__name__
    return "failed", 1, f"{type(error).__name__}: {error}"


def _is_interrupt(error: BaseException) -> bool:
    if isinstance(error, BaseExceptionGroup):
        return all(_is_interrupt(e) for e in error.exceptions)
    return isinstance(error, (KeyboardInterrupt, anyio.get_cancelled_exc_class()))
