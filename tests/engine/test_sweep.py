"""sweep, HashableDict, geom, igeom, slugify, sweep_stats: examples and properties."""

from __future__ import annotations

import itertools
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from execo_engine import HashableDict, geom, igeom, slugify, sweep, sweep_stats

levels = st.lists(st.integers(-5, 5) | st.text(max_size=3), max_size=4, unique=True)
parameters = st.dictionaries(st.text(min_size=1, max_size=4), levels, max_size=4)


def test_sweep_examples_from_execo() -> None:
    assert sweep({"a": [1, 2], "b": []}) == [{"a": 1}, {"a": 2}]
    assert sweep({"a": {1: {}, 2: {"c": [5, 6]}}}) == [
        {"a": 1},
        {"a": 2, "c": 5},
        {"a": 2, "c": 6},
    ]


def test_sweep_order_first_factor_slowest() -> None:
    assert sweep({"x": [1, 2], "y": "ab"}) == [
        {"x": 1, "y": "a"},
        {"x": 1, "y": "b"},
        {"x": 2, "y": "a"},
        {"x": 2, "y": "b"},
    ]


def test_sweep_nested_restriction_combines_with_other_factors() -> None:
    combs = sweep({"algo": {"a": {"k": [1, 2]}, "b": None}, "n": range(2)})
    assert combs == [
        {"algo": "a", "k": 1, "n": 0},
        {"algo": "a", "k": 1, "n": 1},
        {"algo": "a", "k": 2, "n": 0},
        {"algo": "a", "k": 2, "n": 1},
        {"algo": "b", "n": 0},
        {"algo": "b", "n": 1},
    ]
    assert all(isinstance(c, HashableDict) for c in combs)


def test_sweep_rejects_levels_without_len() -> None:
    with pytest.raises(TypeError, match="factor 'a'"):
        sweep({"a": 3})  # type: ignore[dict-item]


def test_sweep_of_nothing_is_one_empty_combination() -> None:
    assert sweep({}) == [{}]
    assert sweep({"a": []}) == [{}]


@given(parameters)
def test_sweep_is_the_cartesian_product(params: dict[str, list[object]]) -> None:
    combs = sweep(params)
    kept = {k: v for k, v in params.items() if v}
    expected = [
        dict(zip(kept, values, strict=True)) for values in itertools.product(*kept.values())
    ]
    assert combs == expected
    assert len(set(combs)) == len(combs) == math.prod(len(v) for v in kept.values())


@given(st.dictionaries(st.text(max_size=3), st.integers() | st.text(max_size=3), max_size=5))
def test_hashable_dict_hash_ignores_insertion_order(items: dict[str, object]) -> None:
    forward = HashableDict(items)
    backward = HashableDict(reversed(list(items.items())))
    assert forward == backward
    assert hash(forward) == hash(backward)
    assert len({forward, backward}) == 1


def test_geom_and_igeom_examples() -> None:
    assert geom(1, 10, 0) == []
    assert geom(1, 10, 1) == [1.0]
    assert geom(1, 100, 3) == pytest.approx([1, 10, 100])
    assert igeom(1, 10, 20) == list(range(1, 11))
    assert igeom(1, 20, 5) == [1, 2, 4, 9, 20]
    with pytest.raises(ValueError, match="n must be"):
        geom(1, 2, -1)
    with pytest.raises(ValueError, match="bounds"):
        geom(0, 2, 3)


@given(
    st.floats(0.001, 1e6),
    st.floats(0.001, 1e6),
    st.integers(2, 50),
)
def test_geom_properties(start: float, stop: float, n: int) -> None:
    values = geom(start, stop, n)
    assert len(values) == n
    assert values[0] == pytest.approx(start)
    assert values[-1] == stop
    ratios = [b / a for a, b in itertools.pairwise(values)]
    assert all(r == pytest.approx(ratios[0], rel=1e-9) for r in ratios)


@given(st.integers(1, 1000), st.integers(1, 1000), st.integers(0, 40))
def test_igeom_properties(start: int, stop: int, n: int) -> None:
    values = igeom(start, stop, n)
    assert values == sorted(set(values))
    assert len(values) <= n
    if n:
        assert start in values
    if n >= 2:
        assert stop in values


def test_slugify_examples() -> None:
    assert slugify({"a": 1, "b": "x y"}, "_") == "a_1_b_x_y"
    assert slugify("  Héllo, Wörld!  ") == "hello-world"
    assert slugify("a -- b") == "a-b"


@given(st.text(max_size=30), st.sampled_from(["-", "_", "."]))
def test_slugify_output_is_file_name_safe(value: str, separator: str) -> None:
    slug = slugify(value, separator)
    assert re.fullmatch(r"[a-z0-9_.\-]*", slug)
    assert slug == slug.strip()
    assert slugify(slug, separator) == slug or separator == "."


def test_sweep_stats_counts_and_ratios() -> None:
    combs = sweep({"a": [1, 2], "b": [3, 4]})
    done = [combs[0], combs[1]]
    remaining = [combs[2], combs[3]]
    stats = sweep_stats((combs, remaining, [], [], done))
    assert stats["total"] == {"a": {1: 2, 2: 2}, "b": {3: 2, 4: 2}}
    assert stats["done"] == {"a": {1: 2}, "b": {3: 1, 4: 1}}
    assert stats["done_ratio"] == {"a": {1: 1.0, 2: 0.0}, "b": {3: 0.5, 4: 0.5}}
    assert stats["skipped_ratio"]["a"] == {1: 0.0, 2: 0.0}
