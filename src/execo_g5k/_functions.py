"""execo's ``api_utils`` functions, async, answered from the reference-data cache.

Each takes an optional ``api=``: an open `G5kApi` to use (and whose in-memory reference
data is reused). Without it a client is made from ``g5k_configuration`` for the call; the
cache on disk makes that cheap (no request at all while the cache is fresh).
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import TYPE_CHECKING, Any

import anyio

from ._cache import load_reference
from ._client import G5kApi
from ._errors import G5kDataError, UnknownElementError
from ._hostnames import HostLike, get_host_shortname, host_longname

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from ._reference import G5kReference, Queues


async def get_api_reference(api: G5kApi | None = None, *, refresh: bool = False) -> G5kReference:
    """The reference data, for many pure queries in a row (see `G5kReference`).

    Args:
        api: An open client; None means one made from ``g5k_configuration``.
        refresh: Refetch from the API even if the cache is fresh.
    """
    if api is not None:
        return await load_reference(api, refresh=refresh)
    async with G5kApi() as own:
        return await load_reference(own, refresh=refresh)


async def get_g5k_sites(*, api: G5kApi | None = None) -> list[str]:
    """All Grid'5000 sites."""
    return (await get_api_reference(api)).sites()


async def get_site_clusters(
    site: str, *, queues: Queues = "default", api: G5kApi | None = None
) -> list[str]:
    """The clusters of a site; production-only clusters are left out unless `queues` says."""
    return (await get_api_reference(api)).site_clusters(site, queues)


async def get_site_hosts(
    site: str, *, queues: Queues = "default", api: G5kApi | None = None
) -> list[str]:
    """The hosts of a site (of its clusters with one of `queues`)."""
    return (await get_api_reference(api)).site_hosts(site, queues)


async def get_site_attributes(site: str, *, api: G5kApi | None = None) -> dict[str, Any]:
    """The reference attributes of a site."""
    return (await get_api_reference(api)).site_attributes(site)


async def get_site_network_equipments(site: str, *, api: G5kApi | None = None) -> list[str]:
    """The uids of the network equipments of a site."""
    return (await get_api_reference(api)).site_network_equipments(site)


async def get_g5k_clusters(*, queues: Queues = "default", api: G5kApi | None = None) -> list[str]:
    """All clusters (with one of `queues`)."""
    return (await get_api_reference(api)).clusters(queues)


async def get_cluster_site(cluster: str, *, api: G5kApi | None = None) -> str | None:
    """The site of a cluster, or None when unknown."""
    return (await get_api_reference(api)).cluster_site(cluster)


async def get_cluster_hosts(cluster: str, *, api: G5kApi | None = None) -> list[str]:
    """The hosts of a cluster."""
    return (await get_api_reference(api)).cluster_hosts(cluster)


async def get_cluster_attributes(cluster: str, *, api: G5kApi | None = None) -> dict[str, Any]:
    """The reference attributes of a cluster."""
    return (await get_api_reference(api)).cluster_attributes(cluster)


async def get_cluster_queues(cluster: str, *, api: G5kApi | None = None) -> list[str]:
    """The OAR queues of a cluster."""
    return (await get_api_reference(api)).cluster_queues(cluster)


async def get_cluster_jobtypes(cluster: str, *, api: G5kApi | None = None) -> list[str]:
    """The job types a cluster accepts (``besteffort``, ``deploy``, ``exotic``...)."""
    return (await get_api_reference(api)).cluster_jobtypes(cluster)


async def get_cluster_network_equipments(cluster: str, *, api: G5kApi | None = None) -> list[str]:
    """The switches the hosts of a cluster are connected to."""
    return (await get_api_reference(api)).cluster_network_equipments(cluster)


async def get_g5k_hosts(*, queues: Queues = "default", api: G5kApi | None = None) -> list[str]:
    """All hosts (of the clusters with one of `queues`)."""
    return (await get_api_reference(api)).hosts(queues)


async def get_host_site(host: HostLike, *, api: G5kApi | None = None) -> str | None:
    """The site of a host: from its name, else from its cluster (``nova-3`` -> ``lyon``)."""
    return (await get_api_reference(api)).host_site(host)


async def get_host_longname(host: HostLike, *, api: G5kApi | None = None) -> str | None:
    """``<short>.<site>.grid5000.fr``, or None when the site is unknown."""
    site = await get_host_site(host, api=api)
    return host_longname(host, site) if site is not None else None


