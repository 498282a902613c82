"""kadeploy3: deploy an environment on nodes, and `deploy` with checks and retries (async).

`kadeploy` runs one ``kadeploy3`` per frontend (the nodes' sites), in parallel, and reads
the final report it prints::

    The deployment is successful on nodes
    node-1.lyon.grid5000.fr
    The deployment failed on nodes
    node-2.lyon.grid5000.fr (Deploy[SetDeploymentEnvUntrusted]: reboot timeout)

(kadeploy < 3.2 printed ``Nodes correctly deployed on cluster X`` / ``Nodes not correctly
deployed on cluster X``; both forms are read.) `deploy` first asks the nodes whether they
are already deployed (``check_deployed_command`` over ssh), then deploys the others, up to
``num_tries`` times, until ``check_enough_func`` is satisfied. It never raises because
nodes failed: the caller reads the result.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import shlex
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import anyio

from execo import Host, OutputHandlerSpec, Remote
from execo._core._config import ConnectionParamsLike
from execo._core._process import ProcessBase

from . import config as _config_module
from ._frontend import frontend_process, get_kavlan_host_name
from ._hostnames import natural_sort_key

__all__ = [
    "DeployResult",
    "Deployment",
    "deploy",
    "kadeploy",
    "kadeploy_argv",
    "parse_kadeploy_output",
]

logger = logging.getLogger("execo_g5k.kadeploy")

_GOOD = re.compile(
    r"^(?:The \S+ is successful on nodes|Nodes correctly deployed on cluster \S+)\s*$"
)
_BAD = re.compile(r"^(?:The \S+ failed on nodes|Nodes not correctly deployed on cluster \S+)\s*$")
_NODE = re.compile(r"^(\S+)(?:\s+\((.*)\))?\s*$")
_SITE_HOST = re.compile(r"^[^.\s]+\.([^.\s]+)(?:\.grid5000\.fr)?$")


@dataclasses.dataclass(frozen=True, slots=True)
class Deployment:
    """What to deploy where (execo's ``Deployment``, frozen).

    Attributes:
        hosts: The nodes (Hosts or names); stored as a tuple of addresses, duplicates
            removed.
        env_file: Environment description file (``kadeploy3 -a``).
        env_name: Registered environment name (``kadeploy3 -e``).
        user: Owner of the registered environment (``-u``).
        vlan: KaVLAN id (``--vlan``); `deploy` then checks the nodes on their kavlan names.
        other_options: More kadeploy3 arguments (an argv list, or a string shell-split).

    Without `env_file` and `env_name`, ``g5k_configuration.default_env_name`` or
    ``default_env_file`` is used when the command is built.
    """

    hosts: Sequence[Host | str]
    env_file: str | None = None
    env_name: str | None = None
    user: str | None = None
    vlan: int | None = None
    other_options: str | Sequence[str] | None = None

    def __post_init__(self) -> None:
        addresses = [h.address if isinstance(h, Host) else str(h) for h in self.hosts]
        object.__setattr__(self, "hosts", tuple(dict.fromkeys(addresses)))
        if self.env_file and self.env_name:
            raise ValueError("a Deployment takes env_file or env_name, not both")
        options = self.other_options
        if isinstance(options, str):
            options = shlex.split(options)
        object.__setattr__(self, "other_options", tuple(options or ()))

    @property
    def addresses(self) -> tuple[str, ...]:
        """The nodes' addresses."""
        return tuple(str(h) for h in self.hosts)


def kadeploy_argv(deployment: Deployment, hosts: Iterable[str] | None = None) -> list[str]:
    """The ``kadeploy3`` argv for `deployment` on `hosts` (default: all its hosts).

    Raises:
        ValueError: No environment given and none (or both) configured.
    """
    config = _config_module.g5k_configuration
    argv = [config.kadeploy3, *shlex.split(config.kadeploy3_options)]
    if deployment.env_name:
        argv += ["-e", deployment.env_name]
    elif deployment.env_file:
        argv += ["-a", deployment.env_file]
    elif config.default_env_name and config.default_env_file:
        raise ValueError("configure default_env_name or default_env_file, not both")
    elif config.default_env_name:
        argv += ["-e", config.default_env_name]
    elif config.default_env_file:
        argv += ["-a", config.default_env_file]
    else:
        raise ValueError("no environment: give env_name or env_file (or configure a default)")
    if deployment.user:
        argv += ["-u", deployment.user]
    if deployment.vlan is not None:
        argv += ["--vlan", str(deployment.vlan)]
    assert isinstance(deployment.other_options, tuple)
    argv += list(deployment.other_options)
    for host in deployment.addresses if hosts is None else hosts:
        argv += ["-m", host]
    return argv


def parse_kadeploy_output(output: str) -> tuple[list[str], dict[str, str]]:
    """The deployed nodes and the failed ones (with kadeploy's reason) of a report.

    Returns:
        ``(deployed, {undeployed: reason})``, in the order printed.
    """
    deployed: list[str] = []
    failed: dict[str, str] = {}
    section = None
    for line in output.replace("\r", "").splitlines():
        if _GOOD.match(line):
            section = "good"
            continue
        if _BAD.match(line):
            section = "bad"
            continue
        m = _NODE.match(line)
        if m is None or section is None:
            section = None
        elif section == "bad":
            failed[m.group(1)] = m.group(2) or "failed"
        elif m.group(2) is None:
            deployed.append(m.group(1))
        else:
            section = None
    return deployed, failed


@dataclasses.dataclass(frozen=True, slots=True)
class DeployResult:
    """Which nodes are deployed; unpacks as execo's pair: ``deployed, undeployed = ...``.

    Attributes:
        deployed: Deployed hosts, naturally sorted.
        undeployed: The others, naturally sorted.
        reasons: Why each undeployed host failed, when known.
        processes: The kadeploy3 processes run (with their full output).
    """

    deployed: list[Host]
    undeployed: list[Host]
    reasons: Mapping[str, str] = dataclasses.field(default_factory=dict)
    processes: list[ProcessBase] = dataclasses.field(default_factory=list, repr=False)

    def __iter__(self) -> Iterator[list[Host]]:
        return iter((self.deployed, self.undeployed))


def _sorted_hosts(addresses: Iterable[str]) -> list[Host]:
    return [Host(a) for a in sorted(set(addresses), key=natural_sort_key)]


def host_site(address: str) -> str | None:
    """The site of ``node.site[.grid5000.fr]``; None for a bare name (default frontend)."""
    if "." not in address:
        return None
    m = _SITE_HOST.match(address)
    if m is None:
        raise ValueError(f"cannot tell the frontend of host {address!r}")
    return m.group(1)


async def kadeploy(
    deployment: Deployment,
    *,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | None = None,
    stdout_handlers: Sequence[OutputHandlerSpec] = (),
    stderr_handlers: Sequence[OutputHandlerSpec] = (),
) -> DeployResult:
    """Runs kadeploy3 once on the frontend of each site of the nodes, in parallel.

    Args:
        deployment: What to deploy where.
        frontend_connection_params: Overrides of `default_frontend_connection_params`.
        timeout: Seconds for each kadeploy3 (None: no limit); on expiry kadeploy3 is
            killed and its nodes count as undeployed.
        stdout_handlers, stderr_handlers: Where else kadeploy3's output goes.

    Returns:
        The deployed and undeployed hosts; a node that kadeploy's report does not mention
        counts as undeployed.
    """
    by_site: dict[str | None, list[str]] = {}
    for address in deployment.addresses:
        by_site.setdefault(host_site(address), []).append(address)
    processes = [
        frontend_process(
            kadeploy_argv(deployment, hosts),
            site,
            frontend_connection_params=frontend_connection_params,
            timeout=timeout,
            stdout_handlers=stdout_handlers,
            stderr_handlers=stderr_handlers,
            nolog_exit_code=True,
        )
        for site, hosts in by_site.items()
    ]
    async with anyio.create_task_group() as tg:
        for process in processes:
            tg.start_soon(process.run)
    deployed: set[str] = set()
    reasons: dict[str, str] = {}
    for process, hosts in zip(processes, by_site.values(), strict=True):
        good, bad = parse_kadeploy_output(process.stdout)
        for host in hosts:
            if host in good and host not in bad:
                deployed.add(host)
            else:
                reasons[host] = bad.get(host) or f"not reported deployed ({process.status.value})"
        if not process.ok:
            logger.warning("kadeploy3: %s", process.failure_summary())
    return DeployResult(
        deployed=_sorted_hosts(deployed),
        undeployed=_sorted_hosts(reasons),
        reasons=reasons,
        processes=processes,
    )


CheckEnough = Callable[[list[Host], list[Host]], bool]


async def deploy(
    deployment: Deployment,
    check_deployed_command: str | bool | None = True,
    node_connection_params: ConnectionParamsLike = None,
    num_tries: int = 1,
    check_enough_func: CheckEnough | None = None,
    *,
    frontend_connection_params: ConnectionParamsLike = None,
    deploy_timeout: float | None = None,
    check_timeout: float = 30.0,
    stdout_handlers: Sequence[OutputHandlerSpec] = (),
    stderr_handlers: Sequence[OutputHandlerSpec] = (),
) -> DeployResult:
    """Deploys the nodes that need it, retrying, until enough are deployed.

    1. With a check command, run it on every node over ssh: those where it succeeds are
       already deployed (kadeploy is not run for them).
    2. While ``check_enough_func(deployed, undeployed)`` is false and fewer than
       `num_tries` kadeploy runs were made: run `kadeploy` on the undeployed nodes, then
       re-check them (with the command, or from kadeploy's report).

    Args:
        deployment: What to deploy where.
        check_deployed_command: A shell command that succeeds on a deployed node; True
            means ``g5k_configuration.check_deployed_command``; None or False means trust
            kadeploy's report.
        node_connection_params: How to reach the nodes for the check (default: as root).
        num_tries: At most this many kadeploy runs.
        check_enough_func: ``(deployed, undeployed) -> bool``; default: nothing undeployed.
        frontend_connection_params: Overrides of `default_frontend_connection_params`.
        deploy_timeout: Seconds for each kadeploy run (None: no limit).
        check_timeout: Seconds for each check.
        stdout_handlers, stderr_handlers: Where else kadeploy3's output goes.

    Returns:
        The deployed and undeployed hosts (Hosts, not strings as in execo); never raises
        because nodes failed.
    """
    if check_enough_func is None:

        def check_enough_func(deployed: list[Host], undeployed: list[Host]) -> bool:
            return not undeployed

    command: str | None
    if check_deployed_command is True:
        command = _config_module.g5k_configuration.check_deployed_command
    elif check_deployed_command in (False, None):
        command = None
    else:
        assert isinstance(check_deployed_command, str)
        command = check_deployed_command
    node_params = node_connection_params if node_connection_params is not None else {"user": "root"}

    async def check(addresses: Iterable[str]) -> set[str]:
        assert command is not None
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
                "timeout": check_timeout,
                "nolog_exit_code": True,
                "nolog_timeout": True,
                "nolog_error": True,
            },
        )
        await remote.run()
        ok = {names[p.host.address] for p in remote.processes if p.ok and p.host is not None}
        logger.info("deployed already: %s", sorted(ok, key=natural_sort_key) or "none")
        return ok

    deployed: set[str] = set()
    undeployed = set(deployment.addresses)
    reasons: dict[str, str] = {}
    processes: list[ProcessBase] = []
    if command is not None:
        deployed = await check(undeployed)
        undeployed -= deployed
    tries = 0
    while not check_enough_func(_sorted_hosts(deployed), _sorted_hosts(undeployed)):
        if tries >= num_tries or not undeployed:
            break
        tries += 1
        logger.info("kadeploy try %d/%d on %d node(s)", tries, num_tries, len(undeployed))
        result = await kadeploy(
            dataclasses.replace(deployment, hosts=_sorted_hosts(undeployed)),
            frontend_connection_params=frontend_connection_params,
            timeout=deploy_timeout,
            stdout_handlers=stdout_handlers,
            stderr_handlers=stderr_handlers,
        )
        processes += result.processes
        reasons.update(result.reasons)
        if command is not None:
            newly = await check(undeployed)
        else:
            newly = {h.address for h in result.deployed}
        deployed |= newly
        undeployed -= newly
    return DeployResult(
        deployed=_sorted_hosts(deployed),
        undeployed=_sorted_hosts(undeployed),
        reasons={h: reasons.get(h, "check failed") for h in undeployed},
        processes=processes,
    )
