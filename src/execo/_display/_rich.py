"""What is drawn with rich: the progress bar of :func:`execo.progress` (imported only when
a bar is drawn, so that ``import execo`` stays cheap)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from .._core._process import ProcessBase

__all__ = ["ProcessesBar", "console_for"]


def console_for(out: TextIO) -> Console:
    """A rich Console drawing on ``out``, as wide as ``out``'s own terminal (rich would ask
    the process's standard streams)."""
    try:
        width: int | None = os.get_terminal_size(out.fileno()).columns or None
    except (AttributeError, ValueError, OSError):
        width = None
    return Console(file=out, width=width)


class _FailedColumn(ProgressColumn):
    """``2 failed`` in red, nothing while none failed."""

    def render(self, task: Task) -> Text:
        failed = int(task.fields.get("failed", 0))
        return Text(f"{failed} failed", style="bold red") if failed else Text("")


class ProcessesBar:
    """A rich progress bar over processes: done/total, failures, elapsed, time left."""

    def __init__(self, out: TextIO, description: str) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(complete_style="green", finished_style="green"),
            MofNCompleteColumn(),
            _FailedColumn(),
            TextColumn("elapsed"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=console_for(out),
            auto_refresh=False,  # redrawn by our own task: no thread
        )
        self._task = self._progress.add_task(description, total=None, failed=0)

    def start(self) -> None:
        self._progress.start()

    def update(self, processes: Sequence[ProcessBase]) -> None:
        done = sum(p.ended for p in processes)
        failed = sum(p.ended and not p.ok for p in processes)
        self._progress.update(self._task, completed=done, total=len(processes), failed=failed)
        self._progress.refresh()

    def stop(self) -> None:
        self._progress.stop()
