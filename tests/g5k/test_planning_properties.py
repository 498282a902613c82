"""Property tests of the pure planning functions: they never change their inputs, and
their results hold together."""

from __future__ import annotations

import copy
import datetime
from typing import TYPE_CHECKING

from hypothesis import given, settings
from hypothesis import strategies as st

from execo_g5k.charter import (
    charter_periods,
    easter_sunday,
    french_holidays,
    g5k_charter_time,
    get_next_charter_period,
)
from execo_g5k.planning import (
    Planning,
    SitePlanning,
    availability_from_busy,
    compute_slots,
    distribute_hosts,
    find_first_slot,
    find_free_slot,
    find_max_slot,
    make_jobs_specs,
    merge_intervals,
)

from .oar_grammar import node_count, parse_oar_resources

if TYPE_CHECKING:
    from collections.abc import Sequence

WINDOW = (0, 1000)
intervals = st.lists(
    st.tuples(st.integers(-100, 1100), st.integers(0, 300)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=4,
)
SITES = {"lyon": ("nova", "taurus"), "nancy": ("gros",), "rennes": ("parasilo", "paradoxe")}


@st.composite
def plannings(draw: st.DrawFn) -> Planning:
    sites = {}
    for site, clusters in SITES.items():
        if not draw(st.booleans()):
            continue
        planned = {}
        for cluster in clusters:
            count = draw(st.integers(0, 3))
            planned[cluster] = {
                f"{cluster}-{i}.{site}.grid5000.fr": availability_from_busy(
                    draw(intervals), *WINDOW
                )
                for i in range(1, count + 1)
            }
        vlans = {f"kavlan-{n}": availability_from_busy(draw(intervals), *WINDOW) for n in (4, 16)}
        sites[site] = SitePlanning(planned, vlans)
    return Planning(*WINDOW, sites)


wanted_keys = st.sampled_from(
    ["grid5000", "kavlan", *SITES, *(c for cs in SITES.values() for c in cs), "nova-1", "gros-2"]
)
wanted = st.dictionaries(wanted_keys, st.integers(0, 5), max_size=4)
excluded = st.lists(st.sampled_from(["taurus", "nancy", "nova-2", "parasilo-1"]), max_size=2)


def _covered(points: Sequence[tuple[int, int]], t: int) -> bool:
    return any(a <= t < b for a, b in points)


@given(intervals)
def test_merge_keeps_the_union_and_separates(busy):
    merged = merge_intervals(busy)
    assert all(a < b for a, b in merged)
    assert all(merged[i][1] < merged[i + 1][0] for i in range(len(merged) - 1))
    for t in range(-100, 1400, 7):
        assert _covered(merged, t) == _covered(busy, t)


@given(intervals)
def test_free_is_the_complement_in_the_window(busy):
    availability = availability_from_busy(busy, *WINDOW)
    for t in range(*WINDOW, 5):
        assert _covered(availability.free, t) != _covered(availability.busy, t)
        assert _covered(availability.busy, t) == _covered(busy, t)


@settings(max_examples=60)
@given(plannings(), st.integers(1, 400), excluded, st.booleans())
def test_slot_counts_add_up(planning, walltime, excluded_elements, include_hosts):
    before = copy.deepcopy(planning)
    slots = compute_slots(planning, walltime, excluded_elements, include_hosts)
    assert planning == before
    assert [s.start for s in slots] == sorted({s.start for s in slots})
    kept = planning.without(excluded_elements)
    for slot in slots:
        assert slot.end == slot.start + walltime <= planning.end
        assert slot.free["grid5000"] == sum(slot.free[s] for s in kept.sites)
        for site, sp in kept.sites.items():
            assert slot.free[site] == sum(slot.free[c] for c in sp.clusters)
            for cluster, hosts in sp.clusters.items():
                free = [h for h, a in hosts.items() if a.is_free(slot.start, slot.end)]
                assert slot.free[cluster] == len(free)
                if include_hosts:
                    assert all(slot.free[h] == (h in free) for h in hosts)
        assert "taurus" not in slot.free or "taurus" not in excluded_elements


@settings(max_examples=60)
@given(plannings(), wanted, excluded, st.none() | st.floats(0.1, 1.0))
def test_distribution_fits_the_slot(planning, resources, excluded_elements, ratio):
    slots = compute_slots(planning, 100, include_hosts=True)
    if not slots:
        return
    slot = slots[len(slots) // 2]
    frozen_wanted = dict(resources)
    got = distribute_hosts(slot, resources, excluded_elements, ratio)
    assert resources == frozen_wanted
    for site, clusters in slot.clusters_of.items():
        used = got.get(site, 0) + sum(got.get(c, 0) for c in clusters)
        used += sum(n for h, n in got.items() if h.endswith(f".{site}.grid5000.fr"))
        assert used <= slot.free[site]
        if site in excluded_elements:
            assert used == 0
    for cluster in ("taurus", "parasilo"):
        if cluster in excluded_elements:
            assert got.get(cluster, 0) == 0
    if ratio is None:
        for element, count in resources.items():
            spread = "grid5000" in resources and element in SITES  # grid5000 adds to sites
            if element not in ("grid5000", "kavlan") and count and not spread:
                assert got.get(element, 0) <= count
    assert ("kavlan" in got) == bool(resources.get("kavlan"))
    clusters_of = {s: SITES[s] for s in SITES}
    specs = make_jobs_specs(got, clusters_of, excluded_elements, name="xp")
    for spec in specs:
        parse_oar_resources(spec.resources)
    assert sum(node_count(s.resources) for s in specs) == sum(
        n for k, n in got.items() if k != "kavlan"
    )


@settings(max_examples=60)
@given(plannings(), wanted)
def test_slot_finders_agree(planning, resources):
    slots = compute_slots(planning, 150)
    first = find_first_slot(slots, resources)
    best = find_max_slot(slots, resources)
    free = find_free_slot(slots, resources)
    assert (first is None) == (best is None)
    if first is not None and best is not None:
        assert first.start <= best.start or slots.index(first) <= slots.index(best)
    if free is not None:
        got = distribute_hosts(free, resources)
        for element, count in resources.items():
            if element not in ("grid5000", "kavlan"):
                assert got.get(element, 0) >= count


# ---- charter --------------------------------------------------------------------------

DAY = 86400
times = st.integers(1_600_000_000, 1_900_000_000)


@given(times, st.integers(0, 10 * DAY))
def test_charter_periods_are_exactly_charter_time(start, duration):
    end = start + duration
    periods = charter_periods(start, end)
    assert periods == sorted(periods)
    assert all(start <= a < b <= end for a, b in periods)
    assert get_next_charter_period(start, end) == (periods[0] if periods else None)
    for t in range(start, end, 3541):
        assert g5k_charter_time(t) == _covered(periods, t)


@given(st.integers(1900, 2200))
def test_easter_is_a_spring_sunday(year):
    easter = easter_sunday(year)
    assert easter.weekday() == 6
    assert datetime.date(year, 3, 22) <= easter <= datetime.date(year, 4, 25)
    assert 10 <= len(french_holidays(year)) <= 11  # Ascension may fall on May 1 or 8


def test_charter_examples():
    monday_10h = 1774256400  # 2026-03-23 10:00 Paris
    assert g5k_charter_time(monday_10h)
    assert not g5k_charter_time(monday_10h + 9 * 3600)  # 19:00
    assert not g5k_charter_time(monday_10h - 3600 - 1)  # 08:59:59
    easter_monday_noon = int(datetime.datetime(2026, 4, 6, 12, tzinfo=datetime.UTC).timestamp())
    assert not g5k_charter_time(easter_monday_noon)
    saturday = monday_10h + 5 * DAY
    assert not g5k_charter_time(saturday)
    # Summer time starts on Sunday 2026-03-29: Monday's 9:00 Paris is 7:00 UTC.
    monday_9h_cest = int(datetime.datetime(2026, 3, 30, 7, tzinfo=datetime.UTC).timestamp())
    assert get_next_charter_period(saturday, saturday + 3 * DAY) == (
        monday_9h_cest,
        monday_9h_cest + 10 * 3600,
    )
    assert get_next_charter_period(saturday, saturday + DAY) is None
