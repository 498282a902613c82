"""Small shared helpers: the UNSET sentinel, command-line naming, output compaction."""

from __future__ import annotations

import enum
import shlex
from collections.abc import Iterable, Sequence
from typing import Final, Literal, TypeAlias


class _UnsetType(enum.Enum):
    """Type of the :data:`UNSET` sentinel ("not given: inherit the default")."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _UnsetType.UNSET
"""Sentinel meaning "not given": the value is inherited from the next layer of defaults."""

Unset: TypeAlias = Literal[_UnsetType.UNSET]
"""The type of :data:`UNSET`, for annotations like ``int | Unset``."""


def str_from_cmdline(cmd: str | Sequence[str]) -> str:
    """A shell-readable string for a command given as a string or an argv sequence."""
    if isinstance(cmd, str):
        return cmd
    return shlex.join(cmd)


def name_from_cmdline(cmd: str | Sequence[str], width: int = 39) -> str:
    """A short one-line name for a command: whitespace collapsed, cut to ``width`` chars."""
    one_line = " ".join(str_from_cmdline(cmd).split())
    if len(one_line) > width:
        return one_line[: width - 3] + "..."
    return one_line


def compact_output(text: str, threshold: int) -> str:
    """Shorten ``text`` to its first and last halves of ``threshold`` chars (0: keep all)."""
    if threshold <= 0 or len(text) <= threshold:
        return text
    half = threshold // 2
    return text[:half] + "\n[...]\n" + text[-half:]


def comma_join(*parts: str) -> str:
    """Join the non-empty strings with ``", "``."""
    return ", ".join(p for p in parts if p)


def singleton_to_list(x: object) -> list[object]:
    """``None`` gives ``[]``, a string or a non-iterable gives ``[x]``, else ``list(x)``."""
    if x is None:
        return []
    if isinstance(x, str | bytes) or not isinstance(x, Iterable):
        return [x]
    return list(x)
