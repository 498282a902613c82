"""Deployment through the Grid'5000 REST API instead of kadeploy3 on the frontends.

One ``POST /sites/{site}/deployments`` per site (``{"nodes": [fqdn...], "environment":
..., "key": ..., "vlan": ...}``) creates a kadeploy workflow; ``GET
/sites/{site}/deployments/{uid}`` is then polled until its ``status`` leaves ``waiting`` /
``processing``. A ``terminated`` deployment's ``result`` says, per node, ``"state": "OK"``
or ``"KO"`` (with kadeploy's ``error``, or the macro and micro step that failed). An
``error`` or ``canceled`` deployment leaves every node undeployed. When the wait times out
or is cancelled, the deployment is cancelled (``DELETE``), shielded.

This path needs no ssh to the frontends, only API credentials (anonymous writes are
refused), and it reads the API's structured result instead of kadeploy's text.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anyio

from ._cache import load_reference
from ._client import G5kApi
from ._errors import G5kDataError, UnknownElementError
from ._hostnames import host_longname
from ._kadeploy import Deployment, DeployResult, match_node, sorted_hosts

__all__ = ["API_FINAL_STATUSES", "api_deploy", "deployment_request", "read_api_result"]

logger = logging.getLogger("execo_g5k.kadeploy")

API_FINAL_STATUSES = frozenset({"terminated", "error", "canceled"})
_DEFAULT_KEYS = ("id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub")


def default_public_key() -> str | None:
    """The user's first ssh public key (``~/.ssh/id_ed25519.pub``, ``id_ecdsa``,
    ``id_rsa``), which the API installs for root on the nodes; None when there is none."""
    for name in _DEFAULT_KEYS:
        path = Path.home() / ".ssh" / name
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
    return None


def deployment_request(
    deployment: Deployment,
    nodes: list[str],
    *,
    key: str | None,
    fields: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The JSON body of ``POST /sites/{site}/deployments`` (pure).

    Raises:
        ValueError: The deployment cannot be expressed for the API: a local environment
            file (the API takes a registered name or an http(s) URL), or kadeploy3
            command-line options (give API fields in `fields` instead).
    """
    if deployment.env_name:
        environment = deployment.env_name
        if deployment.user:
            environment += f"@{deployment.user}"
    elif deployment.env_file:
        if not deployment.env_file.startswith(("http://", "https://")):
            raise ValueError(
                f"the API deploys a registered environment or an http(s) URL, not the local "
                f"file {deployment.env_file!r}: use kadeploy3 (via='kadeploy3') for that"
            )
        environment = deployment.env_file
    else:
        raise ValueError("no environment: give env_name or env_file to deploy through the API")
    if deployment.other_options:
        raise ValueError(
            f"kadeploy3 options {list(deployment.other_options)!r} cannot go through the API; "
            "pass API fields (e.g. {'partition_label': ...}) as api_fields"
        )
    body: dict[str, object] = {"nodes": nodes, "environment": environment}
    if key:
        body["key"] = key
    if deployment.vlan is not None:
        body["vlan"] = deployment.vlan
    body.update(fields or {})
    return body


def read_api_result(
    document: Mapping[str, Any], requested: list[str]
) -> tuple[list[str], dict[str, str]]:
    """Deployed addresses and ``{undeployed: reason}`` from a final deployment document.

    Raises:
        G5kDataError: The document has no known ``status``.
    """
    status = document.get("status")
    if status not in API_FINAL_STATUSES:
        raise G5kDataError(f"deployment {document.get('uid')!r}: status {status!r} is not final")
    if status != "terminated":
        why = str(document.get("output") or "").strip().splitlines()
        reason = f"deployment {status}" + (f": {why[-1]}" if why else "")
        return [], dict.fromkeys(requested, reason)
    deployed: list[str] = []
    failed: dict[str, str] = {}
    for fqdn, node in (document.get("result") or {}).items():
        host = match_node(str(fqdn), requested)
        if host is None:
            continue
        if node.get("state") == "OK":
            deployed.append(host)
            continue
        steps = "/".join(str(node[k]) for k in ("macro", "micro") if node.get(k))
        failed[host] = str(node.get("error") or steps or f"state {node.get('state')}")
    for host in requested:
        if host not in deployed and host not in failed:
            failed[host] = "not in the deployment's result"
    return deployed, failed


