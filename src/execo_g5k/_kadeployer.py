"""`Kadeployer`: kadeploy3 on the frontend of each site of the nodes, as one action.

One ``kadeploy3`` process per frontend runs the nodes of its site (nodes named without a site
go to the default frontend, or run here when there is none). Each process's stdout is read
as it comes by a `KadeployReportParser`, so `Kadeployer.deployed_hosts` and
`undeployed_hosts` fill in while kadeploy prints its report. User output handlers get every
line prefixed with the frontend's name (``lyon: ...``), as execo's did.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from execo import (
    Action,
    ActionLifecycleHandler,
    Host,
    LineSplitter,
    OutputHandler,
    ProcessStatus,
)
from execo._actions._action import _Started
from execo._core._config import ConnectionParamsLike
from execo._core._output import Stream
from execo._core._process import OutputHandlerSpec, ProcessBase, make_sink

from ._frontend import frontend_process, get_default_frontend
from ._kadeploy import (
    Deployment,
    DeployResult,
    KadeployReportParser,
    group_by_site,
    kadeploy_argv,
    match_node,
    sorted_hosts,
)

__all__ = ["Kadeployer", "kadeploy"]

logger = logging.getLogger("execo_g5k.kadeploy")


class _Prefixed(OutputHandler):
    """Forwards whole lines, prefixed, to a user's output handler."""

    def __init__(self, prefix: str, spec: OutputHandlerSpec) -> None:
        self._prefix = prefix
        self._spec = spec
        self._sink = make_sink(spec)
        self._splitter = LineSplitter()
        self._opened = False

    def data_received(self, process: ProcessBase, stream: Stream, text: str, eof: bool) -> None:
        if not self._opened:
            self._sink.open()
            self._opened = True
        lines = self._splitter.feed(text, eof)
        out = "".join(f"{self._prefix}{line}\n" for line in lines)
        self._sink.feed(process, stream, out, eof)
        if eof:
            self._sink.close()
            self._opened = False
            self._splitter = LineSplitter()

    def __repr__(self) -> str:
        return f"<prefixed {self._prefix!r} {self._spec!r}>"


class _ReportReader(OutputHandler):
    """Feeds one kadeploy3's stdout to the parser and records what it says of each node."""

    def __init__(self, kadeployer: Kadeployer, hosts: Sequence[str]) -> None:
        self._kadeployer = kadeployer
        self._hosts = list(hosts)
        self._parser = KadeployReportParser()
        self._splitter = LineSplitter()

    def data_received(self, process: ProcessBase, stream: Stream, text: str, eof: bool) -> None:
        for line in self._splitter.feed(text, eof):
            reported = self._parser.feed_line(line)
            if reported is None:
                continue
            printed, reason = reported
            host = match_node(printed, self._hosts)
            if host is None:
                logger.debug("kadeploy3 reports %r, which was not asked for", printed)
            else:
                self._kadeployer._record(host, reason)

    def __repr__(self) -> str:
        return f"<kadeploy3 report reader of {len(self._hosts)} hosts>"


