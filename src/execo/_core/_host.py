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
    "check_address",
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
        """``host`` itself if it is a Host, else ``Host(host)``.

        Raises:
            ValueError: ``host`` is a host set naming several hosts (``node-[1-3]``), or a
                malformed address.
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
        if not self.port:
            return f"{user}{self.address}"
        address = f"[{self.address}]" if ":" in self.address else self.address
        return f"{user}{address}:{self.port}"

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


_BRACKETED_PIECE = re.compile(r"(?:[^@\[\]]+@)?\[([^\[\]]+)\](?::\d+)?")


def _is_bracketed_ip(piece: str) -> bool:
    """``[fe80::1]``, ``root@[::1]:2222``: an IPv6 address in brackets, not a host set."""
    m = _BRACKETED_PIECE.fullmatch(piece)
    if m is None:
        return False
    try:
        ipaddress.IPv6Address(m.group(1).split("%")[0])
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
