"""ParamSweeper against a reference model: hypothesis drives two workers sharing a directory."""

from __future__ import annotations

import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from execo_engine import (
    CombinationStateError,
    HashableDict,
    OwnershipError,
    ParamSweeper,
    sweep,
)

COMBS = sweep({"a": range(3), "b": ["x", "y"]})
WORKERS = st.sampled_from([0, 1])
COMB = st.sampled_from(COMBS)


class SweeperMachine(RuleBasedStateMachine):
    """Two ParamSweepers (two workers) on one directory, and what they should say."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="sweeper-model-")
        self.workers = [ParamSweeper(self.dir, COMBS, durable=False) for _ in range(2)]
        self.generation = [0, 1]  # identifies a worker instance (a new one after reopen)
        self.next_generation = 2
        self.state: dict[HashableDict, str] = dict.fromkeys(COMBS, "todo")
        self.owner: dict[HashableDict, int] = {}
        # The very objects each worker instance handed out (done() recognises its own).
        self.handed: list[list[HashableDict]] = [[], []]

    def teardown(self) -> None:
        for w in self.workers:
            w.close()
        shutil.rmtree(self.dir)

    def _expect_transition(self, w: int, comb: HashableDict, target: str) -> type[Exception] | None:
        current = self.state[comb]
        if current == "inprogress" and self.owner[comb] != self.generation[w]:
            return OwnershipError
        if current == target:
            return CombinationStateError if target == "done" else None
        if current == "done" or (target == "todo" and current == "skipped"):
            return CombinationStateError
        self.state[comb] = target
        self.owner.pop(comb, None)
        return None

    @rule(w=WORKERS)
    def get_next(self, w: int) -> None:
        got = self.workers[w].get_next()
        todo = [c for c in COMBS if self.state[c] == "todo"]
        assert got == (todo[0] if todo else None)
        if got is not None:
            self.state[got] = "inprogress"
            self.owner[got] = self.generation[w]
            self.handed[w].append(got)

    @rule(w=WORKERS, n=st.integers(1, 3))
    def get_next_batch(self, w: int, n: int) -> None:
        got = self.workers[w].get_next_batch(n)
        todo = [c for c in COMBS if self.state[c] == "todo"]
        assert got == todo[:n]
        for c in got:
            self.state[c] = "inprogress"
            self.owner[c] = self.generation[w]
        self.handed[w].extend(got)

    @rule(w=WORKERS)
    def get_next_filtered(self, w: int) -> None:
        got = self.workers[w].get_next(lambda rem: sorted(rem, key=lambda c: (c["b"], -c["a"])))
        todo = sorted(
            (c for c in COMBS if self.state[c] == "todo"), key=lambda c: (c["b"], -c["a"])
        )
        assert got == (todo[0] if todo else None)
        if got is not None:
            self.state[got] = "inprogress"
            self.owner[got] = self.generation[w]

    def _transition(self, w: int, comb: HashableDict, method: str, target: str) -> None:
        expected = self._expect_transition(w, comb, target)
        if expected is None:
            getattr(self.workers[w], method)(comb)
        else:
            with pytest.raises(expected):
                getattr(self.workers[w], method)(comb)

    @rule(w=WORKERS, comb=COMB)
    def done(self, w: int, comb: HashableDict) -> None:
        self._transition(w, comb, "done", "done")

    @rule(w=WORKERS, k=st.integers(0, 5), method=st.sampled_from(["done", "skip", "cancel"]))
    def record_own(self, w: int, k: int, method: str) -> None:
        """A transition of an object this instance handed out (maybe long ago, maybe twice)."""
        if self.handed[w]:
            comb = self.handed[w][-1 - k % len(self.handed[w])]
            target = {"done": "done", "skip": "skipped", "cancel": "todo"}[method]
            self._transition(w, comb, method, target)

    @rule(w=WORKERS, comb=COMB)
    def skip(self, w: int, comb: HashableDict) -> None:
        self._transition(w, comb, "skip", "skipped")

    @rule(w=WORKERS, comb=COMB)
    def cancel(self, w: int, comb: HashableDict) -> None:
        self._transition(w, comb, "cancel", "todo")

    @rule(w=WORKERS, also_inprogress=st.booleans())
    def reset(self, w: int, also_inprogress: bool) -> None:
        self.workers[w].reset(also_inprogress)
        for c, s in self.state.items():
            if s == "skipped" or (also_inprogress and s == "inprogress"):
                self.state[c] = "todo"
                self.owner.pop(c, None)

    @rule(w=WORKERS)
    def reopen(self, w: int) -> None:
        # A new instance is a new worker; the old one's pid lives on, so nothing is reclaimed.
        self.workers[w].close()
        self.workers[w] = ParamSweeper(self.dir, COMBS, durable=False)
        self.handed[w] = []
        self.generation[w] = self.next_generation
        self.next_generation += 1

    @rule(w=WORKERS)
    def compact(self, w: int) -> None:
        self.workers[w].compact()

    @invariant()
    def views_agree_with_the_model(self) -> None:
        for w in self.workers:
            stats = w.stats()
            for name, view in zip(
                ("remaining", "skipped", "inprogress", "done"), stats[1:], strict=True
            ):
                model_name = "todo" if name == "remaining" else name
                expected = [c for c in COMBS if self.state[c] == model_name]
                assert list(view) == expected
                assert len(view) == len(expected)
            counts = w.counts()
            assert counts.total == len(COMBS)
            assert counts.done == sum(s == "done" for s in self.state.values())


TestSweeperModel = SweeperMachine.TestCase
TestSweeperModel.settings = settings(
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
