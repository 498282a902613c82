"""The crash test: 4 workers on 20,000 combinations, SIGKILLed 50 times, restarted.

Proves, from the workers' results log and from the journal read with plain ``json``:

- every combination is done, exactly once (one ``d`` record per combination in the journal;
  the sweeper's done set is the whole sweep; nothing remains in progress);
- no completed ``done()`` was ever completed again (no ``D`` line twice in the log);
- every done combination was worked on first (its ``W`` line), and what was lost to a kill is
  bounded by the kills: a worker killed between its ``W`` line and the return of ``done``
  had its combination reclaimed and redone (work is at-least-once; ``done`` is exactly-once);
  a worker killed between ``done`` and its ``D`` line leaves a done combination without ``D``.
"""

from __future__ import annotations

import collections
import json
import random
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

from execo_engine import ParamSweeper, sweep

WORKER = Path(__file__).with_name("crash_worker.py")
WORKERS = 4
KILLS = 50


def _journal_events(store: Path) -> list[list[object]]:
    """All events of journal 0, read with nothing but json and zlib."""
    events = []
    for line in (store / "journal.0.jsonl").read_bytes().splitlines():
        crc, body = line.split(b" ", 1)
        assert int(crc, 16) == zlib.crc32(body)
        events.append(json.loads(body))
    return events[1:]  # the header


def _spawn(store: Path, log: Path, throttle: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(WORKER), str(store), str(log), str(throttle)])


def _working_pids(log: Path) -> set[int]:
    """The pids of the workers that have started working (written a ``W`` line)."""
    if not log.exists():
        return set()
    return {int(line.rsplit(" ", 1)[1]) for line in log.read_text().splitlines()}


def test_sigkilled_workers_lose_nothing_and_do_nothing_twice(tmp_path: Path) -> None:
    store, log, throttle = tmp_path / "sweeper", tmp_path / "results.log", tmp_path / "throttle"
    combs = sweep({"i": range(200), "j": range(100)})
    ParamSweeper(store, combs).close()
    throttle.touch()
    rng = random.Random(7)
    workers = [_spawn(store, log, throttle) for _ in range(WORKERS)]
    kills = 0
    killed: set[int] = set()
    try:
        while kills < KILLS:
            time.sleep(rng.uniform(0.02, 0.08))
            working = _working_pids(log)
            candidates = [k for k, w in enumerate(workers) if w.pid in working]
            if not candidates:
                continue
            victim = rng.choice(candidates)
            assert workers[victim].poll() is None, "the sweep ended before 50 kills"
            killed.add(workers[victim].pid)
            workers[victim].send_signal(signal.SIGKILL)
            workers[victim].wait()
            kills += 1
            workers[victim] = _spawn(store, log, throttle)
        throttle.unlink()
        for w in workers:
            assert w.wait(timeout=120) == 0
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()

    # The sweeper's view: all done, nothing else.
    with ParamSweeper(store) as s:
        assert s.counts() == (20_000, 0, 0, 0, 20_000)
        assert set(s.get_done()) == set(combs)

    # The journal: exactly one done record per combination; reclaims did happen.
    events = _journal_events(store)
    done_records = collections.Counter(i for e in events if e[0] == "d" for i in _idx(e[1]))
    assert sorted(done_records) == list(range(20_000))
    assert set(done_records.values()) == {1}
    workers_seen = sum(e[0] == "W" for e in events)
    pid_of = {e[1]: e[4] for e in events if e[0] == "W"}
    reclaimed_pids = [pid_of[e[1]] for e in events if e[0] == "x"]
    assert workers_seen >= WORKERS + KILLS
    assert set(reclaimed_pids) <= killed, "a live worker's combinations were reclaimed"
    # A kill reclaims something unless the victim held nothing (it was between the write of
    # its done record and its next get_next: more likely when fsync is slow, on a busy disk).
    reclaims = len(reclaimed_pids)
    assert reclaims >= KILLS // 5

    # The results log.
    lines = [line.split() for line in log.read_text().splitlines()]
    worked = collections.Counter((i, j) for kind, i, j, _ in lines if kind == "W")
    completed = collections.Counter((i, j) for kind, i, j, _ in lines if kind == "D")
    everything = {(str(c["i"]), str(c["j"])) for c in combs}
    assert max(completed.values()) == 1, "a completed done() completed again"
    assert set(completed) <= everything
    assert set(worked) == everything  # every combination was worked on before done
    assert len(everything - set(completed)) <= KILLS  # killed between done and its D line
    redone = sum(n - 1 for n in worked.values())
    assert redone <= KILLS  # killed between the work and done: reclaimed and redone
    print(
        f"kills={kills} reclaims={reclaims} redone={redone} "
        f"done-without-D={len(everything - set(completed))}"
    )


def _idx(target: object) -> list[int]:
    assert isinstance(target, int | list)
    return target if isinstance(target, list) else [target]
