"""The on-disk reference-data cache: concurrent fetch, version check, safe concurrent refresh.

* Format: one JSON file per API base URL (never pickle), see `G5kReference`.
* Freshness: the file's mtime is the last time its version was known to be the API's. Within
  ``api_cache_max_age`` it is used with no request at all; after that one GET of the API root
  compares ``version`` and either touches the file or refetches everything.
* Fetch: one task group, requests bounded by the client's ``api_concurrency`` limiter.
* Two processes refreshing at once: an ``fcntl`` lock file serialises the refreshes, and
  whoever gets the lock second re-reads the file the first one wrote (atomic rename).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import logging
import os
import tempfile
import time
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from ._errors import G5kApiError, G5kDataError
from ._hostnames import natural_sort_key
from ._reference import CACHE_FORMAT, G5kReference

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from ._client import G5kApi

__all__ = ["cache_file", "fetch_reference_data", "load_reference"]

logger = logging.getLogger("execo_g5k.api")

_LOCK_POLL = 0.05
# Process-wide memo of parsed cache files: path -> (inode, size, reference).
_memo: dict[Path, tuple[int, int, G5kReference]] = {}


def cache_file(api: G5kApi) -> Path:
    """The cache file of an API client (one per base URL and extra query arguments)."""
    key = api.base_url + json.dumps(dict(api.config.api_additional_args), sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return api.config.cache_dir / f"g5k_api-{digest}.json"


def _strip(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "links"}


async def fetch_reference_data(api: G5kApi) -> dict[str, Any]:
    """Fetches the whole reference data concurrently (a few requests per site)."""
    root = await api.get_json("")
    version = root.get("version") if isinstance(root, dict) else None
    if not isinstance(version, str):
        raise G5kDataError("the API root has no version")
    sites: dict[str, Any] = {}
    clusters: dict[str, Any] = {}
    hosts: dict[str, Any] = {}
    hierarchy: dict[str, dict[str, list[str]]] = {}
    site_network: dict[str, dict[str, Any]] = {}
    backbone: dict[str, Any] = {}

    async def fetch_cluster_nodes(site: str, cluster: str) -> None:
        nodes = await api.get_items(f"sites/{site}/clusters/{cluster}/nodes")
        for node in nodes:
            hosts[node["uid"]] = _strip(node)
        hierarchy[site][cluster] = sorted((n["uid"] for n in nodes), key=natural_sort_key)

    async def fetch_site(site: str) -> None:
        hierarchy[site] = {}
        async with anyio.create_task_group() as tg:
            tg.start_soon(fetch_site_network, site)
            for cluster in await api.get_items(f"sites/{site}/clusters", {"queues": "all"}):
                clusters[cluster["uid"]] = _strip(cluster)
                tg.start_soon(fetch_cluster_nodes, site, cluster["uid"])

    async def fetch_site_network(site: str) -> None:
        equips = await api.get_items(f"sites/{site}/network_equipments")
        site_network[site] = {e["uid"]: _strip(e) for e in equips}

    async def fetch_backbone() -> None:
        for equip in await api.get_items("network_equipments"):
            backbone[equip["uid"]] = _strip(equip)

    async with anyio.create_task_group() as tg:
        tg.start_soon(fetch_backbone)
        for site in await api.get_items("sites"):
            sites[site["uid"]] = _strip(site)
            tg.start_soon(fetch_site, site["uid"])
    return {
        "format": CACHE_FORMAT,
        "base_url": api.base_url,
        "version": version,
        "fetched_at": time.time(),
        "sites": sites,
        "clusters": clusters,
        "hosts": hosts,
        "hierarchy": hierarchy,
        "network": {"backbone": backbone, "sites": site_network},
    }


def _read(path: Path) -> tuple[G5kReference, float] | None:
    """The cache's content and its mtime, or None when missing or unreadable."""
    try:
        st = path.stat()
        memo = _memo.get(path)
        if memo is not None and memo[:2] == (st.st_ino, st.st_size):
            return memo[2], st.st_mtime
        with path.open("rb") as f:
            reference = G5kReference(json.load(f))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, G5kDataError) as e:
        logger.warning("ignoring unreadable G5k API cache %s: %s", path, e)
        return None
    _memo[path] = (st.st_ino, st.st_size, reference)
    return reference, st.st_mtime


def _write(path: Path, data: dict[str, Any]) -> G5kReference:
    """Writes the cache atomically (temporary file in the same directory, then rename)."""
    reference = G5kReference(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    st = path.stat()
    _memo[path] = (st.st_ino, st.st_size, reference)
    return reference


@contextlib.asynccontextmanager
async def _file_lock(path: Path) -> AsyncIterator[None]:
    """An exclusive ``flock`` on `path`, waited for without blocking the event loop."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            await anyio.sleep(_LOCK_POLL)
        yield
    finally:
        os.close(fd)  # closing releases the lock


async def _api_version(api: G5kApi) -> str | None:
    """The API's current version, or None (with a warning) when it cannot be had."""
    try:
        root = await api.get_json("")
    except G5kApiError as e:
        logger.warning("cannot check the G5k API version, using the cache: %s", e)
        return None
    version = root.get("version") if isinstance(root, dict) else None
    return version if isinstance(version, str) else None


async def load_reference(api: G5kApi, *, refresh: bool = False) -> G5kReference:
    """The reference data: from the client's memory, the disk cache, or the API.

    Args:
        api: An open client.
        refresh: Refetch everything even if the cache is fresh.

    Raises:
        G5kApiError: The data had to be fetched and could not be.
    """
    if api.reference_cache is not None and not refresh:
        return api.reference_cache
    path = cache_file(api)
    started = time.time()
    current = None if refresh else await anyio.to_thread.run_sync(_read, path)
    if current is not None:
        reference, mtime = current
        if started - mtime < api.config.api_cache_max_age:
            api.reference_cache = reference
            return reference
        version = await _api_version(api)
        if version is None or version == reference.version:
            if version is not None:
                with contextlib.suppress(OSError):
                    os.utime(path)
            api.reference_cache = reference
            return reference
    async with _file_lock(path.with_name(path.name + ".lock")):
        # Someone else may have refreshed it while we waited for the lock.
        again = await anyio.to_thread.run_sync(_read, path)
        if again is not None and again[1] >= started:
            api.reference_cache = again[0]
            return again[0]
        data = await fetch_reference_data(api)
        reference = await anyio.to_thread.run_sync(_write, path, data)
    api.reference_cache = reference
    return reference
