"""Port forwarding through ssh (``ssh -L``), as an async context manager."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from .._core._config import ConnectionParamsLike, resolve_connection_params
from .._core._host import Host, HostLike
from .._core._local import Process
from .._core._process import ProcessesFailed
from .._transports._openssh import ssh_argv

__all__ = ["PortForwarder"]


def _free_port(bind_address: str) -> int:
    with socket.socket() as s:
        s.bind((bind_address, 0))
        port: int = s.getsockname()[1]
        return port


def _listening(address: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((address, port))
        except OSError:
            return True
        return False


@asynccontextmanager
async def PortForwarder(
    host: HostLike,
    remote_host: str,
    remote_port: int,
    *,
    local_port: int | None = None,
    bind_address: str = "127.0.0.1",
    connection_params: ConnectionParamsLike = None,
) -> AsyncIterator[int]:
    """Forward ``bind_address:local_port`` to ``remote_host:remote_port`` as seen from ``host``.

    Yields the local port once the forwarding accepts connections; the ssh process is
    killed when the block exits.

    Raises:
        ProcessesFailed: the forwarding did not come up within ``forwarding_timeout``.
    """
    h = Host.of(host)
    params = resolve_connection_params(connection_params, h)
    port = local_port if local_port is not None else _free_port(bind_address)
    argv = ssh_argv(params, h.address, pty=False)
    argv[-2:-2] = [  # before '--', destination
        "-N",
        "-o",
        "ExitOnForwardFailure=yes",
        "-L",
        f"{bind_address}:{port}:{remote_host}:{remote_port}",
    ]
    proc = Process(
        argv, stdin=False, nolog_exit_code=True, name=f"forward {port}->{remote_host}:{remote_port}"
    )
    proc.host = h
    async with proc:
        with anyio.move_on_after(params.forwarding_timeout):
            # Probe by binding, not by connecting: a connection would reach the service.
            while proc.running and not _listening(bind_address, port):  # noqa: ASYNC110
                await anyio.sleep(0.02)
        if not proc.running:
            raise ProcessesFailed([proc])
        try:
            yield port
        finally:
            await proc.kill()
