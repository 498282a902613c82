"""SshProcess over a real OpenSSH server on loopback addresses (FEATURES §1.10, §5.1)."""

import pytest
import trio

from execo import Host, ProcessStatus, SshProcess
from execo.testbed import LoopbackSshd


async def test_u3_netcat_between_two_hosts(hosts: list[Host]) -> None:
    h1, h2 = hosts[0], hosts[1]
    receiver = SshProcess("nc -l -p 6543", h1)
    async with receiver:
        await trio.sleep(1)
        sender = await SshProcess(f"echo 'hi there' | nc -q 0 {h1.address} 6543", h2).run()
        assert sender.ok
        await receiver.wait()
    assert receiver.ok and receiver.stdout == "hi there\n"


async def test_u4_netcat_with_expect(hosts: list[Host]) -> None:
    h1, h2 = hosts[2], hosts[3]
    receiver = SshProcess("nc -v -l -p 6544", h1)
    async with receiver:
        assert await receiver.expect(r"^[Ll]istening on", stream="stderr", timeout=10)
        await SshProcess(f"echo hello | nc -q 0 {h1.address} 6544", h2).run(check=True)
    assert receiver.stdout == "hello\n"


async def test_output_exit_code_and_marker_stripped(hosts: list[Host]) -> None:
    p = await SshProcess("echo out; echo err >&2; exit 5", hosts[0], nolog_exit_code=True).run()
    assert p.stdout == "out\n" and p.stderr == "err\n" and p.exit_code == 5
    assert p.status == ProcessStatus.FAILED and p.remote_pid is not None
    assert p.host == hosts[0]


async def test_remote_command_not_found_is_failed_not_unreachable(hosts: list[Host]) -> None:
    p = await SshProcess("no-such-command-xyz", hosts[0], nolog_exit_code=True).run()
    assert p.exit_code == 127 and p.status == ProcessStatus.FAILED


async def test_unreachable_host(sshd: LoopbackSshd) -> None:
    closed = Host("127.0.0.250", port=sshd.port, keyfile=str(sshd.keyfile))
    with trio.fail_after(10):
        p = await SshProcess("true", closed, nolog_error=True).run()
    assert p.status == ProcessStatus.UNREACHABLE and not p.ok and p.error
    assert "unreachable" in (p.error_reason or "") and "refused" in (p.error_reason or "")


async def test_login_refused_is_unreachable(hosts: list[Host], tmp_path: object) -> None:
    wrong = hosts[0].replace(keyfile="/nonexistent-key")
    p = await SshProcess("true", wrong, nolog_error=True).run()
    assert p.status == ProcessStatus.UNREACHABLE
    assert "Permission denied" in (p.error_reason or "")


async def test_argv_command_is_quoted_for_remote_shell(hosts: list[Host]) -> None:
    p = await SshProcess(["printf", "%s|", "a b", "$HOME"], hosts[0]).run()
    assert p.stdout == "a b|$HOME|"


async def test_stdin_over_ssh(hosts: list[Host]) -> None:
    p = SshProcess("cat", hosts[0])
    async with p:
        await p.write("through ssh\n")
        await p.close_stdin()
    assert p.stdout == "through ssh\n"


async def test_pty_mode(hosts: list[Host]) -> None:
    p = await SshProcess("test -t 1 && echo tty; echo err >&2", hosts[0], pty=True).run()
    assert p.ok and p.remote_pid is not None
    assert p.stdout.replace("\r\n", "\n") == "tty\nerr\n"  # a pty merges stderr


async def test_host_rewrite_func(hosts: list[Host]) -> None:
    target = hosts[4]
    params = {"host_rewrite_func": lambda a: target.address if a == "node-a" else a}
    p = await SshProcess(
        "hostname -I 2>/dev/null; echo $SSH_CONNECTION",
        Host("node-a", port=target.port, keyfile=target.keyfile),
        connection_params=params,
    ).run()
    assert p.ok and target.address in p.stdout.split()


async def test_many_concurrent_ssh(hosts: list[Host]) -> None:
    procs = [SshProcess("echo $SSH_CONNECTION", h) for h in hosts]
    with trio.fail_after(60):
        async with trio.open_nursery() as n:
            for p in procs:
                n.start_soon(p.run)
    assert all(p.ok for p in procs)
    assert [p.stdout.split()[2] for p in procs] == [h.address for h in hosts]


def test_shell_kwarg_rejected(hosts: list[Host]) -> None:
    with pytest.raises(TypeError, match="shell"):
        SshProcess("true", hosts[0], shell=True)
