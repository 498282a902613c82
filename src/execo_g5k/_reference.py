"""`G5kReference`: pure queries over the cached Grid'5000 reference data.

The data is a JSON document (see ``docs/design.md``)::

    {"format": 1, "base_url": ..., "version": <root sha>, "fetched_at": <unix s>,
     "sites": {site: attrs}, "clusters": {cluster: attrs}, "hosts": {host: attrs},
     "hierarchy": {site: {cluster: [host, ...]}},
     "network": {"backbone": {uid: attrs}, "sites": {site: {uid: attrs}}}}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from ._errors import G5kDataError, UnknownElementError
from ._hostnames import HostLike, get_host_shortname, natural_sort_key, parse_host_name

__all__ = ["G5kReference", "Queues", "CACHE_FORMAT", "cluster_queues_of"]

CACHE_FORMAT = 1

Queues = str | Iterable[str] | None
"""A queue filter: ``"default"``, ``"production"``, a list of queue names, or None / ``"all"``
for no filtering."""

_QUEUES_IF_MISSING = ("admin", "default", "besteffort")
_REQUIRED = ("version", "sites", "clusters", "hosts", "hierarchy", "network")


def cluster_queues_of(attrs: Mapping[str, Any]) -> tuple[str, ...]:
    """The queues of a cluster's attributes (execo's default when the key is missing)."""
    queues = attrs.get("queues")
    if not isinstance(queues, list):
        return _QUEUES_IF_MISSING
    return tuple(str(q) for q in queues)


def _queue_set(queues: Queues) -> frozenset[str] | None:
    if queues is None or queues == "all":
        return None
    if isinstance(queues, str):
        return frozenset({queues})
    return frozenset(queues)


@dataclasses.dataclass(frozen=True, eq=False)
class G5kReference:
    """Read-only view of the reference data, answering execo's ``api_utils`` queries.

    Site, cluster and host lists are sorted (naturally: ``nova-2`` before ``nova-10``).
    Functions taking ``queues`` keep the clusters having one of the queues (``"default"``
    leaves out production-only clusters); ``None`` or ``"all"`` keeps everything.

    Attributes:
        data: The decoded JSON document.
    """

    data: Mapping[str, Any]

    def __post_init__(self) -> None:
        missing = [k for k in _REQUIRED if k not in self.data]
        if missing or self.data.get("format") != CACHE_FORMAT:
            raise G5kDataError(f"reference data lacks {missing or 'the right format'}")

    @property
    def version(self) -> str:
        """The API's version (root ``version`` sha) the data was fetched at."""
        return str(self.data["version"])

    # ---- sites, clusters, hosts ---------------------------------------------------------

    def sites(self) -> list[str]:
        """All sites."""
        return sorted(self.data["hierarchy"])

    def _site(self, site: str) -> Mapping[str, list[str]]:
        try:
            clusters: Mapping[str, list[str]] = self.data["hierarchy"][site]
        except KeyError:
            raise UnknownElementError(f"unknown site {site!r}") from None
        return clusters

    def _keep(self, cluster: str, queues: Queues) -> bool:
        wanted = _queue_set(queues)
        if wanted is None:
            return True
        return not wanted.isdisjoint(cluster_queues_of(self.data["clusters"][cluster]))

    def site_clusters(self, site: str, queues: Queues = "default") -> list[str]:
        """The clusters of a site with one of `queues`."""
        return sorted(c for c in self._site(site) if self._keep(c, queues))

    def site_hosts(self, site: str, queues: Queues = "default") -> list[str]:
        """The hosts of the site's clusters with one of `queues`."""
        return sorted(
            (h for c in self.site_clusters(site, queues) for h in self._site(site)[c]),
            key=natural_sort_key,
        )

    def clusters(self, queues: Queues = "default") -> list[str]:
        """All clusters with one of `queues`."""
        return sorted(c for c in self.data["clusters"] if self._keep(c, queues))

    def hosts(self, queues: Queues = "default") -> list[str]:
        """All hosts of the clusters with one of `queues`."""
        return sorted(
            (h for c in self.clusters(queues) for h in self.cluster_hosts(c)),
            key=natural_sort_key,
        )

    def cluster_site(self, cluster: str) -> str | None:
        """The site of a cluster, or None when unknown."""
        for site, clusters in self.data["hierarchy"].items():
            if cluster in clusters:
                return str(site)
        return None

    def cluster_hosts(self, cluster: str) -> list[str]:
        """The hosts of a cluster (no queue filtering: the cluster is named explicitly)."""
        site = self.cluster_site(cluster)
        if site is None:
            raise UnknownElementError(f"unknown cluster {cluster!r}")
        return sorted(self.data["hierarchy"][site][cluster], key=natural_sort_key)

    def cluster_queues(self, cluster: str) -> list[str]:
        """The OAR queues of a cluster."""
        return list(cluster_queues_of(self.cluster_attributes(cluster)))

    def cluster_jobtypes(self, cluster: str) -> list[str]:
        """The job types a cluster accepts: ``besteffort``, ``deploy``, ``exotic``...

        Read from the nodes' ``supported_job_types`` (and the cluster's ``exotic`` flag).
        """
        types: set[str] = set()
        for host in self.cluster_hosts(cluster):
            supported = self.host_attributes(host).get("supported_job_types", {})
            types.update(k for k in ("besteffort", "deploy") if supported.get(k))
            if supported.get("virtual"):
                types.add("virtual")
        if self.cluster_attributes(cluster).get("exotic"):
            types.add("exotic")
        return sorted(types)

    # ---- hosts by name ---------------------------------------------------------------------

    def host_cluster(self, host: HostLike) -> str | None:
        """The cluster of a host, from its name."""
        parsed = parse_host_name(host)
        return parsed.cluster if parsed is not None else None

    def host_site(self, host: HostLike) -> str | None:
        """The site of a host: from its name when it has one, else from its cluster."""
        parsed = parse_host_name(host)
        if parsed is None:
            return None
        if parsed.site is not None:
            return parsed.site
        return self.cluster_site(parsed.cluster)

    # ---- attributes ------------------------------------------------------------------------

    def site_attributes(self, site: str) -> dict[str, Any]:
        """The reference attributes of a site."""
        self._site(site)
        return dict(self.data["sites"][site])

    def cluster_attributes(self, cluster: str) -> dict[str, Any]:
        """The reference attributes of a cluster."""
        try:
            return dict(self.data["clusters"][cluster])
        except KeyError:
            raise UnknownElementError(f"unknown cluster {cluster!r}") from None

    def host_attributes(self, host: HostLike) -> dict[str, Any]:
        """The reference attributes of a host (any form of its name)."""
        short = get_host_shortname(host)
        try:
            return dict(self.data["hosts"][short])
        except KeyError:
            raise UnknownElementError(f"unknown host {short!r}") from None

    # ---- network equipments ----------------------------------------------------------------

    def site_network_equipments(self, site: str) -> list[str]:
        """The network equipments (uids) of a site."""
        self._site(site)
        return sorted(self.data["network"]["sites"].get(site, {}))

    def backbone_network_equipments(self) -> list[str]:
        """The backbone equipments (``renater-<site>``)."""
        return sorted(self.data["network"]["backbone"])

    def _equipment_places(self, uid: str) -> list[str | None]:
        places: list[str | None] = [
            site for site, equips in self.data["network"]["sites"].items() if uid in equips
        ]
        if uid in self.data["network"]["backbone"]:
            places.append(None)
        return places

    def network_equipment_site(self, uid: str, site: str | None = None) -> str | None:
        """The site of an equipment, None for a backbone one.

        Raises:
            UnknownElementError: The uid is unknown, or several sites have an equipment
                with this uid (``gw``...) and `site` does not say which.
        """
        places = self._equipment_places(uid)
        if site is not None:
            if site not in places:
                raise UnknownElementError(f"no network equipment {uid!r} in {site!r}")
            return site
        if not places:
            raise UnknownElementError(f"unknown network equipment {uid!r}")
        if len(places) > 1:
            raise UnknownElementError(
                f"network equipment {uid!r} exists in {sorted(map(str, places))}; pass site="
            )
        return places[0]

    def network_equipment_attributes(self, uid: str, site: str | None = None) -> dict[str, Any]:
        """The attributes of a network equipment (see `network_equipment_site` for `site`)."""
        where = self.network_equipment_site(uid, site)
        if where is None:
            return dict(self.data["network"]["backbone"][uid])
        return dict(self.data["network"]["sites"][where][uid])

    def host_network_equipments(self, host: HostLike) -> list[str]:
        """The switches of the host's Ethernet, mountable, non-management adapters."""
        switches = {
            str(adapter["switch"])
            for adapter in self.host_attributes(host).get("network_adapters", [])
            if adapter.get("switch")
            and not adapter.get("management")
            and adapter.get("mountable")
            and adapter.get("interface") == "Ethernet"
        }
        return sorted(switches)

    def cluster_network_equipments(self, cluster: str) -> list[str]:
        """The switches the hosts of a cluster are connected to."""
        return sorted(
            {e for h in self.cluster_hosts(cluster) for e in self.host_network_equipments(h)}
        )

    # ---- grouping --------------------------------------------------------------------------

    def group_hosts(self, hosts: Sequence[HostLike]) -> dict[str, dict[str, list[HostLike]]]:
        """``{site: {cluster: [hosts]}}``, hosts kept as given, in their order.

        Raises:
            UnknownElementError: A host's site cannot be found.
        """
        grouped: dict[str, dict[str, list[HostLike]]] = {}
        for host in hosts:
            site, cluster = self.host_site(host), self.host_cluster(host)
            if site is None or cluster is None:
                raise UnknownElementError(f"cannot find the site and cluster of {host!r}")
            grouped.setdefault(site, {}).setdefault(cluster, []).append(host)
        return grouped

    def element_kind(self, element: str) -> Literal["grid5000", "site", "cluster", "host"]:
        """What a planning element names.

        Raises:
            UnknownElementError: Not ``grid5000``, a site, a cluster or a host.
        """
        if element == "grid5000":
            return "grid5000"
        if element in self.data["hierarchy"]:
            return "site"
        if element in self.data["clusters"]:
            return "cluster"
        if get_host_shortname(element) in self.data["hosts"]:
            return "host"
        raise UnknownElementError(f"{element!r} is not grid5000, a site, a cluster or a host")
