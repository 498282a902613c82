"""Hosts: a frozen value type naming a machine and how to log into it; host sets.

A *host set* string names several hosts in ClusterShell's notation: ``node-[1-50]``,
``node-[01-10]`` (zero-padded), ``10.0.[0-1].[1-9]``, ``node-[1-9]!node-5`` (difference),
and commas between pieces: ``node-[1-3],frontend``. It is accepted wherever a list of hosts
is (:func:`get_hosts_list`, hence every action). A piece without a bracket is taken exactly
as written (a host name, an IP address, ``[::1]``); pieces keep their order, the names a
bracket expands to come in ascending order. :func:`fold_hosts` goes the other way, for
display: ``node-1, node-2, node-3`` reads ``node-[1-3]``. ClusterShell is imported only when a
bracket needs expanding or a list needs folding.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Iterable
from typing import Protocol, Self

__all__ = [
    "Host",
    "HostLike",
    "expand_hosts",
    "fold_hosts",
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
        """``host`` itself if it is a Host, else ``Host(host)``.

        Raises:
            ValueError: ``host`` is a host set naming several hosts (``node-[1-3]``).
            TypeError: neither a Host nor a string.
        """
        if isinstance(host, Host):
            return host
        if isinstance(host, str):
            names = expand_hosts(host)
            if len(names) != 1:
                raise ValueError(
                    f"one host expected, but {host!r} names {len(names)}: use an action "
                    "(Remote, Put, Get...) for several hosts"
                )
            return cls(names[0])
        raise TypeError(f"expected a Host or a host name string, got {host!r}")

    def replace(self, **changes: object) -> Self:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        port = f":{self.port}" if self.port else ""
        return f"{user}{self.address}{port}"

    def __repr__(self) -> str:
        extra = "".join(
            f", {name}={getattr(self, name)!r}"
            for name in ("user", "keyfile", "port")
            if getattr(self, name) is not None
        )
        return f"Host({self.address!r}{extra})"

    def _repr_pretty_(self, p: _Printer, cycle: bool) -> None:
        p.text(repr(self))


class _Printer(Protocol):
    """The part of IPython's pretty printer that execo's ``_repr_pretty_`` methods use."""

    def text(self, text: str) -> None: ...


HostLike = Host | str
"""A Host, or a host name (or host set string) that stands for ``Host(name)``."""

_PLAIN = re.compile(r"[\w.-]+")


def _pieces(text: str) -> list[str]:
    """``text`` split at the commas outside brackets."""
    pieces, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth < 0:
                raise ValueError(f"host set {text!r}: ']' without '['")
        elif c == "," and depth == 0:
            pieces.append(text[start:i])
            start = i + 1
    if depth:
        raise ValueError(f"host set {text!r}: '[' without ']'")
    pieces.append(text[start:])
    return pieces


def _is_bracketed_ip(piece: str) -> bool:
    if not (piece.startswith("[") and piece.endswith("]")):
        return False
    try:
        ipaddress.IPv6Address(piece[1:-1].split("%")[0])
    except ValueError:
        return False
    return True


def expand_hosts(text: str) -> list[str]:
    """The host names a host set string names, in order (duplicates kept).

    ``"node-[1-3],frontend"`` gives ``["node-1", "node-2", "node-3", "frontend"]``; a plain
    name or address gives itself.

    Raises:
        ValueError: a malformed host set (unbalanced brackets, a bad range, an empty piece),
            naming it.
    """
    if "[" not in text and "]" not in text and "," not in text:
        return [text]
    names: list[str] = []
    for raw in _pieces(text):
        piece = raw.strip()
        if not piece:
            raise ValueError(f"host set {text!r}: empty name between commas")
        if "[" not in piece or _is_bracketed_ip(piece):
            names.append(piece)
            continue
        from ClusterShell.NodeSet import RESOLVER_NOGROUP, NodeSet, NodeSetException

        try:
            names.extend(NodeSet(piece, resolver=RESOLVER_NOGROUP))
        except NodeSetException as e:
            raise ValueError(f"host set {text!r}: {e}") from None
    return names


def fold_hosts(hosts: Iterable[HostLike | None]) -> str:
    """The hosts' addresses folded into a host set string, for display.

    ``[Host("node-1"), Host("node-2"), Host("node-3"), "10.0.0.1"]`` reads
    ``10.0.0.1,node-[1-3]``. Duplicates appear once; ``None`` entries are skipped. Users,
    ports and key files are left out: this names machines, it does not say how to log in.
    """
    names = list(dict.fromkeys(h.address if isinstance(h, Host) else h for h in hosts if h))
    if len(names) < 2:
        return names[0] if names else ""
    plain = [n for n in names if _PLAIN.fullmatch(n)]
    other = [n for n in names if n not in set(plain)]
    folded = ""
    if plain:
        from ClusterShell.NodeSet import RESOLVER_NOGROUP, NodeSet

        folded = str(NodeSet.fromlist(plain, resolver=RESOLVER_NOGROUP))
    return ",".join(filter(None, [folded, *other]))


def get_hosts_list(hosts: Iterable[HostLike] | HostLike) -> list[Host]:
    """The hosts as a list of :class:`Host`, in order, duplicates kept.

    ``hosts`` is a Host, a host name, a host set string (``"node-[1-50]"``), or an iterable
    of those (host set strings in it are expanded too).

    Raises:
        ValueError: a malformed host set.
        TypeError: something that is neither a Host nor a string, naming it.
    """
    if isinstance(hosts, Host):
        return [hosts]
    if isinstance(hosts, str):
        return [Host(name) for name in expand_hosts(hosts)]
    if not isinstance(hosts, Iterable):
        raise TypeError(f"expected hosts (a Host, a name, a host set or a list), got {hosts!r}")
    out: list[Host] = []
    for h in hosts:
        if isinstance(h, Host):
            out.append(h)
        elif isinstance(h, str):
            out.extend(Host(name) for name in expand_hosts(h))
        else:
            raise TypeError(f"expected a Host or a host name string, got {h!r} in {hosts!r}")
    return out


def get_unique_hosts_list(hosts: Iterable[HostLike] | HostLike) -> list[Host]:
    """The hosts as a list of :class:`Host`, in order, duplicates removed."""
    return list(dict.fromkeys(get_hosts_list(hosts)))


def get_hosts_set(hosts: Iterable[HostLike] | HostLike) -> set[Host]:
    """The hosts as a set of :class:`Host`."""
    return set(get_hosts_list(hosts))
