"""Pure parts: state records (PIDs proof against reuse, atomic claims, tolerant listing),
traffic-shaping arguments, exports."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import execo.testbed
from execo.testbed import ClusterState, default_state_dir, list_states
from execo.testbed._backend import Shaping
from execo.testbed._state import (
    ProcRef,
    claim_state,
    descendants,
    ensure_state_dir,
    proc_ref,
    write_state,
)


def test_proc_ref_is_proof_against_pid_reuse() -> None:
    me = proc_ref(os.getpid())
    assert me is not None and me.alive()
    assert not ProcRef(os.getpid(), me.start + 1).alive()
    child = subprocess.Popen(["sleep", "10"])
    ref = proc_ref(child.pid)
    assert ref is not None and ref in descendants([os.getpid()])
    child.kill()
    child.wait()
    assert not ref.alive() and proc_ref(child.pid) is None


def test_claim_is_exclusive_and_state_round_trips(tmp_path: Path) -> None:
    owner = proc_ref(os.getpid())
    state = ClusterState(id="ns7", mode="netns", n=2, owner=owner, workdir="/nowhere")
    assert claim_state(tmp_path, state)
    other = ClusterState(id="ns7", mode="netns", n=1, owner=owner, workdir="/elsewhere")
    assert not claim_state(tmp_path, other)
    state.namespaces = ["execo7-node-1"]
    state.servers = [ProcRef(1, 2)]
    write_state(state)
    [loaded] = list_states(tmp_path)
    assert loaded == state and loaded.path == tmp_path / "ns7.json"
    assert not loaded.stale and not loaded.detached


def test_dead_owner_is_stale_no_owner_is_detached(tmp_path: Path) -> None:
    dead = ClusterState(id="a", mode="loopback", n=1, owner=ProcRef(1, -1), workdir="")
    assert dead.stale and not dead.detached
    detached = ClusterState(id="b", mode="loopback", n=1, owner=None, workdir="")
    assert detached.detached and not detached.stale


def test_unreadable_state_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "junk.json").write_text("{not json")
    (tmp_path / "half.json").write_text('{"id": "x"}')
    assert list_states(tmp_path) == []
    assert list_states(tmp_path / "missing") == []


def test_state_dir_default_and_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EXECO_TESTBED_STATE_DIR", str(tmp_path / "s"))
    assert default_state_dir() == tmp_path / "s"
    monkeypatch.delenv("EXECO_TESTBED_STATE_DIR")
    expected = "/run/execo-testbed" if os.geteuid() == 0 else None
    if expected:
        assert default_state_dir() == Path(expected)
    assert ensure_state_dir(tmp_path / "s") == tmp_path / "s"


def test_exports() -> None:
    public = {name for name in dir(execo.testbed) if not name.startswith("_")}
    assert set(execo.testbed.__all__) == public


def test_shaping_builds_netem_arguments() -> None:
    assert Shaping().empty and not Shaping().rate_only
    assert Shaping(rate=10_000_000).rate_only
    assert Shaping(delay=0.05, jitter=0.01, loss=1.5, rate="10mbit").netem_args() == [
        "delay", "50.000ms", "10.000ms", "loss", "1.5%", "rate", "10mbit",
    ]  # fmt: skip
    assert Shaping(jitter=0.002).netem_args() == ["delay", "0.000ms", "2.000ms"]
    assert Shaping(rate=8000).netem_args() == ["rate", "8000bit"]


@pytest.mark.parametrize(
    ("rate", "bits", "burst"),
    [
        ("1gbit", 1e9, 500_000),  # 4 ms of the rate: above TCP's 64 KiB segments
        ("2.5gbit", 2.5e9, 1_250_000),
        ("100mbps", 8e8, 400_000),  # bytes per second
        ("1gibit", 2**30, 536_870),
        ("10mbit", 1e7, 32 * 1024),  # never below 32 KiB
        (8000, 8000, 32 * 1024),
        ("8000", 8000, 32 * 1024),  # a bare number is bit/s, as for tc
        ("12 furlongs", None, 32 * 1024),  # unknown to us: tc's to judge, 32 KiB
    ],
)
def test_a_tbf_bucket_holds_4_ms_of_the_rate(
    rate: str | int, bits: float | None, burst: int
) -> None:
    shaping = Shaping(rate=rate)
    assert shaping.bits_per_second() == bits
    args = shaping.tbf_args()
    assert args[:3] == ["tbf", "rate", shaping.tc_rate()]
    assert args[args.index("burst") + 1] == str(burst)


@pytest.mark.parametrize(
    ("bad", "match"),
    [({"delay": -1.0}, "delay"), ({"loss": 150.0}, "percentage"), ({"rate": 0}, "rate")],
)
def test_shaping_rejects_bad_values(bad: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Shaping(**bad)  # type: ignore[arg-type]
