"""ParamSweeper: a crash-proof, shareable iterator over the combinations of a sweep.

The files and their reading are in ``_store``; this module decides: who gets which
combination, which transitions are allowed, who is dead.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Self

from ._errors import CombinationError, CombinationStateError, OwnershipError, SweeperError
from ._liveness import Identity
from ._log import logger
from ._records import dumps, encode_event, frame
from ._state import DONE, INPROGRESS, SKIPPED, STATE_NAMES, TODO, SweepState, WorkerInfo
from ._store import SweeperStore
from ._sweep import HashableDict
from ._views import CombinationSet, SweeperCounts, SweeperStats

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from ._storage import RecordFile

__all__ = ["Filter", "ParamSweeper"]

#: ``get_next``'s filter: given the remaining combinations (in sweep order), return those
#: acceptable, best first (a generator is cheapest: only its first items are taken).
Filter = Callable[[CombinationSet], Iterable[Mapping[str, Any]]]

_ALL: Final = frozenset((TODO, INPROGRESS, DONE, SKIPPED))


def _as_key(combination: Mapping[str, Any]) -> HashableDict:
    if not isinstance(combination, Mapping):
        raise CombinationError(f"a combination maps factors to levels; not {combination!r}")
    key = combination if isinstance(combination, HashableDict) else HashableDict(combination)
    try:
        hash(key)
    except TypeError as e:
        raise CombinationError(f"combination {combination!r} has an unhashable level") from e
    return key


class ParamSweeper:
    """Hands out the combinations of a sweep to any number of workers, and remembers them.

    Each combination is *todo*, *inprogress* (handed to one worker), *done* or *skipped*; all
    four states are stored in ``storage_dir`` and survive any crash. Threads, processes and
    hosts sharing ``storage_dir`` (over NFS with working POSIX locks) may use it at once:
    a combination is handed to one worker at a time and recorded done at most once.

    Every operation reads only what other workers wrote since this one's previous operation:
    its cost does not depend on the size of the sweep. Opening costs O(size), but decodes
    the stored combinations only as they are needed; looking a combination up by value (a
    ``done`` of a combination this instance did not hand out, a filter, ``in``) builds a
    table of all of them once.

    A worker that dies leaves its in-progress combinations behind; they go back to todo
    (are *reclaimed*) when a worker on the same host sees its pid gone, or, for workers on
    other hosts that declared a ``lease``, when nothing was heard from them for that long.
    Reclaiming happens on opening, when ``get_next`` finds nothing todo, and on ``reclaim()``.

    Args:
        storage_dir: the directory (created if needed) holding the state.
        sweeps: the combinations this instance iterates over, in order (usually the output of
            :func:`sweep`). New ones are added to the storage; those already there keep their
            state. ``None``: every combination in the storage.
        name: for messages; default: the directory's base name.
        durable: when true (the default), ``done``, ``skip``, ``cancel``, ``reset`` and
            ``reclaim`` return only once their record is on stable storage (``fdatasync``,
            shared between concurrent callers). When false they return once the record is
            written to the file: that survives the death of the process (SIGKILL) but not of
            the machine.
        lease: seconds this worker may stay silent before workers on *other* hosts may reclaim
            its combinations; it heartbeats on every operation when a third of it has passed,
            call :meth:`heartbeat` (or ``AsyncParamSweeper.keep_alive``) during long work.
            ``None``: never reclaimed from another host (only when its pid is gone).
        auto_reclaim: reclaim dead workers' combinations automatically (see above).
    """

    def __init__(
        self,
        storage_dir: str | os.PathLike[str],
        sweeps: Iterable[Mapping[str, Any]] | None = None,
        *,
        name: str | None = None,
        durable: bool = True,
        lease: float | None = None,
        auto_reclaim: bool = True,
    ) -> None:
        self.storage_dir = os.path.abspath(os.fspath(storage_dir))
        self.name = name if name is not None else os.path.basename(self.storage_dir)
        self.durable = durable
        self.lease = lease
        self.auto_reclaim = auto_reclaim
        self._token = secrets.token_hex(6)
        self._token_bytes = self._token.encode("ascii")
        self._given: dict[int, int] = {}  # id() of a combination handed out -> its index
        self._identity = Identity.current()
        self._registered = False
        self._last_heartbeat = 0.0
        self._closed = False
        self._store = SweeperStore(self.storage_dir, sweeps, self._is_dead)
        self._combinations = self._store.combinations  # append-only: the same list forever
        if auto_reclaim:
            try:
                self.reclaim()
            except BaseException:
                self.close()
                raise

    @property
    def _state(self) -> SweepState:
        return self._store.state

    def set_sweeps(self, sweeps: Iterable[Mapping[str, Any]] | None = None) -> None:
        """Work on ``sweeps`` from now on (new ones are stored); None: every stored one."""
        with self._locked():
            self._store.read_combinations()
            self._state.select(self._store.register(sweeps))

    # -- the locked section ------------------------------------------------------------------

    def _enter(self) -> SweeperStore:
        """Take the directory lock and catch up with the journal; :meth:`SweeperStore.exit`."""
        if self._closed:
            raise ValueError(f"ParamSweeper {self.name!r} is closed")
        self._store.enter()
        return self._store

    def _locked(self) -> AbstractContextManager[None]:
        """:meth:`_enter` ... exit, as a context manager."""
        if self._closed:
            raise ValueError(f"ParamSweeper {self.name!r} is closed")
        return self._store.locked()

    def _worker_events(self) -> list[list[Any]]:
        """Registration or heartbeat events due before this worker's next record."""
        now = time.monotonic()
        if not self._registered or self._token not in self._state.workers:
            # Never registered, or another worker presumed us dead and reclaimed: register.
            info = WorkerInfo(
                identity=self._identity, lease=self.lease, wall_time=time.time(), seen_at=now
            )
            self._registered = True
            self._last_heartbeat = now
            return [info.to_json(self._token)]
        if self.lease is not None and now - self._last_heartbeat > self.lease / 3:
            self._last_heartbeat = now
            return [["H", self._token, time.time()]]
        return []

    def _sync(self, target: tuple[RecordFile, int]) -> None:
        if self.durable:
            target[0].sync(target[1])

    def compact(self) -> None:
        """Start a new journal from a snapshot of the current state (normally automatic)."""
        with self._locked():
            self._store.compact()

    # -- reclaiming ------------------------------------------------------------------------

    def _is_dead(self, info: WorkerInfo | None, now: float) -> bool:
        if info is None:
            return True
        if self._identity.same_machine(info.identity):
            return not info.identity.process_alive()
        return info.lease is not None and now - info.seen_at > info.lease

    def _reclaim_locked(self) -> tuple[list[int], tuple[RecordFile, int] | None]:
        state = self._state
        now = time.monotonic()
        dead = [
            token
            for token, owned in state.owned.items()
            if owned and token != self._token and self._is_dead(state.workers.get(token), now)
        ]
        if not dead:
            return [], None
        indices = sorted(i for token in dead for i in state.owned[token])
        events: list[list[Any]] = [["x", token] for token in dead]
        for event in events:
            state.apply(event)
        logger.info(
            "%s: reclaimed %d in-progress combinations of %d dead workers",
            self.name,
            len(indices),
            len(dead),
        )
        return indices, self._store.write(events)

    def reclaim(self) -> list[HashableDict]:
        """Give the in-progress combinations of dead workers back to todo.

        Returns:
            The combinations reclaimed.
        """
        with self._locked():
            indices, target = self._reclaim_locked()
            combinations = self._combinations
            reclaimed = [combinations[i] for i in indices if i < len(combinations)]
        if target is not None:
            self._sync(target)
        return reclaimed

    def heartbeat(self) -> None:
        """Tell other hosts this worker is alive (see ``lease``)."""
        with self._locked():
            self._last_heartbeat = 0.0
            events = self._worker_events()
            for event in events:
                self._state.apply(event)
            self._store.write(events)

    # -- handing out ---------------------------------------------------------------------------

    def get_next(self, filtr: Filter | None = None) -> HashableDict | None:
        """Hand out the next todo combination (in sweep order) and mark it in progress.

        Args:
            filtr: picks among the remaining combinations: the first one it yields is taken.

        Returns:
            The combination, or None when nothing is todo (some may still be in progress).
        """
        if filtr is None:  # the common case first: one index, no lists
            store = self._enter()
            try:
                i = store.state.first_todo()
                if i is not None:
                    store.state.claim(i, self._token)
                    return self._hand_out(store, [i])[0]
            finally:
                store.exit()
        batch = self.get_next_batch(1, filtr)
        return batch[0] if batch else None

    def get_next_batch(self, num_combs: int, filtr: Filter | None = None) -> list[HashableDict]:
        """Hand out up to ``num_combs`` todo combinations at once (see :meth:`get_next`)."""
        store = self._enter()
        try:
            indices = self._claim(num_combs, filtr)
            if (
                not indices
                and self.auto_reclaim
                and store.state.counts[INPROGRESS]
                and self._reclaim_locked()[0]
            ):
                indices = self._claim(num_combs, filtr)
            if not indices:
                return []
            return self._hand_out(store, indices)
        finally:
            store.exit()

    def _hand_out(self, store: SweeperStore, indices: list[int]) -> list[HashableDict]:
        """Record ``indices`` (claimed in memory) as handed to this worker; their combinations.

        Under the lock; the worker's registration or heartbeat goes first when due.
        """
        events = self._worker_events()
        for event in events:
            store.state.apply(event)
        if len(indices) == 1:
            body = b'["g",%d,"%b"]' % (indices[0], self._token_bytes)
        else:
            body = dumps(["g", indices, self._token])
        if events:
            data = b"".join(map(encode_event, events)) + frame(body)
            store.write_framed(data, len(events) + 1)
        else:
            store.write_framed(frame(body), 1)
        combinations = self._combinations
        given = self._given
        out = []
        for i in indices:
            c = combinations[i]
            given[id(c)] = i
            out.append(c)
        return out

    def _claim(self, n: int, filtr: Filter | None) -> list[int]:
        """Choose up to ``n`` todo indices and mark them ours in memory (written just after)."""
        state = self._state
        chosen: list[int] = []
        if filtr is None:
            while len(chosen) < n:
                i = state.first_todo()
                if i is None:
                    break
                state.claim(i, self._token)
                chosen.append(i)
            return chosen
        remaining = self._snapshot(frozenset((TODO,)))
        for candidate in filtr(remaining):
            if len(chosen) >= n:
                break
            key = _as_key(candidate)
            i = self._combinations.lookup(key)
            if i is None or key not in remaining:
                raise CombinationError(f"the filter returned {candidate!r}, which is not todo")
            if state.states[i] == TODO:  # not twice
                state.claim(i, self._token)
                chosen.append(i)
        return chosen

    # -- recording -----------------------------------------------------------------------------

    def _index_of(self, combination: Mapping[str, Any]) -> int:
        i = self._given.pop(id(combination), None)
        if i is not None:  # handed out by this instance: the very object we stored
            return i
        key = _as_key(combination)
        i = self._combinations.lookup(key)
        if i is None:
            self._store.read_combinations()  # another worker may have added it
            i = self._combinations.lookup(key)
            if i is None:
                raise CombinationError(f"{self.name}: unknown combination {combination!r}")
        return i

    def _check(self, c: Mapping[str, Any], target: int) -> int | None:
        """The index of ``c`` if moving it to ``target`` is a change, None if it is a no-op.

        Raises:
            OwnershipError, CombinationStateError, CombinationError: the move is not allowed.
        """
        i = self._index_of(c)
        state = self._state
        current = state.states[i]
        if current == INPROGRESS and state.owner.get(i) != self._token:
            raise OwnershipError(
                f"{self.name}: {c!r} is in progress by another worker (reclaimed from this "
                "one?); not recorded",
                c,
                "inprogress",
            )
        if current == target:
            if target == DONE:
                raise CombinationStateError(f"{self.name}: {c!r} is already done", c, "done")
            return None
        if current == DONE or (target == TODO and current == SKIPPED):
            name = STATE_NAMES[current]
            raise CombinationStateError(f"{self.name}: {c!r} is {name}", c, name)
        return i

    def _record(self, op: str, indices: list[int]) -> tuple[RecordFile, int] | None:
        """Write one event moving ``indices`` (already applied to the state)."""
        if not indices:
            return None
        return self._store.write([[op, indices[0] if len(indices) == 1 else indices]])

    def _transition_one(self, combination: Mapping[str, Any], op: str, target: int) -> None:
        """:meth:`_transition` of a single combination, faster."""
        store = self._enter()
        try:
            i = self._check(combination, target)
            if i is None:
                return
            store.state.set_state(i, target)
            end = store.write_framed(frame(b'["%b",%d]' % (op.encode("ascii"), i)), 1)
        finally:
            store.exit()
        if self.durable:
            end[0].sync(end[1])

    def _transition(self, combinations: Iterable[Mapping[str, Any]], op: str, target: int) -> None:
        """All or nothing: check every combination, then record them with one write."""
        with self._locked():
            checked = (self._check(c, target) for c in combinations)
            indices = list(dict.fromkeys(i for i in checked if i is not None))
            for i in indices:
                self._state.apply([op, i])
            sync_target = self._record(op, indices)
        if sync_target is not None:
            self._sync(sync_target)

    def _transition_each(
        self, combinations: Iterable[Mapping[str, Any]], op: str, target: int
    ) -> Sequence[SweeperError | None]:
        """Each combination on its own (one write and one sync for those allowed).

        Returns:
            For each combination, None if recorded (or already in ``target``), else the error
            the single-combination method would have raised.
        """
        outcomes: list[SweeperError | None] = []
        with self._locked():
            indices: list[int] = []
            for c in combinations:
                try:
                    i = self._check(c, target)
                except SweeperError as e:
                    outcomes.append(e)
                    continue
                outcomes.append(None)
                if i is not None:
                    self._state.apply([op, i])
                    indices.append(i)
            sync_target = self._record(op, indices)
        if sync_target is not None:
            self._sync(sync_target)
        return outcomes

    def done(self, combination: Mapping[str, Any]) -> None:
        """Record ``combination`` as done: once this returns, no worker will get it again.

        Raises:
            OwnershipError: it is in progress by another worker (it was reclaimed from this one).
            CombinationStateError: it is already done.
            CombinationError: this sweeper does not know it.
        """
        self._transition_one(combination, "d", DONE)

    def done_batch(self, combinations: Iterable[Mapping[str, Any]]) -> None:
        """:meth:`done` for several combinations, all or none, with one write."""
        self._transition(combinations, "d", DONE)

    def skip(self, combination: Mapping[str, Any]) -> None:
        """Record ``combination`` as skipped (failed, or not worth doing); ``reset`` retries it.

        Raises:
            OwnershipError: it is in progress by another worker.
            CombinationStateError: it is done.
        """
        self._transition_one(combination, "s", SKIPPED)

    def skip_batch(self, combinations: Iterable[Mapping[str, Any]]) -> None:
        """:meth:`skip` for several combinations, all or none, with one write."""
        self._transition(combinations, "s", SKIPPED)

    def cancel(self, combination: Mapping[str, Any]) -> None:
        """Give an in-progress combination of this worker back to todo.

        Raises:
            OwnershipError: it is in progress by another worker.
            CombinationStateError: it is done or skipped.
        """
        self._transition_one(combination, "c", TODO)

    def cancel_batch(self, combinations: Iterable[Mapping[str, Any]]) -> None:
        """:meth:`cancel` for several combinations, all or none, with one write."""
        self._transition(combinations, "c", TODO)

    def reset(self, reset_inprogress: bool = False) -> None:
        """Skipped combinations (and, if asked, all in-progress ones) go back to todo."""
        with self._locked():
            event = ["r", reset_inprogress]
            self._state.apply(event)
            target = self._store.write([event])
        self._sync(target)

    # -- looking -------------------------------------------------------------------------------

    def _snapshot(self, wanted: frozenset[int], states: bytes | None = None) -> CombinationSet:
        s = self._state
        return CombinationSet(
            states=bytes(s.states) if states is None else states,
            wanted=wanted,
            order=s.order,
            pos=s.pos,
            lookup=self._combinations.lookup,
            combinations=self._combinations,
            length=sum(s.counts[w] for w in wanted),
        )

    def _get(self, *wanted: int) -> CombinationSet:
        with self._locked():
            return self._snapshot(frozenset(wanted))

    def get_sweeps(self) -> CombinationSet:
        """All the combinations of this instance's sweeps."""
        return self._get(*_ALL)

    def get_remaining(self) -> CombinationSet:
        """The todo combinations (a snapshot; ``len`` and ``bool`` are O(1))."""
        return self._get(TODO)

    def get_inprogress(self) -> CombinationSet:
        """The combinations in progress, by any worker."""
        return self._get(INPROGRESS)

    def get_done(self) -> CombinationSet:
        """The done combinations."""
        return self._get(DONE)

    def get_skipped(self) -> CombinationSet:
        """The skipped combinations."""
        return self._get(SKIPPED)

    def stats(self) -> SweeperStats:
        """``(sweeps, remaining, skipped, inprogress, done)``, one consistent snapshot."""
        with self._locked():
            states = bytes(self._state.states)
            return SweeperStats(
                *(
                    self._snapshot(wanted, states)
                    for wanted in (
                        _ALL,
                        *(frozenset((w,)) for w in (TODO, SKIPPED, INPROGRESS, DONE)),
                    )
                )
            )

    def counts(self) -> SweeperCounts:
        """How many combinations are in each state, in O(1)."""
        with self._locked():
            c = self._state.counts
            return SweeperCounts(sum(c), c[TODO], c[SKIPPED], c[INPROGRESS], c[DONE])

    def __str__(self) -> str:
        c = self.counts()
        return (
            f"{self.name} <{c.total} total, {c.done} done, {c.skipped} skipped, "
            f"{c.inprogress} in progress, {c.remaining} remaining>"
        )

    def __repr__(self) -> str:
        return f"<ParamSweeper {self.name!r} at {self.storage_dir!r}>"

    # -- closing -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the files; the in-progress combinations of this worker stay in progress."""
        if self._closed:
            return
        self._closed = True
        self._store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