async def _api_nodes(api: G5kApi, addresses: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """``{site: {fqdn: address}}``: the site of each node (from its name, else from the
    reference data) and the full name the API wants."""
    reference = await load_reference(api)
    by_site: dict[str, dict[str, str]] = {}
    for address in addresses:
        site = reference.host_site(address)
        if site is None:
            raise UnknownElementError(
                f"cannot find the site of {address!r}: the API deploys Grid'5000 nodes only"
            )
        by_site.setdefault(site, {})[host_longname(address, site)] = address
    return by_site


async def _deploy_site(
    api: G5kApi,
    site: str,
    body: dict[str, object],
    poll_interval: float,
    uids: dict[str, str],
) -> Mapping[str, Any]:
    created = await api.post_json(f"sites/{site}/deployments", body)
    uid = created.get("uid") if isinstance(created, Mapping) else None
    if not isinstance(uid, str):
        raise G5kDataError(f"POST sites/{site}/deployments: no deployment uid in {created!r}")
    uids[site] = uid
    logger.info("deployment %s on %s: %d node(s)", uid, site, len(body["nodes"]))  # type: ignore[arg-type]
    document: Mapping[str, Any] = created
    try:
        while document.get("status") not in API_FINAL_STATUSES:
            await anyio.sleep(poll_interval)
            document = await api.get_json(f"sites/{site}/deployments/{uid}")
    except BaseException:
        with anyio.CancelScope(shield=True), anyio.move_on_after(30):
            try:
                await api.delete(f"sites/{site}/deployments/{uid}")
                logger.info("deployment %s on %s cancelled", uid, site)
            except Exception as e:
                logger.warning("could not cancel deployment %s on %s: %s", uid, site, e)
        raise
    return document


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    out: list[BaseException] = []
    for e in group.exceptions:
        out += _leaves(e) if isinstance(e, BaseExceptionGroup) else [e]
    return out


def _raise_first(group: BaseExceptionGroup[BaseException]) -> None:
    """One site's request failed (the others were cancelled): raise its error itself (the
    first one, from the group, when several sites failed)."""
    leaves = _leaves(group)
    if not all(isinstance(e, Exception) for e in leaves):
        raise group
    if len(leaves) == 1:
        raise leaves[0]
    raise leaves[0] from group


async def api_deploy(
    deployment: Deployment,
    *,
    api: G5kApi | None = None,
    key: str | None = None,
    api_fields: Mapping[str, object] | None = None,
    poll_interval: float = 10.0,
    timeout: float | None = None,
) -> DeployResult:
    """Deploys through the REST API, one deployment per site, in parallel.

    Args:
        deployment: What to deploy where (nodes by name: ``nova-3`` or
            ``nova-3.lyon.grid5000.fr``).
        api: An open client; None means one made from ``g5k_configuration`` (it needs
            ``api_username``: anonymous writes are refused).
        key: The ssh public key the nodes' root gets; None means the user's first one
            (``~/.ssh/id_ed25519.pub``...), as kadeploy3's ``-k`` gives the user's keys.
        api_fields: More fields of the request (``partition_label``, ``arch``...).
        poll_interval: Seconds between two looks at a deployment's state.
        timeout: Seconds for the whole (None: no limit); on expiry the deployments still
            running are cancelled and their nodes count as undeployed.

    Returns:
        The deployed and undeployed hosts, with the API's reason for each failure;
        ``deployment_uids`` names the deployments made.

    Raises:
        ValueError: The deployment cannot go through the API (see `deployment_request`),
            before any request.
        UnknownElementError: A node whose site cannot be found.
        G5kApiError: The API refused a request (403 for anonymous access...).
    """
    if api is None:
        async with G5kApi() as own:
            return await api_deploy(
                deployment,
                api=own,
                key=key,
                api_fields=api_fields,
                poll_interval=poll_interval,
                timeout=timeout,
            )
    if key is None:
        key = default_public_key()
        if key is None:
            logger.warning(
                "no ssh public key in %s: root on the nodes will not know you",
                os.path.join("~", ".ssh"),
            )
    deployment_request(deployment, [], key=key, fields=api_fields)  # bad input: fail now
    by_site = await _api_nodes(api, deployment.addresses)
    documents: dict[str, Mapping[str, Any]] = {}
    uids: dict[str, str] = {}

    async def one(site: str, nodes: dict[str, str]) -> None:
        body = deployment_request(deployment, list(nodes), key=key, fields=api_fields)
        documents[site] = await _deploy_site(api, site, body, poll_interval, uids)

    with anyio.move_on_after(timeout) as scope:
        try:
            async with anyio.create_task_group() as tg:
                for site, nodes in by_site.items():
                    tg.start_soon(one, site, nodes)
        except BaseExceptionGroup as group:
            _raise_first(group)
    deployed: list[str] = []
    reasons: dict[str, str] = {}
    for site, nodes in by_site.items():
        requested = list(nodes.values())
        if site in documents:
            good, bad = read_api_result(documents[site], requested)
        else:
            why = (
                f"timeout ({timeout} s), deployment cancelled"
                if scope.cancelled_caught
                else "not run"
            )
            good, bad = [], dict.fromkeys(requested, why)
        deployed += good
        reasons.update(bad)
    return DeployResult(
        deployed=sorted_hosts(deployed),
        undeployed=sorted_hosts(reasons),
        reasons=reasons,
        deployment_uids=uids,
    )
