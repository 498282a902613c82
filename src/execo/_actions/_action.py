"""Actions: sets of processes run as one scope.

An :class:`Action` owns its processes in one task group. ``await action.run()`` starts them
all and returns when all have ended; ``async with action:`` starts them and leaving the block
waits; an exception or a cancellation kills every process, on every host. ``timeout=`` bounds
the whole action: on expiry its running processes are killed and marked timed out.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Self, TypedDict, Unpack, cast

import anyio
import anyio.abc

from .._core._batched import run_batched
from .._core._errors import ExecoUsageError
from .._core._failures import describe_failures, outcome_summary
from .._core._host import Host, HostLike, fold_hosts, get_hosts_list
from .._core._local import Process, raise_nofile_limit
from .._core._log import logger, style
from .._core._options import check_keywords
from .._core._output import STDOUT, Stream
from .._core._process import (
    LocalProcessOptions,
    ProcessBase,
    ProcessesFailed,
    ProcessOptions,
    SshProcessOptions,
)
from .._core._scope import Scoped
from .._core._stats import aggregate_stats
from .._core._status import ExpectResult, ProcessStatus, RegexLike
from .._core._util import UNSET, Unset, name_from_cmdline

__all__ = [
    "Action",
    "ActionLifecycleHandler",
    "ActionOptions",
    "Local",
    "ParallelActions",
    "SequentialActions",
    "filter_bad_hosts",
    "wait_all_actions",
    "wait_any_actions",
]

_FDS_PER_PROCESS = 4  # three pipe ends while running, plus a pidfd


class ActionLifecycleHandler:
    """Hooks called when an action starts, ends and is reset (override what you need)."""

    def start(self, action: Action) -> None:
        """The action has started."""

    def end(self, action: Action) -> None:
        """Every process of the action has ended."""

    def reset(self, action: Action) -> None:
        """The action was reset."""


class ActionOptions(TypedDict, total=False):
    """The keyword options of every action (all optional).

    Keys:
        name: display name.
        timeout: seconds after which the still running processes are killed and marked
            timed out; None (default): no timeout.
        fanout: at most this many processes run at once; the others wait their turn.
            Default: as many as the open-file limit allows (raised to its maximum first).
        lifecycle_handlers: :class:`ActionLifecycleHandler` objects.
        default_expect_timeout: timeout of :meth:`~Action.expect` when it is not given.
    """

    name: str | None
    timeout: float | None
    fanout: int | None
    lifecycle_handlers: Iterable[ActionLifecycleHandler]
    default_expect_timeout: float | None


def default_fanout() -> int:
    """How many local processes may run at once without running out of file descriptors."""
    soft = raise_nofile_limit()
    try:
        import os

        used = len(os.listdir("/proc/self/fd"))
    except OSError:
        used = 64
    return max(1, (soft - used - 64) // _FDS_PER_PROCESS)


class Action(Scoped):
    """A set of processes run together, as one scope.

    Args:
        **options: see :class:`ActionOptions` (``name``, ``timeout``, ``fanout``,
            ``lifecycle_handlers``, ``default_expect_timeout``).
    """

    _kind: ClassVar[str] = "Action"
    _process_options: ClassVar[type | None] = None
    """The TypedDict of the options of this action's processes (for error messages)."""

    def __init__(self, **options: Unpack[ActionOptions]) -> None:
        check_keywords(self, options, ActionOptions, process_options=self._process_options)
        name = options.get("name")
        timeout = options.get("timeout")
        fanout = options.get("fanout")
        lifecycle_handlers = options.get("lifecycle_handlers", ())
        default_expect_timeout = options.get("default_expect_timeout")
        if timeout is not None and not (isinstance(timeout, int | float) and timeout >= 0):
            raise ValueError(f"timeout must be a number >= 0 or None, got {timeout!r}")
        if fanout is not None and (not isinstance(fanout, int) or fanout < 1):
            raise ValueError(f"fanout must be a positive int or None, got {fanout!r}")
        self._name = name
        self.timeout = timeout
        self.fanout = fanout
        self.lifecycle_handlers = list(lifecycle_handlers)
        self.default_expect_timeout = default_expect_timeout
        self._processes: list[ProcessBase] = []
        self._clear_action_state()

    def _clear_action_state(self) -> None:
        self._started = False
        self._ended = False
        self.timeouted = False
        self.start_date: float | None = None
        self.end_date: float | None = None
        self._ended_event: anyio.Event | None = None

    # ---------------------------------------------------------------- state

    @property
    def name(self) -> str:
        """Display name."""
        return self._name if self._name is not None else self._default_name()

    @name.setter
    def name(self, value: str | None) -> None:
        self._name = value

    def _default_name(self) -> str:
        return f"{self._kind} 0x{id(self):x}"

    @property
    def processes(self) -> list[ProcessBase]:
        """The processes of this action (for composite actions: of all sub-actions)."""
        return list(self._processes)

    @property
    def started(self) -> bool:
        return self._started

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def running(self) -> bool:
        return self._started and not self._ended

    @property
    def ok(self) -> bool:
        """Every process is ok."""
        return all(p.ok for p in self.processes)

    @property
    def finished_ok(self) -> bool:
        """Started, ended, and ok."""
        return self.started and self.ended and self.ok

    @property
    def succeeded(self) -> list[ProcessBase]:
        """The processes that finished ok."""
        return [p for p in self.processes if p.finished_ok]

    @property
    def failed(self) -> list[ProcessBase]:
        """The processes that are not ok."""
        return [p for p in self.processes if not p.ok]

    def statuses(self) -> list[tuple[Host | None, ProcessStatus]]:
        """Per process (hence per host, duplicates kept, in order): its host and status."""
        return [(p.host, p.status) for p in self.processes]

    def raise_for_error(self) -> None:
        """Raise :class:`ProcessesFailed`, naming every failed host and why, if not ok."""
        failed = self.failed
        if failed:
            raise ProcessesFailed(failed)

    # -------------------------------------------------------------- running

    async def run(
        self,
        *,
        timeout: float | Unset | None = UNSET,
        check: bool = False,
        task_status: anyio.abc.TaskStatus[Self] = anyio.TASK_STATUS_IGNORED,
    ) -> Self:
        """Start every process and wait until all have ended; returns self.

        Args:
            timeout: overrides the action's ``timeout`` for this run.
            check: raise :class:`ProcessesFailed` if some process is not ok at the end.
            task_status: ``await nursery.start(action.run)`` returns once all are started.
        """
        if timeout is not UNSET:
            self.timeout = timeout
        await self._lifecycle(task_status)
        if check:
            self.raise_for_error()
        return self

    async def wait(self, timeout: float | None = None) -> Self:
        """Wait until every process has ended (or ``timeout`` seconds pass)."""
        if not self._started:
            raise ExecoUsageError(f"{self.name}: wait() on an action that was never started")
        if self._ended_event is not None:
            with anyio.move_on_after(timeout):
                await self._ended_event.wait()
        return self

    async def kill(self) -> Self:
        """Kill every running process (on every host); returns once they have ended."""
        async with anyio.create_task_group() as tg:
            for p in self.processes:
                if p.running:
                    tg.start_soon(p.kill)
        return self

    async def write(self, data: str | bytes) -> None:
        """Write to the stdin of every running process, concurrently."""
        async with anyio.create_task_group() as tg:
            for p in self.processes:
                tg.start_soon(p.write, data)

    async def expect(
        self,
        regexes: RegexLike | Sequence[RegexLike],
        *,
        timeout: float | Unset | None = UNSET,
        stream: Stream | str | int = STDOUT,
        backtrack: bool = True,
    ) -> list[tuple[ProcessBase, ExpectResult]]:
        """:meth:`ProcessBase.expect` on every process at once; results in process order."""
        if timeout is UNSET:
            timeout = self.default_expect_timeout
        procs = self.processes
        results: list[ExpectResult] = [ExpectResult(None, None)] * len(procs)

        async def one(i: int, p: ProcessBase) -> None:
            results[i] = await p.expect(
                regexes, timeout=timeout, stream=stream, backtrack=backtrack
            )

        async with anyio.create_task_group() as tg:
            for i, p in enumerate(procs):
                tg.start_soon(one, i, p)
        return list(zip(procs, results, strict=True))

    def reset(self) -> Self:
        """Forget the last run (substitutions are evaluated again); not while running."""
        if self.running:
            raise ExecoUsageError(f"{self.name}: reset() while running; kill() it first")
        for h in self.lifecycle_handlers:
            h.reset(self)
        self._reset_processes()
        self._clear_action_state()
        return self

    def _reset_processes(self) -> None:
        for p in self._processes:
            p.reset()

    async def _lifecycle(self, task_status: anyio.abc.TaskStatus[Self]) -> None:
        if self._started:
            raise ExecoUsageError(f"{self.name}: already started; reset() it to run it again")
        self._started = True
        self._ended_event = anyio.Event()
        self.start_date = time.time()
        for h in self.lifecycle_handlers:
            h.start(self)
        status = _Started(task_status, self)
        for p in self._processes:
            p._in_action = True
        try:
            with anyio.CancelScope() as body_scope:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._watch_timeout, body_scope, status)
                    await self._body(status)
                    tg.cancel_scope.cancel()  # the timeout watcher
        finally:
            self._ended = True
            self.end_date = time.time()
            self._ended_event.set()
            status.ensure_started()
            self._log_failures()
            for h in self.lifecycle_handlers:
                h.end(self)

    def _log_failures(self) -> None:
        """One warning for the failures of this action's own processes (those neither
        ignored nor ``nolog_``): how many, where (folded), why; each process's dump went
        to DEBUG when it ended."""
        failed = [p for p in self._processes if p._warns()]
        if failed and logger.isEnabledFor(logging.WARNING):
            where = fold_hosts(p.host for p in failed)
            lines = "".join(f"\n  {line}" for line in describe_failures(failed))
            logger.warning(
                "%s: %d of %d processes failed%s:%s",
                self.name,
                len(failed),
                len(self._processes),
                f" on {where}" if where else "",
                lines,
            )

    async def _watch_timeout(self, body_scope: anyio.CancelScope, status: _Started) -> None:
        if self.timeout is None:
            return
        await anyio.sleep(self.timeout)
        self.timeouted = True
        for p in self.processes:
            p._expire()
        body_scope.cancel()  # processes not started yet never start

    async def _body(self, status: _Started) -> None:
        await run_processes(self._processes, self.fanout, status)

    # -------------------------------------------------------------- display

    def stats(self) -> dict[str, Any]:
        """Aggregated statistics of the processes (JSON-serialisable)."""
        return aggregate_stats([p.stats() for p in self.processes], self.name)

    def __str__(self) -> str:
        n = len(self.processes)
        return (
            f"{style.object_repr(self._kind)}(name={self.name!r}, processes={n}, "
            f"started={self.started}, ended={self.ended}, ok={self.ok})"
        )

    def __repr__(self) -> str:
        return f"<{self._kind} {self.name!r} {outcome_summary(self.processes)}>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))

    def timeline(self, path: str | os.PathLike[str], *, title: str | None = None) -> None:
        """Draw the processes over time into ``path`` (PNG, SVG or PDF, by its extension):
        one row per process, a bar from its start to its end, coloured by its status.
        Needs matplotlib (``pip install execo[plot]``)."""
        from .._core._timeline import draw_timeline

        draw_timeline(self.processes, path, title=title or self.name)


