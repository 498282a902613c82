"""The sweeper's state machine, without I/O: journal events in, states and counts out.

Combinations are known by their *index*: their rank in the append-only combinations file. The
state of every index is one byte; a sweeper instance works on a *selection* (its sweeps), an
ordered list of indices, and keeps per-state counts over it. Choosing the next combination in
sweep order costs amortised O(1): a cursor only moves forward over the selection, and the
positions behind it that go back to *todo* (cancel, reclaim, reset) wait in a min-heap.

Journal events (JSON arrays; ``i`` is an index or a list of indices)::

    ["W", token, host, boot_id, pid, start_time, lease, wall_time]   a worker registers
    ["H", token, wall_time]                                         a worker's heartbeat
    ["g", i, token]     todo -> inprogress, owned by token
    ["d", i]            -> done
    ["s", i]            -> skipped
    ["c", i]            inprogress -> todo (cancel)
    ["x", token]        every combination token owns -> todo; the worker is forgotten
    ["r", also_inprogress]   skipped (and in-progress, if true) -> todo
    ["E", gen]          (handled by the storage layer) this journal ends, continue in gen
"""

from __future__ import annotations

import array
import heapq
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from ._errors import SweeperFormatError
from ._liveness import Identity

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "DONE",
    "INPROGRESS",
    "SKIPPED",
    "STATE_NAMES",
    "TODO",
    "SweepState",
    "WorkerInfo",
]

TODO: Final = 0
INPROGRESS: Final = 1
DONE: Final = 2
SKIPPED: Final = 3
STATE_NAMES: Final = ("todo", "inprogress", "done", "skipped")
_TO_CHARS: Final = bytes.maketrans(b"\x00\x01\x02\x03", b"tids")
_FROM_CHARS: Final = bytes.maketrans(b"tids", b"\x00\x01\x02\x03")
_MINUS_ONE: Final = array.array("q", [-1])


@dataclass(slots=True, kw_only=True)
class WorkerInfo:
    """A worker as registered in the journal."""

    identity: Identity
    lease: float | None
    wall_time: float
    seen_at: float  # time.monotonic() of this process when its last sign of life was read

    def to_json(self, token: str) -> list[Any]:
        """The ``W`` event that registers this worker."""
        i = self.identity
        return ["W", token, i.host, i.boot_id, i.pid, i.start_time, self.lease, self.wall_time]


def _indices(target: Any) -> Iterable[int]:
    return target if isinstance(target, list) else (target,)


