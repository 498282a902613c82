"""Actions over the loopback sshd: the user-guide scenarios and the scope invariants."""

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from execo import (
    ConfigurationError,
    Get,
    Host,
    Local,
    ParallelActions,
    PortForwarder,
    ProcessesFailed,
    ProcessStatus,
    Put,
    Remote,
    Report,
    SequentialActions,
    SshProcess,
    configuration,
    filter_bad_hosts,
    get_fileput,
    get_remote,
    wait_all_actions,
    wait_any_actions,
)
from execo.testbed import LoopbackSshd

from ..conftest import count_processes, describe_processes


async def test_u6_netcat_servers_clients_and_report(hosts: list[Host]) -> None:
    hs = hosts[:6]
    targets = [h.address for h in reversed(hs)]
    servers = Remote("nc -l -s {{{host}}} -p 6543 > /dev/null", hs)
    clients = Remote("dd if=/dev/zero bs=50000 count=20 | nc -q 0 {{targets}} 6543", hs)
    async with servers:
        await trio.sleep(1)
        await clients.run()
    assert servers.finished_ok
    assert clients.finished_ok
    report = Report([servers, clients]).to_string()
    assert "Total" in report
    for p in clients.processes:
        assert "1000000 bytes" in p.stderr
    assert [str(p.cmd).split()[-2] for p in clients.processes] == targets


async def test_u8_frontends_mkdir_put_rm_with_host_rewrite(
    sshd: LoopbackSshd, tmp_path: Path
) -> None:
    by_site = {"lyon": sshd.addresses[0], "nancy": sshd.addresses[1]}
    params = {
        "host_rewrite_func": lambda a: by_site.get(a, a),
        "port": sshd.port,
        "keyfile": str(sshd.keyfile),
    }
    sites = ["lyon", "nancy"]
    profile = tmp_path / "my profile"
    profile.write_text("export X=1\n")
    await Remote("mkdir -p 'd {{{host}}}'", sites, connection_params=params).run(check=True)
    await Put(sites, [str(profile)], "d {{{host}}}/", connection_params=params).run(check=True)
    for site in sites:
        assert (sshd.home / f"d {site}" / "my profile").read_text() == "export X=1\n"
    await Remote("rm -r 'd {{{host}}}'", sites, connection_params=params).run(check=True)
    assert not (sshd.home / "d lyon").exists()


async def test_u10_concurrent_actions(hosts: list[Host]) -> None:
    a = Remote("whoami ; uname -a", hosts[:2])
    b = Remote("hostname", hosts[2:4])
    async with a, b:
        pass
    assert a.finished_ok
    assert b.finished_ok
    assert all("Linux" in p.stdout for p in a.processes)


async def test_u11_six_hosts_onto_three_targets(hosts: list[Host]) -> None:
    hosts1, hosts2 = hosts[:6], hosts[6:9]
    r = await Remote("echo {{[host.address for host in hosts2]}}", hosts1).run()
    got = [p.stdout.strip() for p in r.processes]
    assert got == [h.address for h in hosts2 * 2]


async def test_report_scenario_300_local_actions() -> None:
    cmds = ["ls /", "false", "/dev/null", "/nonexistent-command", "sleep 0.2", "echo x"]
    actions = [
        Local(cmds[i % len(cmds)], process_args={"nolog_exit_code": True, "nolog_error": True})
        for i in range(300)
    ]
    async with trio.open_nursery() as nursery:
        for a in actions:
            await nursery.start(a.run)
    report = Report(actions)
    text = report.to_string(wide=True)
    stats = report.stats()
    json.dumps(stats)
    assert stats["num_processes"] == 300
    assert stats["num_errors"] == 100  # /dev/null and the nonexistent command
    assert stats["num_non_zero_exit_codes"] == 50  # false
    assert stats["num_ok"] == 150
    assert len(text.splitlines()) == 302
    assert report.to_string(wide=True, brief=True).count("\n") == 1


