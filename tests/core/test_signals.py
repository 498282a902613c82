"""kill(sig) delivers the signal asked for to the whole process tree, on every transport
(local, OpenSSH, asyncssh, taktuk), then SIGKILL if the tree is still there after the grace
period; send_signal(sig) delivers it and nothing more; a bad signal is refused before
anything is sent."""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest
import trio

from execo import Host, Process, ProcessBase, SshProcess, TaktukProcess, TaktukRemote
from execo.testing import FakeTransport, Reply

from ..conftest import count_processes

Factory = Callable[[str], ProcessBase]


@pytest.fixture(params=["local", "ssh", "asyncssh", "taktuk"])
def make(request: pytest.FixtureRequest, hosts: list[Host]) -> Factory:
    kind = request.param
    if kind == "local":
        return lambda cmd: Process(cmd, shell=True, nolog_exit_code=True)
    if kind == "taktuk":
        return lambda cmd: TaktukProcess(cmd, hosts[0], nolog_exit_code=True)
    return lambda cmd: SshProcess(cmd, hosts[0], transport=kind, nolog_exit_code=True)


async def test_kill_delivers_the_signal_asked_for(make: Factory) -> None:
    # The trap proves which signal the shell got; the sleep in its group dies of it too.
    p = make("trap 'echo got USR1; exit 7' USR1; sleep 30 & echo ready; wait")
    p.kill_grace = 15  # not forced, even on a loaded machine (the default grace is 2 s)
    async with p:
        assert await p.expect("ready", timeout=15)
        with trio.fail_after(20):
            await p.kill(signal.SIGUSR1)
    assert "got USR1" in p.stdout, p.dump()
    assert p.exit_code == 7 and p.killed and not p.forced_kill, p.dump()


async def test_send_signal_does_not_end_the_process(make: Factory) -> None:
    p = make("trap 'echo got HUP' HUP; echo ready; while :; do sleep 0.1; done")
    async with p:
        assert await p.expect("ready", timeout=15)
        await p.send_signal(signal.SIGHUP)
        assert await p.expect("got HUP", timeout=15), p.dump()
        assert p.running
        await p.send_signal(signal.SIGHUP)
        assert await p.expect("got HUP", timeout=15), p.dump()
        await p.kill()
    assert p.killed and p.ended


async def test_a_tree_that_survives_the_signal_is_force_killed(make: Factory) -> None:
    token = "871.25"
    p = make(f"trap '' USR2; echo ready; sleep {token}")
    p.kill_grace = 0.5
    async with p:
        assert await p.expect("ready", timeout=15)
        await trio.sleep(0.2)
        with trio.fail_after(20):
            await p.kill(signal.SIGUSR2)
    # sleep dies of USR2 (default action), the shell ignores it: SIGKILL was needed.
    assert p.forced_kill and p.exit_signal in (None, signal.SIGKILL), p.dump()
    with trio.move_on_after(3):
        while count_processes(f"sleep {token}"):
            await trio.sleep(0.05)
    assert count_processes(f"sleep {token}") == 0


async def test_kill_with_a_bad_signal_is_refused_before_anything_is_sent() -> None:
    fake = FakeTransport(Reply(duration=None))
    p = SshProcess("true", "node-1", transport=fake)
    async with p:
        with pytest.raises(ValueError, match="not a signal number"):
            await p.kill(12345)
        with pytest.raises(TypeError, match="signal"):
            await p.send_signal("TERM")  # type: ignore[arg-type]
        assert fake.signals == [] and p.running
        await p.kill(signal.SIGINT)
    assert [(r.signal, r.kill) for r in fake.signals] == [(signal.SIGINT, True)]


async def test_taktuk_action_delivers_the_signal_to_every_host(hosts: list[Host]) -> None:
    r = TaktukRemote(
        "trap 'echo got USR1; exit 5' USR1; sleep 30 & echo ready; wait",
        hosts[:3],
        process_args={"nolog_exit_code": True},
    )
    async with r:
        for _, found in await r.expect("ready", timeout=20):
            assert found
        with trio.fail_after(20):
            async with trio.open_nursery() as n:
                for p in r.processes:
                    n.start_soon(p.kill, signal.SIGUSR1)
    assert [p.exit_code for p in r.processes] == [5, 5, 5]
    assert all("got USR1" in p.stdout for p in r.processes)
