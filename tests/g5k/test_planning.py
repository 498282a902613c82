"""Planning on the 3-site fixture through the real server, and the FEATURES §5.2 samples'
planning steps (g5k_check_cluster_cpu.py, g5k_taktuk_perf.py) producing valid OAR specs."""

from __future__ import annotations

import pytest

from execo_g5k.planning import (
    JOB_END_MARGIN,
    compute_slots,
    distribute_hosts,
    find_first_slot,
    find_free_slot,
    find_max_slot,
    get_job_by_name,
    get_jobs_specs,
    get_planning,
)

from .oar_grammar import node_count, parse_oar_resources

NOW = 1774256400
HOUR = 3600


@pytest.fixture
async def planning(api, g5k_server):
    planning = await get_planning(starttime=NOW, endtime=NOW + 12 * HOUR, vlan=True, api=api)
    g5k_server.reset()
    return planning


async def test_planning_of_the_fixture(planning):
    assert sorted(planning.sites) == ["lyon", "nancy", "rennes"]
    assert sorted(planning.sites["nancy"].clusters) == ["gros", "grouille"]  # no grue
    lyon = planning.sites["lyon"].clusters
    assert "nova-23.lyon.grid5000.fr" not in lyon["nova"]  # dead
    assert "taurus-11.lyon.grid5000.fr" not in lyon["taurus"]  # suspected
    assert "taurus-13.lyon.grid5000.fr" in lyon["taurus"]  # standby: OAR wakes it up
    nova1 = lyon["nova"]["nova-1.lyon.grid5000.fr"]
    end_2301001 = 1774254600 + 7200 + JOB_END_MARGIN
    assert nova1.busy == ((NOW, end_2301001),)
    assert nova1.free == ((end_2301001, NOW + 12 * HOUR),)
    gemini1 = lyon["gemini"]["gemini-1.lyon.grid5000.fr"]  # a waiting job, scheduled
    assert gemini1.busy == ((1774260000, 1774260000 + 14400 + JOB_END_MARGIN),)
    taurus5 = lyon["taurus"]["taurus-5.lyon.grid5000.fr"]  # besteffort only
    assert taurus5.busy == ()
    rennes_vlans = planning.sites["rennes"].vlans
    assert sorted(rennes_vlans) == [f"kavlan-{n}" for n in (16, 4, 5, 6, 7, 8, 9)]
    assert rennes_vlans["kavlan-4"].busy  # held by job 1901501


async def test_subnets_when_asked(api):
    planning = await get_planning(["rennes"], subnet=True, starttime=NOW, api=api)
    subnets = planning.sites["rennes"].subnets
    assert len(subnets) == 64
    assert subnets["10.156.0.0/22"].busy == ((NOW, 1774256000 + 7200 + JOB_END_MARGIN),)


async def test_besteffort_counted_when_asked(api):
    planning = await get_planning(
        ["taurus-5"], starttime=NOW, endtime=NOW + HOUR, ignore_besteffort=False, api=api
    )
    assert next(iter(planning.hosts()))[3].busy == ((NOW, NOW + HOUR),)


async def test_one_status_request_per_site_at_once(api, g5k_server):
    await api.get_json("")  # open the connection pool outside the measured part
    await get_planning(["lyon", "nancy", "rennes"], starttime=NOW, api=api)
    statuses = [r for r in g5k_server.log if r.path.endswith("/status")]
    assert sorted(r.path for r in statuses) == [
        f"sites/{s}/status" for s in ("lyon", "nancy", "rennes")
    ]
    assert statuses[0].query == {"disks": "no", "vlans": "no", "subnets": "no"}


async def test_elements_select_clusters_and_hosts(api):
    planning = await get_planning(["nova", "gros-3", "grue"], starttime=NOW, api=api)
    assert {s: sorted(sp.clusters) for s, sp in planning.sites.items()} == {
        "lyon": ["nova"],
        "nancy": ["gros", "grue"],  # a production cluster named explicitly is planned
    }
    assert list(planning.sites["nancy"].clusters["gros"]) == ["gros-3.nancy.grid5000.fr"]
    assert len(planning.sites["lyon"].clusters["nova"]) == 19


async def test_production_queue_when_asked(api):
    planning = await get_planning(["nancy"], queues="production", starttime=NOW, api=api)
    assert sorted(planning.sites["nancy"].clusters) == ["grue"]


async def test_out_of_chart_makes_charter_time_busy(api):
    # 2026-03-23 is a Monday; NOW is 10:00 in Paris.
    planning = await get_planning(
        ["grouille"], starttime=NOW, endtime=NOW + 24 * HOUR, out_of_chart=True, api=api
    )
    _, _, _, grouille1 = next(planning.hosts())
    assert grouille1.busy == ((NOW, NOW + 9 * HOUR), (NOW + 23 * HOUR, NOW + 24 * HOUR))


async def test_unreachable_site_is_left_out(api, g5k_server, caplog):
    g5k_server.faults["sites/nancy/status"] = [404]
    planning = await get_planning(starttime=NOW, api=api)
    assert sorted(planning.sites) == ["lyon", "rennes"]
    assert "site nancy left out" in caplog.text


