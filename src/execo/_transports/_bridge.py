"""Running asyncio-only code (asyncssh) from whatever event loop the caller runs.

* Under asyncio (an asyncio or anyio-on-asyncio application), :class:`NativeBridge` calls
  straight through: same loop, same thread.
* Under trio, :class:`ThreadBridge` runs one asyncio loop in one dedicated thread, shared by
  every :class:`~execo.SshPool` open at the time, however many commands run over them (it
  stops when the last pool closes). Work goes to that loop with
  ``call_soon_threadsafe``; results and callbacks come back with the trio token's
  ``run_sync_soon`` (no thread per command, no polling). Cancelling the waiting trio task
  cancels the asyncio task, and the wait goes on (shielded) until the asyncio side has
  really finished, so nothing is left running behind the caller's back.

Both offer the same three operations: :meth:`~Bridge.run` (await a coroutine function on
the asyncio side), :meth:`~Bridge.to_loop` (fire and forget onto the asyncio side) and
:meth:`~Bridge.to_host` (from the asyncio side, a callback on the caller's loop).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import anyio
import sniffio

__all__ = ["Bridge", "NativeBridge", "ThreadBridge", "open_bridge"]

T = TypeVar("T")


class Bridge(Protocol):
    """How the caller's loop reaches the asyncio loop that runs asyncssh, and back."""

    loop: asyncio.AbstractEventLoop

    async def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``fn(*args)`` on the asyncio loop and return its result (or raise)."""
        ...

    def to_loop(self, fn: Callable[..., object], *args: Any) -> None:
        """Call ``fn(*args)`` soon on the asyncio loop (from the caller's side)."""
        ...

    def to_host(self, fn: Callable[..., object], *args: Any) -> None:
        """Call ``fn(*args)`` soon on the caller's loop (from the asyncio side)."""
        ...

    async def aclose(self) -> None:
        """Stop the asyncio side (once every piece of work on it has ended)."""
        ...


class NativeBridge:
    """The caller runs asyncio itself: everything is a direct call."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()

    async def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        return await fn(*args)

    def to_loop(self, fn: Callable[..., object], *args: Any) -> None:
        fn(*args)

    def to_host(self, fn: Callable[..., object], *args: Any) -> None:
        fn(*args)

    async def aclose(self) -> None:
        pass


class _Job:
    """One coroutine submitted from the host side: its task and its outcome."""

    __slots__ = ("cancelled", "done", "error", "result", "task")

    def __init__(self) -> None:
        self.task: asyncio.Task[Any] | None = None
        self.cancelled = False
        self.done = anyio.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def cancel(self) -> None:  # on the asyncio loop
        self.cancelled = True
        if self.task is not None:
            self.task.cancel()


class _LoopThread:
    """An asyncio loop running forever in a daemon thread, shared by reference count."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.refs = 0
        ready = threading.Event()
        self.loop.call_soon(ready.set)
        self.thread = threading.Thread(target=self._main, name="execo-asyncssh", daemon=True)
        self.thread.start()
        ready.wait()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()


_shared_lock = threading.Lock()
_shared: _LoopThread | None = None


def _acquire_loop_thread() -> _LoopThread:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = _LoopThread()
        _shared.refs += 1
        return _shared


def _release_loop_thread(lt: _LoopThread) -> None:
    global _shared
    with _shared_lock:
        lt.refs -= 1
        if lt.refs > 0:
            return
        if _shared is lt:
            _shared = None
    lt.stop()  # the loop has nothing left to do: this returns at once


class _Calls:
    """Calls for one loop, queued from the other thread and run in order by one drain per
    burst (``schedule`` hands the drain to that loop)."""

    __slots__ = ("_calls", "_due", "_schedule")

    def __init__(self, schedule: Callable[[Callable[[], None]], object]) -> None:
        self._calls: collections.deque[tuple[Callable[..., object], tuple[Any, ...]]] = (
            collections.deque()
        )
        self._due = False
        self._schedule = schedule

    def post(self, fn: Callable[..., object], args: tuple[Any, ...]) -> None:
        self._calls.append((fn, args))
        if not self._due:
            self._due = True
            self._schedule(self._drain)

    def _drain(self) -> None:  # on the loop the calls are for
        self._due = False  # first: a call queued from now on schedules a drain of its own
        calls = self._calls
        while calls:
            fn, args = calls.popleft()
            fn(*args)


class ThreadBridge:
    """The asyncio loop runs in a dedicated thread, driven from a trio loop.

    Every bridge open at the same time shares that one thread (and loop); it stops when
    the last of them is closed.
    """

    def __init__(self) -> None:
        import trio

        self._token = trio.lowlevel.current_trio_token()
        self._closed = False
        self._lt = _acquire_loop_thread()
        self.loop = self._lt.loop
        # A burst of callbacks (200 exit statuses at once) wakes the other loop once.
        self._to_host = _Calls(self._wake_host)
        self._to_loop = _Calls(self.loop.call_soon_threadsafe)

    async def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        job = _Job()
        self._to_loop.post(self._start, (job, fn, args))
        try:
            await job.done.wait()
        except BaseException:
            # Cancelled (or interrupted): cancel the asyncio side and wait until it is over.
            with anyio.CancelScope(shield=True):
                self._to_loop.post(job.cancel, ())
                await job.done.wait()
            raise
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[no-any-return]

    def _start(self, job: _Job, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...]) -> None:
        if job.cancelled:
            job.error = asyncio.CancelledError()
            self.to_host(job.done.set)
            return
        job.task = self.loop.create_task(self._wrap(job, fn, args))

    async def _wrap(
        self, job: _Job, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...]
    ) -> None:
        try:
            job.result = await fn(*args)
        except BaseException as e:  # delivered to the waiting side, which re-raises it
            job.error = e
        finally:
            self.to_host(job.done.set)

    def to_loop(self, fn: Callable[..., object], *args: Any) -> None:
        if not self._closed:
            self._to_loop.post(fn, args)

    def to_host(self, fn: Callable[..., object], *args: Any) -> None:
        self._to_host.post(fn, args)

    def _wake_host(self, drain: Callable[[], None]) -> None:
        import trio

        with contextlib.suppress(trio.RunFinishedError):
            self._token.run_sync_soon(drain)

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            _release_loop_thread(self._lt)


def open_bridge() -> Bridge:
    """A bridge for the running loop: native under asyncio, a loop thread under trio."""
    if sniffio.current_async_library() == "asyncio":
        return NativeBridge()
    return ThreadBridge()
