"""The README demo: a netcat ring and a parameter sweep on a local cluster, with its Report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from execo.demo import experiment


def records(results: Path) -> list[dict[str, int]]:
    return [json.loads(p.read_text()) for p in sorted(results.glob("*.json"))]


async def test_demo_experiment_and_its_continuation(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    failures = await experiment(3, results=tmp_path)
    out = capsys.readouterr().out
    assert failures == 0, out
    assert "local cluster: 3 hosts up in" in out and out.rstrip().endswith("all ok")
    assert "netcat ring, 1 MB per host, 3 hosts" in out and "complete: True" in out
    assert "4 total, 4 done, 0 skipped, 0 in progress, 0 remaining" in out
    # the Report: 1 hostname action + 2 ring actions + 4 combinations x 2 actions
    assert out.count("receivers (") == 5 and out.count("senders (") == 5
    assert sorted((r["bytes"], r["hosts"]) for r in records(tmp_path)) == [
        (100_000, 2),
        (100_000, 3),
        (10_000_000, 2),
        (10_000_000, 3),
    ]
    # Run again on the same results: the sweep is done, nothing is run twice.
    assert await experiment(3, results=tmp_path) == 0
    again = capsys.readouterr().out
    assert again.count("receivers (") == 1  # only the ring before the sweep
    assert "4 done" in again and again.count(" B x ") == 4