async def test_slots_of_the_fixture(planning):
    slots = compute_slots(planning, 600)
    first = slots[0]
    assert (first.start, first.end) == (NOW, NOW + 600)
    assert first.free["lyon"] == 2 + 14 + 11
    assert first.free["gros"] == 8
    assert first.free["rennes"] == 18 + 16
    assert first.free["grid5000"] == 27 + 10 + 34
    assert first.kavlans["rennes"] == (
        "kavlan-16",
        "kavlan-5",
        "kavlan-6",
        "kavlan-7",
        "kavlan-8",
        "kavlan-9",
    )
    assert [s.start for s in slots] == sorted(s.start for s in slots)
    assert max(s.free["nova"] for s in slots) == 19
    assert find_first_slot(slots, {"grid5000": 0}) is first
    best = find_max_slot(slots, {"lyon": 0})
    assert best is not None
    assert best.free["lyon"] == 32
    assert find_free_slot(slots, {"gros": 19}) is not None
    assert find_free_slot(slots, {"gros": 20}) is None
    got = find_free_slot(slots, {"nova": 18, "gemini": 2})
    assert got is not None
    assert got.start >= 1774254600 + 7200 + JOB_END_MARGIN


async def test_check_cluster_cpu_planning_step(planning, api, g5k_server):
    """g5k_check_cluster_cpu.py: one node on every available cluster for 10 minutes."""
    blacklist = ["grouille"]
    slots = compute_slots(planning, 600, excluded_elements=blacklist)
    slot = find_first_slot(slots, {"grid5000": 0})
    assert slot is not None
    clusters = [c for cs in slot.clusters_of.values() for c in cs if slot.free[c] > 0]
    specs = await get_jobs_specs(
        {c: 1 for c in clusters}, excluded_elements=blacklist, name="check_cpu", api=api
    )
    assert [(s.site, s.resources, s.name) for s in specs] == [
        (
            "lyon",
            "{cluster='gemini'}/nodes=1+{cluster='nova'}/nodes=1+{cluster='taurus'}/nodes=1",
            "check_cpu",
        ),
        ("nancy", "{cluster='gros'}/nodes=1", "check_cpu"),
        ("rennes", "{cluster='paradoxe'}/nodes=1+{cluster='parasilo'}/nodes=1", "check_cpu"),
    ]
    for spec in specs:
        parse_oar_resources(spec.resources)
    assert g5k_server.log == []  # the reference data came from the cache


async def test_taktuk_perf_planning_step(planning, api):
    """g5k_taktuk_perf.py: 80% of the free nodes of the first slot, with a blacklist."""
    blacklist = ["gros-19", "taurus"]  # gros-19 is in maintenance (visible to OAR only)
    slots = compute_slots(planning, 1800, excluded_elements=blacklist)
    slot = find_first_slot(slots, {"grid5000": 0})
    assert slot is not None
    wanted = distribute_hosts(slot, {"grid5000": 0}, excluded_elements=blacklist, ratio=0.8)
    # lyon: gemini 2 + nova 14 = 16; nancy: gros-14..18 (gros-11, 12 start a job in 10 min)
    # + grouille 2 = 7; rennes: paradoxe 18 + parasilo 16 = 34; times 0.8, rounded down.
    assert wanted == {"lyon": 12, "nancy": 5, "rennes": 27}
    specs = await get_jobs_specs(wanted, excluded_elements=blacklist, name="taktuk", api=api)
    assert [(s.site, s.resources) for s in specs] == [
        ("lyon", "{cluster NOT IN ('taurus')}/nodes=12"),
        ("nancy", "{host NOT IN ('gros-19.nancy.grid5000.fr')}/nodes=5"),
        ("rennes", "nodes=27"),
    ]
    for spec in specs:
        assert node_count(spec.resources) == wanted[spec.site]


async def test_kavlan_requests(planning, api):
    slots = compute_slots(planning, HOUR)
    one_site = find_free_slot(slots, {"parasilo": 4, "kavlan": 1})
    assert one_site is not None
    wanted = distribute_hosts(one_site, {"parasilo": 4, "kavlan": 1})
    (spec,) = await get_jobs_specs(wanted, api=api)
    assert spec.resources == "{cluster='parasilo'}/nodes=4+{type='kavlan'}/vlan=1"
    two_sites = distribute_hosts(slots[0], {"nova": 2, "gros": 2, "kavlan": 1})
    specs = await get_jobs_specs(two_sites, kavlan_site="nancy", api=api)
    assert [s.resources for s in specs] == [
        "{cluster='nova'}/nodes=2",
        "{cluster='gros'}/nodes=2+{type='kavlan-global'}/vlan=1",
    ]
    for spec in specs:
        parse_oar_resources(spec.resources)


async def test_get_job_by_name(api, g5k_server):
    assert await get_job_by_name("gpu-bench", api=api) == (2301003, "lyon")
    assert await get_job_by_name("kavlan-exp", ["rennes"], api=api) == (1901501, "rennes")
    assert await get_job_by_name("kavlan-exp", ["lyon"], api=api) is None
    assert await get_job_by_name("gpu-bench", user="asmith", api=api) is None
    queries = [r.query for r in g5k_server.log if r.path.endswith("/jobs")]
    assert queries[0]["name"] == "gpu-bench"
    assert "waiting" in queries[0]["state"]