class SweepState:
    """The state of every known index, and the counts and todo order of one selection."""

    def __init__(self) -> None:
        self.states = bytearray()
        self.owner: dict[int, str] = {}
        self.owned: dict[str, set[int]] = {}
        self.workers: dict[str, WorkerInfo] = {}
        self.order: Sequence[int] = range(0)  # the selection
        # index -> its position in order, or -1; indices past its end are not selected.
        self.pos: array.array[int] | range = range(0)
        self.counts = [0, 0, 0, 0]
        self._cursor = 0
        self._heap: list[int] = []
        self._in_heap: set[int] = set()

    # -- selection -------------------------------------------------------------------------

    def grow(self, size: int) -> None:
        """Know indices up to ``size - 1`` (new ones are todo and outside the selection)."""
        missing = size - len(self.states)
        if missing > 0:
            self.states.extend(bytes(missing))  # new indices: todo, and not selected

    def select(self, indices: Sequence[int]) -> None:
        """Make ``indices`` (distinct, in sweep order) the selection.

        ``range(n)`` over every known index (every stored combination, in stored order: the
        usual case) costs a few milliseconds per million; any other selection a Python loop.
        """
        states = self.states
        if isinstance(indices, range) and indices == range(len(states)):
            self.order = self.pos = indices  # position p holds index p
            counts = [states.count(state) for state in (TODO, INPROGRESS, DONE, SKIPPED)]
        else:
            self.grow(max(indices, default=-1) + 1)
            self.order = array.array("q", indices)
            pos = _MINUS_ONE * len(states)
            counts = [0, 0, 0, 0]
            for p, index in enumerate(self.order):
                pos[index] = p
                counts[states[index]] += 1
            self.pos = pos
        self.counts = counts
        self._cursor = 0
        self._heap = []
        self._in_heap = set()

    # -- transitions -----------------------------------------------------------------------

    def set_state(self, index: int, new: int) -> None:
        """Move ``index`` to state ``new``, keeping owners, counts and the todo order right."""
        if index >= len(self.states):
            self.grow(index + 1)
        old = self.states[index]
        if old == new:
            return
        if old == INPROGRESS:
            token = self.owner.pop(index, None)
            if token is not None:
                self.owned[token].discard(index)
        self.states[index] = new
        pos = self.pos
        p = pos[index] if index < len(pos) else -1
        if p >= 0:
            self.counts[old] -= 1
            self.counts[new] += 1
            if new == TODO and p < self._cursor and p not in self._in_heap:
                heapq.heappush(self._heap, p)
                self._in_heap.add(p)

    def claim(self, index: int, token: str) -> None:
        """``index`` goes in progress, owned by ``token``."""
        previous = self.owner.get(index)
        if previous is not None and previous != token:
            self.owned[previous].discard(index)
        self.set_state(index, INPROGRESS)
        self.owner[index] = token
        self.owned.setdefault(token, set()).add(index)

    def apply(self, event: list[Any]) -> None:
        """Apply one journal event (any but ``E``)."""
        op = event[0]
        if op == "g":
            token = event[2]
            for index in _indices(event[1]):
                self.claim(index, token)
        elif op == "d":
            for index in _indices(event[1]):
                self.set_state(index, DONE)
        elif op == "s":
            for index in _indices(event[1]):
                self.set_state(index, SKIPPED)
        elif op == "c":
            for index in _indices(event[1]):
                self.set_state(index, TODO)
        elif op == "H":
            info = self.workers.get(event[1])
            if info is not None:
                info.seen_at = time.monotonic()
                info.wall_time = event[2]
        elif op == "W":
            _, token, host, boot_id, pid, start_time, lease, wall_time = event
            identity = Identity(host=host, boot_id=boot_id, pid=pid, start_time=start_time)
            self.workers[token] = WorkerInfo(
                identity=identity, lease=lease, wall_time=wall_time, seen_at=time.monotonic()
            )
        elif op == "x":
            for index in sorted(self.owned.pop(event[1], ())):
                self.owner.pop(index, None)
                self.set_state(index, TODO)
            self.workers.pop(event[1], None)
        elif op == "r":
            self.reset(bool(event[1]))
        else:
            raise SweeperFormatError(f"unknown journal event {event!r} (a newer execo wrote it?)")

    def reset(self, also_inprogress: bool) -> None:
        """Skipped (and, if asked, in-progress) indices go back to todo."""
        states = self.states
        for state in (SKIPPED, INPROGRESS) if also_inprogress else (SKIPPED,):
            index = states.find(state)  # a C scan: Python work only for the indices moved
            while index >= 0:
                self.set_state(index, TODO)
                index = states.find(state, index + 1)

    # -- queries ---------------------------------------------------------------------------

    def first_todo(self) -> int | None:
        """The todo index that comes first in the selection's order, or None."""
        states = self.states
        order = self.order
        heap = self._heap
        while heap:
            p = heap[0]
            if states[order[p]] == TODO:
                return order[p]
            heapq.heappop(heap)
            self._in_heap.discard(p)
        cursor = self._cursor
        n = len(order)
        while cursor < n and states[order[cursor]] != TODO:
            cursor += 1
        self._cursor = cursor
        return order[cursor] if cursor < n else None

    # -- snapshots -------------------------------------------------------------------------

    def to_json(self, gen: int) -> dict[str, Any]:
        """Everything needed to rebuild this state (but the selection), for a snapshot."""
        return {
            "format": "execo-sweeper-snapshot",
            "version": 1,
            "gen": gen,
            "states": self.states.translate(_TO_CHARS).decode("ascii"),
            "owners": [[index, token] for index, token in self.owner.items()],
            "workers": [info.to_json(token) for token, info in self.workers.items()],
        }

    @classmethod
    def from_json(cls, snapshot: dict[str, Any]) -> SweepState:
        """The state saved by :meth:`to_json` (with an empty selection)."""
        state = cls()
        state.states = bytearray(snapshot["states"].encode("ascii").translate(_FROM_CHARS))
        for event in snapshot["workers"]:
            state.apply(event)
        for index, token in snapshot["owners"]:
            state.owner[index] = token
            state.owned.setdefault(token, set()).add(index)
        return state
