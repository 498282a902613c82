"""Free slots of a planning, and how to share a request among them (pure functions).

None of these functions changes its arguments: they build new values.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, Self

from ._hostnames import parse_host_name

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from ._intervals import Availability, Planning

__all__ = [
    "Slot",
    "compute_slots",
    "find_first_slot",
    "find_max_slot",
    "find_free_slot",
    "distribute_hosts",
    "kavlan_kind",
]

GRID5000 = "grid5000"
KAVLAN = "kavlan"


def kavlan_kind(name: str) -> Literal["local", "routed", "global"]:
    """The kind of a ``kavlan-N``: local (1-3), routed (4-9) or global (10 and more)."""
    number = int(name.rsplit("-", 1)[1])
    return "local" if number <= 3 else "routed" if number <= 9 else "global"


@dataclasses.dataclass(frozen=True, slots=True)
class Slot:
    """What is free for a whole ``[start, end)``.

    Attributes:
        start: Start of the slot (unix seconds).
        end: ``start + walltime``.
        free: Free node counts: ``"grid5000"``, every site and cluster, and (when asked
            for) every host FQDN with 0 or 1.
        kavlans: ``{site: (free "kavlan-N"...)}``.
        clusters_of: ``{site: (clusters...)}`` of the planning the slot comes from.
    """

    start: int
    end: int
    free: Mapping[str, int]
    kavlans: Mapping[str, tuple[str, ...]]
    clusters_of: Mapping[str, tuple[str, ...]]

    def __deepcopy__(self, memo: dict[int, object]) -> Self:
        return self  # immutable all the way down

    def site_of(self, element: str) -> str | None:
        """The site of a site, cluster or host name of this slot; None otherwise."""
        if element in self.clusters_of:
            return element
        for site, clusters in self.clusters_of.items():
            if element in clusters:
                return site
        parsed = parse_host_name(element)
        if parsed is None:
            return None
        if parsed.site in self.clusters_of:
            return parsed.site
        return self.site_of(parsed.cluster) if parsed.cluster != element else None


def _free_ranges(availability: Availability, times: list[int], walltime: int) -> list[range]:
    """Indexes of `times` at which the resource is free for `walltime` seconds."""
    ranges = []
    for a, b in availability.free:
        lo = bisect.bisect_left(times, a)
        hi = bisect.bisect_right(times, b - walltime)
        if hi > lo:
            ranges.append(range(lo, hi))
    return ranges


def _counts(ranges: list[range], size: int) -> list[int]:
    """How many of `ranges` cover each index of ``range(size)`` (difference array)."""
    diff = [0] * (size + 1)
    for r in ranges:
        diff[r.start] += 1
        diff[r.stop] -= 1
    counts, running = [], 0
    for d in diff[:size]:
        running += d
        counts.append(running)
    return counts


def compute_slots(
    planning: Planning,
    walltime: int,
    excluded_elements: Iterable[str] = (),
    include_hosts: bool = False,
) -> list[Slot]:
    """The slots of a planning for jobs of `walltime` seconds.

    Candidate starts are the bounds of every busy and free interval (the planning's own
    start included) such that the slot ends within the planning. The cost is about
    (resources x intervals x log(starts)) + (starts x clusters), not starts x hosts.

    Args:
        planning: The planning (not changed).
        walltime: Duration of the wanted jobs, in seconds.
        excluded_elements: Sites, clusters and hosts to leave out.
        include_hosts: Also count every host (0 or 1) in `Slot.free`.

    Returns:
        The slots, sorted by start.
    """
    kept = planning.without(excluded_elements)
    vlans = [(site, name, a) for site, sp in kept.sites.items() for name, a in sp.vlans.items()]
    bounds = {kept.start}
    for availability in [h[3] for h in kept.hosts()] + [v[2] for v in vlans]:
        for a, b in availability.busy + availability.free:
            bounds.update((a, b))
    times = sorted(t for t in bounds if kept.start <= t and t + walltime <= kept.end)
    clusters_of = MappingProxyType(kept.clusters_of())
    per_cluster: dict[str, list[int]] = {}
    per_host: dict[str, list[int]] = {}
    for sp in kept.sites.values():
        for cluster, hosts in sp.clusters.items():
            ranges = {h: _free_ranges(a, times, walltime) for h, a in hosts.items()}
            per_cluster[cluster] = _counts([r for rs in ranges.values() for r in rs], len(times))
            if include_hosts:
                per_host.update((h, _counts(rs, len(times))) for h, rs in ranges.items())
    per_vlan = [
        (site, name, _counts(_free_ranges(a, times, walltime), len(times)))
        for site, name, a in vlans
    ]
    slots: list[Slot] = []
    for i, start in enumerate(times):
        free: dict[str, int] = {GRID5000: 0}
        for site, clusters in clusters_of.items():
            free.update((c, per_cluster[c][i]) for c in clusters)
            free[site] = sum(per_cluster[c][i] for c in clusters)
            free[GRID5000] += free[site]
        free.update((h, counts[i]) for h, counts in per_host.items())
        kavlans = {
            site: tuple(sorted(n for s, n, counts in per_vlan if s == site and counts[i]))
            for site in clusters_of
        }
        slots.append(
            Slot(
                start,
                start + walltime,
                MappingProxyType(free),
                MappingProxyType(kavlans),
                clusters_of,
            )
        )
    return slots


def _wanted_sites(slot: Slot, wanted: Iterable[str]) -> set[str]:
    sites: set[str] = set()
    for element in wanted:
        if element == GRID5000:
            sites.update(slot.clusters_of)
        elif element != KAVLAN and (site := slot.site_of(element)) is not None:
            sites.add(site)
    return sites


def _kavlan_ok(slot: Slot, wanted: Mapping[str, int]) -> bool:
    if not wanted.get(KAVLAN):
        return True
    sites = _wanted_sites(slot, wanted)
    kind = "routed" if len(sites) == 1 else "global"
    return any(kavlan_kind(v) == kind for s in sites for v in slot.kavlans.get(s, ()))


def _score(slot: Slot, wanted: Mapping[str, int]) -> int:
    return sum(slot.free.get(k, 0) for k in wanted if k != KAVLAN)


def find_first_slot(slots: Sequence[Slot], resources_wanted: Mapping[str, int]) -> Slot | None:
    """The first slot where some wanted element has a free node (counts are not looked at;
    a wanted ``kavlan`` must be free too); None if there is none."""
    for slot in slots:
        if _score(slot, resources_wanted) > 0 and _kavlan_ok(slot, resources_wanted):
            return slot
    return None


def find_max_slot(slots: Sequence[Slot], resources_wanted: Mapping[str, int]) -> Slot | None:
    """The (first) slot with the most free nodes in the wanted elements; None if none has
    any."""
    best: Slot | None = None
    for slot in slots:
        score = _score(slot, resources_wanted)
        better = best is None or score > _score(best, resources_wanted)
        if score > 0 and better and _kavlan_ok(slot, resources_wanted):
            best = slot
    return best


def _node_count(counts: Mapping[str, int]) -> int:
    return sum(n for k, n in counts.items() if k != KAVLAN)


def find_free_slot(slots: Sequence[Slot], resources_wanted: Mapping[str, int]) -> Slot | None:
    """The first slot where every wanted count can be had at once; None if there is none.

    "Can be had" means that `distribute_hosts` gives every wanted element its count and
    ``grid5000`` its nodes on top (a count of 0, "all", is always satisfied).
    """
    named = {k: n for k, n in resources_wanted.items() if k not in (KAVLAN, GRID5000)}
    for slot in slots:
        got = distribute_hosts(slot, resources_wanted)
        if (
            _kavlan_ok(slot, resources_wanted)
            and all(got.get(k, 0) >= n for k, n in named.items())
            and _node_count(got) >= _node_count(resources_wanted)
        ):
            return slot
    return None


def _kind(slot: Slot, element: str) -> Literal["site", "cluster", "host"] | None:
    if element in slot.clusters_of:
        return "site"
    if any(element in clusters for clusters in slot.clusters_of.values()):
        return "cluster"
    return "host" if parse_host_name(element) is not None else None


def _parents(slot: Slot, element: str) -> list[str]:
    """The keys of `Slot.free` whose counts include `element`'s (not ``grid5000``)."""
    kind = _kind(slot, element)
    site = slot.site_of(element)
    if kind == "site" or site is None:
        return []
    if kind == "cluster":
        return [site]
    parsed = parse_host_name(element)
    return [site, parsed.cluster] if parsed is not None else [site]


