"""Deployment through the REST API (``deploy(via="api")``, `api_deploy`), against the local
HTTPS API server of the tests (real HTTP, TLS and basic auth; g5k-api's deployment
documents, README "Deployments")."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from execo import Host
from execo_g5k import G5kApi, G5kAuthError, UnknownElementError
from execo_g5k.config import G5kConfiguration
from execo_g5k.kadeploy import (
    Deployment,
    api_deploy,
    deploy,
    deployment_request,
    read_api_result,
)

from .conftest import FakePasswords
from .g5k_server import FakeG5kApi

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFake jdoe@laptop"


@pytest.fixture
async def user_api(
    g5k_config: G5kConfiguration, _warm_cache_dir: Path, g5k_server: FakeG5kApi
) -> AsyncIterator[G5kApi]:
    """An authenticated client (writes need credentials), reference data cached."""
    config = dataclasses.replace(
        g5k_config, api_username="jdoe", api_cache_dir=str(_warm_cache_dir)
    )
    async with G5kApi(config, password_source=FakePasswords()) as api:
        yield api


def test_request_body_and_refusals() -> None:
    d = Deployment(["nova-1"], env_name="debian12-min", user="jdoe", vlan=4)
    assert deployment_request(d, ["nova-1.lyon.grid5000.fr"], key=KEY) == {
        "nodes": ["nova-1.lyon.grid5000.fr"],
        "environment": "debian12-min@jdoe",
        "key": KEY,
        "vlan": 4,
    }
    url = Deployment(["nova-1"], env_file="https://example.org/my.yaml")
    assert deployment_request(url, [], key=None, fields={"arch": "x86_64"}) == {
        "nodes": [],
        "environment": "https://example.org/my.yaml",
        "arch": "x86_64",
    }
    with pytest.raises(ValueError, match=r"local file '/home/jdoe/env\.dsc'"):
        deployment_request(Deployment(["n"], env_file="/home/jdoe/env.dsc"), [], key=None)
    with pytest.raises(ValueError, match="kadeploy3 options"):
        deployment_request(
            Deployment(["n"], env_name="e", other_options="--no-kexec"), [], key=None
        )


def test_reading_the_fixture_deployment() -> None:
    """The synthesized lyon deployment of the fixture: 3 nodes OK, nova-6 KO."""
    import json

    path = (
        (Path(__file__).parents[1] / "data" / "g5k_api" / "synthesized" / "stable" / "sites")
        / "lyon"
        / "deployments"
        / "D-0b1c6f3e-8a52-4b8e-9d61-2f7e1c3a9b04.json"
    )
    doc = json.loads(path.read_text())
    good, bad = read_api_result(doc, ["nova-1", "nova-4.lyon.grid5000.fr", "nova-5", "nova-6"])
    assert good == ["nova-1", "nova-4.lyon.grid5000.fr", "nova-5"]
    assert bad == {"nova-6": "Timeout in the boot of the deployed environment"}
    good, bad = read_api_result({**doc, "status": "error", "output": "boom\nkadeploy down"}, ["x"])
    assert good == [] and bad == {"x": "deployment error: kadeploy down"}


async def test_api_deploy_posts_polls_and_reads_the_result(
    user_api: G5kApi, g5k_server: FakeG5kApi
) -> None:
    g5k_server.deployment_polls = 3
    g5k_server.deployment_failures = {"gros-2.nancy.grid5000.fr": "Timeout in wait_reboot"}
    d = Deployment(["nova-10", "nova-11.lyon.grid5000.fr", "gros-1", "gros-2"], env_name="e")
    result = await api_deploy(d, api=user_api, key=KEY, poll_interval=0.01)
    assert result.deployed == [Host("gros-1"), Host("nova-10"), Host("nova-11.lyon.grid5000.fr")]
    assert result.undeployed == [Host("gros-2")]
    assert result.reasons == {"gros-2": "Timeout in wait_reboot"}
    assert set(result.deployment_uids) == {"lyon", "nancy"}
    requests = sorted(g5k_server.deployment_requests, key=lambda r: r["nodes"][0])
    assert requests == [
        {"nodes": ["gros-1.nancy.grid5000.fr", "gros-2.nancy.grid5000.fr"], "environment": "e",
         "key": KEY},
        {"nodes": ["nova-10.lyon.grid5000.fr", "nova-11.lyon.grid5000.fr"], "environment": "e",
         "key": KEY},
    ]  # fmt: skip
    posts = [r for r in g5k_server.log if r.method == "POST"]
    assert sorted(r.path for r in posts) == ["sites/lyon/deployments", "sites/nancy/deployments"]
    assert all(r.user == "jdoe" and r.status == 201 for r in posts)
    uid = result.deployment_uids["lyon"]
    gets = [r for r in g5k_server.log if r.path == f"sites/lyon/deployments/{uid}"]
    assert len(gets) == 3  # polled until terminated


async def test_deploy_via_api_with_retries(user_api: G5kApi, g5k_server: FakeG5kApi) -> None:
    """deploy(via="api"): no check command, the API's result decides; the failed node is
    deployed again, alone."""
    g5k_server.deployment_failures = {"nova-12.lyon.grid5000.fr": "reboot failed"}
    seen: list[list[str]] = []

    def enough(deployed: list[Host], undeployed: list[Host]) -> bool:
        seen.append([h.address for h in undeployed])
        if len(seen) == 2:  # after the first try: let the failed node succeed next time
            g5k_server.deployment_failures = {}
        return not undeployed

    d = Deployment(["nova-12", "nova-13"], env_name="debian12-min")
    result = await deploy(
        d, False, num_tries=3, check_enough_func=enough, via="api", api=user_api,
        api_key=KEY, api_poll_interval=0.01,
    )  # fmt: skip
    assert result.deployed == [Host("nova-12"), Host("nova-13")] and result.undeployed == []
    assert seen == [["nova-12", "nova-13"], ["nova-12"], []]
    assert [r["nodes"] for r in g5k_server.deployment_requests] == [
        ["nova-12.lyon.grid5000.fr", "nova-13.lyon.grid5000.fr"],
        ["nova-12.lyon.grid5000.fr"],
    ]


async def test_api_deploy_timeout_cancels_the_deployment(
    user_api: G5kApi, g5k_server: FakeG5kApi
) -> None:
    g5k_server.deployment_polls = 10**9  # never ends by itself
    result = await api_deploy(
        Deployment(["nova-14"], env_name="e"), api=user_api, key=KEY, poll_interval=0.01,
        timeout=0.5,
    )  # fmt: skip
    assert result.deployed == [] and result.undeployed == [Host("nova-14")]
    assert "deployment cancelled" in result.reasons["nova-14"]
    (uid,) = result.deployment_uids.values()
    assert g5k_server.deployments[uid]["status"] == "canceled"
    deletes = [r for r in g5k_server.log if r.method == "DELETE"]
    assert [(r.path, r.status) for r in deletes] == [(f"sites/lyon/deployments/{uid}", 202)]


async def test_api_deploy_cancelled_by_the_caller_cancels_the_deployment(
    user_api: G5kApi, g5k_server: FakeG5kApi
) -> None:
    g5k_server.deployment_polls = 10**9
    with trio.move_on_after(0.5):
        await api_deploy(
            Deployment(["nova-15"], env_name="e"), api=user_api, key=KEY, poll_interval=0.01
        )
    (doc,) = g5k_server.deployments.values()
    assert doc["status"] == "canceled"


async def test_api_deploy_error_status_and_bad_input(
    user_api: G5kApi, g5k_server: FakeG5kApi, api: G5kApi
) -> None:
    g5k_server.deployment_final_status = "error"
    result = await api_deploy(
        Deployment(["taurus-1"], env_name="e"), api=user_api, key=KEY, poll_interval=0.01
    )
    assert result.reasons == {"taurus-1": "deployment error: Nodes not reachable"}
    with pytest.raises(ValueError, match="local file"):
        await api_deploy(Deployment(["taurus-1"], env_file="/x.dsc"), api=user_api)
    with pytest.raises(UnknownElementError, match=r"cannot find the site of '10\.0\.0\.1'"):
        await api_deploy(Deployment(["10.0.0.1"], env_name="e"), api=user_api, key=KEY)
    # Anonymous writes are refused by the API (403), with the API's words.
    with pytest.raises(G5kAuthError, match="HTTP 403 on POST"):
        await api_deploy(Deployment(["taurus-1"], env_name="e"), api=api, key=KEY)
    assert len(g5k_server.deployment_requests) == 1
