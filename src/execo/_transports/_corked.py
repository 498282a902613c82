"""A TCP connection for asyncssh whose small writes of one loop pass leave as one send.

asyncssh sends every packet after the key exchange behind an ``SSH_MSG_IGNORE`` packet,
each with its own ``transport.write``, and asyncio sends each write at once (TCP_NODELAY):
a warm ``true`` costs six sends and six segments where three would do. On loopback the
sender also pays for the receiver's side of TCP, so each send is the biggest single cost of
a command on the controller. :class:`CorkedConnector` is what asyncssh's ``tunnel=``
accepts (an object with ``create_connection``, the extension point asyncssh offers for
custom transports): a direct TCP connection whose transport holds the small writes of one
pass of the loop and sends them together at the end of that pass. Large writes (bulk data,
SFTP) go out at once, after what is held, so order is kept and nothing is copied twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["CorkedConnector"]

# Writes at least this long are not held: they are bulk data, already one segment or more.
_HOLD_BELOW = 8192


class _CorkedTransport(asyncio.Transport):
    """The transport asyncssh writes to: small writes wait for the end of the loop pass."""

    __slots__ = ("_held", "_loop", "_t")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._t = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if len(data) >= _HOLD_BELOW:
            if held:
                self._flush()
            self._t.write(data)
            return
        held.append(bytes(data))
        if len(held) == 1:
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        held = self._held
        if held:
            self._held = []
            self._t.write(held[0] if len(held) == 1 else b"".join(held))

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def write_eof(self) -> None:
        self._flush()
        self._t.write_eof()

    def can_write_eof(self) -> bool:
        return self._t.can_write_eof()

    def close(self) -> None:
        self._flush()
        self._t.close()

    def abort(self) -> None:
        self._held = []
        self._t.abort()

    def is_closing(self) -> bool:
        return self._t.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._t.get_extra_info(name, default)

    def get_write_buffer_size(self) -> int:
        return self._t.get_write_buffer_size() + sum(len(d) for d in self._held)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._t.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._t.set_write_buffer_limits(high, low)

    def pause_reading(self) -> None:
        self._t.pause_reading()

    def resume_reading(self) -> None:
        self._t.resume_reading()

    def is_reading(self) -> bool:
        return self._t.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._t.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._t.get_protocol()


class _Relay(asyncio.Protocol):
    """The protocol of the real transport: hands every event to asyncssh's connection, which
    sees the corked transport instead."""

    __slots__ = ("inner",)

    def __init__(self, inner: asyncio.Protocol) -> None:
        self.inner = inner

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        loop = asyncio.get_running_loop()
        self.inner.connection_made(_CorkedTransport(transport, loop))

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class CorkedConnector:
    """``tunnel=`` for :func:`asyncssh.connect`: a direct TCP connection, corked.

    Use it only where asyncssh would itself open a plain TCP connection (no jump host, no
    ssh_config that could name a proxy): a tunnel object takes precedence over both.
    """

    async def create_connection(
        self, session_factory: Any, remote_host: str, remote_port: int
    ) -> tuple[asyncio.Transport, Any]:
        loop = asyncio.get_running_loop()
        made: list[Any] = []

        def relay() -> _Relay:
            inner = session_factory()
            made.append(inner)
            return _Relay(inner)

        transport, _ = await loop.create_connection(relay, remote_host, remote_port)
        return transport, made[0]

    def close(self) -> None:
        pass

    async def wait_closed(self) -> None:
        pass


#: One is enough: it holds no state.
CORKED = CorkedConnector()