async def get_host_attributes(host: HostLike, *, api: G5kApi | None = None) -> dict[str, Any]:
    """The reference attributes of a host."""
    return (await get_api_reference(api)).host_attributes(host)


async def get_host_network_equipments(host: HostLike, *, api: G5kApi | None = None) -> list[str]:
    """The switches of a host's experiment Ethernet adapters."""
    return (await get_api_reference(api)).host_network_equipments(host)


async def get_network_equipment_attributes(
    equipment: str, *, site: str | None = None, api: G5kApi | None = None
) -> dict[str, Any]:
    """The attributes of a network equipment; `site` is needed for uids such as ``gw``."""
    return (await get_api_reference(api)).network_equipment_attributes(equipment, site)


async def get_network_equipment_site(
    equipment: str, *, site: str | None = None, api: G5kApi | None = None
) -> str | None:
    """The site of a network equipment, None for a backbone one."""
    return (await get_api_reference(api)).network_equipment_site(equipment, site)


async def group_hosts(
    hosts: Sequence[HostLike], *, api: G5kApi | None = None
) -> dict[str, dict[str, list[HostLike]]]:
    """Groups hosts as ``{site: {cluster: [hosts]}}``."""
    return (await get_api_reference(api)).group_hosts(hosts)


async def get_resource_attributes(
    path: str, *, params: Mapping[str, str | int] | None = None, api: G5kApi | None = None
) -> Any:
    """GETs any API path (no cache) and returns the decoded JSON."""
    if api is not None:
        return await api.get_json(path, params)
    async with G5kApi() as own:
        return await own.get_json(path, params)


@dataclasses.dataclass(frozen=True, slots=True)
class MetricPoint:
    """One measure of a metric.

    Attributes:
        timestamp: Unix time in seconds.
        value: The measured value.
        labels: Kwollect labels telling apart measures of the same metric (``gpu``...).
    """

    timestamp: float
    value: float
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).isoformat()


def _parse_points(site: str, answer: Any) -> dict[str, list[MetricPoint]]:
    if not isinstance(answer, list):
        raise G5kDataError(f"metrics of {site}: expected a list, got {type(answer).__name__}")
    points: dict[str, list[MetricPoint]] = {}
    for item in answer:
        ts = datetime.datetime.fromisoformat(item["timestamp"]).timestamp()
        point = MetricPoint(ts, float(item["value"]), dict(item.get("labels") or {}))
        points.setdefault(item["device_id"], []).append(point)
    return points


async def get_hosts_metric(
    hosts: Iterable[HostLike],
    metric: str,
    from_ts: float | None = None,
    to_ts: float | None = None,
    *,
    api: G5kApi | None = None,
) -> dict[str, list[MetricPoint]]:
    """Measures of a metric on hosts, from the kwollect API (one request per site, at once).

    This reads ``GET /sites/{site}/metrics?nodes=...&metrics=...&start_time=&end_time=``
    (kwollect). execo 2.8.2 read the legacy ``/metrics/{metric}/timeseries`` endpoint, which
    today's API no longer serves.

    Args:
        hosts: The hosts (any form of their names).
        metric: A metric name from the cluster's ``metrics`` attribute
            (``wattmetre_power_watt``...).
        from_ts: Start (unix seconds); None lets the API choose.
        to_ts: End (unix seconds); None lets the API choose.
        api: An open client; None means one made from ``g5k_configuration``.

    Returns:
        ``{short host name: [points sorted by time]}``; a host with no measure is absent.
    """
    if api is None:
        async with G5kApi() as own:
            return await get_hosts_metric(hosts, metric, from_ts, to_ts, api=own)
    reference = await load_reference(api)
    by_site: dict[str, list[str]] = {}
    for host in hosts:
        site = reference.host_site(host)
        if site is None:
            raise UnknownElementError(f"cannot find the site of {host!r}")
        by_site.setdefault(site, []).append(get_host_shortname(host))
    result: dict[str, list[MetricPoint]] = {}

    async def fetch(site: str, names: list[str]) -> None:
        params: dict[str, str | int] = {"nodes": ",".join(names), "metrics": metric}
        if from_ts is not None:
            params["start_time"] = _iso(from_ts)
        if to_ts is not None:
            params["end_time"] = _iso(to_ts)
        for host, points in _parse_points(
            site, await api.get_json(f"sites/{site}/metrics", params)
        ).items():
            result[host] = sorted(points, key=lambda p: p.timestamp)

    async with anyio.create_task_group() as tg:
        for site, names in by_site.items():
            tg.start_soon(fetch, site, names)
    return result
