"""What a transport cannot do is recorded on the process, never swallowed: a session that
breaks under a running command, and a remote kill that cannot be delivered."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from collections.abc import Iterator

import pytest
import trio

from execo import (
    ConnectionParams,
    Host,
    ProcessStatus,
    Put,
    SshProcess,
    default_connection_params,
)
from execo.testbed import LoopbackSshd
from execo.testing import FakeTransport, Reply


async def test_asyncssh_session_broken_under_the_command_says_why(hosts: list[Host]) -> None:
    # $PPID is the sshd process serving this session: killing it breaks the session.
    p = await SshProcess(
        "echo started; sleep 0.5; kill -9 $PPID; sleep 5",
        hosts[0],
        transport="asyncssh",
        nolog_exit_code=True,
    ).run()
    assert p.stdout == "started\n" and p.exit_code == 255 and not p.ok
    assert p.status == ProcessStatus.FAILED  # as with OpenSSH: the command did start
    assert "without an exit status" in (p.error_reason or ""), p.dump()


def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def descendants(pid: int) -> list[int]:
    found = []
    for child in children(pid):
        found += [child, *descendants(child)]
    return found


@pytest.fixture
def own_sshd() -> Iterator[LoopbackSshd]:
    with LoopbackSshd(1, first=240) as server:
        yield server


@pytest.mark.parametrize("transport", ["ssh", "asyncssh"])
async def test_undeliverable_remote_kill_is_logged_and_recorded(
    own_sshd: LoopbackSshd, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    host = own_sshd.hosts[0]
    params = ConnectionParams(connect_timeout=1.0)
    p = SshProcess(
        "echo ready; exec sleep 300", host, transport=transport, connection_params=params
    )
    p.kill_grace = 0.5
    master = own_sshd.pids[0]
    stopped: list[int] = []
    try:
        async with p:
            assert await p.expect("ready", timeout=15)
            with trio.fail_after(10):  # the marker (stderr) may come after "ready" (stdout)
                while p.remote_pid is None:
                    await trio.sleep(0.01)
            # Every sshd hangs (the one serving our session, and the master that would
            # accept a new connection), while the remote command keeps running.
            stopped = [master, *[q for q in descendants(master) if q != p.remote_pid]]
            for pid in stopped:
                os.kill(pid, signal.SIGSTOP)
            with caplog.at_level(logging.WARNING, logger="execo"), trio.fail_after(30):
                await p.kill()
        assert p.ended and p.killed
        assert "remote kill" in (p.error_reason or ""), p.dump()
        assert any("remote kill" in r.getMessage() for r in caplog.records)
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
        if p.remote_pid is not None:
            try:
                os.kill(p.remote_pid, signal.SIGKILL)  # loopback: the remote command is here
            except ProcessLookupError:
                pass


async def test_kill_errors_reach_the_process_through_any_transport(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Undeliverable(FakeTransport):
        async def open(self, request):
            channel = await super().open(request)
            channel.info.kill_error = "remote kill failed: no route to host"
            return channel

    fake = Undeliverable(Reply(duration=None))
    p = SshProcess("sleep", "node-1", transport=fake)
    with caplog.at_level(logging.WARNING, logger="execo"):
        async with p:
            await p.kill()
    assert p.error_reason == "remote kill failed: no route to host"
    assert any("no route to host" in r.getMessage() for r in caplog.records)


async def test_a_missing_sftp_subsystem_is_reported_as_such() -> None:
    with LoopbackSshd(1, first=239, sftp=False) as server:
        put = await Put(
            server.hosts,
            ["/etc/hostname"],
            "/tmp/",
            transport="asyncssh",
            process_args={"nolog_error": True},
        ).run()
        legacy = {"scp_options": (*default_connection_params["scp_options"], "-O")}  # not SFTP
        scp = await Put(
            server.hosts, ["/etc/hostname"], "/tmp/execo-sftp-test-copy", connection_params=legacy
        ).run()
    p = put.processes[0]
    assert p.status == ProcessStatus.ERROR  # reached: not UNREACHABLE
    assert "no SFTP subsystem" in (p.error_reason or "") and "scp -O" in (p.error_reason or "")
    assert scp.ok, scp.processes[0].dump()  # the same host, as the message says
