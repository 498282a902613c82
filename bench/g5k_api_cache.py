"""Cold and warm reference-data fetches against the loopback fake API.

Run: ``.venv/bin/python -m bench.g5k_api_cache``. Prints, for a server latency of 0 and
50 ms and a concurrency of 1 and 8, the cold fetch time and request count and the warm
query time and request count (always 0).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import trio
from tests.g5k.g5k_server import FakeG5kApi
from tests.g5k.tls import make_tls_files

from execo_g5k import G5kApi, _cache, get_api_reference, get_site_clusters
from execo_g5k.config import G5kConfiguration


async def _timed(config: G5kConfiguration, warm: bool) -> tuple[float, int]:
    async with G5kApi(config) as api:
        start = time.perf_counter()
        if warm:
            await get_site_clusters("lyon", api=api)
        else:
            await get_api_reference(api)
        return time.perf_counter() - start, api.requests_sent


def main() -> None:
    tls = make_tls_files(Path(tempfile.mkdtemp()))
    with FakeG5kApi(tls=(tls.server_cert, tls.server_key)) as server:
        for latency in (0.0, 0.05):
            for concurrency in (1, 8):
                server.reset()
                server.latency = latency
                config = G5kConfiguration(
                    api_uri=server.root_url,
                    api_verify_ssl_cert=str(tls.ca_cert),
                    api_cache_dir=tempfile.mkdtemp(),
                    api_concurrency=concurrency,
                )
                cold, cold_requests = trio.run(_timed, config, False)
                _cache._memo.clear()  # a new process reads the file again
                server.reset()
                warm, warm_requests = trio.run(_timed, config, True)
                print(
                    f"latency {latency * 1000:.0f} ms, concurrency {concurrency}: "
                    f"cold {cold:.3f} s / {cold_requests} requests; "
                    f"warm {warm * 1000:.1f} ms / {warm_requests} requests "
                    f"(server saw {len(server.log)})"
                )


if __name__ == "__main__":
    main()
