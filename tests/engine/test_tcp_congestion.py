"""The g5k_tcp_congestion structure as an Engine, interrupted twice and continued with -c.

First run: Ctrl-C (SIGINT) mid-sweep; the combinations being measured are cancelled back to
todo and execo-run exits 130. Second run, ``-c DIR``: SIGKILLed mid-sweep; its in-progress
combinations stay behind. Third run, ``-c`` with a relative path: the dead run's combinations
are reclaimed, and the sweep finishes. At the end every combination is done exactly once.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

from execo_engine import ParamSweeper, slugify, sweep

SAMPLE = Path(__file__).with_name("samples") / "LocalTcpCongestion.py"
EXECO_RUN = str(Path(sys.executable).with_name("execo-run"))
COMBS = sweep(
    {"num_flows": [1, 2, 4, 9, 20], "tcp_congestion_control": ["cubic", "reno"], "repeat": range(3)}
)


def _start(cwd: Path, *args: str) -> subprocess.Popen[str]:
    # A session of its own, so that the SIGKILL below can take the whole process group
    # (the run and its "server" and "client" processes) like a crash of the machine would.
    return subprocess.Popen(
        [EXECO_RUN, str(SAMPLE), "--delay", "0.05", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for_done_lines(done_log: Path, n: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if done_log.exists() and len(done_log.read_text().splitlines()) >= n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise AssertionError(f"fewer than {n} combinations done in 60 s")


def test_interrupted_twice_then_continued_with_c(tmp_path: Path) -> None:
    first = _start(tmp_path)
    try:
        (result_dir,) = _wait_for_dir(tmp_path, first)
        done_log = result_dir / "done.log"
        _wait_for_done_lines(done_log, 6, first)
        first.send_signal(signal.SIGINT)
        _, err = first.communicate(timeout=60)
    finally:
        _reap(first)
    assert first.returncode == 130, err
    with ParamSweeper(result_dir / "sweeper") as s:
        counts = s.counts()
    assert counts.inprogress == 0  # cancelled on the way out
    assert 6 <= counts.done < 30

    second = _start(tmp_path, "-c", str(result_dir))
    try:
        _wait_for_done_lines(done_log, counts.done + 6, second)
        os.killpg(second.pid, signal.SIGKILL)
        second.communicate(timeout=60)
    finally:
        _reap(second)
    with ParamSweeper(result_dir / "sweeper", auto_reclaim=False) as s:
        killed_counts = s.counts()
    assert killed_counts.done < 30

    third = _start(tmp_path, "-c", result_dir.name)
    try:
        _out, err = third.communicate(timeout=120)
    finally:
        _reap(third)
    assert third.returncode == 0, err
    assert "30 total, 30 done, 0 skipped, 0 in progress, 0 remaining" in err

    # Exactly once: one result file per combination, one done record per combination.
    results = sorted(p.name for p in (result_dir / "results").iterdir())
    assert results == sorted(slugify(c, "_") + ".yaml" for c in COMBS)
    with ParamSweeper(result_dir / "sweeper") as s:
        assert set(s.get_done()) == set(COMBS)
    done_records = collections.Counter(
        i for event in _journal(result_dir / "sweeper") if event[0] == "d" for i in _idx(event[1])
    )
    assert sorted(done_records) == list(range(30))
    assert set(done_records.values()) == {1}
    lines = done_log.read_text().splitlines()
    assert len(lines) == len(set(lines))  # no done() completed twice
    log = (result_dir / "engine.log").read_text()
    assert log.count(f"run in directory {result_dir}") == 3


def _wait_for_dir(cwd: Path, proc: subprocess.Popen[str]) -> list[Path]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = list(cwd.glob("LocalTcpCongestion_*"))
        if found:
            return found
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise AssertionError("no result directory")


def _reap(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)


def _journal(store: Path) -> list[list[object]]:
    events = []
    for line in (store / "journal.0.jsonl").read_bytes().splitlines()[1:]:
        crc, body = line.split(b" ", 1)
        assert int(crc, 16) == zlib.crc32(body)
        events.append(json.loads(body))
    return events


def _idx(target: object) -> list[int]:
    assert isinstance(target, int | list)
    return target if isinstance(target, list) else [target]
