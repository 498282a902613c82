"""What both kinds of local cluster share: the node record and the operations' defaults."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .._core._host import Host
from ._errors import NotSupportedError, TestbedError
from ._state import ClusterState

__all__ = [
    "MARKER",
    "Backend",
    "Node",
    "Shaping",
    "remove_workdir",
    "run_tool",
    "write_ssh_config",
]

MARKER = ".execo-testbed"
"""A file in every work directory we create: only such directories are ever removed."""


# A tc rate: a number, an SI or IEC prefix, bit (or none) or bps (bytes).
_TC_RATE = re.compile(r"(\d+(?:\.\d+)?)([kmgt]?)(i?)(bit|bps)?")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """One host of a local cluster, as the controller sees it.

    Attributes:
        name: its name (``node-1`` ...): its hostname in netns mode, its alias in
            :attr:`LocalCluster.ssh_config <execo.testbed.LocalCluster.ssh_config>`.
        host: how to reach it (address, port, client key).
        home: the directory that is its ``HOME`` (private to this host), seen from here.
        tmp: the directory it sees as ``/tmp`` (netns mode with ``private_tmp``), or None.
        namespace: its network namespace (netns mode), or None.
    """

    name: str
    host: Host
    home: Path
    tmp: Path | None = None
    namespace: str | None = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Shaping:
    """Traffic shaping of a host's outgoing packets (``tc netem`` parameters); pure.

    Args:
        delay: added one-way latency, seconds.
        jitter: delay variation, seconds.
        loss: packet loss, percent (0-100).
        rate: bandwidth: bits per second, or a tc rate string such as ``"10mbit"``.

    Raises:
        ValueError: a negative delay or jitter, a loss outside 0-100, a rate <= 0.
    """

    delay: float | None = None
    jitter: float | None = None
    loss: float | None = None
    rate: str | int | None = None

    def __post_init__(self) -> None:
        for name in ("delay", "jitter"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise ValueError(f"{name} must be >= 0 seconds, got {value!r}")
        if self.loss is not None and not 0 <= self.loss <= 100:
            raise ValueError(f"loss is a percentage (0-100), got {self.loss!r}")
        if isinstance(self.rate, int) and self.rate <= 0:
            raise ValueError(f"rate must be > 0 bits per second, got {self.rate!r}")

    @property
    def empty(self) -> bool:
        """No shaping at all."""
        return self.delay is self.jitter is self.loss is self.rate is None

    @property
    def rate_only(self) -> bool:
        """Only a rate limit (which a token bucket filter can do without netem)."""
        return self.rate is not None and self.delay is self.jitter is self.loss is None

    def tc_rate(self) -> str | None:
        """The rate as tc writes it."""
        return f"{self.rate}bit" if isinstance(self.rate, int) else self.rate

    def bits_per_second(self) -> float | None:
        """The rate in bit/s (``None``: no rate, or a tc unit this does not know)."""
        if self.rate is None or isinstance(self.rate, int):
            return self.rate
        m = _TC_RATE.fullmatch(self.rate.strip().lower())
        if m is None:
            return None
        prefix: str = m.group(2)
        scale: float = (1024 if m.group(3) else 1000) ** " kmgt".index(prefix or " ")
        return float(m.group(1)) * scale * (8 if m.group(4) == "bps" else 1)

    def tbf_args(self) -> list[str]:
        """The ``tc qdisc ... tbf`` arguments for the rate alone.

        The bucket holds a clock tick of the rate (4 ms, as at HZ = 250; tc-tbf(8) asks for
        at least rate / HZ), and never less than 32 KiB. A bucket smaller than the 64 KiB
        segments that TCP hands the device makes tbf cut every segment into packets in
        software: at 1 Gbit/s a 32 KiB bucket cost 1.9 s of CPU per 200 MB against 0.25 s
        for 512 KiB, at the same rate (a NIC cuts them in hardware).
        """
        rate = self.tc_rate()
        assert rate is not None, "tbf_args needs a rate"
        bits = self.bits_per_second()
        burst = max(32 * 1024, int(bits / 8 * 0.004)) if bits is not None else 32 * 1024
        return ["tbf", "rate", rate, "burst", str(burst), "latency", "400ms"]

    def netem_args(self) -> list[str]:
        """The ``tc qdisc ... netem`` arguments."""
        args = []
        if self.delay is not None or self.jitter is not None:
            args += ["delay", f"{(self.delay or 0) * 1000:.3f}ms"]
            if self.jitter is not None:
                args.append(f"{self.jitter * 1000:.3f}ms")
        if self.loss is not None:
            args += ["loss", f"{self.loss}%"]
        rate = self.tc_rate()
        if rate is not None:
            args += ["rate", rate]
        return args


class Backend:
    """One way of making a cluster (netns or loopback); the fault operations it cannot do
    raise :class:`NotSupportedError`."""

    mode: str = ""

    def __init__(self, state: ClusterState) -> None:
        self.state = state
        self.nodes: list[Node] = []

    @property
    def workdir(self) -> Path:
        return Path(self.state.workdir)

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def kill_sshd(self, node: Node) -> None:
        raise NotImplementedError

    def restart_sshd(self, node: Node) -> None:
        raise NotImplementedError

    def _unsupported(self, what: str) -> NotSupportedError:
        return NotSupportedError(
            f"{what} needs the netns mode (network namespaces, as root); this cluster is in "
            f"{self.mode} mode"
        )

    def set_link(self, node: Node, up: bool) -> None:
        raise self._unsupported("taking a host down")

    def cut_link(self, a: Node, b: Node, cut: bool) -> None:
        raise self._unsupported("cutting a link")

    def set_qdisc(self, node: Node, shaping: Shaping) -> None:
        raise self._unsupported("netem (delay, loss, rate)")


def run_tool(argv: Sequence[str], *, input: str | None = None) -> str:
    """Run a system tool (ip, tc, ...), return its stdout.

    Raises:
        TestbedError: it failed; the message has its command line and stderr.
    """
    try:
        done = subprocess.run(list(argv), input=input, capture_output=True, text=True)
    except OSError as e:
        raise TestbedError(f"cannot run {argv[0]}: {e}") from e
    if done.returncode != 0:
        raise TestbedError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def write_ssh_config(path: Path, nodes: Sequence[Node]) -> None:
    """An ssh client configuration naming every node: ``ssh -F <path> node-1``."""
    entries = []
    for node in nodes:
        entries.append(
            f"Host {node.name}\n"
            f"  HostName {node.host.address}\n"
            f"  Port {node.host.port}\n"
            f"  IdentityFile {node.host.keyfile}\n"
            "  IdentitiesOnly yes\n"
            "  StrictHostKeyChecking no\n"
            "  UserKnownHostsFile /dev/null\n"
            "  LogLevel ERROR\n"
        )
    path.write_text("".join(entries))


def remove_workdir(workdir: str) -> None:
    """Remove a cluster work directory, if it carries our marker file."""
    path = Path(workdir)
    if workdir and (path / MARKER).exists():
        shutil.rmtree(path, ignore_errors=True)
