"""The README demo runs its experiment on a local cluster and reports every host ok."""

from __future__ import annotations

import pytest

from execo.demo import experiment


async def test_demo_experiment(capsys: pytest.CaptureFixture[str]) -> None:
    failures = await experiment(3)
    out = capsys.readouterr().out
    assert failures == 0, out
    assert "cluster: 3 hosts up in" in out and out.rstrip().endswith("all ok")
    assert out.count("received 1000000 bytes") == 3
