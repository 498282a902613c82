"""One task for all the processes of an action (``execo._core._batched``), against a task per
process: the same outcomes, kills, timeouts and handlers.

The asyncssh transport and FakeTransport report each command's end, so their actions run
batched; OpenSSH's channels do not, and a FakeTransport with ``notifies_exit = False`` does
not either. Each scenario runs both ways and must give the same result.
"""

from __future__ import annotations

import functools
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio

from execo import (
    Host,
    ProcessBase,
    ProcessLifecycleHandler,
    ProcessStatus,
    Remote,
)
from execo.testing import Emit, FakeTransport, Reply

from ..conftest import count_processes, describe_processes

HOSTS = [Host(f"node-{i}") for i in range(1, 9)]


class _Unbatched(FakeTransport):
    notifies_exit = False


class _Silent(FakeTransport):
    """Claims its channels report their end, but they do not: followed by a task each."""

    async def open(self, request: Any) -> Any:
        channel = await super().open(request)
        setattr(channel, "notify_exit", None)  # noqa: B010
        return channel


def _bounded(test: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """A lost end would hang the action: fail instead."""

    @functools.wraps(test)
    async def bounded(*args: Any, **kwargs: Any) -> None:
        with trio.fail_after(30):
            await test(*args, **kwargs)

    return bounded


FAKES = {"batched": FakeTransport, "task each": _Unbatched, "silent": _Silent}


@pytest.fixture(params=list(FAKES))
def fake_kind(request: pytest.FixtureRequest) -> type[FakeTransport]:
    return FAKES[str(request.param)]


class _Order(ProcessLifecycleHandler):
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.running = 0
        self.peak = 0

    def start(self, process: ProcessBase) -> None:
        self.events.append(("start", str(process.host)))
        self.running += 1
        self.peak = max(self.peak, self.running)

    def end(self, process: ProcessBase) -> None:
        assert process.ended
        self.events.append(("end", str(process.host)))
        self.running -= 1


def _outcome(r: Remote) -> list[tuple[Any, ...]]:
    return [
        (str(p.host), p.status, p.exit_code, p.exit_signal, p.stdout, p.timeouted, p.killed)
        for p in r.processes
    ]


def test_which_transports_run_batched() -> None:
    assert Remote("x", HOSTS, transport="asyncssh").transport.notifies_exit  # type: ignore[attr-defined]
    assert not getattr(Remote("x", HOSTS, transport="ssh").transport, "notifies_exit", False)
    assert FakeTransport.notifies_exit and not _Unbatched.notifies_exit


@_bounded
async def test_mixed_outcomes_are_the_same_either_way() -> None:
    replies = {
        "node-1": Reply(stdout="one\n"),
        "node-2": Reply(exit_code=3, stderr="bad\n"),
        "node-3": Reply(unreachable="Connection refused"),
        "node-4": Reply(start_error="no shell"),
        "node-5": Reply(exit_signal=int(signal.SIGSEGV)),
        "node-6": Reply(duration=None),  # runs until its timeout
        "node-7": Reply(emits=[Emit(0.05, "late\n")], duration=0.1),
        "node-8": Reply(connect_delay=0.05, stdout="slow\n"),
    }
    outcomes = []
    for kind in FAKES.values():
        order = _Order()
        r = Remote(
            "x",
            HOSTS,
            transport=kind(replies),
            process_args={"timeout": 0.5, "lifecycle_handlers": [order], "nolog_error": True},
        )
        await r.run()
        outcomes.append(_outcome(r))
        assert sorted(order.events) == sorted(
            [("start", str(h)) for h in HOSTS] + [("end", str(h)) for h in HOSTS]
        )
        for h in HOSTS:  # each ends once, after it started
            assert order.events.index(("start", str(h))) < order.events.index(("end", str(h)))
        assert r.ended and all(p.ended for p in r.processes)
    assert outcomes[0] == outcomes[1] == outcomes[2]
    by_host = {o[0]: o for o in outcomes[0]}
    assert by_host["node-1"][1] is ProcessStatus.OK and by_host["node-1"][4] == "one\n"
    assert by_host["node-2"][1] is ProcessStatus.FAILED
    assert by_host["node-3"][1] is ProcessStatus.UNREACHABLE
    assert by_host["node-4"][1] is ProcessStatus.ERROR
    assert by_host["node-5"][3] == signal.SIGSEGV
    assert by_host["node-6"][1] is ProcessStatus.TIMEOUT and by_host["node-6"][5]
    assert by_host["node-7"][4] == "late\n"
    assert by_host["node-8"][4] == "slow\n"


@_bounded
async def test_own_timeouts_fire_each_at_its_time(fake_kind: type[FakeTransport]) -> None:
    # Different timeouts for the processes of one action: one timer serves them all.
    order = _Order()
    ends: dict[str, float] = {}

    class Stamp(ProcessLifecycleHandler):
        def end(self, process: ProcessBase) -> None:
            ends[str(process.host)] = trio.current_time() - t0

    r = Remote(
        "x",
        HOSTS[:3],
        transport=fake_kind(Reply(duration=None)),
        process_args={"lifecycle_handlers": [order, Stamp()], "nolog_timeout": True},
    )
    for p, t in zip(r.processes, (0.9, 0.3, 0.6), strict=True):
        p.timeout = t
    t0 = trio.current_time()
    await r.run()
    assert all(p.status is ProcessStatus.TIMEOUT for p in r.processes)
    assert [e[1] for e in order.events if e[0] == "end"] == ["node-2", "node-3", "node-1"]
    assert ends["node-2"] >= 0.3 and ends["node-3"] >= 0.6 and ends["node-1"] >= 0.9


@_bounded
async def test_kill_one_process_while_the_others_run(fake_kind: type[FakeTransport]) -> None:
    fake = fake_kind(Reply(duration=0.5))
    r = Remote("x", HOSTS[:4], transport=fake)
    async with r:
        victim = r.processes[1]
        await victim.kill()
        assert victim.ended and victim.killed and victim.status is ProcessStatus.KILLED
        assert not r.processes[0].ended
        await r.processes[0].wait()
        assert r.processes[0].ended
    assert [p.status for p in r.processes] == [
        ProcessStatus.OK,
        ProcessStatus.KILLED,
        ProcessStatus.OK,
        ProcessStatus.OK,
    ]
    assert [(s.signal, s.kill) for s in fake.signals] == [(signal.SIGTERM, True)]


@_bounded
async def test_sigterm_ignored_is_forced_within_the_batch(fake_kind: type[FakeTransport]) -> None:
    seen: list[bool] = []

    class Forced(ProcessLifecycleHandler):
        def end(self, process: ProcessBase) -> None:
            seen.append(process.forced_kill)  # known by the time it ends

    fake = fake_kind(Reply(duration=None, ignores=frozenset({signal.SIGTERM})))
    r = Remote(
        "x",
        HOSTS[:3],
        transport=fake,
        process_args={"kill_grace": 0.2, "lifecycle_handlers": [Forced()]},
    )
    async with r:
        await r.kill()
    assert seen == [True, True, True]
    assert all(p.forced_kill and p.killed and p.ended for p in r.processes)
    assert all(p.exit_signal == signal.SIGKILL for p in r.processes)


@_bounded
async def test_cancelled_action_kills_every_running_process(
    fake_kind: type[FakeTransport],
) -> None:
    fake = fake_kind(Reply(duration=None))
    r = Remote("x", HOSTS, transport=fake, fanout=5)
    with trio.move_on_after(0.3):
        await r.run()
    started = [p for p in r.processes if p.started]
    assert len(started) == 5  # the fanout; the queued ones never start
    assert all(p.ended and p.status is ProcessStatus.KILLED for p in started)
    assert [(s.signal, s.kill) for s in fake.signals] == [(signal.SIGTERM, True)] * 5
    assert r.ended


@_bounded
async def test_action_timeout_expires_the_batch(fake_kind: type[FakeTransport]) -> None:
    fake = fake_kind(Reply(duration=None))
    r = Remote("x", HOSTS, transport=fake, timeout=0.2, process_args={"nolog_timeout": True})
    await r.run()
    assert r.timeouted and all(p.timeouted and p.ended for p in r.processes)
    assert all(p.status is ProcessStatus.TIMEOUT for p in r.processes)


@_bounded
async def test_fanout_is_honoured(fake_kind: type[FakeTransport]) -> None:
    order = _Order()
    r = Remote(
        "x",
        HOSTS,
        transport=fake_kind(Reply(duration=0.02)),
        fanout=3,
        process_args={"lifecycle_handlers": [order]},
    )
    await r.run()
    assert r.ok and order.peak == 3 and len(order.events) == 2 * len(HOSTS)


class _Stop(BaseException):
    pass


@_bounded
async def test_a_handler_raising_through_the_batch(fake_kind: type[FakeTransport]) -> None:
    # An Exception from a handler is logged; a BaseException goes through, as with a task
    # per process, and the processes still running are killed.
    class Raise(ProcessLifecycleHandler):
        def end(self, process: ProcessBase) -> None:
            if str(process.host) == "node-1":
                raise _Stop

    fake = fake_kind({"node-1": Reply(duration=0.01)}, default=Reply(duration=None))
    r = Remote("x", HOSTS[:4], transport=fake, process_args={"lifecycle_handlers": [Raise()]})
    with pytest.RaisesGroup(_Stop, flatten_subgroups=True, allow_unwrapped=True):
        await r.run()
    assert all(p.ended for p in r.processes)
    assert [p.status for p in r.processes][1:] == [ProcessStatus.KILLED] * 3


@_bounded
async def test_an_end_reported_during_the_start_is_not_lost() -> None:
    # FakeTransport answers an unreachable host at once: its end may come before the
    # action has started the next process.
    r = Remote(
        "x",
        HOSTS,
        transport=FakeTransport(Reply(unreachable="Connection refused")),
        process_args={"nolog_error": True},
    )
    with trio.fail_after(5):
        await r.run()
    assert [p.status for p in r.processes] == [ProcessStatus.UNREACHABLE] * len(HOSTS)


# --------------------------------------------------------------- real sshd


async def test_own_timeouts_kill_the_remote_side(hosts: list[Host], transport: str) -> None:
    token = "sleep 103.1"
    delays = ["0", "103.1", "0", "103.1", "0", "103.1"]
    r = Remote(
        "sleep {{delays}}",
        hosts[:6],
        transport=transport,
        namespace={"delays": delays},
        process_args={"timeout": 1.5, "nolog_timeout": True},
    )
    t = time.monotonic()
    await r.run()
    assert time.monotonic() - t < 15
    assert [p.status for p in r.processes] == [ProcessStatus.OK, ProcessStatus.TIMEOUT] * 3
    with trio.move_on_after(5):
        while count_processes(token):
            await trio.sleep(0.05)
    assert count_processes(token) == 0, describe_processes(token)


async def test_kill_one_remote_process(hosts: list[Host], transport: str) -> None:
    token = "sleep 104.2"
    r = Remote(token, hosts[:3], transport=transport)
    async with r:
        with trio.move_on_after(20):
            while count_processes(token, exact=True) < 3:
                await trio.sleep(0.05)
        await r.processes[0].kill()
        assert r.processes[0].status is ProcessStatus.KILLED
        with trio.move_on_after(5):
            while count_processes(token, exact=True) > 2:
                await trio.sleep(0.05)
        assert count_processes(token, exact=True) == 2, describe_processes(token)
        assert not r.processes[1].ended
        await r.kill()
    assert all(p.killed and p.ended for p in r.processes)
    with trio.move_on_after(5):
        while count_processes(token):
            await trio.sleep(0.05)
    assert count_processes(token) == 0, describe_processes(token)


async def test_expect_and_fanout_on_real_hosts(hosts: list[Host], transport: str) -> None:
    order = _Order()
    r = Remote(
        "echo ready; sleep 0.3; echo done on {{{host}}}",
        hosts[:6],
        transport=transport,
        fanout=2,
        process_args={"lifecycle_handlers": [order]},
    )
    async with r:
        first = r.processes[0]
        assert (await first.expect("ready", timeout=10)).index == 0
    assert r.ok and order.peak == 2
    assert [p.stdout for p in r.processes] == [f"ready\ndone on {h.address}\n" for h in hosts[:6]]
