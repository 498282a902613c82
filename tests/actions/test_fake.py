"""Action semantics that need no real host, over execo.testing.FakeTransport (which users
plug into their own experiment scripts' unit tests the same way)."""

from __future__ import annotations

import io
import signal
from pathlib import Path

import pytest
import trio

from execo import (
    CommandRequest,
    Get,
    Host,
    HostPrefixedOutput,
    ProcessBase,
    ProcessesFailed,
    ProcessLifecycleHandler,
    ProcessStatus,
    Put,
    Remote,
    Report,
    SequentialActions,
    filter_bad_hosts,
    format_gathered,
    gather_outputs,
)
from execo.testing import Emit, FakeTransport, Reply

HOSTS = [Host(f"node-{i}") for i in range(1, 7)]


async def test_commands_are_substituted_per_host_and_recorded() -> None:
    fake = FakeTransport()
    targets = ["a", "b", "c"]
    r = await Remote("ping {{targets}} from {{{host}}}", HOSTS, transport=fake).run()
    assert r.ok and [p.status for p in r.processes] == [ProcessStatus.OK] * 6
    # The processes start concurrently: the order they reach the transport is not fixed.
    assert sorted(fake.commands()) == sorted(
        f"ping {targets[i % 3]} from {h.address}" for i, h in enumerate(HOSTS)
    )
    assert all(isinstance(q, CommandRequest) for q in fake.requests)


async def test_check_raises_naming_every_failed_host() -> None:
    fake = FakeTransport({"node-2": Reply(exit_code=3, stderr="boom\n")})
    r = Remote("work", HOSTS[:3], transport=fake, process_args={"nolog_exit_code": True})
    with pytest.raises(ProcessesFailed, match="node-2") as info:
        await r.run(check=True)
    assert [p.host for p in info.value.processes] == [HOSTS[1]]
    assert "exit code 3" in str(info.value) and "boom" in str(info.value)
    assert len(r.succeeded) == 2 and len(r.failed) == 1


async def test_unreachable_hosts_and_filter_bad_hosts() -> None:
    fake = FakeTransport(
        {"node-3": Reply(unreachable="Connection refused"), "node-5": Reply(start_error="no sh")}
    )
    r = await Remote("true", HOSTS, transport=fake, process_args={"nolog_error": True}).run()
    statuses = {p.host.address: p.status for p in r.processes if p.host}
    assert statuses["node-3"] == ProcessStatus.UNREACHABLE
    assert statuses["node-5"] == ProcessStatus.ERROR
    assert "Connection refused" in (r.processes[2].error_reason or "")
    assert filter_bad_hosts(r, HOSTS) == [HOSTS[i] for i in (0, 1, 3, 5)]
    assert Report([r]).stats()["num_errors"] == 2


async def test_action_timeout_kills_and_marks_only_the_slow_ones() -> None:
    fake = FakeTransport({"node-1": Reply(duration=None)}, default=Reply(duration=0.01))
    r = Remote("x", HOSTS[:3], transport=fake, timeout=0.5, process_args={"nolog_timeout": True})
    with trio.fail_after(10):
        await r.run()
    assert r.timeouted and r.ended
    assert [p.timeouted for p in r.processes] == [True, False, False]
    assert r.processes[0].status == ProcessStatus.TIMEOUT
    assert [(rec.request.host, rec.signal) for rec in fake.signals] == [(HOSTS[0], signal.SIGTERM)]


async def test_kill_escalates_on_a_host_that_ignores_sigterm() -> None:
    stubborn = Reply(duration=None, ignores=frozenset({signal.SIGTERM}))
    fake = FakeTransport({"node-1": stubborn}, default=Reply(duration=None))
    r = Remote("serve", HOSTS[:2], transport=fake, process_args={"kill_grace": 0.2})
    async with r:
        await r.kill()
    assert [p.forced_kill for p in r.processes] == [True, False]
    assert [p.killed for p in r.processes] == [True, True]
    assert sorted((rec.request.host.address, rec.signal) for rec in fake.signals) == [
        ("node-1", signal.SIGKILL),
        ("node-1", signal.SIGTERM),
        ("node-2", signal.SIGTERM),
    ]


async def test_cancellation_kills_every_host() -> None:
    fake = FakeTransport(Reply(duration=None, emits=[Emit(0.01, "up\n")]))
    r = Remote("serve", HOSTS, transport=fake)
    with trio.move_on_after(5) as scope:
        async with r:
            await r.expect("up", timeout=5)
            scope.cancel()
            await trio.sleep_forever()
    assert scope.cancelled_caught
    assert all(p.killed and p.ended for p in r.processes)
    assert len(fake.signals) == len(HOSTS)


