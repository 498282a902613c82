"""The scope protocol shared by processes and actions: ``async with obj:`` starts it, leaving
waits for it, and an exception or a cancellation in the block kills it."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import anyio
import anyio.abc

__all__ = ["Scoped"]


class Scoped:
    """Base of :class:`~execo.ProcessBase` and :class:`~execo.Action`.

    Subclasses implement ``_lifecycle(task_status)``: start, report started through
    ``task_status``, run to the end; killing on cancellation is its job.
    """

    _outer_tg: anyio.abc.TaskGroup | None = None

    async def _lifecycle(self, task_status: anyio.abc.TaskStatus[Self]) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        tg = anyio.create_task_group()
        await tg.__aenter__()
        try:
            await tg.start(self._lifecycle)
        except BaseException as e:
            await tg.__aexit__(type(e), e, e.__traceback__)
            raise
        self._outer_tg = tg
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        tg, self._outer_tg = self._outer_tg, None
        assert tg is not None
        if exc is not None:
            # The block failed or was cancelled: kill (in the lifecycle's shielded path),
            # wait for that, and let the block's own exception propagate unwrapped.
            tg.cancel_scope.cancel()
        await tg.__aexit__(None, None, None)
        return False
