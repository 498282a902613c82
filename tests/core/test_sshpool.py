"""The asyncssh connection pool against real sshds: reuse, sshd's limits, host keys,
ProxyJump chains, agent and key auth, cancellation across the bridge."""

import os
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from execo import (
    ExecoUsageError,
    Host,
    HostKeyPolicy,
    Limits,
    ProcessStatus,
    Remote,
    SshPool,
    SshProcess,
    ssh_pool,
)
from execo.testbed import LoopbackSshd

from ..conftest import count_processes, describe_processes


def keygen(path: Path, passphrase: str = "") -> str:
    """A new ed25519 key pair at ``path``; returns the public key line."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f", str(path)], check=True
    )
    return Path(f"{path}.pub").read_text()


def loop_threads() -> int:
    return sum(t.name == "execo-asyncssh" for t in threading.enumerate())


async def test_pool_reuses_connections_across_actions_and_closes_them(hosts: list[Host]) -> None:
    hs = hosts[:8]
    assert SshPool.current() is None
    async with ssh_pool() as pool:
        assert SshPool.current() is pool and loop_threads() == 1
        first = await Remote("echo $SSH_CONNECTION", hs, transport="asyncssh").run()
        second = await Remote("echo $SSH_CONNECTION", hs, transport="asyncssh").run()
        assert first.ok and second.ok
        stats = pool.statistics()
        assert stats.connections_opened == stats.connections_open == 8
        assert stats.sessions_opened == 16 and stats.sessions_open == 0
        # Same connection: same client port on the server side.
        assert [p.stdout for p in first.processes] == [p.stdout for p in second.processes]
    assert SshPool.current() is None
    assert pool.statistics().connections_open == 0 and loop_threads() == 0


def test_pool_can_be_reopened_in_another_run(hosts: list[Host]) -> None:
    pool = ssh_pool(Limits(fanout=2))

    async def use() -> bool:
        async with pool:
            return (await Remote("true", hosts[:3], transport="asyncssh").run()).ok

    assert trio.run(use) and trio.run(use)
    assert pool.statistics().connections_opened == 6


async def test_action_without_pool_has_its_own(hosts: list[Host]) -> None:
    r = await Remote("true", hosts[:3], transport="asyncssh").run()
    assert r.ok and loop_threads() == 0


async def test_pool_cannot_be_entered_twice() -> None:
    pool = ssh_pool()
    async with pool:
        with pytest.raises(ExecoUsageError):
            await pool.__aenter__()
    with pytest.raises(ValueError, match="max_sessions_per_connection"):
        Limits(max_sessions_per_connection=0)


@pytest.fixture(scope="module")
def small_sshd() -> Iterator[LoopbackSshd]:
    """One host whose sshd allows 2 sessions per connection and 3 pending handshakes."""
    with LoopbackSshd(1, first=120, max_sessions=2, max_startups="3") as server:
        yield server


async def test_server_max_sessions_opens_more_connections(small_sshd: LoopbackSshd) -> None:
    host = small_sshd.hosts[0]
    async with ssh_pool(Limits(max_sessions_per_connection=10)) as pool:
        r = await Remote("sleep 0.5; echo ok", [host] * 6, transport="asyncssh").run()
    assert r.ok, [p.dump() for p in r.processes]
    assert [p.stdout for p in r.processes] == ["ok\n"] * 6
    assert pool.statistics().connections_opened >= 3


async def test_handshakes_limited_per_target(small_sshd: LoopbackSshd) -> None:
    # sshd drops handshakes beyond MaxStartups 3: our limit keeps every one of 12 alive.
    host = small_sshd.hosts[0]
    limits = Limits(max_starting_connections=3, max_sessions_per_connection=1)
    async with ssh_pool(limits) as pool:
        r = await Remote("sleep 1", [host] * 12, transport="asyncssh").run()
        assert r.ok, [p.dump() for p in r.processes]
        stats = pool.statistics()
        assert stats.connections_opened == 12 and stats.peak_handshakes_per_target == 3
        assert stats.connect_failures == 0, stats
        # Short commands: a freed session is taken before more connections are opened.
        r = await Remote("true", [host] * 12, transport="asyncssh").run()
        assert r.ok and pool.statistics().connections_opened == 12


async def test_fanout_limit(hosts: list[Host]) -> None:
    async with ssh_pool(Limits(fanout=2)) as pool:
        t = trio.current_time()
        r = await Remote("sleep 0.4", hosts[:6], transport="asyncssh").run()
        assert r.ok and trio.current_time() - t >= 1.1
        assert pool.statistics().connections_opened == 6


async def test_kill_when_the_connection_is_full(small_sshd: LoopbackSshd) -> None:
    # Two sessions fill the connection: the kill session goes over another connection.
    host = small_sshd.hosts[0]
    token = "sleep 104.25"
    async with ssh_pool(Limits(max_sessions_per_connection=2)) as pool:
        r = Remote(f"sh -c '{token} & {token}'", [host, host], transport="asyncssh")
        async with r:
            with trio.fail_after(10):
                while count_processes(token, exact=True) < 4:
                    await trio.sleep(0.05)
            await r.kill()
        assert pool.statistics().connections_opened >= 2
    with trio.move_on_after(3):
        while count_processes(token):
            await trio.sleep(0.05)
    assert count_processes(token) == 0, describe_processes(token)


# ----------------------------------------------------------------- host keys


async def test_host_key_policies(hosts: list[Host], tmp_path: Path) -> None:
    store = tmp_path / "known_hosts"
    host = hosts[5]

    async def run(policy: str) -> SshProcess:
        params = {"host_key_policy": policy, "known_hosts_store": str(store)}
        p = SshProcess("true", host, connection_params=params, transport="asyncssh")
        p.nolog_error = True
        return await p.run()

    strict = await run(HostKeyPolicy.STRICT)
    assert strict.status == ProcessStatus.UNREACHABLE
    assert "Host key verification failed" in (strict.error_reason or "")
    assert not store.exists()
    assert (await run("accept-new")).ok
    recorded = store.read_text()
    assert recorded.startswith(f"[{host.address}]:{host.port} ssh-ed25519 ")
    assert (await run("strict")).ok  # now on record
    assert (await run("accept-new")).ok and store.read_text() == recorded  # not added twice
    # A changed key is refused by strict and accept-new, not by insecure.
    changed = recorded.split(" ssh-ed25519 ")[0] + " " + keygen(tmp_path / "other_key")
    store.write_text(changed)
    for policy in ("strict", "accept-new"):
        p = await run(policy)
        assert p.status == ProcessStatus.UNREACHABLE and "verification" in (p.error_reason or "")
    assert store.read_text() == changed
    assert (await run("insecure")).ok


# ----------------------------------------------------------------- ProxyJump


@pytest.fixture
def jump_config(sshd: LoopbackSshd, tmp_path: Path) -> Path:
    """hop1 -> hop2 -> node3 (three hops), hop1 -> node2, and a chain through a dead hop."""
    port, key = sshd.port, sshd.keyfile
    a = sshd.addresses
    config = tmp_path / "ssh_config"
    config.write_text(
        f"""
