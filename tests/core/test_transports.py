"""The same process semantics over both remote transports: OpenSSH (``ssh``) and asyncssh.

Every test here runs once per transport (the ``transport`` fixture) and asserts the same
states, so the asyncssh transport is held to what the OpenSSH one does."""

import time

import pytest
import trio

from execo import Host, ProcessStatus, SshProcess, configuration, get_process, ssh_pool
from execo.testbed import LoopbackSshd

from ..conftest import count_processes


async def test_output_exit_code_and_marker_stripped(hosts: list[Host], transport: str) -> None:
    p = SshProcess("echo out; echo err >&2; exit 5", hosts[0], transport=transport)
    p.nolog_exit_code = True
    await p.run()
    assert p.stdout == "out\n" and p.stderr == "err\n" and p.exit_code == 5
    assert p.status == ProcessStatus.FAILED and p.remote_pid is not None
    assert p.ok is False and p.host == hosts[0] and p.transport.name == transport


async def test_ok_and_command_not_found(hosts: list[Host], transport: str) -> None:
    ok = await SshProcess("true", hosts[0], transport=transport).run()
    assert ok.status == ProcessStatus.OK and ok.exit_code == 0 and ok.finished_ok
    p = await SshProcess(
        "no-such-cmd-xyz", hosts[0], transport=transport, nolog_exit_code=True
    ).run()
    assert p.exit_code == 127 and p.status == ProcessStatus.FAILED


async def test_killed_by_signal(hosts: list[Host], transport: str) -> None:
    p = await SshProcess("kill -KILL $$", hosts[0], transport=transport, nolog_exit_code=True).run()
    # OpenSSH's client reports a remote signal as exit status 255; asyncssh gives the signal.
    assert not p.ok and p.status == ProcessStatus.FAILED
    assert p.exit_signal == 9 or p.exit_code == 255


async def test_unreachable_host(sshd: LoopbackSshd, transport: str) -> None:
    closed = Host("127.0.0.250", port=sshd.port, keyfile=str(sshd.keyfile))
    with trio.fail_after(10):
        p = await SshProcess("true", closed, transport=transport, nolog_error=True).run()
    assert p.status == ProcessStatus.UNREACHABLE and not p.ok and p.error
    assert "unreachable" in (p.error_reason or "") and "refused" in (p.error_reason or "")


async def test_login_refused_is_unreachable(hosts: list[Host], tmp_path: object) -> None:
    for transport in ("ssh", "asyncssh"):
        wrong = hosts[0].replace(keyfile=str(hosts[0].keyfile) + ".pub")  # not a private key
        p = await SshProcess("true", wrong, transport=transport, nolog_error=True).run()
        assert p.status == ProcessStatus.UNREACHABLE, (transport, p)


async def test_argv_command_is_quoted_for_remote_shell(hosts: list[Host], transport: str) -> None:
    p = await SshProcess(["printf", "%s|", "a b", "$HOME"], hosts[0], transport=transport).run()
    assert p.stdout == "a b|$HOME|"


async def test_stdin_write_and_close(hosts: list[Host], transport: str) -> None:
    p = SshProcess("cat; echo done", hosts[0], transport=transport)
    async with p:
        await p.write("through ssh\n")
        await p.write(b"x" * 300_000 + b"\n")
        await p.close_stdin()
    assert p.stdout.startswith("through ssh\nxxx") and p.stdout.endswith("x\ndone\n")
    assert len(p.stdout) == len("through ssh\n") + 300_001 + len("done\n")
    assert not p.write_error


async def test_no_stdin(hosts: list[Host], transport: str) -> None:
    p = await SshProcess("cat; echo eof", hosts[0], transport=transport, stdin=False).run()
    assert p.stdout == "eof\n"


async def test_pty_mode(hosts: list[Host], transport: str) -> None:
    p = SshProcess("test -t 1 && echo tty; echo err >&2", hosts[0], pty=True, transport=transport)
    await p.run()
    assert p.ok and p.remote_pid is not None
    assert p.stdout.replace("\r\n", "\n") == "tty\nerr\n"  # a pty merges stderr


