"""OAR resource requests for a distribution of nodes (pure).

OAR's ``-l`` grammar: resource groups joined by ``+``, each an optional ``{SQL properties}``
then ``/``-separated ``resource=count`` levels, e.g.
``{cluster='nova'}/nodes=2+{type='kavlan'}/vlan=1``. Every group built here has at least
one level, and groups are never empty: execo 2.8.2's ``{...}/+nodes=N`` and ``vlan=1+``
forms are not produced.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from ._errors import UnknownElementError
from ._hostnames import host_longname, natural_sort_key, parse_host_name

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["JobSpec", "make_jobs_specs"]

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclasses.dataclass(frozen=True, slots=True)
class JobSpec:
    """One OAR job to submit on a site's frontend.

    Attributes:
        site: Where to submit it.
        resources: The resource part of ``oarsub -l`` (without walltime), e.g.
            ``{cluster='nova'}/nodes=2+nodes=3``.
        name: The job name (``oarsub -n``), if any.
    """

    site: str
    resources: str
    name: str | None = None


def _in_list(names: Iterable[str]) -> str:
    for name in names:
        if not _SAFE_NAME.match(name):
            raise ValueError(f"unsafe name in an OAR request: {name!r}")
    return ", ".join(f"'{n}'" for n in sorted(names, key=natural_sort_key))


def _group(conditions: list[str], count: int, resource: str = "nodes") -> str:
    level = f"{resource}={count}"
    return "{" + " AND ".join(conditions) + "}/" + level if conditions else level


@dataclasses.dataclass
class _SiteRequest:
    hosts: list[str] = dataclasses.field(default_factory=list)
    clusters: dict[str, int] = dataclasses.field(default_factory=dict)
    nodes: int = 0
    excluded_hosts: dict[str | None, list[str]] = dataclasses.field(default_factory=dict)
    excluded_clusters: list[str] = dataclasses.field(default_factory=list)

    def groups(self) -> list[str]:
        groups: list[str] = []
        if self.hosts:
            groups.append(_group([f"host IN ({_in_list(self.hosts)})"], len(self.hosts)))
        for cluster, count in sorted(self.clusters.items()):
            conditions = [f"cluster={_in_list([cluster])}"]
            if self.excluded_hosts.get(cluster):
                conditions.append(f"host NOT IN ({_in_list(self.excluded_hosts[cluster])})")
            groups.append(_group(conditions, count))
        if self.nodes:
            conditions = []
            if self.excluded_clusters:
                conditions.append(f"cluster NOT IN ({_in_list(self.excluded_clusters)})")
            hosts = [h for hs in self.excluded_hosts.values() for h in hs]
            if hosts:
                conditions.append(f"host NOT IN ({_in_list(hosts)})")
            groups.append(_group(conditions, self.nodes))
        return groups


def make_jobs_specs(
    resources: Mapping[str, int],
    clusters_of: Mapping[str, Iterable[str]],
    excluded_elements: Iterable[str] = (),
    name: str | None = None,
    kavlan_site: str | None = None,
) -> list[JobSpec]:
    """One `JobSpec` per site for a distribution of nodes (see `distribute_hosts`).

    Args:
        resources: ``{host|cluster|site: count}``, plus ``kavlan`` (> 0 for one vlan: a
            routed one when one site is involved, else a global one).
        clusters_of: ``{site: clusters}``, to tell sites, clusters and hosts apart.
        excluded_elements: Clusters and hosts the site-level requests must avoid.
        name: Job name of every spec.
        kavlan_site: Site of a global vlan (default: the first site).

    Returns:
        The specs, sorted by site; sites with nothing to ask are absent.

    Raises:
        UnknownElementError: An element is not a site, cluster or host of `clusters_of`.
        ValueError: ``grid5000`` is in `resources` (distribute it first) or a name cannot
            be put in an OAR request safely.
    """
    site_of_cluster = {c: s for s, cs in clusters_of.items() for c in cs}

    def locate(element: str) -> tuple[str, str | None, str | None]:
        """(site, cluster, host FQDN) of an element."""
        if element in clusters_of:
            return element, None, None
        if element in site_of_cluster:
            return site_of_cluster[element], element, None
        parsed = parse_host_name(element)
        site = parsed and (parsed.site or site_of_cluster.get(parsed.cluster))
        if parsed is None or not site:
            raise UnknownElementError(f"cannot tell the site of {element!r}")
        return site, parsed.cluster, host_longname(element, site)

    if "grid5000" in resources:
        raise ValueError("distribute the 'grid5000' count on sites first (distribute_hosts)")
    requests: dict[str, _SiteRequest] = {}
    for element in excluded_elements:
        site, cluster, host = locate(element)
        request = requests.setdefault(site, _SiteRequest())
        if host is not None:
            request.excluded_hosts.setdefault(cluster, []).append(host)
        elif cluster is not None:
            request.excluded_clusters.append(cluster)
    for element, count in resources.items():
        if element == "kavlan" or count <= 0:
            continue
        site, cluster, host = locate(element)
        request = requests.setdefault(site, _SiteRequest())
        if host is not None:
            request.hosts.append(host)
        elif cluster is not None:
            request.clusters[cluster] = count
        else:
            request.nodes += count
    groups = {site: r.groups() for site, r in requests.items()}
    groups = {site: g for site, g in groups.items() if g}
    if resources.get("kavlan", 0) > 0 and groups:
        if len(groups) == 1:
            (site,) = groups
            groups[site].append("{type='kavlan'}/vlan=1")
        else:
            site = kavlan_site if kavlan_site in groups else min(groups)
            groups[site].append("{type='kavlan-global'}/vlan=1")
    return [JobSpec(site, "+".join(g), name) for site, g in sorted(groups.items())]
