"""Output display helpers: host-prefixed live lines, gathered outputs, progress.

rich draws the progress bar; it is imported only when a bar is drawn (on a terminal).
"""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol, TextIO

import anyio

from .._core._host import Host, fold_hosts
from .._core._log import style
from .._core._output import Stream
from .._core._process import LineHandler, ProcessBase

__all__ = [
    "GatheredOutput",
    "HostPrefixedOutput",
    "format_gathered",
    "gather_outputs",
    "progress",
    "progress_line",
    "who",
]


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


class HasProcesses(Protocol):
    """Anything with processes: an Action, a Report."""

    @property
    def processes(self) -> Sequence[ProcessBase]: ...


def _processes(source: Sequence[ProcessBase] | HasProcesses) -> Sequence[ProcessBase]:
    return source.processes if hasattr(source, "processes") else source


def _isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def progress_line(processes: Sequence[ProcessBase], elapsed: float) -> str:
    """``7/10 done, 2 failed (node-[3,5]), 12.5 s``: the plain-text progress (pure)."""
    done = sum(p.ended for p in processes)
    failed = [p for p in processes if p.ended and not p.ok]
    text = f"{done}/{len(processes)} done"
    if failed:
        where = who(failed)
        text += f", {len(failed)} failed" + (f" ({where})" if where else "")
    return f"{text}, {elapsed:.1f} s"


@asynccontextmanager
async def progress(
    processes: Sequence[ProcessBase] | HasProcesses,
    *,
    out: TextIO | None = None,
    description: str = "processes",
    interval: float = 0.2,
    plain_interval: float = 10.0,
) -> AsyncIterator[None]:
    """Show the progress of ``processes`` (or of an action's) while the block runs.

    On a terminal, a rich progress bar: done/total, the failures in red, the elapsed time
    and the estimated time left. Elsewhere (a file, a pipe, a log), plain lines: one when
    the count changed and ``plain_interval`` seconds passed, and one at the end.

    Args:
        processes: the processes, or an object with ``processes`` (an Action, a Report).
        out: where to draw (default: stderr).
        description: the label in front of the bar.
        interval: seconds between two redraws of the bar.
        plain_interval: at most one plain line this often.
    """
    stream = out if out is not None else sys.stderr
    start = time.monotonic()
    if not _isatty(stream):
        async with anyio.create_task_group() as tg:

            async def plain() -> None:
                last = -1
                while True:
                    await anyio.sleep(plain_interval)
                    procs = _processes(processes)
                    done = sum(p.ended for p in procs)
                    if done != last:
                        last = done
                        stream.write(progress_line(procs, time.monotonic() - start) + "\n")
                        stream.flush()

            tg.start_soon(plain)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()
                line = progress_line(_processes(processes), time.monotonic() - start)
                stream.write(line + "\n")
                stream.flush()
        return

    from ._rich import ProcessesBar

    bar = ProcessesBar(stream, description)
    async with anyio.create_task_group() as tg:

        async def draw() -> None:
            while True:
                bar.update(_processes(processes))
                await anyio.sleep(interval)

        bar.start()
        tg.start_soon(draw)
        try:
            yield
        finally:
            tg.cancel_scope.cancel()
            bar.update(_processes(processes))
            bar.stop()
