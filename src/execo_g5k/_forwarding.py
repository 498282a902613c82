"""`G5kAutoPortForwarder`: reach a service on a Grid'5000 machine from inside or outside.

Inside Grid'5000 (this machine's name ends in ``grid5000.fr``) the service is reached
directly; from outside, through an ssh port forwarding on the site's frontend
(`execo.PortForwarder`, over either transport).
"""

from __future__ import annotations

import functools
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread

from execo import Host, PortForwarder
from execo._core._config import ConnectionParamsLike

from ._frontend import make_frontend_connection_params

__all__ = ["G5kAutoPortForwarder", "inside_grid5000"]


@functools.cache
def _fqdn() -> str:
    return socket.getfqdn()


async def inside_grid5000() -> bool:
    """Whether this machine is inside Grid'5000 (its name ends in ``grid5000.fr``; looked
    up once, in a worker thread: the lookup may be slow)."""
    fqdn = await anyio.to_thread.run_sync(_fqdn)
    return fqdn == "grid5000.fr" or fqdn.endswith(".grid5000.fr")


@asynccontextmanager
async def G5kAutoPortForwarder(
    site: str,
    host: str,
    port: int,
    *,
    frontend_connection_params: ConnectionParamsLike = None,
    transport: str | None = None,
    inside: bool | None = None,
) -> AsyncIterator[tuple[str, int]]:
    """Yields ``(address, port)`` to reach ``host:port`` of `site` from here.

    Args:
        site: The site of `host`; its frontend relays from outside.
        host: The machine (as the frontend names it: ``oardb.lyon.grid5000.fr``...).
        port: Its port.
        frontend_connection_params: Overrides of `default_frontend_connection_params`.
        transport: ``"ssh"`` or ``"asyncssh"`` for the forwarding (see `PortForwarder`).
        inside: Whether we are inside Grid'5000; None: `inside_grid5000`.

    Inside, ``(host, port)`` itself; outside, ``("127.0.0.1", <local port>)`` forwarded
    through the frontend until the block ends.

    Raises:
        PortForwardingFailed: The forwarding did not come up.
    """
    if inside is None:
        inside = await inside_grid5000()
    if inside:
        yield host, port
        return
    params = make_frontend_connection_params(frontend_connection_params)
    async with PortForwarder(
        Host(site), host, port, connection_params=params, transport=transport
    ) as local_port:
        yield "127.0.0.1", local_port
