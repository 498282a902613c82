"""The vocabulary of outcomes: a process's status in one word, what expect found, how errors
and signals are named (pure)."""

from __future__ import annotations

import dataclasses
import enum
import re
import signal as _signal
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = [
    "ExpectResult",
    "ProcessStatus",
    "RegexLike",
    "compile_regexes",
    "describe_start_error",
    "signal_name",
]


class ProcessStatus(enum.StrEnum):
    """Where a process stands, in one word (per host, for remote ones)."""

    NOT_STARTED = "not started"
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"  # ended with a non-zero exit code or an unexpected signal
    TIMEOUT = "timeout"
    KILLED = "killed"
    ERROR = "error"  # could not be started
    UNREACHABLE = "unreachable"  # remote host could not be reached or logged into


@dataclasses.dataclass(frozen=True, slots=True)
class ExpectResult:
    """What :meth:`ProcessBase.expect` found: the index of the regex and its match.

    Both are None when nothing matched (timeout or end of stream). It is truthy only on a
    match, so ``if await p.expect(...)`` reads naturally, and it unpacks like execo's pair:
    ``index, match = await p.expect(...)``.
    """

    index: int | None
    match: re.Match[str] | None

    def __bool__(self) -> bool:
        return self.match is not None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.index, self.match))


RegexLike = str | re.Pattern[str]
"""A regex for :meth:`~execo.ProcessBase.expect`: a string (compiled with ``re.MULTILINE``) or
a compiled pattern."""


def compile_regexes(regexes: RegexLike | Sequence[RegexLike]) -> list[re.Pattern[str]]:
    items: Sequence[RegexLike] = (
        [regexes] if isinstance(regexes, str | re.Pattern) else list(regexes)
    )
    if not items:
        raise ValueError("expect() needs at least one regex")
    return [r if isinstance(r, re.Pattern) else re.compile(r, re.MULTILINE) for r in items]


def pattern_list(patterns: list[re.Pattern[str]]) -> list[str]:
    return [p.pattern for p in patterns]


def describe_start_error(e: BaseException) -> str:
    if isinstance(e, FileNotFoundError) and e.filename:
        return f"command not found: {e.filename}"
    if isinstance(e, OSError) and e.errno == 24:
        return (
            "too many open files (EMFILE): raise the limit (ulimit -n) or run fewer "
            "processes at once"
        )
    if isinstance(e, OSError) and e.strerror:
        name = f": {e.filename}" if e.filename else ""
        return f"{e.strerror}{name}"
    return str(e) or type(e).__name__


def signal_name(sig: int) -> str:
    try:
        return _signal.Signals(sig).name
    except ValueError:
        return str(sig)