class Kadeployer(Action):
    """Deploys with kadeploy3: one process per frontend, the nodes grouped by site.

    ``await Kadeployer(deployment).run()``, or ``async with Kadeployer(...) as k:``. The
    nodes are grouped by their site (``node-1.lyon.grid5000.fr`` and ``node-1.lyon`` go to
    ``lyon``; bare names and IP addresses to the default frontend); each group runs
    ``kadeploy3 ... -m node ...`` on its site's frontend (see `frontend_process`).

    Args:
        deployment: What to deploy where.
        frontend_connection_params: Overrides of `default_frontend_connection_params`.
        stdout_handlers, stderr_handlers: Where else kadeploy3's output goes; each line is
            prefixed with ``"<frontend>: "``.
        timeout: Seconds for the whole deployment (None: no limit); on expiry the kadeploy3
            processes are killed (on the frontends too) and marked timed out, and the nodes
            not reported deployed count as undeployed. (execo 2.8.2 lost this timeout.)
        name: Display name.
        lifecycle_handlers: :class:`~execo.ActionLifecycleHandler` objects.

    Raises:
        ValueError: At construction, before anything runs: no environment (given or
            configured), or a node whose site cannot be told from its name.

    Attributes:
        deployment: The deployment.
        frontends: The frontends (sites; None for the default one), one process each.
        deployed_hosts: Hosts reported deployed (so far, while running).
        undeployed_hosts: The others, once ended (so far: those reported failed).
        reasons: Why each undeployed host is undeployed.
    """

    _kind = "Kadeployer"

    def __init__(
        self,
        deployment: Deployment,
        *,
        frontend_connection_params: ConnectionParamsLike = None,
        stdout_handlers: Iterable[OutputHandlerSpec] = (),
        stderr_handlers: Iterable[OutputHandlerSpec] = (),
        timeout: float | None = None,
        name: str | None = None,
        lifecycle_handlers: Iterable[ActionLifecycleHandler] = (),
    ) -> None:
        super().__init__(name=name, timeout=timeout, lifecycle_handlers=lifecycle_handlers)
        if not isinstance(deployment, Deployment):
            raise TypeError(f"Kadeployer needs a Deployment, got {deployment!r}")
        if not deployment.addresses:
            raise ValueError("Kadeployer: the deployment has no hosts")
        self.deployment = deployment
        self.frontend_connection_params = frontend_connection_params
        self.stdout_handlers = list(stdout_handlers)
        self.stderr_handlers = list(stderr_handlers)
        self._groups = group_by_site(deployment.addresses)
        self._argvs = {
            site: kadeploy_argv(deployment, hosts) for site, hosts in self._groups.items()
        }
        self._outcome: dict[str, str | None] = {}
        self._conflicts: set[str] = set()
        self._processes = self._build()

    @property
    def frontends(self) -> list[str | None]:
        return list(self._groups)

    def _default_name(self) -> str:
        n, m = len(self.deployment.addresses), len(self._groups)
        return f"Kadeployer on {n} hosts / {m} frontends"

    def _build(self) -> list[ProcessBase]:
        processes: list[ProcessBase] = []
        for site, hosts in self._groups.items():
            label = site or get_default_frontend() or "local"
            out: list[OutputHandlerSpec] = [_ReportReader(self, hosts)]
            out += [_Prefixed(f"{label}: ", h) for h in self.stdout_handlers]
            err: list[OutputHandlerSpec] = [
                _Prefixed(f"{label}: ", h) for h in self.stderr_handlers
            ]
            processes.append(
                frontend_process(
                    self._argvs[site],
                    site,
                    frontend_connection_params=self.frontend_connection_params,
                    timeout=None,
                    stdout_handlers=out,
                    stderr_handlers=err,
                    ignore_exit_code=True,  # partial failures are in the report
                    nolog_exit_code=True,
                    name=f"kadeploy3 on {label}",
                )
            )
        return processes

    def _reset_processes(self) -> None:
        self._outcome = {}
        self._conflicts = set()
        self._processes = self._build()

    def _record(self, host: str, reason: str | None) -> None:
        previous = self._outcome.get(host, "")
        if host in self._outcome and (previous is None) != (reason is None):
            self._conflicts.add(host)
        self._outcome[host] = reason

    # ------------------------------------------------------------------ results

    def _process_of(self, host: str) -> ProcessBase:
        for (_, hosts), process in zip(self._groups.items(), self._processes, strict=True):
            if host in hosts:
                return process
        raise KeyError(host)

    @property
    def deployed_hosts(self) -> set[Host]:
        return {
            Host(h)
            for h, reason in self._outcome.items()
            if reason is None and h not in self._conflicts
        }

    @property
    def reasons(self) -> dict[str, str]:
        reasons: dict[str, str] = {}
        for host in self.deployment.addresses:
            if host in self._conflicts:
                reasons[host] = "reported both deployed and not deployed"
            elif host not in self._outcome:
                if self.ended:
                    reasons[host] = f"not in kadeploy3's report ({_how(self._process_of(host))})"
            elif (reason := self._outcome[host]) is not None:
                reasons[host] = reason
        return reasons

    @property
    def undeployed_hosts(self) -> set[Host]:
        return {Host(h) for h in self.reasons}

    @property
    def ok(self) -> bool:
        """The kadeploy3 processes ran (no error, no timeout), no node was reported both
        ways, and, once ended, at least one node is deployed (undeployed ones only warn)."""
        if not super().ok or self._conflicts:
            return False
        return not self.ended or bool(self.deployed_hosts)

    def result(self) -> DeployResult:
        """The deployed and undeployed hosts, naturally sorted, with the reasons."""
        reasons = self.reasons
        return DeployResult(
            deployed=sorted_hosts(h.address for h in self.deployed_hosts),
            undeployed=sorted_hosts(reasons),
            reasons=reasons,
            processes=list(self._processes),
        )

    def _log_outcome(self) -> None:
        reasons = self.reasons
        for process in self._processes:
            if not process.ok:
                logger.warning("%s: %s", self.name, process.failure_summary())
        if not self.deployed_hosts:
            logger.warning("%s: no node deployed", self.name)
        elif reasons:
            logger.warning(
                "%s: %d node(s) not deployed: %s",
                self.name,
                len(reasons),
                ", ".join(f"{h} ({r})" for h, r in reasons.items()),
            )
        else:
            logger.info("%s: every node deployed", self.name)

    async def _body(self, status: _Started) -> None:
        try:
            await super()._body(status)
        finally:
            self._log_outcome()


def _how(process: ProcessBase) -> str:
    """How a kadeploy3 process ended, in a few words (with its last stderr line)."""
    if process.exit_code not in (0, None) and process.status is ProcessStatus.OK:
        how = f"kadeploy3: exit code {process.exit_code}"  # ok only thanks to ignore_exit_code
    else:
        how = f"kadeploy3: {process.status.value}"
    last = process.stderr.strip().splitlines()[-1:] if process.stderr else []
    return how + (f": {last[0]}" if last else "")


async def kadeploy(
    deployment: Deployment,
    *,
    frontend_connection_params: ConnectionParamsLike = None,
    timeout: float | None = None,
    stdout_handlers: Sequence[OutputHandlerSpec] = (),
    stderr_handlers: Sequence[OutputHandlerSpec] = (),
) -> DeployResult:
    """Runs a `Kadeployer` and returns its result.

    Args:
        deployment: What to deploy where.
        frontend_connection_params: Overrides of `default_frontend_connection_params`.
        timeout: Seconds for the deployment (None: no limit); on expiry kadeploy3 is killed
            and its nodes not reported deployed count as undeployed.
        stdout_handlers, stderr_handlers: Where else kadeploy3's output goes.

    Returns:
        The deployed and undeployed hosts; a node that kadeploy's report does not mention
        counts as undeployed.
    """
    kadeployer = Kadeployer(
        deployment,
        frontend_connection_params=frontend_connection_params,
        stdout_handlers=stdout_handlers,
        stderr_handlers=stderr_handlers,
        timeout=timeout,
    )
    await kadeployer.run()
    return kadeployer.result()
