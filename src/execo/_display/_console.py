"""Output display helpers: host-prefixed live lines, gathered outputs, a progress line."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TextIO

import anyio

from .._core._host import Host, fold_hosts
from .._core._log import style
from .._core._output import LineHandler, Stream
from .._core._process import ProcessBase

__all__ = ["GatheredOutput", "HostPrefixedOutput", "format_gathered", "gather_outputs", "progress"]


class HostPrefixedOutput(LineHandler):
    """Writes each complete line as ``host: line`` (line-buffered: never interleaved)."""

    def __init__(self, out: TextIO | None = None, *, show_stream: bool = False) -> None:
        self._out = out
        self._show_stream = show_stream

    def on_line(self, process: ProcessBase, stream: Stream, line: str) -> None:
        out = self._out if self._out is not None else sys.stdout
        who = str(process.host) if process.host is not None else process.name
        tag = f"[{stream.value}] " if self._show_stream else ""
        out.write(f"{style.host(who)}: {tag}{line}\n")


@dataclass(frozen=True, slots=True)
class GatheredOutput:
    """One distinct output and the processes that printed exactly it."""

    text: str
    processes: tuple[ProcessBase, ...]

    @property
    def hosts(self) -> list[Host]:
        return [p.host for p in self.processes if p.host is not None]


def gather_outputs(
    processes: Iterable[ProcessBase], stream: Stream | str = Stream.STDOUT
) -> list[GatheredOutput]:
    """Group processes by identical output ("these 37 hosts printed X"), biggest group first.

    Works at any time, also while the processes run (on what they printed so far).
    """
    s = Stream.of(stream)
    groups: dict[str, list[ProcessBase]] = {}
    for p in processes:
        groups.setdefault(p.stdout if s is Stream.STDOUT else p.stderr, []).append(p)
    out = [GatheredOutput(text, tuple(ps)) for text, ps in groups.items()]
    out.sort(key=lambda g: -len(g.processes))
    return out


def who(processes: Sequence[ProcessBase]) -> str:
    """The processes' hosts folded (``node-[1-3]``), then the names of local ones."""
    folded = fold_hosts(p.host for p in processes)
    local = [p.name for p in processes if p.host is None]
    return ",".join(filter(None, [folded, *dict.fromkeys(local)]))


def format_gathered(groups: Sequence[GatheredOutput]) -> str:
    """A readable rendering of :func:`gather_outputs`: per distinct output, a header line
    ``--- node-[1-3] (3)`` (the hosts folded, the number of processes), then the output."""
    parts = []
    for g in groups:
        header = style.emph(f"--- {who(g.processes)} ({len(g.processes)})")
        parts.append(f"{header}\n{g.text.rstrip()}")
    return "\n".join(parts)


@asynccontextmanager
async def progress(
    processes: Sequence[ProcessBase], *, out: TextIO | None = None, interval: float = 0.5
) -> AsyncIterator[None]:
    """Show ``ended/total (failed)`` on one line while the block runs, if ``out`` is a tty."""
    stream = out if out is not None else sys.stderr
    if not stream.isatty():
        yield
        return

    def line() -> str:
        ended = sum(p.ended for p in processes)
        failed = sum(p.ended and not p.ok for p in processes)
        return f"\r{ended}/{len(processes)} ended, {failed} failed "

    async with anyio.create_task_group() as tg:

        async def show() -> None:
            while True:
                stream.write(line())
                stream.flush()
                await anyio.sleep(interval)

        tg.start_soon(show)
        try:
            yield
        finally:
            tg.cancel_scope.cancel()
            stream.write(line() + "\n")
            stream.flush()
