"""File descriptors: no leak, and a clear early failure when the limit is too low."""

import sys
import textwrap

import trio

from execo import Process

from ..conftest import open_fds


async def test_no_fd_leak_over_500_sequential_processes() -> None:
    await Process("true").run()  # warm-up: lazily created loop resources
    before = open_fds()
    for _ in range(500):
        p = await Process("echo x").run()
        assert p.ok
    assert open_fds() == before


async def test_no_fd_leak_on_kill_timeout_and_errors() -> None:
    await Process("true").run()
    before = open_fds()
    for _ in range(20):
        await Process("sleep 10", timeout=0.01, nolog_timeout=True).run()
        await Process("/nonexistent", nolog_error=True).run()
        await Process("sleep 10", pty=True, timeout=0.01, nolog_timeout=True).run()
    assert open_fds() == before


SCRIPT = textwrap.dedent(
    """
    import resource, sys, trio
    from execo import Process
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    async def main():
        procs = [Process("sleep 0.5", nolog_error=True) for _ in range(200)]
        async with trio.open_nursery() as n:
            for p in procs:
                n.start_soon(p.run)
        ok = sum(p.ok for p in procs)
        reasons = {p.error_reason for p in procs if not p.ok}
        print(ok, len(procs) - ok, sorted(map(str, reasons)))
        assert all(p.ended for p in procs)

    trio.run(main)
    """
)


async def test_200_concurrent_with_ulimit_256_succeed_or_fail_clearly() -> None:
    with trio.fail_after(60):
        out = await trio.run_process(
            [sys.executable, "-c", SCRIPT], capture_stdout=True, capture_stderr=True, check=False
        )
    assert out.returncode == 0, out.stderr.decode()
    ok, failed, reasons = out.stdout.decode().split(" ", 2)
    assert int(ok) + int(failed) == 200
    if int(failed):
        assert "too many open files" in reasons, reasons
