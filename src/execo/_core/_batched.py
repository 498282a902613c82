"""Many processes followed by one task: the processes of an action whose transport reports
each command's end by itself (asyncssh).

:func:`run_processes` (in :mod:`execo._actions._action`) gives each process a task of its own,
which waits for its channel, runs its timeout and its kill. With a channel that pushes its
output and reports its end (:class:`~execo._core._channel.ExitNotifier`), nothing needs to
wait: :func:`run_batched` starts the processes one after the other in a single task, and the
transport's callbacks end them. What still needs a task is made in one task group shared by
the processes: a kill (started by a timeout, :meth:`~execo.ProcessBase.kill` or a
cancellation) and a single timer for all the processes' own timeouts. A channel that does
not report its end gets a follower task there, as under :meth:`~execo.ProcessBase.run`.

The outcome is the same as with a task per process (same states, same kill, same order of
lifecycle handlers); what is saved is, per process, two tasks, a task group, several cancel
scopes and events (measured in docs/design.md, "Speed at scale").
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Sequence

import anyio
import anyio.abc

from ._process import ProcessBase

__all__ = ["run_batched"]


class _Group:
    """The shared state of one :func:`run_batched` (a :class:`ProcessGroup`)."""

    def __init__(self, tg: anyio.abc.TaskGroup) -> None:
        self._tg = tg
        self.running: list[ProcessBase] = []
        self.live = 0
        self.error: BaseException | None = None
        self._changed: anyio.Event | None = None
        self.wake_on_end = False
        self._deadlines: list[tuple[float, int, ProcessBase]] = []
        self._order = itertools.count()
        self._timer_wake: anyio.Event | None = None
        self._timer_scope: anyio.CancelScope | None = None

    @property
    def tg(self) -> anyio.abc.TaskGroup:
        return self._tg

    def ended(self, process: ProcessBase) -> None:
        self.live -= 1
        if self.wake_on_end or not self.live:
            self._wake()

    def failed(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error
        self._wake()

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def changed(self) -> None:
        self._changed = event = anyio.Event()
        await event.wait()

    # ------------------------------------------------------------- timeouts

    def deadline(self, process: ProcessBase, when: float) -> None:
        first = self._deadlines[0][0] if self._deadlines else math.inf
        heapq.heappush(self._deadlines, (when, next(self._order), process))
        if self._timer_scope is None:
            self._timer_scope = anyio.CancelScope()
            self._tg.start_soon(self._timers, self._timer_scope)
        elif when < first and self._timer_wake is not None:
            self._timer_wake.set()

    async def _timers(self, scope: anyio.CancelScope) -> None:
        with scope:
            while True:
                now = anyio.current_time()
                while self._deadlines and self._deadlines[0][0] <= now:
                    heapq.heappop(self._deadlines)[2]._expire()
                self._timer_wake = wake = anyio.Event()
                delay = self._deadlines[0][0] - now if self._deadlines else math.inf
                with anyio.move_on_after(delay):
                    await wake.wait()

    def stop_timers(self) -> None:
        if self._timer_scope is not None:
            self._timer_scope.cancel()


async def run_batched(
    processes: Sequence[ProcessBase], limit: int, started: Callable[[], None]
) -> None:
    """Run ``processes``, at most ``limit`` at once, from this one task; ``started()`` is
    called once all have started or are queued. Cancelled, it kills those running and waits
    for them (shielded), as a task per process would."""
    async with anyio.create_task_group() as tg:
        group = _Group(tg)
        group.wake_on_end = limit < len(processes)
        queued = iter(processes)
        pending = len(processes)
        told = False
        try:
            while True:
                while pending and group.live < limit:
                    p = next(queued)
                    pending -= 1
                    group.live += 1  # before: its end may be reported within its start
                    try:
                        running = await p._begin_batched(group)
                    except BaseException:
                        group.live -= 1
                        raise
                    if running:
                        group.running.append(p)
                    else:
                        group.live -= 1
                if not told:
                    told = True
                    started()
                if group.error is not None:
                    raise group.error
                if not pending and not group.live:
                    break
                await group.changed()
        except BaseException:
            with anyio.CancelScope(shield=True):
                for p in group.running:
                    p._batch_abort()
                while group.live:
                    await group.changed()
            raise
        finally:
            group.stop_timers()
