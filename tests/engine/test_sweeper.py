"""ParamSweeper: persistence, ownership, reclaiming, repair, compaction, threads, format."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import zlib
from typing import TYPE_CHECKING, Any

import pytest

from execo_engine import (
    CombinationError,
    CombinationStateError,
    HashableDict,
    OwnershipError,
    ParamSweeper,
    SweeperFormatError,
    sweep,
)
from execo_engine._liveness import Identity
from execo_engine._store import SweeperStore

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

COMBS = sweep({"a": range(4), "b": ["x", "y", "z"]})


def take(s: ParamSweeper) -> HashableDict:
    comb = s.get_next()
    assert comb is not None
    return comb


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "sweeper"


def test_all_four_states_persist_across_reopen(store: Path) -> None:
    with ParamSweeper(store, COMBS) as s:
        first, second, third = take(s), take(s), take(s)
        assert (first, second, third) == tuple(COMBS[:3])
        s.done(first)
        s.skip(second)
    # ``s`` is closed, but its process lives: ``third`` stays in progress (not reclaimed).
    with ParamSweeper(store) as again:
        assert list(again.get_done()) == [COMBS[0]]
        assert list(again.get_skipped()) == [COMBS[1]]
        assert list(again.get_inprogress()) == [COMBS[2]]
        assert list(again.get_remaining()) == COMBS[3:]
        assert str(again) == "sweeper <12 total, 1 done, 1 skipped, 1 in progress, 9 remaining>"
        again.reset()
        assert again.get_next() == COMBS[1]


def test_sweeps_none_means_every_stored_combination(store: Path) -> None:
    ParamSweeper(store, COMBS).close()
    with ParamSweeper(store) as s:
        assert list(s.get_sweeps()) == COMBS


def test_extending_the_sweep_keeps_the_stored_states(store: Path) -> None:
    with ParamSweeper(store, COMBS[:4]) as s:
        s.done(take(s))
    more = sweep({"a": range(5), "b": ["x", "y", "z"]})
    with ParamSweeper(store, more) as s:
        assert s.counts().total == 15
        assert list(s.get_done()) == [COMBS[0]]
        assert s.get_next() == more[1]
    # An instance on a subset sees only its subset.
    with ParamSweeper(store, more[10:]) as s:
        assert s.counts() == (5, 5, 0, 0, 0)
        assert not s.get_done()
        s.set_sweeps(more[:2])
        assert s.counts() == (2, 0, 0, 1, 1)
        s.set_sweeps()
        assert s.counts().total == 15


def test_filter_picks_and_orders(store: Path) -> None:
    with ParamSweeper(store, COMBS) as s:
        got = s.get_next(lambda rem: (c for c in rem if c["b"] == "z"))
        assert got == {"a": 0, "b": "z"}
        got = s.get_next(lambda rem: sorted(rem, key=lambda c: -c["a"]))
        assert got == {"a": 3, "b": "x"}
        with pytest.raises(CombinationError, match="not todo"):
            s.get_next(lambda rem: [COMBS[2]])  # in progress already
        assert s.get_next(lambda rem: ()) is None


def test_cancelled_combination_comes_back_first(store: Path) -> None:
    with ParamSweeper(store, COMBS) as s:
        batch = s.get_next_batch(5)
        assert batch == COMBS[:5]
        s.cancel(batch[1])
        s.cancel(batch[3])
        assert s.get_next() == COMBS[1]
        assert s.get_next() == COMBS[3]
        assert s.get_next() == COMBS[5]


def test_transitions_that_would_count_twice_are_refused(store: Path) -> None:
    with ParamSweeper(store, COMBS) as a, ParamSweeper(store, COMBS) as b:
        comb = a.get_next()
        assert comb is not None
        a.done(comb)
        with pytest.raises(CombinationStateError, match="already done") as info:
            b.done(comb)
        assert info.value.state == "done"
        with pytest.raises(CombinationStateError):
            a.skip(comb)
        # Reset hands a's in-progress combination to b; a may not record it any more.
        mine = a.get_next()
        assert mine is not None
        b.reset(reset_inprogress=True)
        assert b.get_next() == mine
        with pytest.raises(OwnershipError):
            a.done(mine)
        with pytest.raises(OwnershipError):
            a.cancel(mine)
        b.done(mine)
        assert b.counts().done == 2


def test_batches_are_all_or_nothing(store: Path) -> None:
    with ParamSweeper(store, COMBS) as s:
        s.done(COMBS[0])  # straight from todo is allowed
        with pytest.raises(CombinationStateError):
            s.done_batch([COMBS[1], COMBS[2], COMBS[0]])
        assert s.counts().done == 1
        s.done_batch([COMBS[1], COMBS[2], COMBS[2]])
        s.skip_batch(COMBS[3:5])
        got = s.get_next_batch(2)
        s.cancel_batch(got)
        assert s.counts() == (12, 7, 2, 0, 3)


def test_unknown_and_unstorable_combinations(store: Path) -> None:
    with ParamSweeper(store, COMBS) as s:
        with pytest.raises(CombinationError, match="unknown"):
            s.done({"a": 99})
        with pytest.raises(CombinationError, match="unhashable"):
            s.done({"a": [1]})
        with pytest.raises(CombinationError, match="maps factors to levels"):
            s.done(None)  # type: ignore[arg-type]  # get_next() returned None: all taken
    with pytest.raises(CombinationError, match="not object"):
        ParamSweeper(store, [{"a": object()}])


def test_combination_sets_are_snapshots_with_o1_len_and_contains(store: Path) -> None:
    with ParamSweeper(store, COMBS) as s:
        s.done(take(s))
        done = s.get_done()
        remaining = s.get_remaining()
        s.done(take(s))
        assert len(done) == 1
        assert {"a": 0, "b": "x"} in done  # a plain dict works
        assert {"a": 0, "b": "y"} not in done
        assert "nonsense" not in done  # type: ignore[comparison-overlap]
        assert set(done) == {COMBS[0]}
        assert done == {COMBS[0]}  # type: ignore[comparison-overlap]
        assert remaining - {COMBS[1]} == set(COMBS[2:])
        assert bool(remaining)
        stats = s.stats()
        assert [len(x) for x in stats] == [12, 10, 0, 0, 2]
        assert repr(stats.done) == "<CombinationSet of 2 combinations>"


def test_closed_sweeper_refuses_work(store: Path) -> None:
    s = ParamSweeper(store, COMBS)
    s.close()
    s.close()
    with pytest.raises(ValueError, match="closed"):
        s.get_next()


def _run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )


def test_dead_workers_combinations_are_reclaimed(
    store: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ParamSweeper(store, COMBS).close()
    _run_python(
        """
        import os, sys
        from execo_engine import ParamSweeper
        s = ParamSweeper(sys.argv[1])
        s.get_next_batch(3)
        os._exit(0)  # dies with 3 combinations in progress
        """,
        str(store),
    )
    with ParamSweeper(store, COMBS, auto_reclaim=False) as s:
        assert s.counts().inprogress == 3
        assert s.get_next() == COMBS[3]
        with caplog.at_level(logging.INFO, logger="execo.engine"):
            assert s.reclaim() == COMBS[:3]
        assert "reclaimed 3 in-progress combinations of 1 dead workers" in caplog.text
        assert s.get_next() == COMBS[0]
    with ParamSweeper(store, COMBS) as s:
        # COMBS[3] and COMBS[0] belong to the closed instance above, whose pid (ours) lives.
        assert s.counts().inprogress == 2


def test_live_workers_are_not_reclaimed(store: Path) -> None:
    with ParamSweeper(store, COMBS) as a, ParamSweeper(store, COMBS) as b:
        a.get_next_batch(11)
        assert b.reclaim() == []
        assert b.get_next() == COMBS[11]
        assert b.get_next() is None  # 11 in progress by a live worker: nothing to hand out


def test_remote_worker_is_reclaimed_when_its_lease_lapses(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    here = Identity.current()
    elsewhere = Identity(host="elsewhere", boot_id="b", pid=1, start_time="1")
    monkeypatch.setattr(Identity, "current", classmethod(lambda cls: elsewhere))
    remote = ParamSweeper(store, COMBS, lease=0.2)
    monkeypatch.setattr(Identity, "current", classmethod(lambda cls: here))
    local = ParamSweeper(store, COMBS)
    try:
        got = remote.get_next_batch(12)
        assert local.get_next() is None  # heard from just now
        time.sleep(0.3)
        assert local.get_next() == COMBS[0]  # lease lapsed: reclaimed, then handed out
        with pytest.raises(OwnershipError):
            remote.done(COMBS[0])
        remote.done(got[1])  # reclaimed but still todo: recording it is fine (once)
        assert remote.get_next() == COMBS[2]  # registers anew and goes on
        remote.heartbeat()
        local.reclaim()
        assert local.counts().inprogress == 2  # COMBS[0] (local), COMBS[2] (remote, alive)
    finally:
        remote.close()
        local.close()


def test_torn_tail_is_cut_and_the_rest_kept(store: Path, caplog: pytest.LogCaptureFixture) -> None:
    with ParamSweeper(store, COMBS) as s:
        s.done(take(s))
    journal = store / "journal.0.jsonl"
    size = journal.stat().st_size
    with open(journal, "ab") as f:
        f.write(b'0badc0de ["d",')  # a writer died mid-record
    with caplog.at_level(logging.WARNING, logger="execo.engine"), ParamSweeper(store) as s:
        assert "cutting 14 bytes" in caplog.text
        assert journal.stat().st_size == size
        assert s.counts().done == 1
        s.done(take(s))
    with ParamSweeper(store) as s:
        assert s.counts().done == 2


def test_compaction_keeps_state_and_lagging_readers_follow(store: Path) -> None:
    with ParamSweeper(store, COMBS) as a, ParamSweeper(store, COMBS) as b:
        a.done(take(a))
        a.skip(take(a))
        kept = take(a)
        a.compact()
        assert sorted(os.listdir(store)) == [
            "LOCK",
            "combinations.jsonl",
            "journal.1.jsonl",
            "snapshot.1.json",
        ]
        # b had read nothing yet: it follows the end record of the deleted journal 0.
        assert b.counts() == (12, 9, 1, 1, 1)
        a.compact()
        a.compact()
        a.done(kept)
        # b's journal 1 is gone too and 2 was superseded: it reloads from snapshot 3.
        assert b.counts() == (12, 9, 1, 0, 2)
        assert b.get_next() == COMBS[3]
    with ParamSweeper(store) as c:
        assert c.counts() == (12, 8, 1, 1, 2)


def test_automatic_compaction_bounds_the_journal(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SweeperStore, "compact_min_records", 40)
    with ParamSweeper(store, COMBS, durable=False) as s:
        for _ in range(30):  # 60 records: more than max(40, 4 * 12)
            s.cancel(take(s))
        s.done(take(s))
        assert not os.path.exists(store / "journal.0.jsonl")
        assert os.path.exists(store / "snapshot.1.json")
    with ParamSweeper(store) as s:
        assert s.counts() == (12, 11, 0, 0, 1)


def test_files_are_plain_json_lines(store: Path) -> None:
    with ParamSweeper(store, sweep({"n": [1, 2], "t": [(1, "a")]})) as s:
        s.done(take(s))
        s.compact()
        s.skip(take(s))
    for name in ("combinations.jsonl", "journal.1.jsonl", "snapshot.1.json"):
        for line in (store / name).read_bytes().splitlines():
            crc, body = line.split(b" ", 1)
            assert int(crc, 16) == zlib.crc32(body)
            json.loads(body)
    lines = (store / "combinations.jsonl").read_bytes().splitlines()
    assert json.loads(lines[1].split(b" ", 1)[1]) == [
        "C",
        0,
        2,
        [{"n": 1, "t": {"$tuple": [1, "a"]}}, {"n": 2, "t": {"$tuple": [1, "a"]}}],
    ]


def test_foreign_files_are_refused_untouched(store: Path) -> None:
    store.mkdir()
    (store / "combinations.jsonl").write_bytes(b"hello, world\n")
    with pytest.raises(SweeperFormatError, match="not an execo sweeper file"):
        ParamSweeper(store, COMBS)
    assert (store / "combinations.jsonl").read_bytes() == b"hello, world\n"


def test_newer_format_version_is_refused(store: Path) -> None:
    ParamSweeper(store, COMBS).close()
    body = json.dumps({"format": "execo-sweeper-journal", "version": 99, "gen": 0}).encode()
    (store / "journal.0.jsonl").write_bytes(b"%08x %b\n" % (zlib.crc32(body), body))
    with pytest.raises(SweeperFormatError, match="version 99"):
        ParamSweeper(store)


def test_threads_share_one_sweeper_and_each_combination_is_done_once(store: Path) -> None:
    combs = sweep({"i": range(1500)})
    results: list[list[HashableDict]] = [[] for _ in range(6)]
    with ParamSweeper(store, combs) as shared, ParamSweeper(store, combs) as other:

        def work(k: int) -> None:
            s = shared if k % 2 else other
            while (c := s.get_next()) is not None:
                s.done(c)
                results[k].append(c)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        everything = [c for r in results for c in r]
        assert len(everything) == len(set(everything)) == 1500
        assert shared.counts().done == 1500


def test_compaction_interrupted_after_its_commit_point(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import execo_engine._store as store_module

    with ParamSweeper(store, COMBS) as s:
        s.done(take(s))

        def crash(path: str, data: bytes) -> None:
            raise OSError("power cut while writing the snapshot")

        monkeypatch.setattr(store_module, "atomic_write", crash)
        with pytest.raises(OSError, match="power cut"):
            s.compact()
        monkeypatch.undo()
        s.done(take(s))  # goes to journal.1, where the others will look
    with ParamSweeper(store) as s:
        assert s.counts() == (12, 10, 0, 0, 2)
    # journal.0 ends with its E record, journal.1 exists, snapshot.1 does not.
    assert sorted(os.listdir(store)) == [
        "LOCK",
        "combinations.jsonl",
        "journal.0.jsonl",
        "journal.1.jsonl",
    ]
    with ParamSweeper(store) as s:
        s.skip(take(s))
        s.compact()
    with ParamSweeper(store) as s:
        assert s.counts() == (12, 9, 1, 0, 2)


def _profile_events(fn: Callable[[], object]) -> int:
    """How many Python and C function calls running ``fn`` makes."""
    count = 0

    def profiler(frame: object, event: str, arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profiler)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return count


@pytest.mark.parametrize("durable", [False, True])
def test_operation_cost_does_not_depend_on_the_sweep_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool
) -> None:
    """Two workers taking turns make the same calls and move the same bytes at any size."""
    moved = [0]

    def counting(real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(fd: int, data: Any, *rest: Any) -> Any:
            result = real(fd, data, *rest)
            moved[0] += result if isinstance(result, int) else len(result)
            return result

        return wrapper

    monkeypatch.setattr(os, "pread", counting(os.pread))
    monkeypatch.setattr(os, "pwrite", counting(os.pwrite))

    def measure(n: int) -> tuple[int, int]:
        directory = tmp_path / str(n)
        ParamSweeper(directory, sweep({"a": range(n // 10), "b": range(10)})).close()
        with (
            ParamSweeper(directory, durable=durable) as a,
            ParamSweeper(directory, durable=durable) as b,
        ):

            def pairs(count: int) -> None:
                for _ in range(count):
                    for s in (a, b):
                        s.done(take(s))

            pairs(3)  # warm up: first chunk decoded, workers registered
            moved[0] = 0
            calls = _profile_events(lambda: pairs(40))
            return calls, moved[0]

    small, large = measure(100), measure(100_000)
    # The same work, call for call, give or take a few calls (a lock retry, a GC callback).
    assert abs(small[0] - large[0]) <= small[0] // 50, (small, large)
    assert small[1] == large[1]
    assert small[0] > 40 * 2 * 20  # the profiler saw the operations
    assert small[1] >= 40 * 2 * 2 * 20  # and the bytes they wrote and read


def test_stored_combinations_are_decoded_on_demand_and_keep_their_identity(
    store: Path,
) -> None:
    combs = sweep({"t": [(1, "a"), (2, "b")], "n": range(15_000)})  # 3 chunks, tagged levels
    ParamSweeper(store, combs).close()
    with ParamSweeper(store) as s:
        first = take(s)
        assert first == combs[0]
        assert isinstance(first["t"], tuple)
        assert list(s.get_remaining())[:1] == [combs[1]]
        assert set(s.get_sweeps()) == set(combs)  # iterating decodes every chunk
        s.done(first)  # the object handed out: recognised without hashing
        second = take(s)
        s.done(dict(second))  # an equal plain dict: looked up by value
        assert s.counts().done == 2
        assert dict(combs[-1]) in s.get_remaining()
    with ParamSweeper(store, [dict(c) for c in combs]) as s:  # equal, in order: no hashing
        assert s.counts() == (30_000, 29_998, 0, 0, 2)
        assert take(s) == combs[2]
    with ParamSweeper(store, combs[::-1]) as s:  # the same, in another order: by value
        assert s.counts() == (30_000, 29_997, 0, 1, 2)
        assert take(s) == combs[-1]


def test_combinations_added_by_another_worker_are_found_by_value(store: Path) -> None:
    more = sweep({"a": range(6), "b": ["x", "y", "z"]})
    with ParamSweeper(store, COMBS) as a:
        assert {"a": 0, "b": "x"} in a.get_sweeps()  # a's value index is built now
        with ParamSweeper(store, more) as b:
            b.done(take(b))
        a.done(more[-1])  # unknown to a until it reads what b added
        a.skip(dict(more[-2]))
        assert a.counts() == (12, 11, 0, 0, 1)  # a still works on its own sweeps
        a.set_sweeps()
        assert a.counts() == (18, 15, 1, 0, 2)


def test_combinations_written_by_another_json_writer_are_read(store: Path) -> None:
    ParamSweeper(store, COMBS).close()
    path = store / "combinations.jsonl"
    lines = []
    for line in path.read_bytes().splitlines():
        body = json.dumps(json.loads(line.split(b" ", 1)[1])).encode()  # with spaces
        lines.append(b"%08x %b\n" % (zlib.crc32(body), body))
    path.write_bytes(b"".join(lines))
    with ParamSweeper(store) as s:
        assert list(s.get_sweeps()) == COMBS
        s.done(take(s))
    # A count that does not match its list is refused, not misread.
    body = json.dumps(["C", 12, 3, [{"a": 9, "b": "x"}]]).encode()
    with open(path, "ab") as f:
        f.write(b"%08x %b\n" % (zlib.crc32(body), body))
    with pytest.raises(SweeperFormatError, match="damaged combinations record"):
        ParamSweeper(store)
    # In the compact form it is only decoded when needed: refused then.
    path.write_bytes(path.read_bytes().rsplit(b"\n", 2)[0] + b"\n")
    body = b'["C",12,3,[{"a":9,"b":"x"}]]'
    with open(path, "ab") as f:
        f.write(b"%08x %b\n" % (zlib.crc32(body), body))
    with ParamSweeper(store) as s:
        assert len(s.get_sweeps()) == 15
        with pytest.raises(SweeperFormatError, match="damaged combinations record"):
            list(s.get_sweeps())
