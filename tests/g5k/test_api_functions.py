"""execo's api_utils functions on the 3-site fixture, through the real loopback server."""

from __future__ import annotations

import dataclasses

import pytest

import execo_g5k
from execo_g5k import UnknownElementError
from execo_g5k import config as g5k_config_module

NOW = 1774256400


async def test_sites_and_clusters(api):
    assert await execo_g5k.get_g5k_sites(api=api) == ["lyon", "nancy", "rennes"]
    assert await execo_g5k.get_site_clusters("lyon", api=api) == ["gemini", "nova", "taurus"]
    assert await execo_g5k.get_cluster_site("paradoxe", api=api) == "rennes"
    assert await execo_g5k.get_cluster_site("nope", api=api) is None


async def test_production_clusters_filtered_out_by_default(api):
    assert await execo_g5k.get_site_clusters("nancy", api=api) == ["gros", "grouille"]
    assert await execo_g5k.get_site_clusters("nancy", queues="production", api=api) == ["grue"]
    assert await execo_g5k.get_site_clusters("nancy", queues=None, api=api) == [
        "gros",
        "grouille",
        "grue",
    ]
    hosts = await execo_g5k.get_site_hosts("nancy", api=api)
    assert not any(h.startswith("grue-") for h in hosts)
    assert len(hosts) == 22  # gros-1..20 + grouille-1..2
    all_hosts = await execo_g5k.get_site_hosts("nancy", queues="all", api=api)
    assert [h for h in all_hosts if h.startswith("grue-")] == [f"grue-{i}" for i in range(1, 6)]
    clusters = await execo_g5k.get_g5k_clusters(api=api)
    assert "abacus25" not in clusters
    assert "grue" not in clusters
    assert len(clusters) == 7
    assert len(await execo_g5k.get_g5k_hosts(api=api)) == 2 + 20 + 12 + 22 + 20 + 20
    # Naming a production cluster explicitly gives its hosts.
    assert await execo_g5k.get_cluster_hosts("abacus25", api=api) == [
        f"abacus25-{i}" for i in range(1, 5)
    ]


async def test_hosts_in_natural_order(api):
    hosts = await execo_g5k.get_cluster_hosts("nova", api=api)
    assert hosts[:4] == ["nova-1", "nova-4", "nova-5", "nova-6"]
    assert hosts[-1] == "nova-23"
    assert "nova-3" not in hosts


async def test_host_site_and_cluster(api):
    # nova-3 is not in the reference data: its site comes from its cluster.
    assert await execo_g5k.get_host_site("nova-3", api=api) == "lyon"
    assert execo_g5k.get_host_cluster("nova-3") == "nova"
    assert await execo_g5k.get_host_site("gros-1.nancy.grid5000.fr", api=api) == "nancy"
    assert await execo_g5k.get_host_site("paradoxe-2-eth1-kavlan-4", api=api) == "rennes"
    assert await execo_g5k.get_host_site("nope-1", api=api) is None
    assert await execo_g5k.get_host_longname("nova-3", api=api) == "nova-3.lyon.grid5000.fr"
    assert await execo_g5k.get_host_longname("nope-1", api=api) is None
    assert execo_g5k.get_host_shortname("nova-3-eth0.lyon.grid5000.fr") == "nova-3"


async def test_attributes(api):
    nova1 = await execo_g5k.get_host_attributes("nova-1.lyon.grid5000.fr", api=api)
    assert nova1["architecture"]["nb_cores"] == 16
    assert "links" not in nova1
    assert (await execo_g5k.get_cluster_attributes("grue", api=api))["queues"] == [
        "abaca",
        "admin",
        "production",
    ]
    assert (await execo_g5k.get_site_attributes("rennes", api=api))["uid"] == "rennes"
    assert await execo_g5k.get_cluster_queues("gros", api=api) == ["admin", "default"]
    assert await execo_g5k.get_cluster_jobtypes("gemini", api=api) == [
        "besteffort",
        "deploy",
        "exotic",
        "virtual",
    ]
    with pytest.raises(UnknownElementError, match="nova-3"):
        await execo_g5k.get_host_attributes("nova-3", api=api)
    with pytest.raises(UnknownElementError, match="site 'foo'"):
        await execo_g5k.get_site_clusters("foo", api=api)
    with pytest.raises(ValueError, match="cluster 'foo'"):
        await execo_g5k.get_cluster_hosts("foo", api=api)


