"""The on-disk encoding: framed records survive truncation and damage; levels round-trip."""

from __future__ import annotations

import json
import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from execo_engine import CombinationError, HashableDict
from execo_engine._records import (
    decode_combinations,
    dumps,
    encode_combination,
    frame,
    parse_records,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=8,
)
records = st.lists(json_values, max_size=8)
hashable_levels = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3),
    max_leaves=6,
)
combinations = st.dictionaries(
    st.text(max_size=5).filter(lambda k: not k.startswith("$")), hashable_levels, max_size=4
)


def _stream(items: list[Any]) -> bytes:
    return b"".join(frame(dumps(r)) for r in items)


@given(records)
def test_framed_stream_parses_back(items: list[Any]) -> None:
    data = _stream(items)
    parsed, good = parse_records(data)
    assert parsed == items
    assert good == len(data)


@given(records, st.data())
def test_any_truncation_gives_a_prefix_and_where_to_cut(
    items: list[Any], data: st.DataObject
) -> None:
    stream = _stream(items)
    cut = data.draw(st.integers(0, len(stream)))
    parsed, good = parse_records(stream[:cut])
    assert parsed == items[: len(parsed)]
    assert good == len(_stream(parsed))
    assert good <= cut


@given(records.filter(bool), st.data())
def test_damage_is_detected_not_misread(items: list[Any], data: st.DataObject) -> None:
    stream = bytearray(_stream(items))
    at = data.draw(st.integers(0, len(stream) - 1))
    flip = data.draw(st.integers(1, 255))
    stream[at] ^= flip
    parsed, good = parse_records(bytes(stream))
    # Everything before the damaged record is kept, nothing wrong is returned.
    assert parsed == items[: len(parsed)]
    assert good <= at + 1


def test_frame_is_crc_space_json_newline() -> None:
    body = b'["d",3]'
    line = frame(body)
    assert line == b"%08x %b\n" % (zlib.crc32(body), body)
    assert json.loads(line[9:]) == ["d", 3]


@given(combinations)
def test_combinations_round_trip_through_json(comb: dict[str, Any]) -> None:
    encoded = dumps(encode_combination(comb))
    decoded = decode_combinations(encoded)
    assert isinstance(decoded, HashableDict)
    assert decoded == comb
    assert hash(decoded) == hash(HashableDict(comb))
    for key, value in comb.items():
        assert type(decoded[key]) is type(value)


def test_nested_dict_levels_round_trip() -> None:
    comb = {"a": HashableDict({"x": (1, 2)}), "b": frozenset({"u"})}
    decoded = decode_combinations(dumps(encode_combination(comb)))
    assert decoded == comb
    assert isinstance(decoded["a"], HashableDict)


@pytest.mark.parametrize(
    ("comb", "match"),
    [
        ({"a": [1, 2]}, "not list"),
        ({"a": object()}, "not object"),
        ({"$tuple": 1}, "factor names"),
        ({3: 1}, "factor names"),
    ],
)
def test_unstorable_combinations_are_refused(comb: dict[Any, Any], match: str) -> None:
    with pytest.raises(CombinationError, match=match):
        encode_combination(comb)


@given(
    st.sampled_from(["d", "s", "c", "g", "x"]),
    st.integers(0, 10**9) | st.lists(st.integers(0, 100), max_size=3) | st.booleans(),
    st.none() | st.text(alphabet="0123456789abcdef", min_size=1, max_size=12) | st.text(max_size=3),
)
def test_fast_event_encoding_is_plain_json(op: str, target: object, token: str | None) -> None:
    from execo_engine._records import encode_event

    event: list[Any] = [op, target] if token is None else [op, target, token]
    assert encode_event(event) == frame(dumps(event))
