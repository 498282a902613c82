"""Runs ``true`` on N loopback hosts under an open-file limit (run as a script by
test_fd_limit.py): usage: limited.py TRANSPORT PORT KEYFILE N NOFILE; prints a JSON report."""

from __future__ import annotations

import collections
import json
import resource
import sys

import trio

from execo import Action, Host, Remote, TaktukRemote
from execo.testbed._sshd import loopback_address


async def main() -> None:
    transport, port, keyfile, n, nofile = sys.argv[1:6]
    resource.setrlimit(resource.RLIMIT_NOFILE, (int(nofile), int(nofile)))
    hosts = [Host(loopback_address(2 + i), port=int(port), keyfile=keyfile) for i in range(int(n))]
    action: Action = (
        TaktukRemote("true", hosts)
        if transport == "taktuk"
        else Remote("true", hosts, transport=transport)
    )
    with trio.fail_after(900):
        await action.run()
    statuses = collections.Counter(p.status.value for p in action.processes)
    reasons = collections.Counter(p.error_reason for p in action.processes if not p.ok)
    print(json.dumps({"statuses": statuses, "reasons": reasons.most_common(3)}))


if __name__ == "__main__":
    trio.run(main)
