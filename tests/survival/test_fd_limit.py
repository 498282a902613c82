"""A local resource limit slows an action, never fails a host: 300 hosts under a 128-file
limit all succeed, on every transport (asyncssh budgets its sockets against the limit and
queues the rest, as the ssh transport's fanout does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from execo.testbed import LoopbackSshd

SCRIPT = Path(__file__).with_name("limited.py")
N = 300


@pytest.fixture(scope="module")
def sshd_300() -> Iterator[LoopbackSshd]:
    with LoopbackSshd(N, first=2) as server:
        yield server


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["ssh", "asyncssh", "taktuk"])
def test_300_hosts_under_128_open_files(sshd_300: LoopbackSshd, transport: str) -> None:
    root = Path(__file__).parents[2]
    argv = [sys.executable, str(SCRIPT), transport, str(sshd_300.port), str(sshd_300.keyfile)]
    run = subprocess.run(
        [*argv, str(N), "128"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root / "src"), "EXECO_CONFIG_FILE": ""},
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(run.stdout)
    assert report["statuses"] == {"ok": N}, report
