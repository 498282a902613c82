"""Hosts: a frozen value type naming a machine and how to log into it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Self

__all__ = ["Host", "HostLike", "get_hosts_list", "get_hosts_set", "get_unique_hosts_list"]


@dataclasses.dataclass(frozen=True, slots=True)
class Host:
    """A machine to run things on.

    ``user``, ``keyfile`` and ``port`` override the connection parameters for this host
    only; ``None`` means "use the connection parameters". Hosts are immutable: derive a
    changed one with :meth:`replace`. Two hosts are equal when all four fields are equal.

    Args:
        address: host name or IP address.
        user: login name.
        keyfile: path of the private key to log in with.
        port: ssh port.
    """

    address: str
    user: str | None = dataclasses.field(default=None, kw_only=True)
    keyfile: str | None = dataclasses.field(default=None, kw_only=True)
    port: int | None = dataclasses.field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if not isinstance(self.address, str) or not self.address:
            raise ValueError(f"Host address must be a non-empty string, got {self.address!r}")
        if any(c.isspace() for c in self.address):
            raise ValueError(f"Host address must not contain whitespace: {self.address!r}")
        if self.port is not None and not (isinstance(self.port, int) and 0 < self.port < 65536):
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
        port = f":{self.port}" if self.port else ""
        return f"{user}{self.address}{port}"


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