class _Started:
    """Calls ``task_status.started`` exactly once."""

    def __init__(self, task_status: anyio.abc.TaskStatus[Any], value: object) -> None:
        self._task_status = task_status
        self._value = value
        self._done = False

    def ensure_started(self) -> None:
        if not self._done:
            self._done = True
            self._task_status.started(self._value)


async def run_processes(
    processes: Sequence[ProcessBase],
    fanout: int | None,
    status: _Started,
    *,
    batched: bool = False,
) -> None:
    """Run ``processes`` concurrently, at most ``fanout`` at once; report started when all
    have started or are queued. ``batched``: their channels report their own end, so one
    task follows them all (:func:`~execo._core._batched.run_batched`)."""
    limit = fanout if fanout is not None else default_fanout()
    if batched:
        await run_batched(processes, limit, status.ensure_started)
        return
    if limit >= len(processes):
        async with anyio.create_task_group() as tg:
            # Started all at once: a transport may take a while to report one started
            # (taktuk waits for the remote command), and they must not wait for each other.
            async with anyio.create_task_group() as starters:
                for p in processes:
                    starters.start_soon(tg.start, p.run)
            status.ensure_started()
        return
    limiter = anyio.CapacityLimiter(limit)

    async def one(p: ProcessBase) -> None:
        async with limiter:
            await p.run()

    async with anyio.create_task_group() as tg:
        for p in processes:
            tg.start_soon(one, p)
        status.ensure_started()


