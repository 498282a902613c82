"""TaktukRemote against real taktuk 3.7.7 and the loopback sshd: outputs, exit codes,
unreachable hosts, per-host connection parameters, substitutions, stdin and expect, and the
kill invariant (timeout, kill(), cancellation, taktuk dying: zero remote survivors)."""

import itertools
import os
import shutil
import signal
from pathlib import Path

import pytest
import trio

from execo import (
    ConnectionParams,
    Host,
    ProcessStatus,
    TaktukProcess,
    TaktukRemote,
)
from execo.testbed import LoopbackSshd

from ..conftest import count_processes, describe_processes

pytestmark = pytest.mark.skipif(shutil.which("taktuk") is None, reason="taktuk not installed")

_tokens = itertools.count(1)


def token() -> str:
    return f"{600 + next(_tokens)}.{os.getpid() % 1000:03d}"


def dead_host(sshd: LoopbackSshd) -> Host:
    """A loopback address where nothing listens."""
    return Host("127.0.0.250", port=sshd.port, keyfile=str(sshd.keyfile))


async def wait_count(tok: str, n: int) -> None:
    with trio.fail_after(20):
        while count_processes(f"sleep {tok}", exact=True) < n:
            await trio.sleep(0.05)


async def assert_no_survivors(tok: str) -> None:
    with trio.move_on_after(5):
        while count_processes(tok):
            await trio.sleep(0.05)
    assert count_processes(tok) == 0, describe_processes(tok)


async def test_twenty_hosts_outputs_and_exit_codes(hosts: list[Host]) -> None:
    r = TaktukRemote(
        "echo out $TAKTUK_POSITION; printf 'two\\nlines'; echo err >&2; exit {{codes}}",
        hosts,
        namespace={"codes": [0, 3]},
    )
    assert len(r.processes) == 20
    await r.run()
    assert r.ended
    for i, p in enumerate(r.processes):
        assert isinstance(p, TaktukProcess)
        assert p.stdout == f"out {i + 1}\ntwo\nlines"
        assert p.stderr == "err\n"
        assert p.exit_code == (0 if i % 2 == 0 else 3)
        assert p.exit_signal is None
        assert p.status == (ProcessStatus.OK if i % 2 == 0 else ProcessStatus.FAILED)
        assert p.remote_pid is not None
        assert p.host == hosts[i]
    assert len(r.failed) == 10


async def test_unreachable_host_among_reachable(hosts: list[Host], sshd: LoopbackSshd) -> None:
    targets = [*hosts[:3], dead_host(sshd), hosts[3]]
    r = await TaktukRemote("echo hi", targets, process_args={"nolog_error": True}).run()
    assert [p.status for p in r.processes] == [ProcessStatus.OK] * 3 + [
        ProcessStatus.UNREACHABLE,
        ProcessStatus.OK,
    ]
    bad = r.processes[3]
    assert bad.error and not bad.ok and "Connection refused" in (bad.error_reason or "")
    assert [p.stdout for p in r.succeeded] == ["hi\n"] * 4


async def test_per_host_keyfile_port_and_user(sshd: LoopbackSshd, tmp_path: Path) -> None:
    key = tmp_path / "other key"
    shutil.copy(sshd.keyfile, key)
    key.chmod(0o600)
    user = os.environ.get("USER") or "root"
    targets = [
        Host(sshd.addresses[0], port=sshd.port, keyfile=str(sshd.keyfile)),
        Host(sshd.addresses[1], port=sshd.port, keyfile=str(key)),
        Host(sshd.addresses[2], port=sshd.port, keyfile=str(key), user=user),
        Host(sshd.addresses[3], port=1, keyfile=str(key)),  # wrong port: this one only fails
    ]
    r = await TaktukRemote(
        "echo $TAKTUK_HOSTNAME", targets, process_args={"nolog_error": True}
    ).run()
    assert [p.status for p in r.processes] == [ProcessStatus.OK] * 3 + [ProcessStatus.UNREACHABLE]
    assert [p.stdout.strip() for p in r.processes[:3]] == sshd.addresses[:3]


async def test_substitutions_wrap_around_with_repeated_hosts(hosts: list[Host]) -> None:
    cores = [h for h in hosts[:3] for _ in range(4)]  # each host once per "core"
    pingtargets = [h.address for h in reversed(hosts[:5])]
    r = await TaktukRemote("echo {{{host}}} {{pingtargets}}", cores).run()
    assert r.ok and len(r.processes) == 12
    for i, p in enumerate(r.processes):
        assert p.stdout == f"{cores[i].address} {pingtargets[i % 5]}\n"


async def test_write_expect_lines_and_close_stdin(hosts: list[Host]) -> None:
    r = TaktukRemote("cat; echo done", hosts[:3])
    async with r:
        first, second, third = r.processes
        await first.write("hello\n")
        assert await first.expect("^hello$", timeout=10)
        await second.write(b"bytes \x00 kept\n")
        assert await second.expect("kept", timeout=10)
        await r.write("to all\n")
        for p in r.processes:
            await p.close_stdin()
    assert r.ok
    assert first.stdout == "hello\nto all\ndone\n"
    assert second.stdout == "bytes \x00 kept\nto all\ndone\n"
    assert [line async for line in third.lines()] == ["to all", "done"]


