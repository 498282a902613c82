"""execo_g5k.topology on the real reference data of the fixture (through the HTTPS test API):
the graph's nodes and links, paths across the backbone, the picture, and FEATURES §5.2's
``g5k_xp_graph.py`` sample."""

from __future__ import annotations

import random
from pathlib import Path

import networkx as nx
import pytest

import execo_g5k
from execo_g5k import G5kApi, UnknownElementError, get_api_reference, get_host_shortname
from execo_g5k.topology import G5kGraph, build_g5k_graph, g5k_graph, layered_layout, treemap


async def test_one_site_graph(api: G5kApi) -> None:
    g = await g5k_graph(["nova-1", "nova-4", "gemini-1", "taurus-3"], api=api)
    assert isinstance(g, G5kGraph) and isinstance(g, nx.MultiGraph)
    assert g.get_hosts() == ["gemini-1", "nova-1", "nova-4", "taurus-3"]
    assert g.get_clusters() == ["gemini", "nova", "taurus"] and g.get_sites() == ["lyon"]
    assert g.get_site_router("lyon") == "gw.lyon"
    assert g.get_backbone() == []  # one site: no backbone
    assert g.get_host_neighbours("nova-1") == ["force10.lyon"]
    assert g.get_host_neighbours("gemini-1.lyon.grid5000.fr") == ["gw.lyon"]
    assert g.get_equip_hosts("force10.lyon") == ["nova-1", "nova-4", "taurus-3"]
    assert g.nodes["nova-1"]["cores"] == 16 and g.nodes["nova-1"]["kind"] == "node"
    assert g.nodes["gw.lyon"]["kind"] == "router"
    assert g.nodes["gw.lyon"]["backplane"] == 960000000000
    # Equipments that serve none of these hosts are pruned (salome, sneowise, infiniband).
    assert set(g.nodes) == {"gemini-1", "nova-1", "nova-4", "taurus-3", "force10.lyon", "gw.lyon"}
    (uplink,) = g.get_edge_data("force10.lyon", "gw.lyon").values()
    assert uplink["bandwidth"] == 40000000000 and uplink["active"]
    (adapter,) = g.get_edge_data("nova-1", "force10.lyon").values()
    assert adapter["bandwidth"] == 10000000000 and adapter["active"]
    assert g.graph["api_commit"] == (await get_api_reference(api)).version


async def test_multi_adapter_hosts_and_channels(api: G5kApi) -> None:
    """gros-1 has eth0 on sgros1 and eth1 (not configured) on sgros2, reached through an
    aggregated channel of sgravillon2; parasilo-1 has two adapters on one switch."""
    g = await g5k_graph(["gros-1", "parasilo-1"], api=api)
    assert g.get_host_neighbours("gros-1") == ["sgros1.nancy", "sgros2.nancy"]
    (eth1,) = g.get_edge_data("gros-1", "sgros2.nancy").values()
    assert not eth1["active"] and eth1["bandwidth"] == 25000000000
    assert g.has_edge("sgravillon2.nancy", "sgros2.nancy")
    (channel,) = g.get_edge_data("sgravillon2.nancy", "sgros2.nancy").values()
    assert channel["bandwidth"] == 80000000000
    assert g.number_of_edges("parasilo-1", "parasilo-sw-1.rennes") == 2
    assert len(g.active_links()) < g.number_of_edges()


async def test_paths_cross_the_backbone(api: G5kApi) -> None:
    g = await g5k_graph(["lyon", "nancy"], api=api)
    assert g.get_backbone() == ["renater-lyon", "renater-nancy", "renater-paris"]
    path = nx.shortest_path(g, "nova-1", "gros-3")
    assert path[:3] == ["nova-1", "force10.lyon", "gw.lyon"]
    assert path[3:6] == ["renater-lyon", "renater-paris", "renater-nancy"]
    assert path[6] == "gw.nancy" and path[-1] == "gros-3"
    data = g.get_edge_data("renater-lyon", "renater-paris")
    assert next(iter(data.values()))["latency"] == 2.25e-3
    assert nx.is_connected(g)
    with pytest.raises(UnknownElementError):
        await g5k_graph(["atlantis"], api=api)


async def test_whole_grid_graph_is_connected(api: G5kApi) -> None:
    g = build_g5k_graph(await get_api_reference(api))
    assert g.get_sites() == ["lyon", "nancy", "rennes"]
    assert len(g.get_hosts()) == len((await get_api_reference(api)).hosts(queues=None))
    positions = layered_layout(g)
    assert set(positions) == set(g.nodes)
    host_rows = {positions[h][1] for h in g.get_hosts()}
    assert len(host_rows) == 1  # every host on the bottom row
    assert all(positions[r][1] < positions["nova-1"][1] for r in ("gw.lyon", "renater-lyon"))


async def test_treemap_draws_a_picture(api: G5kApi, tmp_path: Path) -> None:
    g = await g5k_graph(["nova-1", "gros-1", "parasilo-1"], api=api)
    figure = treemap(g, title="three hosts")
    out = tmp_path / "net.png"
    figure.savefig(out)
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    compact = treemap(await g5k_graph(["lyon"], api=api), compact=True)
    assert compact.axes and compact.axes[0].get_title().startswith("Grid'5000 network: lyon")


async def test_topology_names_are_exported_lazily() -> None:
    assert execo_g5k.g5k_graph is g5k_graph and execo_g5k.treemap is treemap
    assert "treemap" in dir(execo_g5k)
    with pytest.raises(AttributeError):
        _ = execo_g5k.no_such_name


# ---- FEATURES §5.2 g5k_xp_graph.py, on the fixture's jobs ------------------------------


async def g5k_xp_graph(
    jobs: list[tuple[str, int]], out: Path, *, api: G5kApi, seed: int = 0
) -> tuple[list[str], list[tuple[str, str]]]:
    """The nodes of existing jobs; their graph; the shortest path between two random hosts;
    the active links printed; the treemap saved as a PNG."""
    hosts: list[str] = []
    for site, job_id in jobs:
        job = await api.get_json(f"sites/{site}/jobs/{job_id}")
        hosts += [get_host_shortname(h) for h in job["assigned_nodes"]]
    graph = await execo_g5k.g5k_graph(hosts, api=api)
    rng = random.Random(seed)
    source, target = rng.sample(graph.get_hosts(), 2)
    path = nx.shortest_path(graph, source, target)
    print(f"path from {source} to {target}: {' -> '.join(path)}")
    links = [(a, b) for a, b, _ in graph.active_links()]
    for a, b in links:
        print(f"active link {a} -- {b}")
    execo_g5k.treemap(graph).savefig(out)
    return path, links


async def test_g5k_xp_graph_sample(api: G5kApi, tmp_path: Path, capsys) -> None:
    jobs = [("lyon", 2301001), ("nancy", 3501201), ("rennes", 1901501)]
    path, links = await g5k_xp_graph(jobs, tmp_path / "xp.png", api=api, seed=3)
    graph = await g5k_graph(["nova-1", "gros-1", "parasilo-1"], api=api)
    assert path[0] != path[-1] and len(path) >= 3
    assert ("nova-1", "force10.lyon") in links or ("force10.lyon", "nova-1") in links
    assert (tmp_path / "xp.png").read_bytes()[:4] == b"\x89PNG"
    out = capsys.readouterr().out
    assert out.startswith("path from ") and "active link" in out
    assert graph.get_sites() == ["lyon", "nancy", "rennes"]
