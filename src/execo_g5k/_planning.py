"""Resource planning from the API's ``status`` endpoint, and job lookups.

One ``GET /sites/{site}/status`` per site (concurrently) carries every alive node with its
running *and waiting* reservations, and the vlans and subnets with theirs: this replaces
execo 2.8.2's OAR database queries or its one request per job.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import anyio

from ._cache import load_reference
from ._charter import charter_periods
from ._client import G5kApi
from ._errors import G5kApiError, G5kDataError
from ._hostnames import get_host_shortname, parse_host_name
from ._intervals import Interval, Planning, SitePlanning, availability_from_busy
from ._jobspecs import JobSpec, make_jobs_specs
from ._slots import kavlan_kind

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Mapping

    from ._reference import G5kReference, Queues

__all__ = [
    "JOB_END_MARGIN",
    "USABLE_NODE_STATES",
    "planning_from_status",
    "get_planning",
    "get_jobs_specs",
    "get_job_by_name",
]

logger = logging.getLogger("execo_g5k.planning")

JOB_END_MARGIN = 121
"""Seconds added after each job's walltime (OAR's security time between jobs, as execo)."""
USABLE_NODE_STATES = frozenset({"alive", "standby"})
"""Node ``hard`` states that OAR can schedule jobs on (standby nodes are woken up)."""
DEFAULT_DURATION = 4 * 7 * 24 * 3600 + 60
_ACTIVE_STATES = "waiting,launching,running,hold,tolaunch,toackreservation,suspended,resuming"


def _job_busy(reservation: Mapping[str, Any], ignore_besteffort: bool) -> Interval | None:
    if ignore_besteffort and reservation.get("queue") == "besteffort":
        return None
    start = reservation.get("started_at") or reservation.get("scheduled_at")
    walltime = reservation.get("walltime")
    if not isinstance(start, int) or not isinstance(walltime, int):
        return None  # not scheduled yet: no prediction to plan with
    return start, start + walltime + JOB_END_MARGIN


def _busy(
    entry: Mapping[str, Any], ignore_besteffort: bool, extra: list[Interval]
) -> list[Interval]:
    busy = [_job_busy(r, ignore_besteffort) for r in entry.get("reservations", [])]
    return [i for i in busy if i is not None] + extra


def planning_from_status(
    statuses: Mapping[str, Mapping[str, Any]],
    *,
    start: int,
    end: int,
    clusters: Mapping[str, Collection[str]],
    hosts: Collection[str] | None = None,
    ignore_besteffort: bool = True,
    out_of_chart: bool = False,
    vlan: bool = False,
    subnet: bool = False,
) -> Planning:
    """Builds a planning from ``/sites/{site}/status`` documents (pure).

    Args:
        statuses: ``{site: status document}``.
        start: Start of the planning window (unix seconds).
        end: End of the window.
        clusters: ``{site: clusters to keep}``; other sites and clusters are left out.
        hosts: If given, only these hosts (short names) are kept.
        ignore_besteffort: Besteffort jobs do not make nodes busy.
        out_of_chart: Charter periods are busy for every node (see `charter`).
        vlan: Add the site's routed and global kavlans.
        subnet: Add the site's subnets.
    """
    chart = charter_periods(start, end) if out_of_chart else []
    sites: dict[str, SitePlanning] = {}
    for site, status in statuses.items():
        kept = set(clusters.get(site, ()))
        site_clusters: dict[str, dict[str, Any]] = {c: {} for c in kept}
        for fqdn, entry in status.get("nodes", {}).items():
            parsed = parse_host_name(fqdn)
            if parsed is None or parsed.cluster not in kept:
                continue
            if entry.get("hard") not in USABLE_NODE_STATES:
                continue
            if hosts is not None and get_host_shortname(fqdn) not in hosts:
                continue
            busy = _busy(entry, ignore_besteffort, chart)
            site_clusters[parsed.cluster][fqdn] = availability_from_busy(busy, start, end)
        vlans = {
            f"kavlan-{number}": availability_from_busy(
                _busy(entry, ignore_besteffort, []), start, end
            )
            for number, entry in (status.get("vlans", {}) if vlan else {}).items()
            if kavlan_kind(f"kavlan-{number}") != "local"
        }
        subnets = {
            address: availability_from_busy(_busy(entry, ignore_besteffort, []), start, end)
            for address, entry in (status.get("subnets", {}) if subnet else {}).items()
        }
        sites[site] = SitePlanning(site_clusters, vlans, subnets)
    return Planning(start, end, sites)


def _selection(
    reference: G5kReference, elements: Iterable[str], queues: Queues
) -> tuple[dict[str, set[str]], set[str] | None]:
    """``({site: clusters}, host short names or None for all)`` named by planning elements.

    Sites (and ``grid5000``) bring their clusters having one of `queues`; a cluster comes
    whole; a host alone restricts its cluster to the hosts named.
    """
    whole: dict[str, set[str]] = {}
    partial: dict[str, set[str]] = {}
    hosts: set[str] = set()
    for element in elements:
        kind = reference.element_kind(element)
        if kind in ("grid5000", "site"):
            for site in reference.sites() if kind == "grid5000" else [element]:
                whole.setdefault(site, set()).update(reference.site_clusters(site, queues))
            continue
        cluster = element if kind == "cluster" else reference.host_cluster(element)
        where = reference.cluster_site(cluster) if cluster is not None else None
        if where is None or cluster is None:
            raise G5kDataError(f"cannot find the site of {element!r}")
        (whole if kind == "cluster" else partial).setdefault(where, set()).add(cluster)
        if kind == "host":
            hosts.add(get_host_shortname(element))
    clusters = {s: whole.get(s, set()) | partial.get(s, set()) for s in {*whole, *partial}}
    if not hosts:
        return clusters, None
    return clusters, hosts | {
        h for cs in whole.values() for c in cs for h in reference.cluster_hosts(c)
    }


async def get_planning(
    elements: Iterable[str] = ("grid5000",),
    *,
    vlan: bool = False,
    subnet: bool = False,
    out_of_chart: bool = False,
    starttime: int | None = None,
    endtime: int | None = None,
    ignore_besteffort: bool = True,
    queues: Queues = "default",
    api: G5kApi | None = None,
) -> Planning:
    """The planning of Grid'5000 resources, from one status request per site (at once).

    Args:
        elements: ``"grid5000"``, sites, clusters and hosts to plan.
        vlan: Also plan the routed and global kavlans of the sites.
        subnet: Also plan the subnets of the sites.
        out_of_chart: Make charter periods busy (plan outside charter time only).
        starttime: Window start (unix seconds); default: in one minute.
        endtime: Window end; default: four weeks and a minute after the start.
        ignore_besteffort: Besteffort jobs do not make nodes busy.
        queues: Clusters of sites and of ``grid5000`` must have one of these queues
            (``"default"`` leaves production clusters out); clusters and hosts named
            explicitly are always kept.
        api: An open client; None means one made from ``g5k_configuration``.

    Returns:
        The planning; sites whose status could not be had are left out (with a warning).

    Raises:
        UnknownElementError: An element is not grid5000, a site, a cluster or a host.
        G5kApiError: No site answered (its cause is an ExceptionGroup of the failures).
    """
    if api is None:
        async with G5kApi() as own:
            return await get_planning(
                elements,
                vlan=vlan,
                subnet=subnet,
                out_of_chart=out_of_chart,
                starttime=starttime,
                endtime=endtime,
                ignore_besteffort=ignore_besteffort,
                queues=queues,
                api=own,
            )
    start = int(time.time()) + 60 if starttime is None else int(starttime)
    end = start + DEFAULT_DURATION if endtime is None else int(endtime)
    elements = list(elements)
    reference = await load_reference(api)
    clusters, hosts = _selection(reference, elements, queues)
    statuses: dict[str, Any] = {}
    failures: list[G5kApiError] = []
    params = {"disks": "no", "vlans": "yes" if vlan else "no", "subnets": "yes" if subnet else "no"}

    async def fetch(site: str) -> None:
        try:
            statuses[site] = await api.get_json(f"sites/{site}/status", params)
        except G5kApiError as e:
            logger.warning("site %s left out of the planning: %s", site, e)
            failures.append(e)

    async with anyio.create_task_group() as tg:
        for site in sorted(clusters):
            tg.start_soon(fetch, site)
    if clusters and not statuses:
        raise G5kApiError("no site status could be had") from ExceptionGroup(
            "status requests", failures
        )
    return planning_from_status(
        statuses,
        start=start,
        end=end,
        clusters=clusters,
        hosts=hosts,
        ignore_besteffort=ignore_besteffort,
        out_of_chart=out_of_chart,
        vlan=vlan,
        subnet=subnet,
    )


async def get_jobs_specs(
    resources: Mapping[str, int],
    excluded_elements: Iterable[str] = (),
    name: str | None = None,
    *,
    kavlan_site: str | None = None,
    api: G5kApi | None = None,
) -> list[JobSpec]:
    """One OAR job per site for a distribution of nodes (see `make_jobs_specs`), with the
    sites and clusters of the reference data."""
    reference = await load_reference(api) if api is not None else None
    if reference is None:
        async with G5kApi() as own:
            reference = await load_reference(own)
    clusters_of = {site: reference.site_clusters(site, queues=None) for site in reference.sites()}
    return make_jobs_specs(resources, clusters_of, excluded_elements, name, kavlan_site)


async def get_job_by_name(
    job_name: str,
    sites: Iterable[str] | None = None,
    *,
    user: str | None = None,
    api: G5kApi | None = None,
) -> tuple[int, str] | None:
    """The newest active job (waiting to running) with this name: ``(uid, site)`` or None.

    Args:
        job_name: The OAR job name.
        sites: Sites to search; None means all (searched at once).
        user: Only this user's jobs; None means anybody's.
        api: An open client; None means one made from ``g5k_configuration``.
    """
    if api is None:
        async with G5kApi() as own:
            return await get_job_by_name(job_name, sites, user=user, api=own)
    if sites is None:
        sites = (await load_reference(api)).sites()
    found: list[tuple[int, str]] = []
    params: dict[str, str | int] = {"name": job_name, "state": _ACTIVE_STATES}
    if user is not None:
        params["user"] = user

    async def search(site: str) -> None:
        for job in await api.get_items(f"sites/{site}/jobs", params):
            if job.get("name") == job_name:
                found.append((int(job["uid"]), site))

    async with anyio.create_task_group() as tg:
        for site in sites:
            tg.start_soon(search, site)
    return max(found) if found else None
