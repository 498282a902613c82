"""SshProcess over a real OpenSSH server on loopback addresses (FEATURES §1.10, §5.1).

What both transports share is tested in test_transports.py."""

import pytest
import trio

from execo import Host, ProcessStatus, SshProcess


async def test_u3_netcat_between_two_hosts(hosts: list[Host], transport: str) -> None:
    h1, h2 = hosts[0], hosts[1]
    port = 6543 if transport == "ssh" else 6553
    receiver = SshProcess(f"nc -l -p {port}", h1, transport=transport)
    async with receiver:
        await trio.sleep(1)
        send = f"echo 'hi there' | nc -q 0 {h1.address} {port}"
        sender = await SshProcess(send, h2, transport=transport).run()
        assert sender.ok
        await receiver.wait()
    assert receiver.ok and receiver.stdout == "hi there\n"


async def test_u4_netcat_with_expect(hosts: list[Host], transport: str) -> None:
    h1, h2 = hosts[2], hosts[3]
    port = 6544 if transport == "ssh" else 6554
    receiver = SshProcess(f"nc -v -l -p {port}", h1, transport=transport)
    async with receiver:
        assert await receiver.expect(r"^[Ll]istening on", stream="stderr", timeout=10)
        send = f"echo hello | nc -q 0 {h1.address} {port}"
        await SshProcess(send, h2, transport=transport).run(check=True)
    assert receiver.stdout == "hello\n"


async def test_login_refused_is_unreachable(hosts: list[Host], tmp_path: object) -> None:
    wrong = hosts[0].replace(keyfile="/nonexistent-key")
    p = await SshProcess("true", wrong, nolog_error=True).run()
    assert p.status == ProcessStatus.UNREACHABLE
    assert "Permission denied" in (p.error_reason or "")


async def test_host_rewrite_func(hosts: list[Host], transport: str) -> None:
    target = hosts[4]
    params = {"host_rewrite_func": lambda a: target.address if a == "node-a" else a}
    p = await SshProcess(
        "hostname -I 2>/dev/null; echo $SSH_CONNECTION",
        Host("node-a", port=target.port, keyfile=target.keyfile),
        connection_params=params,
        transport=transport,
    ).run()
    assert p.ok and target.address in p.stdout.split()


def test_shell_kwarg_rejected(hosts: list[Host]) -> None:
    with pytest.raises(TypeError, match="shell"):
        SshProcess("true", hosts[0], shell=True)  # type: ignore[call-arg]
