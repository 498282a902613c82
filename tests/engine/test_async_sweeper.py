"""AsyncParamSweeper under trio: concurrent tasks, cancellation, keep_alive."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import trio
import trio.lowlevel

from execo_engine import AsyncParamSweeper, HashableDict, ParamSweeper, sweep

if TYPE_CHECKING:
    from pathlib import Path

COMBS = sweep({"i": range(300)})


async def test_concurrent_tasks_share_the_work(tmp_path: Path) -> None:
    got: list[HashableDict] = []

    async def worker(s: AsyncParamSweeper) -> None:
        while (comb := await s.get_next()) is not None:
            got.append(comb)
            await trio.lowlevel.checkpoint()
            await s.done(comb)

    async with await AsyncParamSweeper.open(tmp_path / "s", COMBS) as s:
        async with trio.open_nursery() as nursery:
            for _ in range(8):
                nursery.start_soon(worker, s)
        assert len(got) == len(set(got)) == 300
        assert (await s.counts()).done == 300
        assert set(await s.get_done()) == set(COMBS)
        assert not await s.get_remaining()
        assert len((await s.stats()).done) == 300
        assert str(s) == "s <300 total, 300 done, 0 skipped, 0 in progress, 0 remaining>"


async def test_all_operations(tmp_path: Path) -> None:
    async with await AsyncParamSweeper.open(tmp_path / "s", COMBS, lease=30) as s:
        assert s.name == "s"
        batch = await s.get_next_batch(6)
        await s.done_batch(batch[:2])
        await s.skip(batch[2])
        await s.skip_batch(batch[3:4])
        await s.cancel(batch[4])
        await s.cancel_batch(batch[5:])
        assert list(await s.get_skipped()) == batch[2:4]
        await s.reset()
        assert not await s.get_skipped()
        assert (await s.get_next()) == batch[2]
        assert list(await s.get_inprogress()) == [batch[2]]
        assert await s.reclaim() == []
        await s.heartbeat()
        assert len(await s.get_sweeps()) == 300
        await s.reset(reset_inprogress=True)
        assert not await s.get_inprogress()


async def test_a_cancelled_done_is_still_recorded(tmp_path: Path) -> None:
    async with await AsyncParamSweeper.open(tmp_path / "s", COMBS) as s:
        comb = await s.get_next()
        assert comb is not None
        with trio.CancelScope() as scope:
            scope.cancel()
            await s.done(comb)  # shielded: runs to the end despite the cancellation
        assert (await s.counts()).done == 1


async def test_keep_alive_heartbeats_until_cancelled(tmp_path: Path) -> None:
    async with await AsyncParamSweeper.open(tmp_path / "s", COMBS, lease=0.03) as s:
        await s.get_next()
        with trio.move_on_after(0.1):
            await s.keep_alive()
    journal = (tmp_path / "s" / "journal.0.jsonl").read_text()
    assert journal.count('["H",') >= 3
    with ParamSweeper(tmp_path / "s") as plain, pytest.raises(ValueError, match="no lease"):
        await AsyncParamSweeper(plain).keep_alive()


async def test_combined_calls_fail_alone(tmp_path: Path) -> None:
    from execo_engine import CombinationError, CombinationStateError

    outcomes: dict[str, str] = {}

    async def call(name: str, comb: dict[str, int]) -> None:
        try:
            await s.done(comb)
            outcomes[name] = "ok"
        except CombinationStateError:
            outcomes[name] = "state"
        except CombinationError:
            outcomes[name] = "unknown"

    async with await AsyncParamSweeper.open(tmp_path / "s", COMBS) as s:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(call, "first", COMBS[0])
            nursery.start_soon(call, "again", COMBS[0])  # the same one, concurrently
            nursery.start_soon(call, "other", COMBS[1])
            nursery.start_soon(call, "bogus", {"i": -1})
        assert sorted(outcomes.values()) == ["ok", "ok", "state", "unknown"]
        assert outcomes["other"] == "ok"
        assert (await s.counts()).done == 2
        # Concurrent get_next calls are served in sweep order, each combination once.
        got: list[HashableDict | None] = []

        async def get() -> None:
            got.append(await s.get_next())

        async with trio.open_nursery() as nursery:
            for _ in range(5):
                nursery.start_soon(get)
        assert sorted(c["i"] for c in got if c is not None) == [2, 3, 4, 5, 6]
