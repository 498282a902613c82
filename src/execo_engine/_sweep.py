"""Parameter sweeps: the cartesian product of factors, and geometric level sequences."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from typing import Any, TypeAlias

__all__ = [
    "HashableDict",
    "Parameters",
    "geom",
    "igeom",
    "sweep",
    "sweep_stats",
]

#: What ``sweep`` accepts: a factor name mapped to its levels (a sized iterable), or to a dict
#: ``{level: sub_parameters}`` whose sub-parameters are swept only together with that level.
Parameters: TypeAlias = Mapping[str, Collection[Any]]


class HashableDict(dict[str, Any]):
    """A dict usable as a set member or dict key: one combination of a sweep.

    Its hash is that of the frozenset of its items, so its values must be hashable. Do not
    modify it once it is in a set, a dict or a ParamSweeper.
    """

    __slots__ = ()

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))


def _check_levels(factor: str, levels: object) -> Collection[Any]:
    if isinstance(levels, Collection):
        return levels
    raise TypeError(
        f"sweep: the levels of factor {factor!r} must be a sized iterable or a dict, "
        f"not {type(levels).__name__}"
    )


def sweep(parameters: Parameters) -> list[HashableDict]:
    """Every combination of the levels of the factors, in the parameters' order.

    The first factor varies slowest. A factor whose levels are empty is left out. A factor given
    as a dict ``{level: sub_parameters}`` combines each level with the sweep of its own
    ``sub_parameters`` (a nested parameters dict, possibly empty or None).

    Args:
        parameters: factor name to levels (any sized iterable; a str counts as its characters),
            or factor name to ``{level: sub_parameters}``.

    Returns:
        A list of :class:`HashableDict`, one per combination.

    Raises:
        TypeError: when the levels of a factor are not a sized iterable (an int, say).

    Example:
        >>> sweep({"a": {1: {}, 2: {"c": [5, 6]}}, "b": []})
        [{'a': 1}, {'a': 2, 'c': 5}, {'a': 2, 'c': 6}]
    """
    combinations: list[HashableDict] = [HashableDict()]
    for factor, raw_levels in parameters.items():
        levels = _check_levels(factor, raw_levels)
        if len(levels) == 0:
            continue
        if isinstance(levels, Mapping):
            branches: list[HashableDict] = []
            for level, sub in levels.items():
                for sub_comb in sweep(sub or {}):
                    branch = HashableDict({factor: level})
                    branch.update(sub_comb)
                    branches.append(branch)
        else:
            branches = [HashableDict({factor: level}) for level in levels]
        extended: list[HashableDict] = []
        for comb in combinations:
            for branch in branches:
                new = HashableDict(comb)
                new.update(branch)
                extended.append(new)
        combinations = extended
    return combinations


def geom(start: float, stop: float, n: int) -> list[float]:
    """``n`` values in geometric progression from ``start`` to ``stop``, both included.

    Args:
        start: first value, > 0.
        stop: last value, > 0 (it may be below ``start``: the progression then decreases).
        n: how many values (0 gives ``[]``, 1 gives ``[start]``).

    Raises:
        ValueError: when ``n < 0`` or a bound is not positive.
    """
    if n < 0:
        raise ValueError(f"geom: n must be >= 0, not {n}")
    if start <= 0 or stop <= 0:
        raise ValueError(f"geom: bounds must be > 0, not {start} and {stop}")
    if n == 0:
        return []
    if n == 1:
        return [float(start)]
    ratio = (stop / start) ** (1.0 / (n - 1))
    values = [start * ratio**i for i in range(n - 1)]
    values.append(float(stop))
    return values


def igeom(start: int, stop: int, n: int) -> list[int]:
    """The values of :func:`geom` rounded (half up) to integers, deduplicated and sorted.

    There may be fewer than ``n`` of them: ``igeom(1, 10, 20)`` is ``[1, 2, ..., 10]``.
    """
    return sorted({math.floor(value + 0.5) for value in geom(start, stop, n)})


_STATES = ("remaining", "skipped", "inprogress", "done")


def sweep_stats(
    stats: tuple[Iterable[Mapping[str, Any]], ...],
) -> dict[str, dict[str, dict[Any, float]]]:
    """Counts per factor and level, from the output of ``ParamSweeper.stats()``.

    Args:
        stats: ``(sweeps, remaining, skipped, inprogress, done)``, each an iterable of
            combinations.

    Returns:
        A dict with keys ``total``, ``remaining``, ``skipped``, ``inprogress``, ``done``, each
        mapping a factor to ``{level: count}``, and the same keys suffixed ``_ratio`` mapping a
        factor to ``{level: count / total count of that level}``.
    """
    sweeps, *others = stats
    names = ("total", *_STATES)
    counts: dict[str, dict[str, dict[Any, float]]] = {name: {} for name in names}
    for name, combinations in zip(names, (sweeps, *others), strict=True):
        table = counts[name]
        for comb in combinations:
            for factor, level in comb.items():
                per_level = table.setdefault(factor, {})
                per_level[level] = per_level.get(level, 0) + 1
    result = dict(counts)
    totals = counts["total"]
    for name in _STATES:
        result[name + "_ratio"] = {
            factor: {
                level: counts[name].get(factor, {}).get(level, 0) / total
                for level, total in levels.items()
            }
            for factor, levels in totals.items()
        }
    return result