class Local(Action):
    """One local process.

    Args:
        cmd: the command (see :class:`~execo.Process`).
        process_args: keyword arguments for the :class:`~execo.Process`.
        **kwargs: see :class:`Action`.
    """

    _kind = "Local"

    _process_options = LocalProcessOptions

    def __init__(
        self,
        cmd: str | Sequence[str],
        *,
        process_args: LocalProcessOptions | SshProcessOptions | ProcessOptions | None = None,
        **options: Unpack[ActionOptions],
    ) -> None:
        super().__init__(**options)
        self.cmd = cmd
        args = cast(LocalProcessOptions, dict(process_args)) if process_args else {}
        check_keywords(self, args, LocalProcessOptions, where="process_args")
        self._processes = [Process(cmd, **args)]

    def _default_name(self) -> str:
        return name_from_cmdline(self.cmd)


class ParallelActions(Action):
    """Several actions run at once, as one action."""

    _kind = "ParallelActions"

    def __init__(
        self,
        actions: Iterable[Action],
        *,
        hide_subactions: bool = False,
        **options: Unpack[ActionOptions],
    ) -> None:
        super().__init__(**options)
        self.actions = list(actions)
        self.hide_subactions = hide_subactions

    def _default_name(self) -> str:
        return f"{self._kind} {len(self.actions)} actions"

    @property
    def processes(self) -> list[ProcessBase]:
        return [p for a in self.actions for p in a.processes]

    def _reset_processes(self) -> None:
        for a in self.actions:
            a.reset()

    async def _body(self, status: _Started) -> None:
        async with anyio.create_task_group() as tg:
            for a in self.actions:
                await tg.start(a.run)
            status.ensure_started()

    def stats(self) -> dict[str, Any]:
        s = super().stats()
        s["sub_stats"] = [] if self.hide_subactions else [a.stats() for a in self.actions]
        return s


