"""KaVLAN helpers from the API's reference data: a vlan's network, free addresses for VMs.

A site's network equipments describe its vlans (``vlans: {"vlan704": {"name": "kavlan-4",
"addresses": ["10.12.0.0/18"]}}``), usually on the router ``gw`` (on some sites, such as
nancy, on a switch). The nodes' own addresses in each vlan are in their ``kavlan``
attribute (``{"eth0": {"kavlan-4": "10.12.1.6"}}``).
"""

from __future__ import annotations

import ipaddress
import random
from typing import TYPE_CHECKING

from ._errors import UnknownElementError
from ._functions import get_api_reference

if TYPE_CHECKING:
    from ._client import G5kApi
    from ._reference import G5kReference

__all__ = [
    "get_kavlan_ip_mac",
    "get_kavlan_network",
    "kavlan_free_addresses",
    "kavlan_network",
    "random_mac_addresses",
]


def kavlan_network(reference: G5kReference, kavlan: int, site: str) -> ipaddress.IPv4Network:
    """The network of vlan ``kavlan-<kavlan>`` at `site` (pure, from the reference data).

    The routers' description wins over the switches' when both have the vlan.

    Raises:
        UnknownElementError: The site is unknown, or none of its equipments has the vlan.
    """
    name = f"kavlan-{kavlan}"
    found: list[tuple[bool, ipaddress.IPv4Network]] = []
    for uid in reference.site_network_equipments(site):
        equipment = reference.network_equipment_attributes(uid, site)
        for vlan in (equipment.get("vlans") or {}).values():
            if isinstance(vlan, dict) and vlan.get("name") == name and vlan.get("addresses"):
                network = ipaddress.IPv4Network(str(vlan["addresses"][0]), strict=False)
                found.append((equipment.get("kind") != "router", network))
    if not found:
        raise UnknownElementError(f"no network equipment of {site!r} describes {name}")
    return min(found, key=lambda f: f[0])[1]


def _node_addresses(reference: G5kReference, name: str) -> set[ipaddress.IPv4Address]:
    """Every address the reference data gives a node in vlan `name` (all sites)."""
    addresses: set[ipaddress.IPv4Address] = set()
    for host in reference.hosts(queues=None):
        for per_vlan in (reference.host_attributes(host).get("kavlan") or {}).values():
            if isinstance(per_vlan, dict) and name in per_vlan:
                addresses.add(ipaddress.IPv4Address(str(per_vlan[name])))
    return addresses


def kavlan_free_addresses(
    reference: G5kReference, kavlan: int, site: str
) -> list[ipaddress.IPv4Address]:
    """Addresses of the vlan that no node uses, for virtual machines (pure).

    Left out: every /24 block of the vlan in which the reference data gives some node an
    address (the nodes are numbered in blocks per cluster and interface), and in each
    remaining block its ``.0``, ``.254`` (the gateway's by Grid'5000's convention) and
    ``.255``. In order.
    """
    network = kavlan_network(reference, kavlan, site)
    used = {int(a) >> 8 for a in _node_addresses(reference, f"kavlan-{kavlan}") if a in network}
    return [
        a for a in network.hosts() if int(a) >> 8 not in used and int(a) & 0xFF not in (0, 254, 255)
    ]


def random_mac_addresses(n: int, *, rng: random.Random | None = None) -> list[str]:
    """`n` distinct random MAC addresses, unicast and locally administered (``x2:...``):
    they cannot clash with a vendor's (execo 2.8.2 used one vendor's prefix, 00:20:4e)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    draw = rng if rng is not None else random.SystemRandom()
    macs: dict[str, None] = {}
    while len(macs) < n:
        octets = [draw.randrange(256) for _ in range(6)]
        octets[0] = (octets[0] & 0xFC) | 0x02
        macs[":".join(f"{o:02x}" for o in octets)] = None
    return list(macs)


async def get_kavlan_network(
    kavlan: int, site: str, *, api: G5kApi | None = None
) -> ipaddress.IPv4Network:
    """The network of vlan `kavlan` at `site` (``ip_network("10.12.0.0/18")``; execo
    returned ``(network, mask)``: ``.network_address`` and ``.prefixlen`` are those)."""
    return kavlan_network(await get_api_reference(api), kavlan, site)


async def get_kavlan_ip_mac(
    kavlan: int,
    site: str,
    *,
    api: G5kApi | None = None,
    rng: random.Random | None = None,
) -> list[tuple[str, str]]:
    """``[(ip, mac)]`` for virtual machines in vlan `kavlan` at `site`: the free addresses
    (see `kavlan_free_addresses`), each with a distinct random MAC (`random_mac_addresses`;
    pass `rng` for a reproducible draw)."""
    addresses = kavlan_free_addresses(await get_api_reference(api), kavlan, site)
    macs = random_mac_addresses(len(addresses), rng=rng)
    return [(str(a), m) for a, m in zip(addresses, macs, strict=True)]
