"""execo 2.8.2 names kept for its scripts: output handlers, the action factory, ActionsFailed.

* `ProcessOutputHandler`: execo's handler base (``read``, ``read_line``), here an
  :class:`~execo.OutputHandler` that splits lines as :class:`~execo.LineHandler` does;
* `ExpectOutputHandler`: one handler that waits for regexes on several processes' streams;
* `ActionFactory` and `default_action_factory`: `get_remote`, `get_fileput`, `get_fileget`
  bound to chosen tools (None: ``configuration``, read at each call, not at import);
* `ActionsFailed`: execo exported it without ever raising it; so here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio

from ._actions._factories import get_fileget, get_fileput, get_remote
from ._core._errors import ExecoError
from ._core._output import LineSplitter, Stream
from ._core._status import RegexLike, compile_regexes
from ._core._util import UNSET, Unset

if TYPE_CHECKING:
    from ._actions._action import Action
    from ._core._process import ProcessBase

__all__ = [
    "ActionFactory",
    "ActionsFailed",
    "ExpectOutputHandler",
    "ProcessOutputHandler",
    "default_action_factory",
]


class ProcessOutputHandler:
    """Base of execo-style output handlers: override `read_line` (or `read`).

    Give an instance in ``stdout_handlers`` / ``stderr_handlers``. `read` receives every
    chunk as it arrives; by default it splits them into lines (``\\n``, ``\\r\\n`` or a lone
    ``\\r``, without the terminator: no extra empty line, unlike execo) and calls
    `read_line` for each, the last partial line included at the end of the stream. One
    instance may serve several processes and both streams.
    """

    def __init__(self) -> None:
        self._splitters: dict[tuple[int, Stream], LineSplitter] = {}

    def data_received(self, process: ProcessBase, stream: Stream, text: str, eof: bool) -> None:
        """The :class:`~execo.OutputHandler` entry point: calls `read`."""
        self.read(process, stream, text, eof, False)

    def read(
        self, process: ProcessBase, stream: Stream, string: str, eof: bool, error: bool
    ) -> None:
        """A chunk of output (``eof``: the stream has ended); execo's signature."""
        key = (id(process), stream)
        splitter = self._splitters.setdefault(key, LineSplitter())
        for line in splitter.feed(string, eof or error):
            self.read_line(process, stream, line)
        if eof or error:
            del self._splitters[key]

    def read_line(self, process: ProcessBase, stream: Stream, string: str) -> None:
        """A whole line of output, without its terminator (does nothing by default)."""


class ExpectOutputHandler:
    """Waits for regexes on the output of one or several processes (execo's handler).

    Add the same instance to the handlers of every process (and stream) to watch, then
    ``await handler.expect(regexes)``. Unlike execo, the earliest match wins on each stream
    and the text before it is not lost: the next `expect` on a stream searches from just
    after the previous match.
    """

    def __init__(self) -> None:
        self._buffers: dict[tuple[ProcessBase, Stream], str] = {}
        self._cursors: dict[tuple[ProcessBase, Stream], int] = {}
        self._ended: set[tuple[ProcessBase, Stream]] = set()
        self._changed = anyio.Event()

    def data_received(self, process: ProcessBase, stream: Stream, text: str, eof: bool) -> None:
        key = (process, stream)
        self._buffers[key] = self._buffers.get(key, "") + text
        if eof:
            self._ended.add(key)
        self._changed.set()
        self._changed = anyio.Event()

    def _search(
        self, patterns: list[re.Pattern[str]]
    ) -> dict[tuple[ProcessBase, Stream], tuple[int, re.Match[str]]]:
        found: dict[tuple[ProcessBase, Stream], tuple[int, re.Match[str]]] = {}
        for key, text in self._buffers.items():
            start = self._cursors.get(key, 0)
            best: tuple[int, re.Match[str]] | None = None
            for i, pattern in enumerate(patterns):
                m = pattern.search(text, start)
                if m is not None and (best is None or m.start() < best[1].start()):
                    best = (i, m)
            if best is not None:
                found[key] = best
                self._cursors[key] = best[1].end()
        return found

    async def expect(
        self,
        regexes: RegexLike | Sequence[RegexLike],
        timeout: float | Unset | None = UNSET,
    ) -> dict[tuple[ProcessBase, Stream], tuple[int, re.Match[str]]]:
        """Waits until at least one watched stream matches one of `regexes`.

        Args:
            regexes: One or several regexes (strings are compiled with ``re.MULTILINE``).
            timeout: Seconds to wait; None or UNSET: no limit; 0: do not wait.

        Returns:
            ``{(process, stream): (regex_index, match)}`` for every stream that matched,
            ``{}`` when the timeout expired or every watched stream ended first.
        """
        patterns = compile_regexes(regexes)
        seconds = None if timeout is UNSET else timeout
        with anyio.move_on_after(seconds):
            while True:
                changed = self._changed
                found = self._search(patterns)
                if found or seconds == 0:
                    return found
                if self._buffers and set(self._buffers) <= self._ended:
                    return {}
                await changed.wait()
        return {}


class ActionFactory:
    """`get_remote`, `get_fileput` and `get_fileget` bound to chosen tools.

    Args:
        remote_tool: ``"ssh"``, ``"asyncssh"`` or ``"taktuk"`` (execo's ``SSH``/``TAKTUK``
            constants too); None: ``configuration["remote_tool"]`` when each action is made.
        fileput_tool: ``"scp"``, ``"asyncssh"``, ``"taktuk"`` or ``"chainput"``; None:
            ``configuration["fileput_tool"]`` at each call.
        fileget_tool: ``"scp"``, ``"asyncssh"`` or ``"taktuk"``; None:
            ``configuration["fileget_tool"]`` at each call.

    Attributes:
        get_remote: Like :func:`~execo.get_remote`, with `remote_tool`.
        get_fileput: Like :func:`~execo.get_fileput`, with `fileput_tool`.
        get_fileget: Like :func:`~execo.get_fileget`, with `fileget_tool`.
    """

    def __init__(
        self,
        remote_tool: str | int | None = None,
        fileput_tool: str | int | None = None,
        fileget_tool: str | int | None = None,
    ) -> None:
        self.remote_tool = remote_tool
        self.fileput_tool = fileput_tool
        self.fileget_tool = fileget_tool
        self.get_remote = functools.partial(get_remote, remote_tool=remote_tool)
        self.get_fileput = functools.partial(get_fileput, fileput_tool=fileput_tool)
        self.get_fileget = functools.partial(get_fileget, fileget_tool=fileget_tool)

    def __repr__(self) -> str:
        return (
            f"ActionFactory(remote_tool={self.remote_tool!r}, "
            f"fileput_tool={self.fileput_tool!r}, fileget_tool={self.fileget_tool!r})"
        )


default_action_factory = ActionFactory()
"""The factory of the module-level functions: the tools come from ``configuration``, read
when each action is made (execo 2.8.2 fixed them at import)."""


class ActionsFailed(ExecoError):
    """Some actions did not finish ok (execo's name; the library itself raises
    :class:`~execo.ProcessesFailed`, which names each process).

    Attributes:
        actions: The actions.
    """

    def __init__(self, actions: Sequence[Action]) -> None:
        self.actions = list(actions)
        lines = [f"{len(self.actions)} action(s) failed:"]
        for action in self.actions:
            failed = action.failed
            lines.append(f"  {action.name}: {len(failed)} of {len(action.processes)} failed")
            lines.extend(f"    {p.failure_summary()}" for p in failed)
        super().__init__("\n".join(lines))
