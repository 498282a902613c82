"""Fixtures for the local-cluster tests: a private state directory, leftover checks."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from execo.testbed import ClusterState, list_states, teardown
from execo.testbed._netns import netns_available
from execo.testbed._state import ProcRef, netns_pids

NETNS_REASON = netns_available()

needs_netns = pytest.mark.skipif(
    NETNS_REASON is not None, reason=f"netns mode not available: {NETNS_REASON}"
)


@pytest.fixture
def state_dir(tmp_path: Path) -> Iterator[Path]:
    """A state directory of the test's own (cluster slots stay global, so no clash).

    Whatever a test leaves recorded there (it failed half-way) is torn down after it.
    """
    path = tmp_path / "state"
    yield path
    left = {state.id: teardown(state) for state in list_states(path)}
    assert not any(left.values()), f"could not tear down: {left}"


@pytest.fixture(scope="session")
def netem() -> None:
    """Skip unless the kernel has tc netem (probed in a throw-away namespace)."""
    ns = f"execo-probe-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        probe = subprocess.run(
            ["tc", "-n", ns, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"],
            capture_output=True,
            text=True,
        )
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True)
    if probe.returncode != 0:
        pytest.skip(f"kernel without tc netem: {probe.stderr.strip()}")


def netns_names() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def link_names() -> set[str]:
    return set(os.listdir("/sys/class/net"))


def processes_mentioning(text: str) -> list[str]:
    """Live processes whose command line contains ``text``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if text in cmdline and stat[stat.rindex(")") + 2] != "Z":
            found.append(f"{entry}: {cmdline}")
    return found


class Snapshot:
    """What a running cluster has on the machine, to check that none of it survives."""

    def __init__(self, state: ClusterState) -> None:
        self.state = state
        self.pids: list[ProcRef] = netns_pids(state.namespaces) + list(state.servers)

    def leftovers(self, now_used_by: ClusterState | None = None) -> list[str]:
        """What is still there; ``now_used_by``: a new cluster that reuses the slot."""
        left = [f"pid {r.pid}" for r in self.pids if r.alive()]
        left += sorted(set(self.state.namespaces) & netns_names())
        links = set(self.state.veths) | ({self.state.bridge} if self.state.bridge else set())
        left += sorted(links & link_names())
        left += processes_mentioning(self.state.workdir)
        if Path(self.state.workdir).exists():
            left.append(self.state.workdir)
        if self.state.path is not None and self.state.path.exists():
            left.append(str(self.state.path))
        if now_used_by is not None:
            reused = {now_used_by.bridge, str(now_used_by.path), *now_used_by.namespaces}
            reused.update(now_used_by.veths)
            left = [item for item in left if item not in reused]
        return left