def distribute_hosts(
    available: Slot,
    resources_wanted: Mapping[str, int],
    excluded_elements: Iterable[str] = (),
    ratio: float | None = None,
) -> dict[str, int]:
    """Shares a request among the free nodes of a slot.

    In this order: excluded hosts, clusters and sites are emptied; wanted hosts take
    themselves (only if the slot counts hosts: ``compute_slots(include_hosts=True)``);
    wanted clusters take their count (0 means all their free nodes), which their site
    loses; wanted sites take their count (0: all) of what is left; ``grid5000`` takes its
    count (0: all) one node at a time from each site in turn; ``kavlan`` is copied. Then
    every node count is multiplied by `ratio` and rounded down.

    Args:
        available: The slot (not changed).
        resources_wanted: ``{element: count}`` (not changed).
        excluded_elements: Sites, clusters and hosts not to use.
        ratio: Fraction of each count to keep, e.g. 0.8.

    Returns:
        ``{host|cluster|site: count}`` (positive counts only) and ``kavlan`` when wanted.
        A site's count is of nodes of any of its clusters, on top of the cluster counts.
    """
    left = dict(available.free)
    got: dict[str, int] = {}

    def take(element: str, count: int) -> None:
        for key in [element, *_parents(available, element)]:
            left[key] = left.get(key, 0) - count
        got[element] = got.get(element, 0) + count

    excluded = sorted(set(excluded_elements), key=lambda e: _kind(available, e) != "host")
    for element in excluded:
        take(element, max(left.get(element, 0), 0))
        got.pop(element)
        for cluster in available.clusters_of.get(element, ()):
            left[cluster] = 0
    for kind in ("host", "cluster", "site"):
        for element in sorted(resources_wanted):
            if _kind(available, element) != kind or left.get(element, 0) <= 0:
                continue
            count = resources_wanted[element]
            take(element, left[element] if count == 0 else min(count, left[element]))
    if GRID5000 in resources_wanted:
        sites = sorted(available.clusters_of)
        todo = resources_wanted[GRID5000] or sum(max(left.get(s, 0), 0) for s in sites)
        while todo > 0 and any(left.get(s, 0) > 0 for s in sites):
            for site in sites:
                if todo > 0 and left.get(site, 0) > 0:
                    take(site, 1)
                    todo -= 1
    result = {k: v for k, v in got.items() if v > 0}
    if ratio is not None:
        result = {k: math.floor(v * ratio) for k, v in result.items()}
        result = {k: v for k, v in result.items() if v > 0}
    if resources_wanted.get(KAVLAN):
        result[KAVLAN] = resources_wanted[KAVLAN]
    return result
