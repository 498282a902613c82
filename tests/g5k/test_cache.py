"""The reference-data cache: concurrent cold fetch, warm answers with zero requests,
invalidation by the API version, and concurrent refreshes by two clients or processes."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
import time

import trio

from execo_g5k import G5kApi, _cache, get_api_reference, get_site_clusters

REFERENCE_PATHS = {
    "",
    "sites",
    "network_equipments",
    *(
        f"sites/{s}/{what}"
        for s in ("lyon", "nancy", "rennes")
        for what in ("clusters", "network_equipments")
    ),
    *(
        f"sites/{s}/clusters/{c}/nodes"
        for s, cs in (
            ("lyon", ("gemini", "nova", "taurus")),
            ("nancy", ("gros", "grouille", "grue")),
            ("rennes", ("abacus25", "paradoxe", "parasilo")),
        )
        for c in cs
    ),
}


async def test_cold_fetch_is_concurrent(g5k_config, g5k_server, cache_dir):
    g5k_server.latency = 0.05
    start = time.monotonic()
    async with G5kApi(g5k_config) as api:
        reference = await get_api_reference(api)
    elapsed = time.monotonic() - start
    assert set(g5k_server.paths()) == REFERENCE_PATHS
    assert len(g5k_server.log) == len(REFERENCE_PATHS) == 18
    # Root, then sites, then clusters, then nodes: 4 rounds, not 18 requests in a row.
    assert g5k_server.max_in_flight >= 4
    assert elapsed < 18 * 0.05
    assert g5k_server.log[0].path == ""  # the version is read first
    assert reference.version == "9ebe1b1e12d4496acf54e276f6885445a57f8c04"
    files = list(cache_dir.glob("*.json"))
    assert len(files) == 1
    data = json.loads(files[0].read_text())
    assert data["format"] == 1
    assert data["hierarchy"]["lyon"]["nova"][:2] == ["nova-1", "nova-4"]


async def test_warm_cache_answers_with_zero_requests(g5k_config, g5k_server):
    async with G5kApi(g5k_config) as api:
        await get_api_reference(api)
    g5k_server.reset()
    _cache._memo.clear()  # as a new process would: read from disk
    async with G5kApi(g5k_config) as api:
        assert await get_site_clusters("lyon", api=api) == ["gemini", "nova", "taurus"]
        assert await get_site_clusters("rennes", api=api) == ["paradoxe", "parasilo"]
        assert api.requests_sent == 0
    assert g5k_server.log == []


async def test_old_cache_costs_one_version_check(g5k_config, g5k_server, cache_dir):
    async with G5kApi(g5k_config) as api:
        await get_api_reference(api)
    (path,) = cache_dir.glob("*.json")
    os.utime(path, (time.time() - 7200, time.time() - 7200))
    g5k_server.reset()
    async with G5kApi(g5k_config) as api:
        await get_api_reference(api)
    assert g5k_server.paths() == [""]
    assert time.time() - path.stat().st_mtime < 60  # touched: trusted again for an hour
    g5k_server.reset()
    async with G5kApi(g5k_config) as api:
        await get_api_reference(api)
    assert g5k_server.log == []


async def test_new_api_version_refetches_everything(g5k_config, g5k_server, cache_dir):
    async with G5kApi(g5k_config) as api:
        await get_api_reference(api)
    (path,) = cache_dir.glob("*.json")
    data = json.loads(path.read_text())
    data["version"] = "0" * 40
    data["hierarchy"]["lyon"] = {}
    path.write_text(json.dumps(data))
    os.utime(path, (0, 0))
    g5k_server.reset()
    async with G5kApi(g5k_config) as api:
        reference = await get_api_reference(api)
    assert reference.version == "9ebe1b1e12d4496acf54e276f6885445a57f8c04"
    assert reference.site_clusters("lyon") == ["gemini", "nova", "taurus"]
    assert set(g5k_server.paths()) == REFERENCE_PATHS
    assert g5k_server.paths().count("") == 2  # the check, then the fetch


async def test_failing_api_keeps_an_old_cache(g5k_config, g5k_server, cache_dir, caplog):
    async with G5kApi(g5k_config) as api:
        await get_api_reference(api)
    (path,) = cache_dir.glob("*.json")
    os.utime(path, (0, 0))
    g5k_server.faults[""] = [503]
    failing = dataclasses.replace(g5k_config, api_retries=0)
    with caplog.at_level(logging.WARNING, logger="execo_g5k.api"):
        async with G5kApi(failing) as api:
            assert await get_site_clusters("nancy", api=api) == ["gros", "grouille"]
    assert "cannot check the G5k API version" in caplog.text


async def test_corrupt_cache_is_refetched(g5k_config, g5k_server, cache_dir, caplog):
    async with G5kApi(g5k_config) as api:
        await get_api_reference(api)
    (path,) = cache_dir.glob("*.json")
    path.write_text('{"format": 1, "truncated')
    g5k_server.reset()
    async with G5kApi(g5k_config) as api:
        assert (await get_api_reference(api)).sites() == ["lyon", "nancy", "rennes"]
    assert set(g5k_server.paths()) == REFERENCE_PATHS
    assert "ignoring unreadable G5k API cache" in caplog.text


async def test_refresh_forces_a_fetch(g5k_config, g5k_server):
    async with G5kApi(g5k_config) as api:
        await get_api_reference(api)
        await get_api_reference(api, refresh=True)
    assert g5k_server.paths().count("sites") == 2


async def test_two_clients_refreshing_at_once_fetch_once(g5k_config, g5k_server, cache_dir):
    g5k_server.latency = 0.02
    results = []

    async def client() -> None:
        async with G5kApi(g5k_config) as api:
            results.append(await get_api_reference(api))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(client)
        nursery.start_soon(client)
    assert g5k_server.paths().count("sites") == 1
    assert results[0].data == results[1].data
    assert [p.name for p in cache_dir.iterdir() if p.name.endswith(".tmp")] == []


_CHILD = """
import dataclasses, json, sys, trio
from execo_g5k import G5kApi, get_api_reference
from execo_g5k.config import G5kConfiguration
config = G5kConfiguration(**json.loads(sys.argv[1]))
async def main():
    async with G5kApi(config) as api:
        reference = await get_api_reference(api)
        print(json.dumps({"sent": api.requests_sent, "hosts": len(reference.hosts())}))
trio.run(main)
"""


def test_two_processes_refreshing_at_once_fetch_once(g5k_config, g5k_server, cache_dir):
    g5k_server.latency = 0.05
    fields = {
        f.name: getattr(g5k_config, f.name)
        for f in dataclasses.fields(g5k_config)
        if f.name.startswith("api_") and f.name != "api_additional_args"
    }
    argv = [sys.executable, "-c", _CHILD, json.dumps(fields)]
    children = [subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [json.loads(child.communicate(timeout=60)[0]) for child in children]
    assert all(child.returncode == 0 for child in children)
    assert [o["hosts"] for o in outputs] == [96, 96]
    # One process fetched (18 requests); the other found the fresh cache (0 requests).
    assert sorted(o["sent"] for o in outputs) == [0, 18]
    assert g5k_server.paths().count("sites") == 1
    assert [p.name for p in cache_dir.iterdir() if p.name.endswith(".tmp")] == []
    assert isinstance(json.loads(next(cache_dir.glob("*.json")).read_text()), dict)
