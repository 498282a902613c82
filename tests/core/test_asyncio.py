"""execo is written against anyio: the same processes run inside an asyncio application."""

import asyncio

import anyio

from execo import Host, Process, SshProcess


def test_local_process_under_asyncio() -> None:
    async def main() -> None:
        p = await Process("echo from-asyncio").run()
        assert p.ok and p.stdout == "from-asyncio\n"
        q = await Process("sleep 10", timeout=0.2, nolog_timeout=True).run()
        assert q.timeouted
        r = Process("cat")
        async with r:
            await r.write("x\n")
            assert await r.expect("x")
            await r.close_stdin()
        assert r.ok

    anyio.run(main, backend="asyncio")


def test_ssh_process_under_plain_asyncio_run(hosts: list[Host]) -> None:
    async def main() -> str:
        p = await SshProcess("echo over-ssh", hosts[0]).run()
        task = asyncio.ensure_future(SshProcess("sleep 50", hosts[1]).run())
        await asyncio.sleep(0.5)
        task.cancel()  # asyncio cancellation kills it too
        try:
            await task
        except asyncio.CancelledError:
            pass
        return p.stdout

    assert asyncio.run(main()) == "over-ssh\n"


def test_asyncssh_transport_runs_natively_under_asyncio(hosts: list[Host]) -> None:
    import threading

    from execo import Remote, ssh_pool

    from ..conftest import count_processes

    async def main() -> tuple[str, int, int]:
        async with ssh_pool() as pool:
            # No loop thread: asyncssh runs on this very loop.
            threads = sum(t.name == "execo-asyncssh" for t in threading.enumerate())
            r = await Remote("echo native", hosts[:3], transport="asyncssh").run()
            assert r.ok
            task = asyncio.ensure_future(
                SshProcess(
                    "sh -c 'sleep 105.5 & sleep 105.5'", hosts[1], transport="asyncssh"
                ).run()
            )
            for _ in range(100):
                if count_processes("sleep 105.5", exact=True) == 2:
                    break
                await asyncio.sleep(0.05)
            task.cancel()  # asyncio cancellation kills the remote tree
            try:
                await task
            except asyncio.CancelledError:
                pass
            return r.processes[0].stdout, threads, pool.statistics().connections_opened

    out, threads, opened = asyncio.run(main())
    assert out == "native\n" and threads == 0 and opened == 3
    assert count_processes("sleep 105.5") == 0
