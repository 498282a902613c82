"""TaktukPut, TaktukGet and ChainPut against real taktuk and netcat on the loopback sshd.
The hosts share one HOME (one machine), so every host copies into its own directory
(``{{{host}}}`` in the destination)."""

import hashlib
import shlex
import shutil
from pathlib import Path

import pytest
import trio

from execo import (
    ChainPut,
    ConnectionParams,
    Host,
    ProcessStatus,
    Put,
    SshProcess,
    TaktukGet,
    TaktukPut,
    TaktukRemote,
    configuration,
    get_fileget,
    get_fileput,
    get_remote,
)
from execo.testbed import LoopbackSshd

pytestmark = pytest.mark.skipif(shutil.which("taktuk") is None, reason="taktuk not installed")


def per_host_dirs(root: Path, hosts: list[Host]) -> None:
    for h in hosts:
        (root / h.address).mkdir(parents=True, exist_ok=True)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_put_then_get_several_files_with_spaces(
    hosts: list[Host], sshd: LoopbackSshd, tmp_path: Path
) -> None:
    src = tmp_path / "src dir"
    src.mkdir()
    (src / "first file.txt").write_text("one\n")
    (src / "second").write_bytes(bytes(range(256)) * 100)
    targets = [*hosts[:4], Host("127.0.0.250", port=sshd.port, keyfile=str(sshd.keyfile))]
    remote, back = tmp_path / "remote side", tmp_path / "back here"
    per_host_dirs(remote, targets)
    per_host_dirs(back, targets)
    files = [str(src / "first file.txt"), str(src / "second")]
    put = await TaktukPut(
        targets, files, f"{remote}/{{{{{{host}}}}}}", process_args={"nolog_error": True}
    ).run()
    assert [p.status for p in put.processes] == [ProcessStatus.OK] * 4 + [ProcessStatus.UNREACHABLE]
    for h in hosts[:4]:
        assert (remote / h.address / "first file.txt").read_text() == "one\n"
        assert digest(remote / h.address / "second") == digest(src / "second")
    get = await TaktukGet(
        hosts[:4],
        [f"{remote}/{{{{{{host}}}}}}/first file.txt", f"{remote}/{{{{{{host}}}}}}/second"],
        f"{back}/{{{{{{host}}}}}}",
    ).run()
    assert get.ok
    for h in hosts[:4]:
        assert (back / h.address / "first file.txt").read_text() == "one\n"
        assert digest(back / h.address / "second") == digest(src / "second")


async def test_put_failures_are_per_host(hosts: list[Host], tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    put = await TaktukPut(
        hosts[:2],
        [str(tmp_path / "f"), str(tmp_path / "missing")],
        str(tmp_path / "no such dir" / "sub"),
        process_args={"nolog_exit_code": True},
    ).run()
    assert [p.status for p in put.processes] == [ProcessStatus.FAILED] * 2
    assert all(p.exit_code == 1 for p in put.processes)
    assert all("no such local file" in p.stderr for p in put.processes)


async def test_chainput_10mb_to_10_hosts_one_dead(
    hosts: list[Host], sshd: LoopbackSshd, tmp_path: Path
) -> None:
    data = tmp_path / "payload.bin"
    data.write_bytes(bytes(range(256)) * (10 * 1024 * 1024 // 256))
    dead = Host("127.0.0.250", port=sshd.port, keyfile=str(sshd.keyfile))
    chain = [*hosts[:4], dead, *hosts[4:10], hosts[0]]  # a duplicate, removed
    remote = tmp_path / "copies"
    per_host_dirs(remote, chain)
    c = ChainPut(
        chain,
        [str(data)],
        f"{remote}/{{{{{{host}}}}}}",
        connection_params=ConnectionParams(chainput_host_retry=2, chainput_try_delay=0.2),
    )
    assert len(c.hosts) == 11
    await c.run()
    statuses = {p.host: p.status for p in c.processes if p.host is not None}
    assert statuses.pop(dead) == ProcessStatus.UNREACHABLE
    assert set(statuses.values()) == {ProcessStatus.OK}
    assert len(statuses) == 10
    for h in hosts[:10]:
        assert digest(remote / h.address / "payload.bin") == digest(data)


async def test_factories_build_the_taktuk_actions(hosts: list[Host], tmp_path: Path) -> None:
    configuration["remote_tool"] = "taktuk"
    configuration["fileput_tool"] = "chainput"
    configuration["fileget_tool"] = 2  # execo's TAKTUK constant
    assert isinstance(get_remote("true", hosts[:2]), TaktukRemote)
    assert isinstance(get_fileput(hosts[:2], ["/etc/hostname"]), ChainPut)
    assert isinstance(get_fileget(hosts[:2], ["/etc/hostname"]), TaktukGet)
    assert isinstance(get_fileput(hosts[:2], ["/etc/hostname"], fileput_tool="taktuk"), TaktukPut)
    assert isinstance(get_fileput(hosts[:2], ["/etc/hostname"], fileput_tool="scp"), Put)
    r = await get_remote("echo {{{host}}}", hosts[:2]).run()
    assert [p.stdout for p in r.processes] == [f"{h.address}\n" for h in hosts[:2]]


async def relay_on(host: Host, port: int, size: int, dest: Path, credentials: str) -> SshProcess:
    """A ChainPut relay alone on ``host`` (as taktuk would start it), end of its chain."""
    from execo._actions._chainput import chainput_script

    argv = ["sh", "-c", chainput_script(), "chainput", "relay", str(port), "/bin/nc.traditional"]
    argv += ["5", "10", "1", "1", "0.1", str(size), "payload.bin", host.address, str(dest)]
    relay = SshProcess(
        "TAKTUK_POSITION=1 " + shlex.join(argv), host, nolog_exit_code=True, timeout=30
    )
    return relay


@pytest.mark.parametrize(
    ("first_line", "body", "code", "why"),
    [
        (b"EXECO-CHAINPUT not-the-secret\n", b"x" * 100, 4, "without this transfer's secret"),
        (b"", b"y" * 100, 4, "without this transfer's secret"),
        (b"EXECO-CHAINPUT s3cret\n", b"z" * 100, 5, "not the source's"),
    ],
)
async def test_a_relay_refuses_a_stream_not_from_the_chain_and_checks_the_sha256(
    hosts: list[Host], tmp_path: Path, first_line: bytes, body: bytes, code: int, why: str
) -> None:
    good = b"g" * 100
    dest = tmp_path / "copy.bin"
    port = 26123 + code * 10 + len(first_line) % 7
    relay = await relay_on(
        hosts[0], port, len(good), dest, f"s3cret {hashlib.sha256(good).hexdigest()}"
    )
    async with relay:
        await relay.write(f"s3cret {hashlib.sha256(good).hexdigest()}\n")
        assert await relay.expect("^READY", timeout=15)
        stream = await trio.open_tcp_stream(hosts[0].address, port)
        await stream.send_all(first_line + body)
        await stream.aclose()
    assert relay.exit_code == code, relay.dump()
    assert why in relay.stderr
    if code == 4:
        assert not dest.exists() or dest.read_bytes() == b""  # nothing kept
