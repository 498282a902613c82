"""kadeploy3, the pure parts: `Deployment`, the argv, the report parser, `DeployResult`.

kadeploy3 ends with a report of the nodes deployed and those that failed. Two forms exist::

    The deployment is successful on nodes          kadeploy >= 3.2 (one list for all clusters)
    node-1.lyon.grid5000.fr
    The deployment failed on nodes
    node-2.lyon.grid5000.fr (Deploy[SetDeploymentEnvUntrusted-wait_reboot]: Timeout)

    Nodes correctly deployed on cluster sagittaire kadeploy < 3.2 (one block per cluster)
    sagittaire-1.lyon.grid5000.fr
    Nodes not correctly deployed on cluster sagittaire
    sagittaire-2.lyon.grid5000.fr (stderr: reboot failed)

Both are read by `KadeployReportParser`, line by line (also with a pty's ``\r\n``, with
kadeploy's ``-d`` debug lines around, and with 3.0's "not Correctly" and early 3.2's "The
deployment operation failed on nodes"). The actions that run kadeploy3 are in
`_kadeployer`, `deploy` in `_deploy`.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import shlex
from collections.abc import Iterable, Iterator, Mapping, Sequence

from execo import Host
from execo._core._process import ProcessBase

from . import config as _config_module
from ._hostnames import natural_sort_key

__all__ = [
    "DeployResult",
    "Deployment",
    "KadeployReportParser",
    "group_by_site",
    "host_site",
    "kadeploy_argv",
    "match_node",
    "parse_kadeploy_output",
    "sorted_hosts",
]

_GOOD = re.compile(
    r"^(?:The \S+ is successful on nodes|Nodes correctly deployed on cluster \S+)$", re.IGNORECASE
)
_BAD = re.compile(
    r"^(?:The \S+ (?:operation )?failed on nodes|Nodes not correctly deployed on cluster \S+)$",
    re.IGNORECASE,
)
_OTHER = re.compile(r"^Nodes \w+ on cluster \S+$", re.IGNORECASE)  # "breakpointed"
_NODE = re.compile(r"^([A-Za-z0-9][\w.-]*)(?:\s+\((.*)\))?$")
_SITE_HOST = re.compile(r"^[^.\s]+\.([^.\s]+)(?:\.grid5000\.fr)?$")
_STDERR = re.compile(r"^stderr:\s*")


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

    Without `env_file` and `env_name`, ``g5k_configuration["default_env_name"]`` or
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
    config = _config_module.current_g5k_configuration()
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


class KadeployReportParser:
    """Reads kadeploy3's output line by line and keeps its final report (sans I/O).

    Attributes:
        deployed: Nodes reported deployed, in the order printed.
        failed: ``{node: reason}`` of the nodes reported not deployed (reason ``"failed"``
            when kadeploy gave none).
    """

    def __init__(self) -> None:
        self.deployed: list[str] = []
        self.failed: dict[str, str] = {}
        self._section: str | None = None

    def feed_line(self, line: str) -> tuple[str, str | None] | None:
        """Reads one line; returns ``(node, None)`` for a node reported deployed,
        ``(node, reason)`` for one reported failed, None for any other line."""
        text = line.strip("\r\n").strip()
        if _GOOD.match(text):
            self._section = "good"
            return None
        if _BAD.match(text):
            self._section = "bad"
            return None
        if _OTHER.match(text):
            self._section = "other"
            return None
        m = _NODE.match(text)
        if m is None or self._section is None:
            self._section = None
            return None
        node, reason = m.group(1), m.group(2)
        if self._section == "bad":
            why = _STDERR.sub("", reason or "").strip() or "failed"
            self.failed[node] = why
            return node, why
        if self._section == "good" and reason is None:
            self.deployed.append(node)
            return node, None
        if self._section == "good":
            self._section = None
        return None


def parse_kadeploy_output(output: str) -> tuple[list[str], dict[str, str]]:
    """The deployed nodes and the failed ones (with kadeploy's reason) of a report.

    Returns:
        ``(deployed, {undeployed: reason})``, in the order printed.
    """
    parser = KadeployReportParser()
    for line in output.replace("\r\n", "\n").split("\n"):
        parser.feed_line(line)
    return parser.deployed, parser.failed


@dataclasses.dataclass(frozen=True, slots=True)
class DeployResult:
    """Which nodes are deployed; unpacks as execo's pair: ``deployed, undeployed = ...``.

    Attributes:
        deployed: Deployed hosts, naturally sorted.
        undeployed: The others, naturally sorted.
        reasons: Why each undeployed host failed, when known.
        processes: The kadeploy3 processes run (with their full output).
        deployment_uids: Through the REST API: ``{site: uid}`` of the deployments made.
    """

    deployed: list[Host]
    undeployed: list[Host]
    reasons: Mapping[str, str] = dataclasses.field(default_factory=dict)
    processes: list[ProcessBase] = dataclasses.field(default_factory=list, repr=False)
    deployment_uids: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __iter__(self) -> Iterator[list[Host]]:
        return iter((self.deployed, self.undeployed))


def sorted_hosts(addresses: Iterable[str]) -> list[Host]:
    """Hosts for `addresses`, duplicates removed, naturally sorted (``n-2`` before ``n-10``)."""
    return [Host(a) for a in sorted(set(addresses), key=natural_sort_key)]


def host_site(address: str) -> str | None:
    """The site of ``node.site[.grid5000.fr]``; None (the default frontend) for a bare name
    or an IP address.

    Raises:
        ValueError: Another kind of name (the frontend cannot be told).
    """
    if "." not in address:
        return None
    try:
        ipaddress.ip_address(address)
    except ValueError:
        pass
    else:
        return None
    m = _SITE_HOST.match(address)
    if m is None:
        raise ValueError(f"cannot tell the frontend of host {address!r}")
    return m.group(1)


def group_by_site(addresses: Iterable[str]) -> dict[str | None, list[str]]:
    """``{site: [addresses]}`` in order (None: the default frontend); see `host_site`."""
    groups: dict[str | None, list[str]] = {}
    for address in addresses:
        groups.setdefault(host_site(address), []).append(address)
    return groups


def match_node(printed: str, requested: Sequence[str]) -> str | None:
    """Which of the `requested` addresses kadeploy means by `printed` (it prints FQDNs
    for the short names it was given): the same name, else the same first label."""
    if printed in requested:
        return printed
    short = printed.split(".", 1)[0]
    candidates = [r for r in requested if r.split(".", 1)[0] == short]
    return candidates[0] if len(candidates) == 1 else None