Host hop1 hop2 node2 node3 dead deadnode
    Port {port}
    IdentityFile {key}
    IdentitiesOnly yes
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    LogLevel ERROR
Host hop1
    HostName {a[10]}
Host hop2
    HostName {a[11]}
    ProxyJump hop1
Host node2
    HostName {a[12]}
    ProxyJump hop1
Host node3
    HostName {a[13]}
    ProxyJump hop2
Host node3b
    HostName {a[14]}
    Port {port}
    IdentityFile {key}
    ProxyJump hop1,hop2
Host dead
    HostName 127.0.0.252
Host deadnode
    HostName {a[15]}
    ProxyJump dead
"""
    )
    return config


async def test_proxyjump_chains(jump_config: Path, transport: str) -> None:
    params = {"ssh_config": str(jump_config), "host_key_policy": "insecure"}
    names = ["node2", "node3", "node3b", "node2"]
    async with ssh_pool() as pool:
        r = Remote("echo $SSH_CONNECTION", names, connection_params=params, transport=transport)
        with trio.fail_after(30):
            await r.run()
        assert r.ok, [p.dump() for p in r.processes]
        servers = [p.stdout.split()[2] for p in r.processes]
        dead = SshProcess("true", "deadnode", connection_params=params, transport=transport)
        dead.nolog_error = True
        await dead.run()
    assert servers == [f"127.0.0.{n}" for n in (14, 15, 16, 14)]
    # The target is reachable directly, but not through a dead hop: the hop is really used.
    assert dead.status == ProcessStatus.UNREACHABLE, dead.dump()
    if transport == "asyncssh":
        # hop1, hop2 (over hop1: the same pooled hop for node3's config chain and node3b's
        # explicit "hop1,hop2"), node2 (reused), node3, node3b; "dead" fails.
        stats = pool.statistics()
        assert stats.connections_opened == 5 and stats.connect_failures == 1


# ------------------------------------------------------------ authentication


@pytest.fixture
def agent(tmp_path: Path, sshd: LoopbackSshd) -> Iterator[str]:
    sock = str(tmp_path / "agent.sock")
    out = subprocess.run(
        ["ssh-agent", "-s", "-a", sock], capture_output=True, text=True, check=True
    ).stdout
    pid = int(out.split("SSH_AGENT_PID=")[1].split(";")[0])
    try:
        env = {**os.environ, "SSH_AUTH_SOCK": sock}
        subprocess.run(["ssh-add", "-q", str(sshd.keyfile)], env=env, check=True)
        yield sock
    finally:
        os.kill(pid, signal.SIGTERM)


async def test_agent_auth(
    agent: str, sshd: LoopbackSshd, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    monkeypatch.setenv("SSH_AUTH_SOCK", agent)
    host = Host(sshd.addresses[6], port=sshd.port)  # no key file: the agent has the key
    p = await SshProcess("echo agent", host, transport=transport).run()
    assert p.ok and p.stdout == "agent\n", p.dump()


async def test_encrypted_key_never_prompts(
    sshd: LoopbackSshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, transport: str
) -> None:
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    key = tmp_path / "locked"
    keygen(key, "secret")
    host = Host(sshd.addresses[7], port=sshd.port, keyfile=str(key))
    with trio.fail_after(15):
        p = await SshProcess("true", host, transport=transport, nolog_error=True).run()
    assert p.status == ProcessStatus.UNREACHABLE, p.dump()


# --------------------------------------------------------------- the bridge


@pytest.fixture
def tarpit() -> Iterator[tuple[Host, socket.socket]]:
    """A TCP port that accepts connections and never speaks SSH."""
    s = socket.socket()
    s.bind(("127.0.0.210", 0))
    s.listen(8)
    yield Host("127.0.0.210", port=s.getsockname()[1]), s
    s.close()


async def test_cancel_while_connecting_cancels_the_asyncio_side(
    tarpit: tuple[Host, socket.socket],
) -> None:
    host, server = tarpit
    async with ssh_pool() as pool:
        p = SshProcess(
            "true", host, transport="asyncssh", connection_params={"connect_timeout": 30}
        )
        t = trio.current_time()
        with trio.move_on_after(0.5):
            await p.run()
        assert trio.current_time() - t < 2 and p.ended and p.killed
        conn, _ = server.accept()
        conn.settimeout(5)
        while conn.recv(4096):  # the client side closes the half-open connection
            pass
        conn.close()
        stats = pool.statistics()
        assert stats.connections_open == stats.connections_opened == 0


async def test_connect_timeout(tarpit: tuple[Host, socket.socket], transport: str) -> None:
    host, _ = tarpit
    params = {"connect_timeout": 1}
    with trio.fail_after(10):
        p = await SshProcess(
            "true", host, transport=transport, connection_params=params, nolog_error=True
        ).run()
    assert p.status == ProcessStatus.UNREACHABLE and "timed out" in (p.error_reason or "")


async def test_keepers_start_for_long_commands_not_for_bursts(hosts: list[Host]) -> None:
    # A connection's heartbeat keeper (a session and a shell per host) is for commands that
    # run long; back-to-back short commands, whose sessions are open nearly all the time,
    # must not start one (they used to, as soon as a session was open a second after the
    # first one began: every connection of a busy cold run got a keeper).
    hs = hosts[:3]
    async with ssh_pool():
        t = trio.current_time()
        while trio.current_time() - t < 2.5:
            r = await Remote("true", hs, transport="asyncssh").run()
            assert r.ok
        await trio.sleep(0.5)
        assert count_processes("KEEPING") == 0, describe_processes("KEEPING")
        async with Remote("sleep 3", hs, transport="asyncssh"):
            with trio.move_on_after(10):
                while count_processes("KEEPING") < len(hs):
                    await trio.sleep(0.05)
            assert count_processes("KEEPING") == len(hs), describe_processes("KEEPING")
    with trio.move_on_after(5):
        while count_processes("KEEPING"):
            await trio.sleep(0.05)
    assert count_processes("KEEPING") == 0, describe_processes("KEEPING")


async def test_handshakes_in_flight_are_capped_over_the_pool(hosts: list[Host]) -> None:
    assert Limits().max_starting_total == 256  # the default: thousands do not start at once
    async with ssh_pool(Limits(max_starting_total=3)) as pool:
        r = await Remote("true", hosts[:12], transport="asyncssh").run()
        assert r.ok
        stats = pool.statistics()
        assert stats.connections_opened == 12
        assert 1 <= stats.peak_handshakes <= 3
