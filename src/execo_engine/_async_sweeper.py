"""AsyncParamSweeper: the ParamSweeper for async code (trio, or asyncio through anyio).

Each call runs the blocking :class:`ParamSweeper` method (file lock, read, write, fsync) in a
worker thread with ``anyio.to_thread.run_sync``, so the event loop keeps running. Calls that
change state are shielded from cancellation: they are short, and a cancelled ``done`` must not
leave the caller unsure whether it was recorded.

Concurrent ``get_next`` (without filter), ``done``, ``skip`` and ``cancel`` calls of the tasks
of one event loop are *combined*: while one batch runs in a thread, the calls that arrive
queue up, and the next batch takes them all with one thread hop, one lock, one write and one
``fdatasync`` (group commit). Each call still returns only once its own record is written
(and, when durable, synced), and fails alone if its own transition is not allowed.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

import anyio
import anyio.lowlevel
import anyio.to_thread

from ._errors import SweeperError
from ._state import DONE, SKIPPED, TODO
from ._sweeper import Filter, ParamSweeper

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from ._sweep import HashableDict
    from ._views import CombinationSet, SweeperCounts, SweeperStats

__all__ = ["AsyncParamSweeper"]

_T = TypeVar("_T")
_In = TypeVar("_In")
_Out = TypeVar("_Out")


class _Slot(Generic[_In, _Out]):
    __slots__ = ("event", "item", "outcome", "promoted")

    def __init__(self, item: _In) -> None:
        self.item = item
        self.event = anyio.Event()
        self.outcome: _Out | BaseException | None = None
        self.promoted = False


class _Combiner(Generic[_In, _Out]):
    """Runs the concurrent calls of an event loop's tasks as batches in a worker thread.

    The first caller leads: it takes every queued call as one batch to the thread. Callers
    arriving meanwhile queue; when the batch is over, the leader hands the lead to the first
    of them. ``run`` maps a batch of items to one outcome (result or exception) per item.
    """

    def __init__(self, run: Callable[[list[_In]], Sequence[_Out | BaseException]]) -> None:
        self._run = run
        self._queue: list[_Slot[_In, _Out]] = []
        self._leading = False

    async def __call__(self, item: _In) -> _Out:
        slot: _Slot[_In, _Out] = _Slot(item)
        self._queue.append(slot)
        with anyio.CancelScope(shield=True):
            if self._leading:
                await slot.event.wait()
            if not slot.event.is_set() or slot.promoted:
                self._leading = True
                await self._lead()
        outcome = slot.outcome
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome  # type: ignore[return-value]

    async def _lead(self) -> None:
        batch: list[_Slot[_In, _Out]] = []
        try:
            # Let the tasks that are ready to run queue their calls first, for a bigger batch.
            # Two checkpoints: trio runs the tasks made runnable together in random order, so
            # the second one puts us after all of those that were ready with us.
            await anyio.lowlevel.checkpoint()
            await anyio.lowlevel.checkpoint()
            batch, self._queue = self._queue, []
            try:
                outcomes = await anyio.to_thread.run_sync(self._run, [s.item for s in batch])
            except Exception as e:
                outcomes = [e] * len(batch)
            for s, outcome in zip(batch, outcomes, strict=True):
                s.outcome = outcome
                s.event.set()
        finally:
            for s in batch:
                if not s.event.is_set():  # we were interrupted (KeyboardInterrupt)
                    s.outcome = SweeperError("interrupted: the call may or may not have happened")
                    s.event.set()
            if self._queue:
                successor = self._queue[0]
                successor.promoted = True
                successor.event.set()
            else:
                self._leading = False


class AsyncParamSweeper:
    """Async front of a :class:`ParamSweeper`; create it with :meth:`open`.

    Example::

        async def main() -> None:
            async with await AsyncParamSweeper.open("sweeper", sweep({"n": [1, 2, 4]})) as s:
                while (comb := await s.get_next()) is not None:
                    ...  # the experiment
                    await s.done(comb)

        trio.run(main)
    """

    def __init__(self, sweeper: ParamSweeper) -> None:
        self.sync = sweeper
        """The underlying blocking sweeper (its methods block: call them from threads only)."""
        self._get = _Combiner(self._get_batch)
        self._done = _Combiner(functools.partial(sweeper._transition_each, op="d", target=DONE))
        self._skip = _Combiner(functools.partial(sweeper._transition_each, op="s", target=SKIPPED))
        self._cancel = _Combiner(functools.partial(sweeper._transition_each, op="c", target=TODO))

    def _get_batch(self, items: list[None]) -> list[HashableDict | BaseException | None]:
        got: list[HashableDict | BaseException | None] = []
        got.extend(self.sync.get_next_batch(len(items)))
        return got + [None] * (len(items) - len(got))

    @classmethod
    async def open(
        cls,
        storage_dir: str | os.PathLike[str],
        sweeps: Iterable[Mapping[str, Any]] | None = None,
        *,
        name: str | None = None,
        durable: bool = True,
        lease: float | None = None,
        auto_reclaim: bool = True,
    ) -> Self:
        """Open (or create) the sweeper in a thread; arguments as for :class:`ParamSweeper`."""
        sweeper = await anyio.to_thread.run_sync(
            functools.partial(
                ParamSweeper,
                storage_dir,
                sweeps,
                name=name,
                durable=durable,
                lease=lease,
                auto_reclaim=auto_reclaim,
            )
        )
        return cls(sweeper)

    async def _call(self, fn: Callable[[], _T], shield: bool = True) -> _T:
        with anyio.CancelScope(shield=shield):
            result = await anyio.to_thread.run_sync(fn)
        return result

    @property
    def name(self) -> str:
        """The sweeper's name."""
        return self.sync.name

    async def get_next(self, filtr: Filter | None = None) -> HashableDict | None:
        """See :meth:`ParamSweeper.get_next` (combined with concurrent calls when no filter)."""
        if filtr is None:
            return await self._get(None)
        return await self._call(functools.partial(self.sync.get_next, filtr))

    async def get_next_batch(
        self, num_combs: int, filtr: Filter | None = None
    ) -> list[HashableDict]:
        """See :meth:`ParamSweeper.get_next_batch`."""
        return await self._call(functools.partial(self.sync.get_next_batch, num_combs, filtr))

    async def done(self, combination: Mapping[str, Any]) -> None:
        """See :meth:`ParamSweeper.done` (combined with concurrent calls)."""
        await self._done(combination)

    async def done_batch(self, combinations: Iterable[Mapping[str, Any]]) -> None:
        """See :meth:`ParamSweeper.done_batch`."""
        await self._call(functools.partial(self.sync.done_batch, list(combinations)))

    async def skip(self, combination: Mapping[str, Any]) -> None:
        """See :meth:`ParamSweeper.skip` (combined with concurrent calls)."""
        await self._skip(combination)

    async def skip_batch(self, combinations: Iterable[Mapping[str, Any]]) -> None:
        """See :meth:`ParamSweeper.skip_batch`."""
        await self._call(functools.partial(self.sync.skip_batch, list(combinations)))

    async def cancel(self, combination: Mapping[str, Any]) -> None:
        """See :meth:`ParamSweeper.cancel` (combined with concurrent calls)."""
        await self._cancel(combination)

    async def cancel_batch(self, combinations: Iterable[Mapping[str, Any]]) -> None:
        """See :meth:`ParamSweeper.cancel_batch`."""
        await self._call(functools.partial(self.sync.cancel_batch, list(combinations)))

    async def reset(self, reset_inprogress: bool = False) -> None:
        """See :meth:`ParamSweeper.reset`."""
        await self._call(functools.partial(self.sync.reset, reset_inprogress))

    async def reclaim(self) -> list[HashableDict]:
        """See :meth:`ParamSweeper.reclaim`."""
        return await self._call(self.sync.reclaim)

    async def heartbeat(self) -> None:
        """See :meth:`ParamSweeper.heartbeat`."""
        await self._call(self.sync.heartbeat)

    async def keep_alive(self, interval: float | None = None) -> None:
        """Heartbeat forever, every ``interval`` seconds (default: a third of the lease).

        Run it in a nursery next to long experiments: ``nursery.start_soon(s.keep_alive)``.
        """
        if interval is None:
            if self.sync.lease is None:
                raise ValueError("keep_alive: no interval given and the sweeper has no lease")
            interval = self.sync.lease / 3
        while True:
            await self.heartbeat()
            await anyio.sleep(interval)

    async def get_sweeps(self) -> CombinationSet:
        """See :meth:`ParamSweeper.get_sweeps`."""
        return await self._call(self.sync.get_sweeps, shield=False)

    async def get_remaining(self) -> CombinationSet:
        """See :meth:`ParamSweeper.get_remaining`."""
        return await self._call(self.sync.get_remaining, shield=False)

    async def get_inprogress(self) -> CombinationSet:
        """See :meth:`ParamSweeper.get_inprogress`."""
        return await self._call(self.sync.get_inprogress, shield=False)

    async def get_done(self) -> CombinationSet:
        """See :meth:`ParamSweeper.get_done`."""
        return await self._call(self.sync.get_done, shield=False)

    async def get_skipped(self) -> CombinationSet:
        """See :meth:`ParamSweeper.get_skipped`."""
        return await self._call(self.sync.get_skipped, shield=False)

    async def stats(self) -> SweeperStats:
        """See :meth:`ParamSweeper.stats`."""
        return await self._call(self.sync.stats, shield=False)

    async def counts(self) -> SweeperCounts:
        """See :meth:`ParamSweeper.counts`."""
        return await self._call(self.sync.counts, shield=False)

    async def aclose(self) -> None:
        """Close the files (this worker's in-progress combinations stay in progress)."""
        await self._call(self.sync.close)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __str__(self) -> str:
        """The sweeper's summary line (reads the journal tail: a short blocking call)."""
        return str(self.sync)
