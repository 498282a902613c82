"""`G5kGraph`: the Grid'5000 network as a networkx multigraph, from the reference data.

Nodes (attribute ``kind``):

* ``node``: a host, by short name (``nova-1``), with ``site``, ``cluster``, ``power``
  (``performance.core_flops``) and ``cores`` (``architecture.nb_cores``);
* ``router``, ``switch``...: a site's network equipment (its API ``kind``), named
  ``<uid>.<site>`` (``gw.lyon``), with ``site`` and ``backplane`` (``backplane_bps``);
* ``renater``: a backbone equipment (``renater-lyon``).

Edges (attributes ``bandwidth`` in bit/s, ``latency`` in seconds, ``active``):

* host to switch, one per experiment Ethernet adapter (``network_adapters`` with a
  ``switch``, not management, mountable), keyed ``<host>_<device>``: two adapters on one
  switch are two edges; ``active`` is whether the adapter is configured (``mounted``);
* equipment to equipment, from the linecards' ports of kind ``switch``/``router`` (summed
  per peer), their aggregated ``channels`` (the channel's rate, once) and ``backbone``
  ports, keyed by the two names sorted and joined with ``_``; the larger of the two sides'
  descriptions is kept;
* router to backbone, and backbone to backbone, from the backbone equipments' linecards;
  ``latency`` 2.25 ms on backbone links (the API has none), else unknown (None).

Only what connects the chosen hosts is kept: equipments that lead to no chosen host, nor
to the site's router, are pruned; the backbone is added when more than one site is
present, pruned to the links between their routers. InfiniBand (``hpcswitch``) is left out.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

from ._client import G5kApi
from ._functions import get_api_reference
from ._hostnames import get_host_shortname, natural_sort_key
from ._reference import G5kReference

__all__ = ["BACKBONE_LATENCY", "G5kGraph", "build_g5k_graph", "g5k_graph"]

BACKBONE_LATENCY = 2.25e-3
_EQUIPMENT_PEERS = ("switch", "router", "backbone")


def _edge_key(a: str, b: str) -> str:
    return "_".join(sorted((a, b)))


class G5kGraph(nx.MultiGraph):
    """The network of some Grid'5000 hosts (see the module docstring for its contents).

    Build it with `g5k_graph` (async, from the API) or `build_g5k_graph` (from reference
    data). It is a ``networkx.MultiGraph``: every networkx algorithm applies
    (``networkx.shortest_path(g, "nova-1", "gros-3")``...). ``graph["api_commit"]`` and
    ``graph["date"]`` say which reference data it was built from.
    """

    def _names(self, kind: str | None = None, **match: object) -> list[str]:
        names = [
            n
            for n in self.nodes
            if (kind is None or self.nodes[n].get("kind") == kind)
            and all(self.nodes[n].get(k) == v for k, v in match.items() if v is not None)
        ]
        return sorted(names, key=natural_sort_key)

    def get_hosts(self, cluster: str | None = None, site: str | None = None) -> list[str]:
        """The hosts (short names), of a cluster or a site if given, naturally sorted."""
        return self._names("node", cluster=cluster, site=site)

    def get_clusters(self, site: str | None = None) -> list[str]:
        """The clusters of the hosts (of a site if given)."""
        return sorted({str(self.nodes[h]["cluster"]) for h in self.get_hosts(site=site)})

    def get_sites(self) -> list[str]:
        """The sites of the hosts."""
        return sorted({str(self.nodes[h]["site"]) for h in self.get_hosts()})

    def get_site_router(self, site: str) -> str | None:
        """The router of a site (``gw.lyon``), None when it is not in the graph."""
        routers = self._names("router", site=site)
        return routers[0] if routers else None

    def get_backbone(self) -> list[str]:
        """The backbone equipments in the graph."""
        return self._names("renater")

    def get_host_neighbours(self, host: str) -> list[str]:
        """The equipments a host is connected to."""
        return sorted(set(self.neighbors(get_host_shortname(host))), key=natural_sort_key)

    def get_equip_hosts(self, equipment: str) -> list[str]:
        """The hosts connected to an equipment (``force10.lyon``)."""
        return sorted(
            (n for n in self.neighbors(equipment) if self.nodes[n].get("kind") == "node"),
            key=natural_sort_key,
        )

    def active_links(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Every active edge as ``(a, b, attributes)``."""
        return [(a, b, d) for a, b, d in self.edges(data=True) if d.get("active")]