async def test_cancel_kills_remote_on_20_hosts(hosts: list[Host], transport: str) -> None:
    token = "sleep 101.7"
    r = Remote(token, hosts, transport=transport)
    with trio.move_on_after(30) as scope:
        async with r:
            with trio.move_on_after(20):
                while count_processes(token, exact=True) < len(hosts):
                    await trio.sleep(0.05)
            assert count_processes(token, exact=True) == len(hosts), describe_processes(token)
            scope.cancel()
    with trio.move_on_after(5):
        while count_processes(token):
            await trio.sleep(0.05)
    assert count_processes(token) == 0, describe_processes(token)
    assert all(p.killed and p.ended for p in r.processes)


@pytest.fixture(scope="module")
def big_cluster() -> Iterator[LoopbackSshd]:
    with LoopbackSshd(45, first=100) as server:
        yield server


@pytest.fixture
def tarpits() -> Iterator[list[Host]]:
    """5 hosts whose TCP port accepts connections but never speaks SSH."""
    socks = []
    for i in range(5):
        s = socket.socket()
        s.bind((f"127.0.0.{200 + i}", 0))
        s.listen(64)
        socks.append(s)
    yield [Host(s.getsockname()[0], port=s.getsockname()[1]) for s in socks]
    for s in socks:
        s.close()


async def test_50_hosts_5_unreachable_in_one_connect_timeout(
    big_cluster: LoopbackSshd, tarpits: list[Host], transport: str
) -> None:
    hosts = big_cluster.hosts + tarpits
    t = time.monotonic()
    r = await Remote(
        "true",
        hosts,
        connection_params={"connect_timeout": 3},
        process_args={"nolog_error": True},
        transport=transport,
    ).run()
    elapsed = time.monotonic() - t
    statuses = [s for _, s in r.statuses()]
    assert statuses.count(ProcessStatus.OK) == 45
    assert statuses.count(ProcessStatus.UNREACHABLE) == 5
    assert elapsed < 2 * 3, elapsed
    assert filter_bad_hosts(r, hosts) == big_cluster.hosts
    with pytest.raises(ProcessesFailed) as info:
        r.raise_for_error()
    assert len(info.value.processes) == 5
    assert all("unreachable" in line for line in str(info.value).splitlines()[1:])


async def test_action_timeout_kills_and_marks(hosts: list[Host], transport: str) -> None:
    r = Remote(
        "sleep 102.3",
        hosts[:5],
        timeout=1,
        process_args={"nolog_timeout": True},
        transport=transport,
    )
    t = time.monotonic()
    await r.run()
    assert time.monotonic() - t < 8
    assert r.timeouted
    assert all(p.timeouted and p.ended for p in r.processes)
    assert count_processes("sleep 102.3") == 0


async def test_expect_is_concurrent(hosts: list[Host]) -> None:
    r = Remote("sleep 0.5; echo ready; sleep 0.5", hosts[:10])
    async with r:
        t = time.monotonic()
        results = await r.expect("ready", timeout=10)
        assert time.monotonic() - t < 3
    assert all(res for _, res in results)


async def test_put_get_paths_with_spaces(
    hosts: list[Host], sshd: LoopbackSshd, tmp_path: Path, transport: str
) -> None:
    tool = "scp" if transport == "ssh" else "asyncssh"
    src = tmp_path / "a file.txt"
    src.write_text("payload")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "f").write_text("deep")
    await Put(hosts[:2], [str(src)], "remote dir {{{host}}}.txt", transport=tool).run(check=True)
    await Put(hosts[:2], [str(tree)], f"tree-{tool}-{{{{{{host}}}}}}", transport=tool).run(
        check=True
    )
    outdir = tmp_path / "out"
    outdir.mkdir()
    for h in hosts[:2]:
        (outdir / h.address).mkdir()
    get = Get(
        hosts[:2],
        ["remote dir {{{host}}}.txt", f"tree-{tool}-{{{{{{host}}}}}}"],
        str(outdir / "{{{host}}}"),
        transport=tool,
    )
    await get.run(check=True)
    for h in hosts[:2]:
        assert (outdir / h.address / f"remote dir {h.address}.txt").read_text() == "payload"
        assert (outdir / h.address / f"tree-{tool}-{h.address}" / "sub" / "f").read_text() == "deep"
    bad = await Put(
        ["127.0.0.251"],
        [str(src)],
        connection_params={"port": sshd.port},
        process_args={"nolog_error": True, "nolog_exit_code": True},
        transport=tool,
    ).run()
    assert bad.processes[0].status == ProcessStatus.UNREACHABLE
    missing = await Get(
        hosts[:1],
        ["no-such-file"],
        str(outdir),
        process_args={"nolog_exit_code": True},
        transport=tool,
    ).run()
    assert missing.processes[0].status == ProcessStatus.FAILED
    assert "no-such-file" in missing.processes[0].stderr


