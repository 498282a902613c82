"""What a running local cluster leaves on the machine, recorded so that it can always be undone.

Every cluster writes a JSON state file in the state directory *before* it creates anything:
its owner (PID and start time), its work directory, the names of its network namespaces,
veths and bridge, and then the PIDs (with start times) of its sshd servers. A cluster whose
owner is gone (crashed, SIGKILLed) is *stale*: the next cluster started with the same state
directory, or ``python -m execo.testbed down``, tears it down from that record alone.

Processes are only ever killed by PID, and only when their start time still matches the
recorded one (so a recycled PID is never hit), or when they live inside one of the
cluster's own network namespaces.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import stat
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal

from ._errors import TestbedError

__all__ = [
    "ClusterState",
    "ProcRef",
    "default_state_dir",
    "descendants",
    "kill_refs",
    "list_states",
    "netns_pids",
    "proc_ref",
    "remove_state",
    "wait_gone",
    "write_state",
]

STATE_DIR_ENV = "EXECO_TESTBED_STATE_DIR"

Mode = Literal["netns", "loopback"]


def default_state_dir() -> Path:
    """Where cluster state files go.

    ``$EXECO_TESTBED_STATE_DIR`` if set; else ``/run/execo-testbed`` as root; else
    ``$XDG_RUNTIME_DIR/execo-testbed``; else ``/tmp/execo-testbed-<uid>``.
    """
    env = os.environ.get(STATE_DIR_ENV)
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/run/execo-testbed")
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return Path(runtime) / "execo-testbed"
    return Path(tempfile.gettempdir()) / f"execo-testbed-{os.geteuid()}"


def ensure_state_dir(path: Path) -> Path:
    """Create the state directory (mode 0700 unless root's) and check that it is ours.

    Raises:
        TestbedError: it exists but belongs to another user or is not a directory.
    """
    path.mkdir(mode=0o755 if os.geteuid() == 0 else 0o700, parents=True, exist_ok=True)
    st = path.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        raise TestbedError(f"state directory {path} is not a directory owned by this user")
    return path


@dataclasses.dataclass(frozen=True, slots=True)
class ProcRef:
    """A process named by PID and start time (clock ticks after boot), proof against reuse."""

    pid: int
    start: int

    def alive(self) -> bool:
        """The same process is still there and is not a zombie."""
        info = _proc_stat(self.pid)
        return info is not None and info[1] == self.start and info[0] != "Z"


def _proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state letter, start time, parent pid) of ``pid`` from /proc, or None if it is gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    fields = data[data.rindex(")") + 2 :].split()
    return fields[0], int(fields[19]), int(fields[1])


def proc_ref(pid: int) -> ProcRef | None:
    """A :class:`ProcRef` for a live ``pid``, or None if there is no such process."""
    info = _proc_stat(pid)
    return None if info is None else ProcRef(pid, info[1])


def _all_pids() -> Iterator[int]:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            yield int(entry)


def descendants(roots: Iterable[int]) -> list[ProcRef]:
    """The live (non-zombie) descendants of the processes ``roots``, found in /proc."""
    children: dict[int, list[tuple[int, int]]] = {}
    for pid in _all_pids():
        info = _proc_stat(pid)
        if info is not None and info[0] != "Z":
            children.setdefault(info[2], []).append((pid, info[1]))
    found: list[ProcRef] = []
    todo = list(roots)
    while todo:
        for pid, start in children.get(todo.pop(), ()):
            found.append(ProcRef(pid, start))
            todo.append(pid)
    return found


def netns_pids(namespaces: Iterable[str]) -> list[ProcRef]:
    """The live processes inside the named network namespaces (``/run/netns/<name>``)."""
    inodes = set()
    for name in namespaces:
        with contextlib.suppress(OSError):
            inodes.add(os.stat(f"/run/netns/{name}").st_ino)
    if not inodes:
        return []
    found = []
    for pid in _all_pids():
        try:
            link = os.readlink(f"/proc/{pid}/ns/net")
        except OSError:
            continue
        if int(link[5:-1]) in inodes:  # "net:[4026532001]"
            ref = proc_ref(pid)
            if ref is not None and ref.alive():
                found.append(ref)
    return found


def kill_refs(refs: Iterable[ProcRef], sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to each process that is still the recorded one."""
    for ref in refs:
        if ref.alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(ref.pid, sig)


def wait_gone(refs: Iterable[ProcRef], timeout: float = 5.0) -> list[ProcRef]:
    """Wait until the processes are gone (zombies count as gone); returns the survivors."""
    pending = list(refs)
    deadline = time.monotonic() + timeout
    while True:
        pending = [r for r in pending if r.alive()]
        if not pending or time.monotonic() > deadline:
            return pending
        time.sleep(0.01)


@dataclasses.dataclass(slots=True, kw_only=True)
class ClusterState:
    """The record of one local cluster (saved as ``<state_dir>/<id>.json``).

    Attributes:
        id: the cluster's name in the state directory (``ns<slot>`` or ``lo-<hex>``).
        mode: ``"netns"`` or ``"loopback"``.
        n: number of hosts.
        owner: the process that owns the cluster (None: detached, made by the CLI).
        workdir: keys, configs, logs and the hosts' private directories.
        bridge, veths, namespaces: the network objects (netns mode).
        servers: the sshd processes.
        hosts: per host: name, address, port.
        keyfile: the client private key.
    """

    id: str
    mode: Mode
    n: int
    owner: ProcRef | None
    workdir: str
    bridge: str | None = None
    veths: list[str] = dataclasses.field(default_factory=list)
    namespaces: list[str] = dataclasses.field(default_factory=list)
    servers: list[ProcRef] = dataclasses.field(default_factory=list)
    hosts: list[dict[str, str | int]] = dataclasses.field(default_factory=list)
    keyfile: str = ""
    created: float = dataclasses.field(default_factory=time.time)
    path: Path | None = dataclasses.field(default=None, compare=False)

    @property
    def detached(self) -> bool:
        """Made by ``python -m execo.testbed up``: lives until ``down``."""
        return self.owner is None

    @property
    def stale(self) -> bool:
        """Its owner process is gone without tearing it down."""
        return self.owner is not None and not self.owner.alive()

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data.pop("path")
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str, path: Path | None = None) -> ClusterState:
        data = json.loads(text)
        owner = data.pop("owner")
        servers = data.pop("servers")
        return cls(
            owner=ProcRef(**owner) if owner else None,
            servers=[ProcRef(**s) for s in servers],
            path=path,
            **data,
        )


def claim_state(state_dir: Path, state: ClusterState) -> bool:
    """Create ``<state_dir>/<id>.json`` if no such file exists (atomic); False if it does."""
    path = state_dir / f"{state.id}.json"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        f.write(state.to_json())
    state.path = path
    return True


def write_state(state: ClusterState) -> None:
    """Rewrite the (claimed) state file atomically."""
    assert state.path is not None
    tmp = state.path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(state.to_json())
    os.replace(tmp, state.path)


def remove_state(state: ClusterState) -> None:
    """Delete the state file."""
    if state.path is not None:
        with contextlib.suppress(FileNotFoundError):
            state.path.unlink()


def list_states(state_dir: Path) -> list[ClusterState]:
    """Every cluster recorded in ``state_dir`` (unreadable files are skipped)."""
    if not state_dir.is_dir():
        return []
    states = []
    for path in sorted(state_dir.glob("*.json")):
        try:
            states.append(ClusterState.from_json(path.read_text(), path))
        except (OSError, ValueError, TypeError, KeyError):
            continue
    return states