async def test_output_handlers_files_are_substituted_per_host(tmp_path: Path) -> None:
    fake = FakeTransport(lambda req: Reply(stdout=f"hello from {req.host.address}\n"))
    out = io.StringIO()
    r = await Remote(
        "hello",
        HOSTS[:3],
        transport=fake,
        process_args={
            "stdout_handlers": [str(tmp_path / "out-{{{host}}}.txt"), HostPrefixedOutput(out)]
        },
    ).run()
    assert r.ok
    for h in HOSTS[:3]:
        assert (tmp_path / f"out-{h.address}.txt").read_text() == f"hello from {h.address}\n"
        assert f"{h}: hello from {h.address}" in out.getvalue().splitlines()


async def test_gathered_output_groups_identical_outputs() -> None:
    fake = FakeTransport({"node-6": Reply(stdout="odd\n")}, default=Reply(stdout="same\n"))
    r = await Remote("x", HOSTS, transport=fake).run()
    groups = gather_outputs(r.processes)
    assert [(g.text, len(g.processes)) for g in groups] == [("same\n", 5), ("odd\n", 1)]
    assert format_gathered(groups).split("\n")[0] == "--- node-[1-5] (5)"


async def test_write_reaches_every_host_and_expect_waits_for_all() -> None:
    fake = FakeTransport(Reply(duration=None, echo_stdin=True))
    r = Remote("cat", HOSTS[:4], transport=fake)
    async with r:
        await r.write("ping\n")
        results = await r.expect("ping", timeout=5)
        assert all(found for _, found in results)
        await r.kill()
    assert all(p.stdout == "ping\n" for p in r.processes)
    assert sorted(bytes(v) for v in fake.stdin.values()) == [b"ping\n"] * 4


async def test_copies_are_substituted_per_host() -> None:
    fake = FakeTransport()
    put = await Put(HOSTS[:2], ["data-{{{host}}}.bin"], "/tmp/{{{host}}}", transport=fake).run()
    get = await Get(HOSTS[:2], ["/var/log/syslog"], "logs/{{{host}}}", transport=fake).run()
    assert put.ok and get.ok
    assert sorted((c.direction, c.sources, c.destination) for c in fake.copies()) == [
        ("get", ("/var/log/syslog",), "logs/node-1"),
        ("get", ("/var/log/syslog",), "logs/node-2"),
        ("put", ("data-node-1.bin",), "/tmp/node-1"),
        ("put", ("data-node-2.bin",), "/tmp/node-2"),
    ]


async def test_fanout_bounds_how_many_run_at_once() -> None:
    running = 0
    peak = 0

    class Count(ProcessLifecycleHandler):
        def start(self, process: ProcessBase) -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)

        def end(self, process: ProcessBase) -> None:
            nonlocal running
            running -= 1

    fake = FakeTransport(Reply(duration=0.05))
    r = Remote("x", HOSTS, transport=fake, fanout=2, process_args={"lifecycle_handlers": [Count()]})
    await r.run()
    assert r.ok and peak == 2


async def test_sequential_actions_stop_on_failure() -> None:
    fake = FakeTransport(lambda req: Reply(exit_code=1 if "fail" in str(req) else 0))
    first = Remote("will fail", HOSTS[:1], transport=fake, process_args={"nolog_exit_code": True})
    second = Remote("never runs", HOSTS[:1], transport=fake)
    seq = await SequentialActions([first, second], stop_on_failure=True).run()
    assert not seq.ok and not second.started
    assert fake.commands() == ["will fail"]


async def test_async_handler_and_a_handler_returning_nonsense() -> None:
    async def answer(request: object) -> Reply:
        await trio.sleep(0.01)
        return Reply(stdout="late\n")

    r = await Remote("x", HOSTS[:2], transport=FakeTransport(answer)).run()
    assert [p.stdout for p in r.processes] == ["late\n", "late\n"]
    nonsense = FakeTransport(lambda req: "oops")  # type: ignore[arg-type, return-value]
    with pytest.RaisesGroup(
        pytest.RaisesExc(TypeError, match="not a Reply"), flatten_subgroups=True
    ):
        await Remote("x", HOSTS[:1], transport=nonsense).run()
