"""Hosts: a frozen value type naming a machine and how to log into it."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Self

__all__ = [
    "Host",
    "HostLike",
    "check_address",
    "get_hosts_list",
    "get_hosts_set",
    "get_unique_hosts_list",
]


@dataclasses.dataclass(frozen=True, slots=True)
class Host:
    """A machine to run things on.

    ``user``, ``keyfile`` and ``port`` override the connection parameters for this host
    only; ``None`` means "use the connection parameters". Hosts are immutable: derive a
    changed one with :meth:`replace`. Two hosts are equal when all four fields are equal.

    The address may carry the user and the port as ssh writes them: ``Host("root@n-1:2222")``
    is ``Host("n-1", user="root", port=2222)`` (an IPv6 address with a port goes in brackets:
    ``[fe80::1]:2222``). An address that a tool could read as something else is refused
    before anything runs: a path (``/``), an option (a leading ``-``), several words
    (whitespace), control characters, or characters no host name has.

    Args:
        address: host name or IP address (optionally ``user@`` before and ``:port`` after).
        user: login name.
        keyfile: path of the private key to log in with.
        port: ssh port.

    Raises:
        ValueError: a malformed address or port, or a user/port given twice differently;
            the message quotes it.
    """

    address: str
    user: str | None = dataclasses.field(default=None, kw_only=True)
    keyfile: str | None = dataclasses.field(default=None, kw_only=True)
    port: int | None = dataclasses.field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        given = self.address
        if not isinstance(given, str) or not given:
            raise ValueError(f"Host address must be a non-empty string, got {given!r}")
        address, user, port = _split(given)
        if user is not None:
            if self.user is not None and self.user != user:
                raise ValueError(f"Host {given!r}: user {user!r} and user={self.user!r} differ")
            object.__setattr__(self, "user", user)
        if port is not None:
            if self.port is not None and self.port != port:
                raise ValueError(f"Host {given!r}: port {port} and port={self.port} differ")
            object.__setattr__(self, "port", port)
        object.__setattr__(self, "address", address)
        if self.port is not None and not (
            isinstance(self.port, int) and not isinstance(self.port, bool) and 0 < self.port < 65536
        ):
            raise ValueError(f"Host port must be an int in 1..65535, got {self.port!r}")

    @classmethod
    def of(cls, host: HostLike) -> Host:
        """``host`` itself if it is a Host, else ``Host(host)``."""
        if isinstance(host, Host):
            return host
        if isinstance(host, str):
            return cls(host)
        raise TypeError(f"expected a Host or a host name string, got {host!r}")

    def replace(self, **changes: object) -> Self:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        if not self.port:
            return f"{user}{self.address}"
        address = f"[{self.address}]" if ":" in self.address else self.address
        return f"{user}{address}:{self.port}"


_BRACKETED = re.compile(r"\[([^\[\]]+)\](?::([^:]*))?")
_NAME_CHARS = frozenset("._-%:")


def _split(given: str) -> tuple[str, str | None, int | None]:
    """``[user@]address[:port]`` → (address, user, port); checks the address."""
    user: str | None = None
    rest = given
    if "@" in rest:
        user, _, rest = rest.rpartition("@")
        if not user or "@" in user or any(c.isspace() or not c.isprintable() for c in user):
            raise ValueError(f"Host {given!r}: malformed user before '@'")
    port_text: str | None = None
    m = _BRACKETED.fullmatch(rest)
    if m is not None:  # [IPv6] or [IPv6]:port
        rest, port_text = m.group(1), m.group(2)
    elif rest.count(":") == 1:  # name:port (more colons: a bare IPv6 address)
        rest, _, port_text = rest.partition(":")
    port: int | None = None
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"Host {given!r}: the port after ':' must be in 1..65535")
        port = int(port_text)
    check_address(given, rest)
    return rest, user, port


def check_address(given: str, address: str | None = None) -> None:
    """Raise ValueError if ``address`` (default: ``given``) is no plausible host address."""
    address = given if address is None else address
    why = None
    if not address:
        why = "no address"
    elif address.startswith("-"):
        why = "a leading '-' (ssh would read an option)"
    elif "/" in address or "\\" in address:
        why = "a '/' (a path? scp would copy locally)"
    elif any(c.isspace() for c in address):
        why = "whitespace (several words?)"
    elif any(not c.isprintable() for c in address):
        why = "a control character"
    elif "[" in address or "]" in address or "," in address:
        why = "'[', ']' or ',' (a host set? get_hosts_list expands node-[1-9])"
    else:
        bad = sorted({c for c in address if not c.isalnum() and c not in _NAME_CHARS})
        if bad:
            why = f"characters no host name has: {''.join(bad)!r}"
    if why is not None:
        raise ValueError(f"Host address {given!r} refused: {why}")


HostLike = Host | str
"""A Host, or a host name that stands for ``Host(name)``."""


def get_hosts_list(hosts: Iterable[HostLike] | HostLike) -> list[Host]:
    """The hosts as a list of :class:`Host`, in order, duplicates kept."""
    if isinstance(hosts, Host | str):
        return [Host.of(hosts)]
    return [Host.of(h) for h in hosts]


def get_unique_hosts_list(hosts: Iterable[HostLike] | HostLike) -> list[Host]:
    """The hosts as a list of :class:`Host`, in order, duplicates removed."""
    return list(dict.fromkeys(get_hosts_list(hosts)))


def get_hosts_set(hosts: Iterable[HostLike] | HostLike) -> set[Host]:
    """The hosts as a set of :class:`Host`."""
    return set(get_hosts_list(hosts))
