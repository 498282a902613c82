"""AsyncParamSweeper: the ParamSweeper for async code (trio, or asyncio through anyio).

Each call runs the blocking :class:`ParamSweeper` method (file lock, read, write, fsync) in a
worker thread with ``anyio.to_thread.run_sync``, so the event loop keeps running. Calls that
change state are shielded from cancellation: they are short, and a cancelled ``done`` must not
leave the caller unsure whether it was recorded. Concurrent tasks' ``done`` calls share their
``fdatasync`` (group commit).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Self, TypeVar

import anyio
import anyio.to_thread

from ._sweeper import Filter, ParamSweeper

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable, Mapping

    from ._sweep import HashableDict
    from ._views import CombinationSet, SweeperCounts, SweeperStats

__all__ = ["AsyncParamSweeper"]

_T = TypeVar("_T")


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

    @classmethod
    async def open(
        cls,
        storage_dir: str | os.PathLike[str],
        sweeps: Iterable[Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> Self:
        """Open (or create) the sweeper in a thread; arguments as for :class:`ParamSweeper`."""
        sweeper = await anyio.to_thread.run_sync(
            functools.partial(ParamSweeper, storage_dir, sweeps, **kwargs)
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
        """See :meth:`ParamSweeper.get_next`."""
        return await self._call(functools.partial(self.sync.get_next, filtr))

    async def get_next_batch(
        self, num_combs: int, filtr: Filter | None = None
    ) -> list[HashableDict]:
        """See :meth:`ParamSweeper.get_next_batch`."""
        return await self._call(functools.partial(self.sync.get_next_batch, num_combs, filtr))

    async def done(self, combination: Mapping[str, Any]) -> None:
        """See :meth:`ParamSweeper.done`."""
        await self._call(functools.partial(self.sync.done, combination))

    async def done_batch(self, combinations: Iterable[Mapping[str, Any]]) -> None:
        """See :meth:`ParamSweeper.done_batch`."""
        await self._call(functools.partial(self.sync.done_batch, list(combinations)))

    async def skip(self, combination: Mapping[str, Any]) -> None:
        """See :meth:`ParamSweeper.skip`."""
        await self._call(functools.partial(self.sync.skip, combination))

    async def skip_batch(self, combinations: Iterable[Mapping[str, Any]]) -> None:
        """See :meth:`ParamSweeper.skip_batch`."""
        await self._call(functools.partial(self.sync.skip_batch, list(combinations)))

    async def cancel(self, combination: Mapping[str, Any]) -> None:
        """See :meth:`ParamSweeper.cancel`."""
        await self._call(functools.partial(self.sync.cancel, combination))

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
