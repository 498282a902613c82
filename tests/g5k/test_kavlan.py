"""Kavlan helpers on the real reference data of the fixture (served by the HTTPS test API)."""

from __future__ import annotations

import ipaddress
import random

import pytest

from execo_g5k import (
    G5kApi,
    UnknownElementError,
    get_api_reference,
    get_kavlan_host_name,
    get_kavlan_ip_mac,
    get_kavlan_network,
    kavlan_free_addresses,
    random_mac_addresses,
)


async def test_kavlan_networks_from_routers_and_switches(api: G5kApi) -> None:
    assert await get_kavlan_network(4, "lyon", api=api) == ipaddress.ip_network("10.12.0.0/18")
    assert await get_kavlan_network(13, "lyon", api=api) == ipaddress.ip_network("10.15.192.0/18")
    # nancy's router describes no vlan; its switch sgravillon2 does (execo looked at the router).
    assert await get_kavlan_network(4, "nancy", api=api) == ipaddress.ip_network("10.16.0.0/18")
    network = await get_kavlan_network(1, "rennes", api=api)
    assert (str(network.network_address), network.prefixlen) == ("192.168.192.0", 20)
    with pytest.raises(UnknownElementError, match="kavlan-42"):
        await get_kavlan_network(42, "lyon", api=api)
    with pytest.raises(UnknownElementError, match="unknown site"):
        await get_kavlan_network(4, "atlantis", api=api)


async def test_free_addresses_avoid_the_nodes(api: G5kApi) -> None:
    reference = await get_api_reference(api)
    free = kavlan_free_addresses(reference, 4, "lyon")
    network = ipaddress.ip_network("10.12.0.0/18")
    nodes = {
        ipaddress.ip_address(ips["kavlan-4"])
        for host in reference.site_hosts("lyon", queues=None)
        for ips in reference.host_attributes(host)["kavlan"].values()
    }
    assert nodes and nodes <= set(network)
    assert free and all(a in network for a in free)
    assert not nodes & set(free)
    assert not {a.packed[2] for a in nodes} & {a.packed[2] for a in free}  # whole /24s kept free
    assert all(a.packed[3] not in (0, 254, 255) for a in free)
    assert free == sorted(free)

    pairs = await get_kavlan_ip_mac(4, "lyon", api=api, rng=random.Random(1))
    assert [ipaddress.ip_address(ip) for ip, _ in pairs] == free
    macs = [mac for _, mac in pairs]
    assert len(set(macs)) == len(macs)
    assert pairs == await get_kavlan_ip_mac(4, "lyon", api=api, rng=random.Random(1))


def test_mac_addresses_are_local_unicast_and_distinct() -> None:
    macs = random_mac_addresses(500, rng=random.Random(7))
    assert len(set(macs)) == 500
    for mac in macs:
        first = int(mac.split(":")[0], 16)
        assert first & 0x02 and not first & 0x01  # locally administered, unicast
    assert random_mac_addresses(0) == []
    with pytest.raises(ValueError, match=">= 0"):
        random_mac_addresses(-1)


def test_kavlan_host_name() -> None:
    assert get_kavlan_host_name("nova-3.lyon.grid5000.fr", 4) == "nova-3-kavlan-4.lyon.grid5000.fr"
