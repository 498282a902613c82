"""Planning values and pure interval arithmetic.

Times are integer unix seconds; an interval ``(a, b)`` is the half-open ``[a, b)``.
"""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import TYPE_CHECKING, Self

from ._hostnames import get_host_shortname, parse_host_name

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

__all__ = [
    "Interval",
    "Availability",
    "SitePlanning",
    "Planning",
    "merge_intervals",
    "complement",
    "availability_from_busy",
]

Interval = tuple[int, int]


def merge_intervals(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sorted, with overlapping or touching intervals merged and empty ones dropped."""
    merged: list[Interval] = []
    for a, b in sorted(i for i in intervals if i[1] > i[0]):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return tuple(merged)


def _clip(intervals: Iterable[Interval], start: int, end: int) -> Iterator[Interval]:
    for a, b in intervals:
        a, b = max(a, start), min(b, end)
        if b > a:
            yield (a, b)


def complement(busy: Iterable[Interval], start: int, end: int) -> tuple[Interval, ...]:
    """The parts of ``[start, end)`` that no interval of `busy` covers."""
    free: list[Interval] = []
    cursor = start
    for a, b in merge_intervals(_clip(busy, start, end)):
        if a > cursor:
            free.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < end:
        free.append((cursor, end))
    return tuple(free)


@dataclasses.dataclass(frozen=True, slots=True)
class Availability:
    """When one resource (host, vlan, subnet) is busy and free in a planning window.

    Attributes:
        busy: Merged busy intervals, sorted, within the window.
        free: The complement of `busy` in the window.
    """

    busy: tuple[Interval, ...]
    free: tuple[Interval, ...]

    def is_free(self, start: int, end: int) -> bool:
        """Whether one free interval covers ``[start, end)``."""
        return any(a <= start and end <= b for a, b in self.free)


def availability_from_busy(busy: Iterable[Interval], start: int, end: int) -> Availability:
    """The availability in ``[start, end)`` of a resource busy during `busy`."""
    merged = merge_intervals(_clip(busy, start, end))
    return Availability(merged, complement(merged, start, end))


def _frozen(mapping: Mapping[str, Availability]) -> Mapping[str, Availability]:
    return MappingProxyType(dict(mapping))


@dataclasses.dataclass(frozen=True, slots=True)
class SitePlanning:
    """The planning of one site.

    Attributes:
        clusters: ``{cluster: {host FQDN: Availability}}``.
        vlans: ``{"kavlan-N": Availability}`` (routed and global kavlans only).
        subnets: ``{"a.b.c.d/22": Availability}``.
    """

    clusters: Mapping[str, Mapping[str, Availability]]
    vlans: Mapping[str, Availability] = dataclasses.field(default_factory=dict)
    subnets: Mapping[str, Availability] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        clusters = {c: _frozen(hosts) for c, hosts in self.clusters.items()}
        object.__setattr__(self, "clusters", MappingProxyType(clusters))
        object.__setattr__(self, "vlans", _frozen(self.vlans))
        object.__setattr__(self, "subnets", _frozen(self.subnets))

    def __deepcopy__(self, memo: dict[int, object]) -> Self:
        return self  # immutable all the way down


@dataclasses.dataclass(frozen=True, slots=True)
class Planning:
    """Busy and free intervals of Grid'5000 resources over ``[start, end)`` (read-only).

    Attributes:
        start: Start of the window (unix seconds).
        end: End of the window.
        sites: ``{site: SitePlanning}``.
    """

    start: int
    end: int
    sites: Mapping[str, SitePlanning]

    def __post_init__(self) -> None:
        object.__setattr__(self, "sites", MappingProxyType(dict(self.sites)))

    def __deepcopy__(self, memo: dict[int, object]) -> Self:
        return self  # immutable all the way down

    def hosts(self) -> Iterator[tuple[str, str, str, Availability]]:
        """``(site, cluster, host, availability)`` for every host."""
        for site, sp in self.sites.items():
            for cluster, hosts in sp.clusters.items():
                for host, availability in hosts.items():
                    yield site, cluster, host, availability

    def clusters_of(self) -> dict[str, tuple[str, ...]]:
        """``{site: (clusters...)}``."""
        return {site: tuple(sorted(sp.clusters)) for site, sp in self.sites.items()}

    def without(self, elements: Iterable[str]) -> Planning:
        """A copy without the given sites, clusters and hosts (any form of host name)."""
        names = set(elements)
        shorts = {get_host_shortname(e) for e in names if parse_host_name(e) is not None}
        sites: dict[str, SitePlanning] = {}
        for site, sp in self.sites.items():
            if site in names:
                continue
            clusters = {
                cluster: {h: a for h, a in hosts.items() if get_host_shortname(h) not in shorts}
                for cluster, hosts in sp.clusters.items()
                if cluster not in names
            }
            sites[site] = SitePlanning(clusters, sp.vlans, sp.subnets)
        return Planning(self.start, self.end, sites)
