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


# The relay each host runs: Python (found), the shell relay (None: never Python, or an
# interpreter that is not there); and what starts the relays.
RELAYS = {"python relay": "python3", "sh relay": None, "no such python": "no-such-python3"}


@pytest.mark.parametrize("relay", list(RELAYS))
@pytest.mark.parametrize("starter", ["taktuk", "asyncssh"])
async def test_chainput_10mb_to_10_hosts_one_dead(
    hosts: list[Host], sshd: LoopbackSshd, tmp_path: Path, relay: str, starter: str
) -> None:
    data = tmp_path / "payload.bin"
    data.write_bytes(bytes(range(256)) * (10 * 1024 * 1024 // 256))
    dead = Host("127.0.0.250", port=sshd.port, keyfile=str(sshd.keyfile))
    chain = [*hosts[:4], dead, *hosts[4:10], hosts[0]]  # a duplicate, removed
    remote = tmp_path / "copies"
    per_host_dirs(remote, chain)
    params = ConnectionParams(
        chainput_host_retry=2,
        chainput_try_delay=0.2,
        chainput_python=RELAYS[relay],
        connect_timeout=5,
    )
    where = f"{remote}/{{{{{{host}}}}}}"
    c = ChainPut(chain, [str(data)], where, connection_params=params, transport=starter)
    assert len(c.hosts) == 11
    await c.run()
    statuses = {p.host: p.status for p in c.processes if p.host is not None}
    assert statuses.pop(dead) == ProcessStatus.UNREACHABLE
    failed = [(p.host, p.failure_reason(), p.stderr[-300:]) for p in c.processes if not p.ok]
    assert set(statuses.values()) == {ProcessStatus.OK}, failed
    assert len(statuses) == 10
    for h in hosts[:10]:
        assert digest(remote / h.address / "payload.bin") == digest(data)
    relays = [p for p in c.processes if p.host is not None and p.host != dead]
    python = [("READY (python)" in p.stdout) for p in relays]
    assert python == [relay == "python relay"] * 10
    assert all("RECEIVED 10485760" in p.stdout for p in relays)


def test_the_relays_hold_no_substitution() -> None:
    """The relays' sources go inside a Remote's command, which substitutes ``{{...}}``."""
    from execo._actions._chainput import chainput_python_relay, chainput_script
    from execo._core._substitution import has_substitutions

    assert not has_substitutions(chainput_python_relay())
    assert not has_substitutions(chainput_script())


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


def relay_argv(python: str | None, port: int, size: int, chain: list[str]) -> list[str]:
    """A ChainPut relay's command line (as ChainPut builds it) with the Python relay where
    ``python`` is, else the shell relay."""
    from execo._actions._chainput import _LAUNCH, chainput_python_relay, chainput_script

    argv = ["sh", "-c", _LAUNCH, "chainput", python or "", chainput_python_relay()]
    argv += [chainput_script(), "relay", str(port), "/bin/nc.traditional"]
    return [*argv, "5", "10", "1", "1", "0.1", str(size), "payload.bin", *chain]


async def relay_on(
    host: Host, port: int, size: int, dest: Path, python: str | None = None
) -> SshProcess:
    """A ChainPut relay alone on ``host`` (first of its chain), end of its chain."""
    argv = relay_argv(python, port, size, [host.address, str(dest)])
    return SshProcess(
        "EXECO_CHAINPUT_POSITION=1 " + shlex.join(argv), host, nolog_exit_code=True, timeout=30
    )


@pytest.mark.parametrize(
    ("first_line", "body", "code", "why"),
    [
        (b"EXECO-CHAINPUT not-the-secret\n", b"x" * 100, 4, "without this transfer's secret"),
        (b"", b"y" * 100, 4, "without this transfer's secret"),
        (b"EXECO-CHAINPUT s3cret\n", b"z" * 100, 5, "not the source's"),
    ],
)
@pytest.mark.parametrize("python", ["python3", None])
async def test_a_relay_refuses_a_stream_not_from_the_chain_and_checks_the_sha256(
    hosts: list[Host],
    tmp_path: Path,
    first_line: bytes,
    body: bytes,
    code: int,
    why: str,
    python: str | None,
) -> None:
    good = b"g" * 100
    dest = tmp_path / "copy.bin"
    port = 26123 + code * 10 + len(first_line) % 7 + (python is None)
    relay = await relay_on(hosts[0], port, len(good), dest, python)
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


async def test_a_python_relay_keeps_its_copy_when_the_next_host_breaks_off(
    hosts: list[Host], tmp_path: Path
) -> None:
    """The next host reads the header and 64 KiB, then closes: this host's own copy is whole
    and checked; the forwarding stops with a message (the shell relay's tee would stop
    both)."""
    data = bytes(range(256)) * (4 * 1024 * 1024 // 256)
    dest = tmp_path / "copy.bin"
    port = 26190
    me, nxt = hosts[0], hosts[1]
    argv = relay_argv("python3", port, len(data), [me.address, str(dest), nxt.address, "-"])
    relay = SshProcess(
        "EXECO_CHAINPUT_POSITION=1 " + shlex.join(argv), me, nolog_exit_code=True, timeout=30
    )
    got = bytearray()

    async def next_host(stream: trio.SocketStream) -> None:
        while len(got) < 65536:
            chunk = await stream.receive_some()
            if not chunk:
                break
            got.extend(chunk)
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        listeners = await trio.open_tcp_listeners(port, host=nxt.address)
        nursery.start_soon(trio.serve_listeners, next_host, listeners)
        async with relay:
            await relay.write(f"s3cret {hashlib.sha256(data).hexdigest()}\n")
            assert await relay.expect("^READY", timeout=15)
            stream = await trio.open_tcp_stream(me.address, port)
            await stream.send_all(b"EXECO-CHAINPUT s3cret\n")
            try:
                for i in range(0, len(data), 1 << 16):
                    await stream.send_all(data[i : i + (1 << 16)])
            finally:
                await stream.aclose()
        nursery.cancel_scope.cancel()
    assert relay.exit_code == 0, relay.dump()
    assert "forwarding to " + nxt.address + " broke" in relay.stderr
    assert f"RECEIVED {len(data)}" in relay.stdout
    assert digest(dest) == hashlib.sha256(data).hexdigest()
    assert got.startswith(b"EXECO-CHAINPUT s3cret\n" + data[:1000])
