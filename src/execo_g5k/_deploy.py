"""`deploy`: check which nodes are deployed already, deploy the others, retry.

The deployments themselves go through a `Kadeployer` (kadeploy3 on the frontends, the
default, as in execo) or through the REST API (``via="api"``, see `api_deploy`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Literal

from execo import Host, OutputHandlerSpec, Remote
from execo._core._config import ConnectionParamsLike
from execo._core._process import ProcessBase

from . import config as _config_module
from ._api_deploy import api_deploy
from ._client import G5kApi
from ._frontend import get_kavlan_host_name
from ._hostnames import natural_sort_key
from ._kadeploy import Deployment, DeployResult, sorted_hosts
from ._kadeployer import kadeploy

__all__ = ["CheckEnough", "deploy"]

logger = logging.getLogger("execo_g5k.kadeploy")

CheckEnough = Callable[[list[Host], list[Host]], bool]


def _nothing_undeployed(deployed: list[Host], undeployed: list[Host]) -> bool:
    return not undeployed


def _check_command(check_deployed_command: str | bool | None) -> str | None:
    if check_deployed_command is True:
        return _config_module.current_g5k_configuration().check_deployed_command
    if check_deployed_command is False or check_deployed_command is None:
        return None
    if not isinstance(check_deployed_command, str):
        raise TypeError(
            f"check_deployed_command must be a str, bool or None, not {check_deployed_command!r}"
        )
    return check_deployed_command


async def _deployed_already(
    command: str,
    addresses: Iterable[str],
    deployment: Deployment,
    node_params: ConnectionParamsLike,
    timeout: float,
) -> set[str]:
    """The addresses where `command` succeeds (on their kavlan names with a vlan)."""
    names = {
        (get_kavlan_host_name(a, deployment.vlan) if deployment.vlan is not None else a): a
        for a in addresses
    }
    if not names:
        return set()
    remote = Remote(
        command,
        list(names),
        connection_params=node_params,
        process_args={
            "timeout": timeout,
            "nolog_exit_code": True,
            "nolog_timeout": True,
            "nolog_error": True,
        },
    )
    await remote.run()
    ok = {names[p.host.address] for p in remote.processes if p.ok and p.host is not None}
    logger.info("deployed already: %s", sorted(ok, key=natural_sort_key) or "none")
    return ok


async def deploy(
    deployment: Deployment,
    check_deployed_command: str | bool | None = True,
    node_connection_params: ConnectionParamsLike = None,
    num_tries: int = 1,
    check_enough_func: CheckEnough | None = None,
    *,
    via: Literal["kadeploy3", "api"] = "kadeploy3",
    frontend_connection_params: ConnectionParamsLike = None,
    deploy_timeout: float | None = None,
    check_timeout: float = 30.0,
    stdout_handlers: Sequence[OutputHandlerSpec] = (),
    stderr_handlers: Sequence[OutputHandlerSpec] = (),
    api: G5kApi | None = None,
    api_key: str | None = None,
    api_fields: Mapping[str, object] | None = None,
    api_poll_interval: float = 10.0,
) -> DeployResult:
    """Deploys the nodes that need it, retrying, until enough are deployed.

    1. With a check command, run it on every node over ssh: those where it succeeds are
       already deployed (they are not deployed again).
    2. While ``check_enough_func(deployed, undeployed)`` is false and fewer than
       `num_tries` deployments were made: deploy the undeployed nodes (a `Kadeployer`, or
       the REST API with ``via="api"``), then re-check them (with the command, or from the
       deployment's report).

    Args:
        deployment: What to deploy where.
        check_deployed_command: A shell command that succeeds on a deployed node; True
            means ``g5k_configuration["check_deployed_command"]``; None or False means
            trust the deployment's report.
        node_connection_params: How to reach the nodes for the check (default: as root).
        num_tries: At most this many deployments.
        check_enough_func: ``(deployed, undeployed) -> bool``; default: nothing undeployed.
        via: ``"kadeploy3"`` (kadeploy3 over ssh on the frontends) or ``"api"`` (``POST
            /sites/{site}/deployments``, see `api_deploy`).
        frontend_connection_params: (kadeploy3) Overrides of
            `default_frontend_connection_params`.
        deploy_timeout: Seconds for each deployment (None: no limit).
        check_timeout: Seconds for each check.
        stdout_handlers, stderr_handlers: (kadeploy3) Where else its output goes.
        api: (api) An open `G5kApi`; None: one made from ``g5k_configuration``.
        api_key: (api) The ssh public key for root on the nodes (default: the user's).
        api_fields: (api) More fields of the deployment request.
        api_poll_interval: (api) Seconds between two looks at a deployment.

    Returns:
        The deployed and undeployed hosts (Hosts, not strings as in execo); never raises
        because nodes failed.

    Raises:
        ValueError: Bad input (no environment, a node whose frontend cannot be told, ...),
            before anything runs.
    """
    if via not in ("kadeploy3", "api"):
        raise ValueError(f"via must be 'kadeploy3' or 'api', got {via!r}")
    if num_tries < 0:
        raise ValueError(f"num_tries must be >= 0, got {num_tries!r}")
    enough = check_enough_func if check_enough_func is not None else _nothing_undeployed
    command = _check_command(check_deployed_command)
    node_params = node_connection_params if node_connection_params is not None else {"user": "root"}

    async def deploy_once(hosts: list[Host]) -> DeployResult:
        part = dataclasses.replace(deployment, hosts=hosts)
        if via == "api":
            return await api_deploy(
                part,
                api=api,
                key=api_key,
                api_fields=api_fields,
                poll_interval=api_poll_interval,
                timeout=deploy_timeout,
            )
        return await kadeploy(
            part,
            frontend_connection_params=frontend_connection_params,
            timeout=deploy_timeout,
            stdout_handlers=stdout_handlers,
            stderr_handlers=stderr_handlers,
        )

    deployed: set[str] = set()
    undeployed = set(deployment.addresses)
    reasons: dict[str, str] = {}
    processes: list[ProcessBase] = []
    uids: dict[str, str] = {}
    if command is not None:
        deployed = await _deployed_already(
            command, undeployed, deployment, node_params, check_timeout
        )
        undeployed -= deployed
    tries = 0
    while not enough(sorted_hosts(deployed), sorted_hosts(undeployed)):
        if tries >= num_tries or not undeployed:
            break
        tries += 1
        logger.info("deployment try %d/%d on %d node(s)", tries, num_tries, len(undeployed))
        result = await deploy_once(sorted_hosts(undeployed))
        processes += result.processes
        uids.update(result.deployment_uids)
        reasons.update(result.reasons)
        if command is not None:
            newly = await _deployed_already(
                command, undeployed, deployment, node_params, check_timeout
            )
        else:
            newly = {h.address for h in result.deployed}
        deployed |= newly
        undeployed -= newly
    return DeployResult(
        deployed=sorted_hosts(deployed),
        undeployed=sorted_hosts(undeployed),
        reasons={h: reasons.get(h, "check failed") for h in undeployed},
        processes=processes,
        deployment_uids=uids,
    )