def _selected_hosts(reference: G5kReference, elements: Iterable[str] | None) -> list[str]:
    if elements is None:
        return reference.hosts(queues=None)
    hosts: list[str] = []
    for element in elements:
        kind = reference.element_kind(element)
        if kind == "grid5000":
            hosts += reference.hosts(queues=None)
        elif kind == "site":
            hosts += reference.site_hosts(element, queues=None)
        elif kind == "cluster":
            hosts += reference.cluster_hosts(element)
        else:
            hosts.append(get_host_shortname(element))
    return list(dict.fromkeys(hosts))


def _add_link(
    graph: G5kGraph, a: str, b: str, bandwidth: float | None, latency: float | None = None
) -> None:
    key = _edge_key(a, b)
    if graph.has_edge(a, b, key):
        data = graph.get_edge_data(a, b, key)
        if bandwidth is not None and (data["bandwidth"] or 0) < bandwidth:
            data["bandwidth"] = bandwidth
        return
    graph.add_edge(a, b, key=key, bandwidth=bandwidth, latency=latency, active=True)


def _equipment_links(equipment: Mapping[str, Any]) -> dict[tuple[str, str], float | None]:
    """``{(peer kind, peer uid): rate}`` of an equipment's links to other equipments."""
    links: dict[tuple[str, str], float | None] = {}
    channels = equipment.get("channels") or {}
    seen_channels: set[str] = set()
    for linecard in equipment.get("linecards") or []:
        for port in linecard.get("ports") or []:
            if not port or "uid" not in port:
                continue
            kind = port.get("kind", linecard.get("kind"))
            if kind == "channel":
                channel = channels.get(port["uid"])
                if channel is None or port["uid"] in seen_channels:
                    continue
                seen_channels.add(port["uid"])
                kind, uid, rate = channel.get("kind"), channel.get("uid"), channel.get("rate")
            else:
                uid, rate = port["uid"], port.get("rate", linecard.get("rate"))
            if kind not in _EQUIPMENT_PEERS or not isinstance(uid, str):
                continue
            previous = links.get((kind, uid))
            links[(kind, uid)] = (previous or 0) + rate if rate is not None else previous
    return links


def _add_site(graph: G5kGraph, reference: G5kReference, site: str, hosts: list[str]) -> None:
    equipments = {
        uid: reference.network_equipment_attributes(uid, site)
        for uid in reference.site_network_equipments(site)
    }
    for uid, equipment in equipments.items():
        if equipment.get("kind") == "hpcswitch":
            continue
        graph.add_node(
            f"{uid}.{site}",
            kind=str(equipment.get("kind", "switch")),
            site=site,
            backplane=equipment.get("backplane_bps"),
        )
    for uid, equipment in equipments.items():
        if equipment.get("kind") == "hpcswitch":
            continue
        for (kind, peer), rate in _equipment_links(equipment).items():
            if kind == "backbone":
                continue  # added from the backbone's side, with the backbone
            if peer in equipments and equipments[peer].get("kind") != "hpcswitch":
                _add_link(graph, f"{uid}.{site}", f"{peer}.{site}", rate)
    for host in hosts:
        attrs = reference.host_attributes(host)
        graph.add_node(
            host,
            kind="node",
            site=site,
            cluster=reference.host_cluster(host),
            power=(attrs.get("performance") or {}).get("core_flops"),
            cores=(attrs.get("architecture") or {}).get("nb_cores"),
        )
        for adapter in attrs.get("network_adapters") or []:
            switch = adapter.get("switch")
            if (
                not switch
                or adapter.get("management")
                or not adapter.get("mountable")
                or adapter.get("interface") != "Ethernet"
                or not graph.has_node(f"{switch}.{site}")
            ):
                continue
            graph.add_edge(
                host,
                f"{switch}.{site}",
                key=f"{host}_{adapter.get('device')}",
                bandwidth=adapter.get("rate"),
                latency=None,
                active=bool(adapter.get("mounted")),
            )