async def test_timeout_marks_and_kills(hosts: list[Host], transport: str) -> None:
    p = SshProcess("sleep 101.7", hosts[0], transport=transport, timeout=1, nolog_timeout=True)
    t = time.monotonic()
    await p.run()
    assert time.monotonic() - t < 5
    assert p.timeouted and p.killed and not p.ok and p.status == ProcessStatus.TIMEOUT
    with trio.move_on_after(3):
        while count_processes("sleep 101.7"):
            await trio.sleep(0.05)
    assert count_processes("sleep 101.7") == 0


async def test_kill_and_cancel(hosts: list[Host], transport: str) -> None:
    p = SshProcess("sleep 102.7", hosts[0], transport=transport)
    async with p:
        await trio.sleep(0.3)
        await p.kill()
    assert p.killed and p.ok and p.status == ProcessStatus.KILLED
    q = SshProcess("sleep 103.7", hosts[1], transport=transport)
    with trio.move_on_after(1):
        await q.run()
    assert q.killed and q.ended
    with trio.move_on_after(3):
        while count_processes("sleep 10"):
            await trio.sleep(0.05)
    assert count_processes("sleep 102.7") == count_processes("sleep 103.7") == 0


async def test_expect_and_lines(hosts: list[Host], transport: str) -> None:
    p = SshProcess("echo one; sleep 0.3; echo two; echo three >&2", hosts[0], transport=transport)
    async with p:
        index, match = await p.expect(["two", "one"], timeout=5)
        assert index == 1 and match is not None
        assert await p.expect("two", timeout=5)
        assert await p.expect("three", stream="stderr", timeout=5)
        lines = [line async for line in p.lines()]
    assert lines == ["one", "two"]
    assert not (await SshProcess("true", hosts[0], transport=transport).run()).expect_fail


async def test_expect_fails_when_stream_ends(hosts: list[Host], transport: str) -> None:
    p = SshProcess("echo nothing", hosts[0], transport=transport, nolog_expect_fail=True)
    async with p:
        result = await p.expect("never", timeout=10)
    assert not result and p.expect_fail and not p.ok


async def test_big_output_is_complete(hosts: list[Host], transport: str) -> None:
    p = await SshProcess("seq 1 200000", hosts[0], transport=transport).run()
    assert p.stdout.count("\n") == 200000 and p.stdout.endswith("199999\n200000\n")


async def test_many_concurrent(hosts: list[Host], transport: str) -> None:
    async with ssh_pool() as pool:
        procs = [SshProcess("echo $SSH_CONNECTION", h, transport=transport) for h in hosts]
        with trio.fail_after(60):
            async with trio.open_nursery() as n:
                for p in procs:
                    n.start_soon(p.run)
    assert all(p.ok for p in procs)
    assert [p.stdout.split()[2] for p in procs] == [h.address for h in hosts]
    opened = pool.statistics().connections_opened
    assert opened == (len(hosts) if transport == "asyncssh" else 0)


async def test_configuration_picks_the_transport(hosts: list[Host]) -> None:
    assert SshProcess("true", hosts[0]).transport.name == "ssh"
    configuration["remote_tool"] = "asyncssh"
    p = get_process("echo via-config", hosts[0])
    assert isinstance(p, SshProcess) and p.transport.name == "asyncssh"
    assert (await p.run()).stdout == "via-config\n"
    assert SshProcess("true", hosts[0], transport="ssh").transport.name == "ssh"
    with pytest.raises(ValueError, match="transport"):
        SshProcess("true", hosts[0], transport="telnet")


async def test_kex_algorithms(hosts: list[Host], transport: str) -> None:
    params = {"kex_algorithms": ("curve25519-sha256",)}
    p = SshProcess("true", hosts[2], transport=transport, connection_params=params)
    assert (await p.run()).ok
    bogus = {"kex_algorithms": ("diffie-hellman-group1-sha1",)}  # refused by OpenSSH >= 7.0
    q = SshProcess("true", hosts[2], transport=transport, connection_params=bogus)
    q.nolog_error = True
    await q.run()
    assert q.status == ProcessStatus.UNREACHABLE, q.dump()
