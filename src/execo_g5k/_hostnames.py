"""Pure Grid'5000 host-name helpers: no I/O, no API data.

A Grid'5000 node name is ``<cluster>-<n>[-<iface>][-kavlan-<v>][-ipv6][.<site>.grid5000.fr]``,
e.g. ``nova-3``, ``nova-3.lyon.grid5000.fr``, ``nova-3-eth1-kavlan-4.lyon.grid5000.fr``.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Protocol, runtime_checkable

__all__ = [
    "SupportsAddress",
    "HostLike",
    "HostName",
    "host_address",
    "parse_host_name",
    "canonical_host_name",
    "get_host_shortname",
    "get_host_cluster",
    "get_host_interface",
    "host_longname",
    "natural_sort_key",
]

G5K_DOMAIN = "grid5000.fr"


@runtime_checkable
class SupportsAddress(Protocol):
    """Anything with an ``address`` (execo's ``Host``)."""

    @property
    def address(self) -> str: ...


HostLike = str | SupportsAddress

_SHORT = re.compile(
    r"^(?P<cluster>[a-zA-Z]+\d*)-(?P<number>\d+)"
    r"(?:-(?P<iface>(?:eth|fpga|ib|en|wlan)\d+))?"
    r"(?:-kavlan-(?P<kavlan>\d+))?"
    r"(?P<ipv6>-ipv6)?$"
)


@dataclasses.dataclass(frozen=True, slots=True)
class HostName:
    """The parts of a node name.

    Attributes:
        cluster: Cluster name (``nova``).
        number: Node number in the cluster (3 for ``nova-3``).
        site: Site when the name carries it, else None.
        interface: Interface suffix (``eth1``) or None.
        kavlan: Kavlan number of a ``-kavlan-N`` name, or None.
        ipv6: Whether the name has the ``-ipv6`` suffix.
        domain: Everything after the first dot (``lyon.grid5000.fr``), or ``""``.
    """

    cluster: str
    number: int
    site: str | None
    interface: str | None
    kavlan: int | None
    ipv6: bool
    domain: str

    @property
    def short(self) -> str:
        """The canonical short name, ``<cluster>-<n>``."""
        return f"{self.cluster}-{self.number}"


def host_address(host: HostLike) -> str:
    """The address of a host given as a string or as an object with ``address``."""
    return host if isinstance(host, str) else host.address


def parse_host_name(host: HostLike) -> HostName | None:
    """Splits a Grid'5000 node name into its parts; None when it is not one."""
    address = host_address(host)
    first, _, domain = address.partition(".")
    m = _SHORT.match(first)
    if m is None:
        return None
    site = domain.split(".", 1)[0] if domain else None
    kavlan = m.group("kavlan")
    return HostName(
        cluster=m.group("cluster"),
        number=int(m.group("number")),
        site=site or None,
        interface=m.group("iface"),
        kavlan=int(kavlan) if kavlan is not None else None,
        ipv6=m.group("ipv6") is not None,
        domain=domain,
    )


def canonical_host_name(host: HostLike) -> str:
    """The node name without interface, kavlan and ipv6 parts; the domain is kept.

    ``nova-3-eth1-kavlan-4.lyon.grid5000.fr`` gives ``nova-3.lyon.grid5000.fr``. A name that
    is not a node name is returned unchanged.
    """
    address = host_address(host)
    parsed = parse_host_name(address)
    if parsed is None:
        return address
    return parsed.short + ("." + parsed.domain if parsed.domain else "")


def get_host_shortname(host: HostLike) -> str:
    """The canonical name without its domain: ``nova-3`` for ``nova-3-eth0.lyon.grid5000.fr``."""
    return canonical_host_name(host).split(".", 1)[0]


def get_host_cluster(host: HostLike) -> str | None:
    """The cluster a node name belongs to (``nova`` for ``nova-3``), or None."""
    parsed = parse_host_name(host)
    return parsed.cluster if parsed is not None else None


def get_host_interface(host: HostLike) -> str:
    """The interface part of a node name (``eth1`` in ``nova-3-eth1``); ``eth0`` if none."""
    parsed = parse_host_name(host)
    if parsed is None or parsed.interface is None:
        return "eth0"
    return parsed.interface


def host_longname(host: HostLike, site: str) -> str:
    """``<short>.<site>.grid5000.fr`` for a node of `site`."""
    return f"{get_host_shortname(host)}.{site}.{G5K_DOMAIN}"


_DIGITS = re.compile(r"(\d+)")


def natural_sort_key(name: str) -> tuple[tuple[int, str | int], ...]:
    """A key that sorts ``nova-2`` before ``nova-10``."""
    return tuple(
        (1, int(part)) if part.isdigit() else (0, part) for part in _DIGITS.split(name) if part
    )
