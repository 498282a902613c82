"""A controller for the survival tests (run as a script, killed by them).

usage: controller.py TRANSPORT PORT KEYFILE N TOKEN PHASE [detach] [warm]

With ``warm`` (asyncssh), the action runs on connections of a pool that already served a
command and whose keepers keep: the commands register with them instead of having watchdogs.

Runs ``sh -c 'sleep TOKEN & sleep TOKEN'`` on N loopback hosts (127.0.0.2 ...) over
TRANSPORT (local, ssh, asyncssh or taktuk), printing CONNECTING as soon as the action starts,
RUNNING once every process has started, and, with PHASE ``killing``, KILLING right before it
kills them all; then it waits forever (the test SIGKILLs it).
"""

from __future__ import annotations

import sys

import trio

from execo import (
    Action,
    Host,
    Local,
    ParallelActions,
    ProcessOptions,
    Remote,
    TaktukRemote,
    ssh_pool,
)


def build(transport: str, hosts: list[Host], token: str, detach: bool) -> Action:
    cmd = f"sh -c 'sleep {token} & sleep {token}'"
    options: ProcessOptions = {"detach": detach, "nolog_error": True, "nolog_exit_code": True}
    if transport == "local":
        return ParallelActions([Local(cmd, process_args=options) for _ in hosts])
    if transport == "taktuk":
        return TaktukRemote(cmd, hosts, process_args=options)
    return Remote(cmd, hosts, transport=transport, process_args=options)


async def main() -> None:
    transport, port, keyfile, n, token, phase = sys.argv[1:7]
    detach = "detach" in sys.argv[7:]
    warm = "warm" in sys.argv[7:]
    hosts = [Host(f"127.0.0.{2 + i}", port=int(port), keyfile=keyfile) for i in range(int(n))]
    async with ssh_pool():
        if warm:
            # A command that outlives KEEPER_AFTER: its connection gets its keeper.
            await Remote("sleep 1.5", hosts, transport=transport).run(check=True)
            await trio.sleep(1.0)  # the keepers keep
        await run(build(transport, hosts, token, detach), phase)


async def run(action: Action, phase: str) -> None:
    async with trio.open_nursery() as nursery:
        print("CONNECTING", flush=True)
        await nursery.start(action.run)
        print("RUNNING", flush=True)
        if phase == "killing":
            await trio.sleep(1.0)
            print("KILLING", flush=True)
            await action.kill()
        await trio.sleep_forever()


if __name__ == "__main__":
    trio.run(main)