class SequentialActions(ParallelActions):
    """Several actions run one after the other, as one action.

    Args:
        stop_on_failure: do not start the next action once one is not ok.
    """

    _kind = "SequentialActions"

    def __init__(
        self,
        actions: Iterable[Action],
        *,
        stop_on_failure: bool = False,
        hide_subactions: bool = False,
        **options: Unpack[ActionOptions],
    ) -> None:
        super().__init__(actions, hide_subactions=hide_subactions, **options)
        self.stop_on_failure = stop_on_failure

    async def _body(self, status: _Started) -> None:
        status.ensure_started()
        for a in self.actions:
            await a.run()
            if self.stop_on_failure and not a.ok:
                break


async def wait_any_actions(actions: Sequence[Action], timeout: float | None = None) -> list[Action]:
    """Wait until at least one of ``actions`` has ended; return those that have ended."""
    if not any(a.ended for a in actions):
        with anyio.move_on_after(timeout):
            async with anyio.create_task_group() as tg:

                async def one(a: Action) -> None:
                    await a.wait()
                    tg.cancel_scope.cancel()

                for a in actions:
                    tg.start_soon(one, a)
    return [a for a in actions if a.ended]


async def wait_all_actions(actions: Sequence[Action], timeout: float | None = None) -> list[Action]:
    """Wait until every one of ``actions`` has ended; return those that have ended."""
    with anyio.move_on_after(timeout):
        for a in actions:
            await a.wait()
    return [a for a in actions if a.ended]


def filter_bad_hosts(action: Action, hosts: Iterable[HostLike]) -> list[Host]:
    """``hosts`` (order kept) minus those where some process of ``action`` is not ok."""
    bad = {p.host for p in action.processes if p.host is not None and not p.ok}
    return [h for h in get_hosts_list(list(hosts)) if h not in bad]