def _add_backbone(graph: G5kGraph, reference: G5kReference, sites: list[str]) -> None:
    for uid in reference.backbone_network_equipments():
        graph.add_node(uid, kind="renater", site=None, backplane=None)
    for uid in reference.backbone_network_equipments():
        equipment = reference.network_equipment_attributes(uid)
        for linecard in equipment.get("linecards") or []:
            for port in linecard.get("ports") or []:
                if not port or "uid" not in port:
                    continue
                rate = port.get("rate", linecard.get("rate"))
                if port.get("kind") == "router":
                    site = port.get("site_uid")
                    router = f"{str(port['uid']).removesuffix(f'-{site}')}.{site}"
                    if site in sites and graph.has_node(router):
                        _add_link(graph, uid, router, rate, BACKBONE_LATENCY)
                elif str(port["uid"]).startswith("renater-"):
                    _add_link(graph, uid, str(port["uid"]), rate, BACKBONE_LATENCY)


def _prune(graph: G5kGraph) -> None:
    """Drops, until none is left, the equipments that lead nowhere: those with at most one
    neighbour and no host on it, except a site's router when the site has hosts."""
    while True:
        dead = [
            n
            for n in list(graph.nodes)
            if graph.nodes[n].get("kind") != "node"
            and len(set(graph.neighbors(n))) <= 1
            and not any(graph.nodes[m].get("kind") == "node" for m in graph.neighbors(n))
            and not (graph.nodes[n].get("kind") == "router" and _routes_hosts(graph, n))
        ]
        if not dead:
            return
        for n in dead:
            graph.remove_node(n)


def _routes_hosts(graph: G5kGraph, router: str) -> bool:
    site = graph.nodes[router].get("site")
    return any(
        graph.nodes[n].get("kind") == "node" and graph.nodes[n].get("site") == site
        for n in graph.nodes
    )


def build_g5k_graph(reference: G5kReference, elements: Iterable[str] | None = None) -> G5kGraph:
    """The graph of `elements` (sites, clusters, hosts; None: all of Grid'5000), pure.

    Raises:
        UnknownElementError: An element the reference data does not know.
    """
    hosts = _selected_hosts(reference, elements)
    by_site: dict[str, list[str]] = {}
    for host in hosts:
        site = reference.host_site(host)
        if site is not None:
            by_site.setdefault(site, []).append(host)
    graph = G5kGraph()
    graph.graph["api_commit"] = reference.version
    fetched = reference.data.get("fetched_at")
    graph.graph["date"] = (
        datetime.datetime.fromtimestamp(fetched, datetime.UTC).isoformat() if fetched else None
    )
    for site, site_hosts in sorted(by_site.items()):
        _add_site(graph, reference, site, site_hosts)
    if len(by_site) > 1:
        _add_backbone(graph, reference, sorted(by_site))
    _prune(graph)
    return graph


async def g5k_graph(
    elements: Iterable[str] | None = None, *, api: G5kApi | None = None
) -> G5kGraph:
    """The network graph of `elements`: sites, clusters or hosts (None: all of Grid'5000).

    See `G5kGraph` for what it holds. The backbone is included when the hosts are on more
    than one site.

    Args:
        elements: What to include.
        api: An open client; None means one made from ``g5k_configuration``.

    Raises:
        UnknownElementError: An element the reference data does not know.
    """
    return build_g5k_graph(await get_api_reference(api), elements)
