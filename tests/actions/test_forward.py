"""PortForwarder over both transports (OpenSSH's ``ssh -L``, asyncssh's
``forward_local_port``), through the loopback sshd, to a TCP echo server of this test."""

from __future__ import annotations

import functools

import pytest
import trio

from execo import (
    ConfigurationError,
    Host,
    PortForwarder,
    PortForwardingFailed,
    ProcessesFailed,
    configuration,
    ssh_pool,
)
from execo.testbed import LoopbackSshd


async def echo_server(nursery: trio.Nursery) -> int:
    """A TCP server on 127.0.0.1 answering each line with ``echo: <line>``; its port."""

    async def serve(stream: trio.SocketStream) -> None:
        async with stream:
            async for data in stream:
                await stream.send_all(b"echo: " + data)

    (listener,) = await nursery.start(functools.partial(trio.serve_tcp, serve, 0, host="127.0.0.1"))
    port: int = listener.socket.getsockname()[1]
    return port


async def round_trip(port: int, text: bytes) -> bytes:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(text)
        with trio.fail_after(10):
            return await stream.receive_some(100)


async def test_forwarding_over_each_transport(hosts: list[Host], transport: str) -> None:
    async with trio.open_nursery() as nursery:
        target = await echo_server(nursery)
        async with PortForwarder(hosts[1], "127.0.0.1", target, transport=transport) as port:
            assert port != target
            assert await round_trip(port, b"hello\n") == b"echo: hello\n"
            assert await round_trip(port, b"again\n") == b"echo: again\n"  # several connections
        with pytest.raises(OSError, match=r"refused|connect"):  # closed with the block
            await trio.open_tcp_stream("127.0.0.1", port)
        nursery.cancel_scope.cancel()


async def test_asyncssh_forwarding_shares_the_pool(hosts: list[Host]) -> None:
    """Inside ssh_pool(): the forwarding uses the pooled connection, closed with the pool."""
    async with trio.open_nursery() as nursery:
        target = await echo_server(nursery)
        async with ssh_pool() as pool:
            async with PortForwarder(
                hosts[2], "127.0.0.1", target, transport="asyncssh", local_port=0
            ) as port:
                assert await round_trip(port, b"x\n") == b"echo: x\n"
                assert pool.statistics().connections_open == 1
            assert pool.statistics().sessions_open == 0
        nursery.cancel_scope.cancel()


async def test_default_transport_follows_remote_tool(hosts: list[Host]) -> None:
    async with trio.open_nursery() as nursery:
        target = await echo_server(nursery)
        configuration["remote_tool"] = "asyncssh"
        async with PortForwarder(hosts[3], "127.0.0.1", target) as port:
            assert await round_trip(port, b"y\n") == b"echo: y\n"
        nursery.cancel_scope.cancel()


async def test_failures_are_clear(sshd: LoopbackSshd, transport: str) -> None:
    dead = Host("127.0.0.250", port=sshd.port, keyfile=str(sshd.keyfile))
    params = {"connect_timeout": 2}
    with pytest.raises(PortForwardingFailed, match=r"through 127\.0\.0\.250") as caught:
        async with PortForwarder(dead, "127.0.0.1", 9, connection_params=params,
                                 transport=transport):  # fmt: skip
            pass
    assert isinstance(caught.value, ProcessesFailed)  # what execo raised
    with pytest.raises(ValueError, match="transport must be"):
        async with PortForwarder(dead, "127.0.0.1", 9, transport="rsh"):
            pass
    with pytest.raises(ValueError, match="remote_port must be a port number"):
        async with PortForwarder(dead, "127.0.0.1", 70000):
            pass
    with pytest.raises(ConfigurationError):
        async with PortForwarder(dead, "127.0.0.1", 9, connection_params={"prot": 22}):
            pass
