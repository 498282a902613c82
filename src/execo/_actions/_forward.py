"""Port forwarding through ssh, as an async context manager, over either transport.

* ``transport="ssh"`` (the default, as in execo): an OpenSSH client ``ssh -N -L
  bind:port:remote_host:remote_port host``, killed when the block ends;
* ``transport="asyncssh"``: ``forward_local_port`` on a pooled asyncssh connection (the
  enclosing :func:`~execo.ssh_pool`, or a pool of its own for the block): no process, and
  the connection is shared with the commands run on that host.

Either way the block gets the local port once it accepts connections.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import anyio

from .._core._config import (
    ConnectionParamsLike,
    EffectiveConnectionParams,
    resolve_connection_params,
)
from .._core._host import Host, HostLike
from .._core._local import Process
from .._core._process import ProcessBase, ProcessesFailed
from .._transports._factories import TransportLike, remote_transport, transport_named
from .._transports._openssh import ssh_argv

if TYPE_CHECKING:
    import asyncssh

    from .._transports._sshpool import _Conn

__all__ = ["PortForwarder", "PortForwardingFailed"]


class PortForwardingFailed(ProcessesFailed):
    """The forwarding did not come up (a :class:`~execo.ProcessesFailed`, as in execo).

    Attributes:
        host: The host the forwarding goes through.
        reason: Why, in a few words.
        processes: The ssh process (OpenSSH transport), or empty (asyncssh).
    """

    def __init__(self, host: Host, reason: str, processes: list[ProcessBase] | None = None) -> None:
        self.host = host
        self.reason = reason
        self.processes = list(processes or [])
        Exception.__init__(self, f"port forwarding through {host} failed: {reason}")


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
    transport: TransportLike = None,
) -> AsyncIterator[int]:
    """Forward ``bind_address:local_port`` to ``remote_host:remote_port`` as seen from ``host``.

    Yields the local port once the forwarding accepts connections; the forwarding is
    closed when the block exits.

    Args:
        host: The host to go through.
        remote_host, remote_port: Where connections go, as ``host`` sees it.
        local_port: The local port; default: a free one.
        bind_address: The local address to listen on.
        connection_params: How to reach ``host``.
        transport: ``"ssh"`` (an OpenSSH client) or ``"asyncssh"`` (a pooled
            connection); default: ``configuration["remote_tool"]`` when it names one of
            them, else ssh.

    Raises:
        PortForwardingFailed: the forwarding did not come up within ``forwarding_timeout``
            (a :class:`~execo.ProcessesFailed`).
        ValueError: an unknown ``transport`` (or one that cannot forward: taktuk), or a port
            out of range, before anything.
    """
    h = Host.of(host)
    chosen = remote_transport(transport)
    if chosen is not transport_named("ssh") and chosen is not transport_named("asyncssh"):
        raise ValueError(f"PortForwarder forwards over ssh or asyncssh, not {chosen.name}")
    for name, value in (("remote_port", remote_port), ("local_port", local_port)):
        if value is not None and not (isinstance(value, int) and 0 <= value < 65536):
            raise ValueError(f"PortForwarder: {name} must be a port number, got {value!r}")
    params = resolve_connection_params(connection_params, h)
    if chosen is transport_named("asyncssh"):
        async with _forward_asyncssh(
            h, params, bind_address, local_port or 0, remote_host, remote_port
        ) as port:
            yield port
        return
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
            why = proc.stderr.strip().splitlines()[-1:] or [proc.status.value]
            raise PortForwardingFailed(h, why[0], [proc])
        if not _listening(bind_address, port):
            await proc.kill()
            raise PortForwardingFailed(
                h, f"not listening after {params.forwarding_timeout} s", [proc]
            )
        try:
            yield port
        finally:
            await proc.kill()


@asynccontextmanager
async def _forward_asyncssh(
    host: Host,
    params: EffectiveConnectionParams,
    bind_address: str,
    local_port: int,
    remote_host: str,
    remote_port: int,
) -> AsyncIterator[int]:
    from .._transports._sshpool import SshPool
    from .._transports._sshtarget import ConnectFailed

    pool = SshPool.current()
    private = pool is None
    if pool is None:  # a pool of its own, for as long as it forwards
        pool = SshPool()
        pool.open()
    try:
        key = pool.target_for(params, host.address)

        async def open_listener() -> tuple[_Conn, asyncssh.SSHListener]:
            # A session slot keeps the connection counted (and open) while we forward.
            conn = await pool.acquire(key)
            try:
                listener = await conn.conn.forward_local_port(
                    bind_address, local_port, remote_host, remote_port
                )
            except BaseException:
                pool.release(conn)
                raise
            return conn, listener

        try:
            with anyio.fail_after(params.forwarding_timeout):
                conn, listener = await pool.call(open_listener)
        except TimeoutError:
            raise PortForwardingFailed(
                host, f"not listening after {params.forwarding_timeout} s"
            ) from None
        except (ConnectFailed, OSError) as e:
            raise PortForwardingFailed(host, str(e) or type(e).__name__) from e

        async def close() -> None:
            listener.close()
            await listener.wait_closed()
            pool.release(conn)

        try:
            yield listener.get_port()
        finally:
            with anyio.CancelScope(shield=True):
                await pool.call(close)
    finally:
        if private:
            with anyio.CancelScope(shield=True):
                await pool.aclose()
