"""The sweeper's on-disk encoding, without any I/O: framed records and combination values.

Every sweeper file is a sequence of lines ``<crc32 as 8 hex digits> <json>\\n``. The checksum
covers the JSON bytes, so a line cut short by a crash, or garbage after one, is recognised and
the file is cut back to its last good record. Any Python (or anything with a JSON parser and
crc32) can read the files.

Combination values are stored as JSON, with tags for the hashable types JSON lacks::

    (1, "a")            {"$tuple": [1, "a"]}
    frozenset({1, 2})   {"$frozenset": [1, 2]}
    HashableDict(...)   {"$dict": [[key, value], ...]}
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Mapping
from typing import Any, Final

from ._errors import CombinationError
from ._sweep import HashableDict

__all__ = [
    "decode_chunk",
    "decode_combinations",
    "dumps",
    "encode_combination",
    "encode_event",
    "frame",
    "parse_events",
    "parse_records",
    "split_records",
]

_TAGS: Final = ("$tuple", "$frozenset", "$dict")
_DECODER: Final = json.JSONDecoder()


def frame(body: bytes) -> bytes:
    """One record line: the crc32 of ``body``, a space, ``body`` (one line of JSON), newline."""
    return b"%08x %b\n" % (zlib.crc32(body), body)


def dumps(obj: object) -> bytes:
    """Compact ASCII JSON."""
    return json.dumps(obj, separators=(",", ":")).encode("ascii")


def encode_event(event: list[Any]) -> bytes:
    """One framed journal event (the common ones formatted directly: same bytes as JSON)."""
    target = event[1]
    if type(target) is int:
        if len(event) == 2:
            return frame(b'["%s",%d]' % (event[0].encode("ascii"), target))
        token = event[2]
        if len(event) == 3 and type(token) is str and token.isalnum() and token.isascii():
            return frame(b'["%s",%d,"%s"]' % (event[0].encode("ascii"), target, token.encode()))
    return frame(dumps(event))


def split_records(data: bytes) -> tuple[list[bytes], int]:
    """The bodies of the whole, undamaged framed lines at the start of ``data``.

    Returns:
        ``(bodies, good)``: the JSON bytes of each good line, undecoded, and how many bytes of
        ``data`` they take (see :func:`parse_records`).
    """
    bodies: list[bytes] = []
    append = bodies.append
    crc32 = zlib.crc32
    pos = 0
    lines = data.split(b"\n")
    lines.pop()  # what follows the last newline: empty, or a line not (yet) whole
    for line in lines:
        body = line[9:]
        if len(line) < 10 or line[8] != 0x20 or line[:8] != b"%08x" % crc32(body):
            break
        append(body)
        pos += len(line) + 1
    return bodies, pos


def parse_events(data: bytes) -> tuple[list[Any], int]:
    """:func:`parse_records` for journals, with one ``json.loads`` for all the lines."""
    bodies, good = split_records(data)
    if not bodies:
        return [], good
    text = (b"[%b]" % b",".join(bodies)).decode("utf-8", "replace")
    try:
        events, end = _DECODER.raw_decode(text)  # json.loads(bytes) costs 2x more
    except ValueError:  # pragma: no cover - a matching crc32 over bad JSON: find which
        return parse_records(data)
    if end != len(text) or len(events) != len(bodies):  # pragma: no cover - as above
        return parse_records(data)
    return events, good


def parse_records(data: bytes, loads: Callable[[bytes], Any] = json.loads) -> tuple[list[Any], int]:
    """The records of ``data``, a run of framed lines, up to the first one that is not whole.

    Args:
        data: bytes read from a record file.
        loads: the JSON decoder for one line.

    Returns:
        ``(records, good)``: the decoded JSON of each good line, and how many bytes of ``data``
        they take. ``good < len(data)`` means a torn or damaged tail starts at ``good``.
    """
    records: list[Any] = []
    append = records.append
    crc32 = zlib.crc32
    pos = 0
    end = len(data)
    while pos < end:
        nl = data.find(b"\n", pos)
        if nl < 0 or nl - pos < 10 or data[pos + 8] != 0x20:
            break
        body = data[pos + 9 : nl]
        if data[pos : pos + 8] != b"%08x" % crc32(body):
            break
        try:
            append(loads(body))
        except ValueError:  # pragma: no cover - a matching crc32 over bad JSON
            break
        pos = nl + 1
    return records, pos


def _encode_value(value: object, where: str) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple):
        return {"$tuple": [_encode_value(v, where) for v in value]}
    if isinstance(value, frozenset):
        return {"$frozenset": [_encode_value(v, where) for v in value]}
    if isinstance(value, Mapping):
        return {
            "$dict": [[_encode_value(k, where), _encode_value(v, where)] for k, v in value.items()]
        }
    raise CombinationError(
        f"{where}: a ParamSweeper stores levels of type None, bool, int, float, str, tuple, "
        f"frozenset or dict of those; not {type(value).__name__} ({value!r})"
    )


def encode_combination(combination: Mapping[str, Any]) -> dict[str, object]:
    """The JSON-ready form of a combination.

    Raises:
        CombinationError: a factor name is not a str or starts with ``$``, or a level has a
            type JSON cannot carry back.
    """
    out: dict[str, object] = {}
    for factor, level in combination.items():
        name: object = factor  # callers may break the annotation: check at run time
        if not isinstance(name, str) or name.startswith("$"):
            raise CombinationError(
                f"factor names must be str not starting with '$', not {factor!r}"
            )
        out[factor] = _encode_value(level, f"factor {factor!r}")
    return out


def _decode_object(pairs: list[tuple[str, Any]]) -> object:
    if len(pairs) == 1 and pairs[0][0] in _TAGS:
        tag, payload = pairs[0]
        if tag == "$tuple":
            return tuple(payload)
        if tag == "$frozenset":
            return frozenset(payload)
        return HashableDict({k: v for k, v in payload})
    return HashableDict(pairs)


def decode_combinations(body: bytes | str) -> Any:
    """Parse JSON whose objects are combinations or tagged values (see the module docstring)."""
    return json.loads(body, object_pairs_hook=_decode_object)


def decode_chunk(body: bytes) -> list[Any]:
    """Parse a record of the combinations file: its objects become :class:`HashableDict`.

    Without any ``"$`` in it (no tagged value, no factor or str level starting with ``$``)
    every JSON object is a combination: plain ``json.loads`` then one copy each is 3x faster
    than a decoding hook.
    """
    if b'"$' in body:
        return decode_combinations(body)  # type: ignore[no-any-return]
    record: list[Any] = json.loads(body)
    for i, item in enumerate(record):
        if isinstance(item, list):
            record[i] = list(map(HashableDict, item))
    return record