async def test_sequential_and_parallel_actions(hosts: list[Host]) -> None:
    seq = SequentialActions(
        [Local("false", process_args={"nolog_exit_code": True}), Local("echo after")],
        stop_on_failure=True,
    )
    await seq.run()
    assert not seq.actions[1].started
    seq2 = SequentialActions([Local("echo 1"), Local("echo 2")])
    par = ParallelActions([seq2, Remote("echo r", hosts[:3])])
    await par.run()
    assert par.finished_ok
    assert len(par.processes) == 5
    assert len(par.stats()["sub_stats"]) == 2


async def test_wait_any_and_all() -> None:
    fast, slow = Local("sleep 0.1"), Local("sleep 1")
    async with fast, slow:
        assert await wait_any_actions([fast, slow]) == [fast]
        assert await wait_all_actions([fast, slow]) == [fast, slow]


async def test_factories_read_configuration_at_call_time(hosts: list[Host]) -> None:
    assert isinstance(get_remote("true", hosts[:1]), Remote)
    assert isinstance(get_fileput(hosts[:1], ["/etc/hostname"]), Put)
    configuration["remote_tool"] = "asyncssh"
    configuration["fileput_tool"] = "asyncssh"
    configuration["fileget_tool"] = "asyncssh"
    remote = get_remote("echo pooled", hosts[:2])
    assert isinstance(remote, Remote) and remote.transport.name == "asyncssh"
    assert (await remote.run()).ok
    assert isinstance(remote.processes[0], SshProcess)
    assert get_fileput(hosts[:1], ["/etc/hostname"]).transport.name == "asyncssh"  # type: ignore[attr-defined]
    assert Get(hosts[:1], ["x"]).transport.name == "asyncssh"
    assert Remote("true", hosts[:1], transport="ssh").transport.name == "ssh"
    with pytest.raises(ConfigurationError, match="remote_tool must be one of"):
        get_remote("true", hosts[:1], remote_tool="rsh")


async def test_port_forwarder(hosts: list[Host]) -> None:
    # a timeout on the server: a failure must not hang the suite
    server = SshProcess("nc -l -s 127.0.0.1 -p 6601", hosts[0], timeout=30)
    async with server:
        await trio.sleep(0.5)
        async with PortForwarder(hosts[0], "127.0.0.1", 6601) as port:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            await stream.send_all(b"through the tunnel\n")
            assert await server.expect("tunnel", timeout=10)
            await stream.aclose()
    assert server.stdout == "through the tunnel\n"


def test_bad_input_is_rejected_before_start() -> None:
    with pytest.raises(ValueError, match="timeout"):
        Remote("true", ["a"], timeout=-1)
    with pytest.raises(ValueError, match="fanout"):
        Remote("true", ["a"], fanout=0)
    with pytest.raises(ValueError, match="empty"):
        Remote("", ["a"])
    with pytest.raises(ValueError, match="Host address"):
        Remote("true", [""])


async def test_fanout_limits_concurrency() -> None:
    actions = Local("true")
    procs = [Local(f"sleep 0.2 # {i}") for i in range(6)]
    par = ParallelActions(procs, fanout=2)
    assert actions.fanout is None
    t = time.monotonic()
    await par.run()
    assert time.monotonic() - t < 2
