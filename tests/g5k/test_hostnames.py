"""The pure host-name helpers, property-tested."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from execo_g5k import (
    canonical_host_name,
    get_host_cluster,
    get_host_interface,
    get_host_shortname,
    parse_host_name,
)
from execo_g5k._hostnames import natural_sort_key

clusters = st.from_regex(r"[a-z]{2,9}[0-9]{0,2}", fullmatch=True)
numbers = st.integers(min_value=1, max_value=999)
sites = st.sampled_from(["lyon", "nancy", "rennes", "grenoble"])
interfaces = st.none() | st.from_regex(r"(eth|fpga|ib)[0-9]", fullmatch=True)
kavlans = st.none() | st.integers(min_value=1, max_value=20)


@dataclasses.dataclass(frozen=True)
class Named:
    address: str


def decorate(short: str, iface: str | None, kavlan: int | None, ipv6: bool, domain: str) -> str:
    name = short + (f"-{iface}" if iface else "") + (f"-kavlan-{kavlan}" if kavlan else "")
    return name + ("-ipv6" if ipv6 else "") + (f".{domain}" if domain else "")


@given(clusters, numbers, interfaces, kavlans, st.booleans(), st.none() | sites)
def test_canonical_strips_decorations_and_keeps_domain(cluster, n, iface, kavlan, ipv6, site):
    domain = f"{site}.grid5000.fr" if site else ""
    name = decorate(f"{cluster}-{n}", iface, kavlan, ipv6, domain)
    canonical = canonical_host_name(name)
    assert canonical == decorate(f"{cluster}-{n}", None, None, False, domain)
    assert canonical_host_name(canonical) == canonical
    assert canonical_host_name(Named(name)) == canonical
    assert get_host_shortname(name) == f"{cluster}-{n}"
    assert get_host_cluster(name) == cluster
    assert get_host_interface(name) == (iface or "eth0")
    parsed = parse_host_name(name)
    assert parsed is not None
    assert (parsed.site, parsed.kavlan, parsed.ipv6) == (site, kavlan, ipv6)


@given(st.text(max_size=30))
def test_helpers_never_fail_and_are_idempotent(text):
    canonical = canonical_host_name(text)
    assert canonical_host_name(canonical) == canonical
    assert "." not in get_host_shortname(text)


def test_examples():
    assert canonical_host_name("nova-3-eth1-kavlan-4.lyon.grid5000.fr") == (
        "nova-3.lyon.grid5000.fr"
    )
    assert canonical_host_name("frontend.lyon.grid5000.fr") == "frontend.lyon.grid5000.fr"
    assert get_host_cluster("abacus25-2.rennes.grid5000.fr") == "abacus25"
    assert get_host_cluster("localhost") is None
    assert sorted(["nova-10", "nova-2", "nova-1"], key=natural_sort_key) == [
        "nova-1",
        "nova-2",
        "nova-10",
    ]
