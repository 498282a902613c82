"""Draws the pictures of the documentation into docs/images/ (committed with the docs).

* ``planning.png``: a Grid'5000 planning (execo_g5k.planning.draw_planning) from the real
  reference and status data of the test suite, served by its stand-in API server;
* ``timeline.png``: a timeline (Report.timeline) of actions run on a local cluster, some of
  whose processes fail or time out.

Run it from the repository: ``.venv/bin/python scripts/docs_images.py``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import trio

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
NOW = 1774256400  # the "now" of the API data (tests/data/g5k_api/MANIFEST.json)


async def planning(path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.g5k.g5k_server import FakeG5kApi

    from execo_g5k import G5kApi
    from execo_g5k.config import G5kConfiguration
    from execo_g5k.planning import draw_planning, get_planning

    with FakeG5kApi() as server, tempfile.TemporaryDirectory() as cache:
        config = G5kConfiguration(api_uri=server.root_url, api_cache_dir=cache)
        async with G5kApi(config) as api:
            p = await get_planning(
                ["nova", "gros"], starttime=NOW - 3600, endtime=NOW + 10 * 3600, api=api
            )
    draw_planning(p, path, now=NOW)


async def timeline(path: Path) -> None:
    from execo import Remote, Report
    from execo.testbed import LocalCluster

    quiet = {"nolog_exit_code": True, "nolog_timeout": True}
    with tempfile.TemporaryDirectory() as state:
        async with LocalCluster(4, state_dir=state) as cluster:
            hosts = cluster.hosts
            setup = await Remote("sleep 0.{{[2, 3, 4, 5]}}", hosts, name="setup").run()
            work = Remote(
                "sleep 1.{{[0, 2, 4, 6]}}; exit {{[0, 0, 0, 1]}}",
                hosts,
                name="work",
                process_args=quiet,
            )
            slow = Remote("sleep 10", hosts[:2], name="monitor", timeout=1.5, process_args=quiet)
            async with work, slow:
                pass
            Report([setup, work, slow], name="an experiment").timeline(path)


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    trio.run(planning, IMAGES / "planning.png")
    trio.run(timeline, IMAGES / "timeline.png")
    for name in ("planning.png", "timeline.png"):
        print(IMAGES / name)


if __name__ == "__main__":
    main()
