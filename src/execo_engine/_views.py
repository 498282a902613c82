"""Read-only snapshots of a sweeper's combinations and counts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, NamedTuple

from ._sweep import HashableDict

__all__ = ["CombinationSet", "SweeperCounts", "SweeperStats"]


class CombinationSet(AbstractSet[HashableDict]):
    """The combinations of a sweeper that were in some states when the snapshot was taken.

    Taking it copies one byte per stored combination. ``len()``, ``bool()`` and ``in`` cost
    O(1); iterating walks the sweep in order, O(total). It compares equal to any set of the
    same combinations, and the set operators (``&``, ``|``, ``-``) give plain sets.
    """

    __slots__ = ("_combinations", "_len", "_lookup", "_order", "_pos", "_states", "_wanted")

    def __init__(
        self,
        *,
        states: bytes,
        wanted: frozenset[int],
        order: Sequence[int],
        pos: Sequence[int],
        lookup: Callable[[HashableDict], int | None],
        combinations: Sequence[HashableDict],
        length: int,
    ) -> None:
        self._states = states
        self._wanted = wanted
        self._order = order
        self._pos = pos
        self._lookup = lookup
        self._combinations = combinations
        self._len = length

    def __len__(self) -> int:
        return self._len

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, dict):
            return False
        try:
            i = self._lookup(item if isinstance(item, HashableDict) else HashableDict(item))
        except TypeError:  # unhashable levels
            return False
        return (
            i is not None
            and i < len(self._states)
            and i < len(self._pos)
            and self._pos[i] >= 0
            and self._states[i] in self._wanted
        )

    def __iter__(self) -> Iterator[HashableDict]:
        states = self._states
        wanted = self._wanted
        combinations = self._combinations
        for i in self._order:
            if states[i] in wanted:
                yield combinations[i]

    @classmethod
    def _from_iterable(cls, it: Iterable[Any]) -> set[Any]:
        return set(it)

    def __repr__(self) -> str:
        return f"<CombinationSet of {self._len} combinations>"


class SweeperCounts(NamedTuple):
    """How many combinations of a sweeper's sweeps are in each state."""

    total: int
    remaining: int
    skipped: int
    inprogress: int
    done: int


class SweeperStats(NamedTuple):
    """One consistent snapshot of a sweeper (a tuple, as ``sweep_stats`` expects)."""

    sweeps: CombinationSet
    remaining: CombinationSet
    skipped: CombinationSet
    inprogress: CombinationSet
    done: CombinationSet
