"""The kill invariant: timeout, kill(), cancellation and an exception in the scope all leave
zero surviving processes, locally and over every remote transport (the remote side is this
machine too, so the process table shows both)."""

import itertools
from collections.abc import Callable

import pytest
import trio

from execo import Host, Process, ProcessBase, SshProcess, TaktukProcess

from ..conftest import count_processes, describe_processes

_tokens = itertools.count(1)


def tree_cmd() -> tuple[str, str]:
    """A shell with a background and a foreground child, tagged with a unique sleep length."""
    token = f"{900 + next(_tokens)}.{next(_tokens) % 1000:03d}"
    return f"sh -c 'sleep {token} & sleep {token}'", token


Factory = Callable[[str], ProcessBase]


@pytest.fixture(params=["local", "ssh", "asyncssh", "taktuk"])
def make(request: pytest.FixtureRequest, hosts: list[Host]) -> Factory:
    if request.param == "local":
        return lambda cmd: Process(cmd, shell=True)
    if request.param == "taktuk":
        return lambda cmd: TaktukProcess(cmd, hosts[0])
    return lambda cmd: SshProcess(cmd, hosts[0], transport=request.param)


async def wait_tree_up(token: str) -> None:
    with trio.fail_after(10):
        while count_processes(f"sleep {token}", exact=True) < 2:
            await trio.sleep(0.02)


async def assert_no_survivors(token: str) -> None:
    # Give the kernel a moment to finish delivering signals, then require zero.
    with trio.move_on_after(3):
        while count_processes(token):
            await trio.sleep(0.05)
    assert count_processes(token) == 0, describe_processes(token)


@pytest.mark.parametrize("kind", ["ssh", "asyncssh", "taktuk"])
async def test_timeout_kills_what_outlived_its_shell(kind: str, hosts: list[Host]) -> None:
    """The shell exits at once, its background child holds the session's output open (so
    the process runs on): the timeout's kill finds the group by the dead shell's pid."""
    token = f"{900 + next(_tokens)}.{next(_tokens) % 1000:03d}"
    cmd = f"sleep {token} &"
    p = (
        TaktukProcess(cmd, hosts[0])
        if kind == "taktuk"
        else SshProcess(cmd, hosts[0], transport=kind)
    )
    p.timeout = 2.0
    p.nolog_timeout = True
    with trio.fail_after(30):
        await p.run()
    assert p.timeouted and p.ended, p.dump()
    await assert_no_survivors(token)


async def test_timeout_kills_tree(make: Factory) -> None:
    cmd, token = tree_cmd()
    p = make(cmd)
    p.timeout = 1.5
    p.nolog_timeout = True
    with trio.fail_after(15):
        await p.run()
    assert p.timeouted and p.ended
    await assert_no_survivors(token)


async def test_kill_kills_tree(make: Factory) -> None:
    cmd, token = tree_cmd()
    p = make(cmd)
    async with p:
        await wait_tree_up(token)
        with trio.fail_after(15):
            await p.kill()
        assert p.killed and p.ended
    await assert_no_survivors(token)


async def test_enclosing_cancellation_kills_tree(make: Factory) -> None:
    cmd, token = tree_cmd()
    p = make(cmd)
    with trio.move_on_after(10) as scope:
        async with p:
            await wait_tree_up(token)
            scope.cancel()
            await trio.sleep_forever()
    assert scope.cancelled_caught and p.killed and p.ended
    await assert_no_survivors(token)


async def test_cancelled_run_kills_tree(make: Factory) -> None:
    cmd, token = tree_cmd()
    p = make(cmd)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(p.run)
        await wait_tree_up(token)
        nursery.cancel_scope.cancel()
    assert p.killed and p.ended
    await assert_no_survivors(token)


async def test_exception_in_scope_kills_tree_and_propagates_unwrapped(make: Factory) -> None:
    cmd, token = tree_cmd()
    p = make(cmd)
    with pytest.raises(ZeroDivisionError):
        async with p:
            await wait_tree_up(token)
            1 / 0
    assert p.killed and p.ended
    await assert_no_survivors(token)


async def test_sigterm_ignoring_tree_is_force_killed(make: Factory) -> None:
    token = f"{800 + next(_tokens)}.5"
    p = make(f"sh -c 'trap \"\" TERM; sleep {token} & sleep {token}; sleep {token}'")
    p.kill_grace = 0.5
    async with p:
        await wait_tree_up(token)
        await p.kill()
    assert p.forced_kill
    await assert_no_survivors(token)