async def test_network_equipments(api):
    assert await execo_g5k.get_site_network_equipments("lyon", api=api) == [
        "force10",
        "gw",
        "salome",
        "sneowise",
        "sneowiseib1",
        "sneowiseib2",
    ]
    assert await execo_g5k.get_host_network_equipments("nova-1", api=api) == ["force10"]
    assert await execo_g5k.get_cluster_network_equipments("taurus", api=api) == ["force10"]
    force10 = await execo_g5k.get_network_equipment_attributes("force10", api=api)
    assert force10["kind"] == "switch"
    assert await execo_g5k.get_network_equipment_site("force10", api=api) == "lyon"
    assert await execo_g5k.get_network_equipment_site("renater-lyon", api=api) is None
    with pytest.raises(UnknownElementError, match="pass site="):
        await execo_g5k.get_network_equipment_attributes("gw", api=api)
    gw = await execo_g5k.get_network_equipment_attributes("gw", site="nancy", api=api)
    assert gw["kind"] == "router"


async def test_group_hosts(api):
    grouped = await execo_g5k.group_hosts(
        ["nova-1", "gros-2.nancy.grid5000.fr", "nova-3", "taurus-1", "gros-1"], api=api
    )
    assert grouped == {
        "lyon": {"nova": ["nova-1", "nova-3"], "taurus": ["taurus-1"]},
        "nancy": {"gros": ["gros-2.nancy.grid5000.fr", "gros-1"]},
    }


async def test_resource_attributes_are_fetched_each_time(api, g5k_server):
    node = await execo_g5k.get_resource_attributes("sites/lyon/clusters/nova/nodes/nova-1", api=api)
    assert node["uid"] == "nova-1"
    assert node["links"][0]["href"].startswith("/stable/sites/lyon")
    job = await execo_g5k.get_resource_attributes("sites/rennes/jobs/1901501", api=api)
    assert job["resources_by_type"]["vlans"] == [4]
    assert g5k_server.paths() == [
        "sites/lyon/clusters/nova/nodes/nova-1",
        "sites/rennes/jobs/1901501",
    ]


async def test_hosts_metric_from_kwollect(api, g5k_server):
    metric = await execo_g5k.get_hosts_metric(
        ["nova-1", "nova-4.lyon.grid5000.fr", "gros-1", "gemini-1"],
        "wattmetre_power_watt",
        from_ts=NOW - 400,
        to_ts=NOW - 200,
        api=api,
    )
    assert sorted(metric) == ["gros-1", "nova-1", "nova-4"]
    assert [(p.timestamp, p.value) for p in metric["nova-1"]] == [
        (NOW - 400, 152.0),
        (NOW - 300, 153.0),
        (NOW - 200, 154.0),
    ]
    metric_paths = sorted(p for p in g5k_server.paths() if p.endswith("metrics"))
    assert metric_paths == ["sites/lyon/metrics", "sites/nancy/metrics"]
    gpu = await execo_g5k.get_hosts_metric(["gemini-1"], "bmc_gpu_power_watt", api=api)
    assert {p.labels["gpu"] for p in gpu["gemini-1"]} == {"0", "1"}


async def test_functions_without_api_use_the_configuration(g5k_config, g5k_server):
    previous = g5k_config_module.set_g5k_configuration(g5k_config)
    try:
        assert await execo_g5k.get_site_clusters("rennes") == ["paradoxe", "parasilo"]
        count = len(g5k_server.log)
        assert await execo_g5k.get_host_site("nova-3") == "lyon"
        assert len(g5k_server.log) == count  # answered from the cache
        root = await execo_g5k.get_resource_attributes("")
        assert root["uid"] == "grid5000"
    finally:
        g5k_config_module.set_g5k_configuration(previous)


async def test_reference_queries_by_element_kind(api):
    reference = await execo_g5k.get_api_reference(api)
    kinds = [reference.element_kind(e) for e in ("grid5000", "lyon", "nova", "nova-1")]
    assert kinds == ["grid5000", "site", "cluster", "host"]
    with pytest.raises(UnknownElementError):
        reference.element_kind("mars")
    assert dataclasses.is_dataclass(reference)
