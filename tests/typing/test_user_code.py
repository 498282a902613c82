"""User code as the docs write it: mypy --strict checks this file (the test suite runs mypy
over tests/), and pytest runs it too."""

from __future__ import annotations

import sys

import trio

import execo
from execo import (
    ConnectionParams,
    ExpectResult,
    Host,
    HostKeyPolicy,
    Limits,
    Local,
    PoolStatistics,
    Process,
    ProcessStatus,
    Remote,
    Report,
    SshProcess,
    ssh_pool,
)


async def user_script(hosts: list[Host]) -> tuple[str, int | None, list[ProcessStatus]]:
    p: Process = await Process("echo typed").run()
    out: str = p.stdout
    code: int | None = p.exit_code
    r: Remote = await Remote("true", hosts, timeout=30).run()
    statuses = [s for _, s in r.statuses()]
    async with SshProcess("cat", hosts[0]) as cat:
        await cat.write("x\n")
        found: ExpectResult = await cat.expect(["x", "y"], timeout=5)
        index: int | None = found.index
        assert index == 0
        await cat.close_stdin()
    report: str = Report([r, Local("true")]).to_string(wide=True)
    assert report
    return out, code, statuses


async def test_user_script_runs(hosts: list[Host]) -> None:
    out, code, statuses = await user_script(hosts[:2])
    assert (out, code) == ("typed\n", 0)
    assert statuses == [ProcessStatus.OK, ProcessStatus.OK]


async def pooled_script(hosts: list[Host]) -> PoolStatistics:
    limits = Limits(max_starting_connections=10, max_sessions_per_connection=10)
    params = ConnectionParams(host_key_policy=HostKeyPolicy.ACCEPT_NEW)
    async with ssh_pool(limits) as pool:
        r = await Remote("true", hosts, transport="asyncssh", connection_params=params).run()
        assert r.ok
        p = await SshProcess("echo x", hosts[0], transport="asyncssh").run()
        assert p.stdout == "x\n"
        return pool.statistics()


async def test_pooled_script_runs(hosts: list[Host]) -> None:
    stats = await pooled_script(hosts[:2])
    assert stats.connections_opened == 2 and stats.sessions_opened == 3


def test_all_matches_public_names() -> None:
    public = {n for n in dir(execo) if not n.startswith("_")}
    assert set(execo.__all__) <= public
    submodules = {"testbed", "demo", "config", "host", "process", "action", "report"}
    submodules |= {"time_utils", "substitutions", "testing", "cli"}
    assert public - set(execo.__all__) <= submodules  # once imported
    for name in execo.__all__:
        obj = getattr(execo, name)
        module = getattr(obj, "__module__", None)
        if not isinstance(obj, type) or module is None:
            continue  # constants, aliases, instances
        # Defined where its __module__ says (a private module of a layer), and found there
        # under its own name: a re-export that went through another module would fail.
        assert module.startswith(
            (
                "execo._core.",
                "execo._transports.",
                "execo._actions.",
                "execo._display.",
                "execo._compat",
            )
        ), (name, module)
        assert getattr(sys.modules[module], obj.__qualname__) is obj, name


def test_trio_run_is_the_entry_point() -> None:
    async def main() -> str:
        return (await Process("echo hi").run()).stdout

    assert trio.run(main) == "hi\n"
