"""G5kAutoPortForwarder: direct inside Grid'5000, through the site's frontend outside (the
frontend is the loopback sshd, over both transports)."""

from __future__ import annotations

import socket

import trio

from execo.testbed import LoopbackSshd
from execo_g5k import G5kAutoPortForwarder, inside_grid5000

from ..actions.test_forward import echo_server, round_trip


async def test_outside_goes_through_the_frontend(sshd: LoopbackSshd, transport: str) -> None:
    frontend = {
        "host_rewrite_func": lambda site: "127.0.0.4" if site == "lyon" else "nowhere",
        "port": sshd.port,
        "keyfile": str(sshd.keyfile),
    }
    async with trio.open_nursery() as nursery:
        target = await echo_server(nursery)
        async with G5kAutoPortForwarder(
            "lyon", "127.0.0.1", target, frontend_connection_params=frontend,
            transport=transport, inside=False,
        ) as (address, port):  # fmt: skip
            assert address == "127.0.0.1" and port != target
            assert await round_trip(port, b"db?\n") == b"echo: db?\n"
        nursery.cancel_scope.cancel()


async def test_inside_is_direct() -> None:
    async with G5kAutoPortForwarder("lyon", "oardb.lyon.grid5000.fr", 5432, inside=True) as got:
        assert got == ("oardb.lyon.grid5000.fr", 5432)
    assert await inside_grid5000() == socket.getfqdn().endswith(".grid5000.fr")
