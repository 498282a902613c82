"""Results attached to combinations, and their export with the sweep's done combinations.

`Engine.attach_result` appends one line to ``<result_dir>/results.jsonl``::

    {"combination": {...}, "result": {...}, "time": <unix s>, "run": <run number>, "host": ...}

(one ``write`` on a file opened with ``O_APPEND``: workers of one machine may attach at the
same time; a line cut short by a crash is skipped when read). `export_results` writes the
done combinations of a sweeper, in sweep order, each with the last result attached to it,
as JSON lines or CSV.
"""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import time
from collections.abc import Iterable, Mapping
from typing import IO, Any, Final, Literal

from ._errors import EngineError
from ._records import decode_combinations, encode_combination
from ._sweep import HashableDict
from ._sweeper import ParamSweeper

__all__ = ["RESULTS_FILE", "append_result", "export_results", "read_results"]

RESULTS_FILE: Final = "results.jsonl"
Format = Literal["jsonl", "csv"]


def append_result(
    path: str | os.PathLike[str],
    combination: Mapping[str, Any],
    result: Mapping[str, Any],
    *,
    run: int | None = None,
) -> None:
    """Appends `result` for `combination` to a results file (one line, one write).

    Raises:
        EngineError: `result` is not a JSON object (a dict of JSON values).
        CombinationError: `combination` cannot be stored (see `ParamSweeper`).
    """
    if not isinstance(result, Mapping):
        raise EngineError(f"a result must be a dict, not {type(result).__name__}")
    record = {
        "combination": encode_combination(combination),
        "result": dict(result),
        "time": time.time(),
        "run": run,
        "host": socket.gethostname(),
    }
    try:
        line = json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n"
    except (TypeError, ValueError) as e:
        raise EngineError(f"the result of {dict(combination)!r} is not JSON: {e}") from e
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


def read_results(path: str | os.PathLike[str]) -> dict[HashableDict, dict[str, Any]]:
    """``{combination: the last result attached to it}`` of a results file (none: ``{}``)."""
    results: dict[HashableDict, dict[str, Any]] = {}
    try:
        f = open(path, encoding="utf-8")  # noqa: SIM115
    except FileNotFoundError:
        return results
    with f:
        for line in f:
            try:
                record = decode_combinations(line)
            except ValueError:
                continue  # a line cut short by a crash
            if isinstance(record, dict) and isinstance(record.get("combination"), HashableDict):
                results[record["combination"]] = dict(record.get("result") or {})
    return results


def _plain(value: object) -> object:
    """JSON for the levels JSON lacks: a frozenset as a sorted list."""
    if isinstance(value, frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), default=_plain)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str | int | float | bool):
        return str(value)
    return _json(value)


def _rows(
    combinations: Iterable[HashableDict], results: Mapping[HashableDict, dict[str, Any]]
) -> list[tuple[HashableDict, dict[str, Any] | None]]:
    return [(c, results.get(c)) for c in combinations]


def export_results(
    sweeper: ParamSweeper,
    destination: str | os.PathLike[str] | IO[str],
    *,
    results: str | os.PathLike[str],
    format: Format = "jsonl",
) -> int:
    """Writes the sweeper's done combinations with the results attached to them.

    Args:
        sweeper: The sweeper (``ParamSweeper(dir)`` opens a stored one).
        destination: A file path, or an open text file.
        results: The results file (``<result_dir>/results.jsonl``), or a result directory.
        format: ``"jsonl"``: one ``{"combination": {...}, "result": {...} or null}`` per
            line; ``"csv"``: a header, then one row per combination: its factors, then the
            result's keys (prefixed ``result.`` if a factor has the same name); values that
            are not scalars are written as JSON.

    Returns:
        The number of combinations written.

    Raises:
        ValueError: An unknown format.
    """
    if format not in ("jsonl", "csv"):
        raise ValueError(f"format must be 'jsonl' or 'csv', got {format!r}")
    path = os.fspath(results)
    if os.path.isdir(path):
        path = os.path.join(path, RESULTS_FILE)
    rows = _rows(sweeper.get_done(), read_results(path))
    out = io.StringIO()
    if format == "jsonl":
        for combination, result in rows:
            out.write(_json({"combination": combination, "result": result}) + "\n")
    else:
        factors = list(dict.fromkeys(k for c, _ in rows for k in c))
        keys = list(dict.fromkeys(k for _, r in rows for k in (r or {})))
        names = [f"result.{k}" if k in factors else k for k in keys]
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*factors, *names])
        for combination, result in rows:
            writer.writerow(
                [_cell(combination.get(f)) for f in factors]
                + [_cell((result or {}).get(k)) for k in keys]
            )
    if isinstance(destination, str | os.PathLike):
        with open(destination, "w", encoding="utf-8", newline="") as f:
            f.write(out.getvalue())
    else:
        destination.write(out.getvalue())
    return len(rows)