async def test_action_timeout_kills_remote_trees(hosts: list[Host]) -> None:
    tok = token()
    r = TaktukRemote(
        f"sh -c 'sleep {tok} & sleep {tok}'",
        hosts[:5],
        timeout=2,
        process_args={"nolog_timeout": True},
    )
    with trio.fail_after(30):
        await r.run()
    assert r.timeouted
    assert all(p.status == ProcessStatus.TIMEOUT for p in r.processes)
    await assert_no_survivors(tok)


async def test_action_timeout_while_connecting_is_a_timeout(sshd: LoopbackSshd) -> None:
    # A server that accepts the TCP connection and never says a word: taktuk is still
    # connecting when the action's timeout fires; the outcome is the timeout's.
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        host = Host("127.0.0.1", port=port, keyfile=str(sshd.keyfile))
        r = TaktukRemote("true", [host], timeout=1.5, process_args={"nolog_timeout": True})
        with trio.fail_after(30):
            await r.run()
        assert r.timeouted
        assert [p.status for p in r.processes] == [ProcessStatus.TIMEOUT]
    finally:
        listener.close()


async def test_process_timeout_is_enforced(hosts: list[Host]) -> None:
    tok = token()
    r = TaktukRemote(
        "sleep {{lengths}}",
        hosts[:3],
        namespace={"lengths": ["0.1", tok, "0.2"]},
        process_args={"timeout": 2, "nolog_timeout": True},
    )
    with trio.fail_after(30):
        await r.run()
    assert [p.status for p in r.processes] == [
        ProcessStatus.OK,
        ProcessStatus.TIMEOUT,
        ProcessStatus.OK,
    ]
    await assert_no_survivors(tok)


async def test_kill_kills_remote_trees(hosts: list[Host]) -> None:
    tok = token()
    r = TaktukRemote(f"sh -c 'sleep {tok} & sleep {tok}'", hosts[:6])
    async with r:
        await wait_count(tok, 12)
        with trio.fail_after(20):
            await r.kill()
    assert all(p.killed and p.status == ProcessStatus.KILLED for p in r.processes)
    assert all(p.exit_signal == signal.SIGTERM for p in r.processes)
    await assert_no_survivors(tok)


async def test_cancellation_kills_remote_trees(hosts: list[Host]) -> None:
    tok = token()
    r = TaktukRemote(f"sh -c 'sleep {tok} & sleep {tok}'", hosts[:6])
    with trio.move_on_after(20) as scope:
        async with r:
            await wait_count(tok, 12)
            scope.cancel()
            await trio.sleep_forever()
    assert scope.cancelled_caught
    assert all(p.killed for p in r.processes)
    await assert_no_survivors(tok)


async def test_sigterm_ignored_is_force_killed(hosts: list[Host]) -> None:
    tok = token()
    r = TaktukRemote(
        f"sh -c 'trap \"\" TERM; sleep {tok} & sleep {tok}; sleep {tok}'",
        hosts[:3],
        process_args={"kill_grace": 0.5},
    )
    async with r:
        await wait_count(tok, 6)
        with trio.fail_after(20):
            await r.kill()
    assert all(p.forced_kill for p in r.processes)
    await assert_no_survivors(tok)


async def test_remote_commands_die_with_taktuk(hosts: list[Host]) -> None:
    """If the local taktuk dies, the hosts end and their commands are killed over ssh."""
    tok = token()
    r = TaktukRemote(
        f"sh -c 'sleep {tok} & sleep {tok}'", hosts[:3], process_args={"nolog_error": True}
    )
    with trio.fail_after(30):
        async with r:
            await wait_count(tok, 6)
            taktuk = r.taktuk_pid
            assert taktuk is not None
            os.killpg(taktuk, signal.SIGKILL)
    assert all(p.ended and p.error for p in r.processes)
    assert all("taktuk exited" in (p.error_reason or "") for p in r.processes)
    await assert_no_survivors(tok)


async def test_missing_taktuk_is_an_error_per_host(hosts: list[Host]) -> None:
    r = TaktukRemote(
        "true",
        hosts[:2],
        connection_params=ConnectionParams(taktuk="/nonexistent/taktuk"),
        process_args={"nolog_error": True},
    )
    await r.run()
    assert all(p.status == ProcessStatus.ERROR for p in r.processes)
    assert "taktuk" in (r.processes[0].error_reason or "")


async def test_taktuk_process_runs_on_its_own_and_rejects_pty(hosts: list[Host]) -> None:
    # On its own, a TaktukProcess drives a taktuk of its own (a batch of one).
    p = await TaktukProcess("echo alone; exit 3", hosts[0], nolog_exit_code=True).run()
    assert p.stdout == "alone\n" and p.exit_code == 3 and p.remote_pid is not None
    assert p.transport.name == "taktuk"
    with pytest.raises(TypeError, match="pty"):
        TaktukRemote("true", hosts[:1], process_args={"pty": True})  # type: ignore[arg-type]
