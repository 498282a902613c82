"""The netns cluster (root): one network namespace, hostname and sshd per host, on a bridge.

Layout of cluster slot ``K`` (0 to 255), within the subnet (default ``10.251.0.0/16``)::

    root namespace: bridge exbrK = 10.251.K.254/24
      ├── veth exvK-1 ──── eth0 = 10.251.K.1 in namespace execoK-node-1
      ├── veth exvK-2 ──── eth0 = 10.251.K.2 in namespace execoK-node-2
      ...

Each host's sshd runs as ``ip netns exec <ns> unshare --uts --mount -- sh -c '...; exec
sshd'``: its own network stack, hostname (UTS namespace) and mount namespace, where
``/tmp`` is bind-mounted from the host's private directory and ``/etc/hosts`` names every
host. ``HOME`` is the host's private home directory (sshd's ``SetEnv``). The rest of the
file system is the machine's.

Teardown kills every process inside the namespaces (found through ``/proc/*/ns/net``) and the
recorded sshd PIDs, deletes the namespaces (the kernel then destroys their veths in one
batch), then the bridge and any veth left.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from .._core._host import Host
from ._backend import (
    MARKER,
    Backend,
    Node,
    Shaping,
    remove_workdir,
    run_tool,
    write_ssh_config,
)
from ._errors import NotSupportedError, TestbedError
from ._sshd import (
    find_sshd,
    make_keys,
    spawn_logged,
    sshd_config,
    wait_ssh_banners,
    write_login_script,
)
from ._state import (
    ClusterState,
    claim_state,
    kill_refs,
    netns_pids,
    proc_ref,
    remove_state,
    wait_gone,
    write_state,
)

__all__ = ["DEFAULT_SUBNET", "NetnsBackend", "netns_available", "netns_teardown"]

DEFAULT_SUBNET = "10.251.0.0/16"
MAX_HOSTS = 253
_SSH_PORT = 22
_LOCK_FILE = "/run/execo-testbed.lock"

_NODE_SCRIPT = (
    'hostname "$1" && '
    'if [ -n "$2" ]; then mount --bind "$2" /tmp; fi && '
    'mount --bind "$3" /etc/hosts && '
    'exec "$4" -D -e -f "$5"'
)


def netns_available() -> str | None:
    """None if this process can make netns clusters, else the reason why not."""
    if os.geteuid() != 0:
        return "not root"
    for tool in ("ip", "unshare", "mount", "hostname", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"{tool} not found"
    try:
        find_sshd()
    except FileNotFoundError as e:
        return str(e)
    return None


def _names(slot: int, n: int, prefix: str) -> tuple[str, list[str], list[str], list[str]]:
    """Bridge, node names, veths and namespaces of cluster slot ``slot``."""
    names = [f"{prefix}-{i}" for i in range(1, n + 1)]
    veths = [f"exv{slot}-{i}" for i in range(1, n + 1)]
    namespaces = [f"execo{slot}-{name}" for name in names]
    return f"exbr{slot}", names, veths, namespaces


def _used_networks() -> list[ipaddress.IPv4Network]:
    routes = json.loads(run_tool(["ip", "-4", "-j", "route", "show", "table", "all"]) or "[]")
    used = []
    for route in routes:
        dst = route.get("dst", "default")
        if dst != "default":
            used.append(ipaddress.IPv4Network(dst, strict=False))
    return used


@contextlib.contextmanager
def _machine_lock() -> Iterator[None]:
    """An exclusive lock held across every netns cluster's slot choice and creation."""
    with open(_LOCK_FILE, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _link_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


def _netns_exists(name: str) -> bool:
    return os.path.exists(f"/run/netns/{name}")


def _ip_batch(commands: list[str]) -> None:
    """Run ``ip -force -batch``: every command is tried; failures are found by checking."""
    if commands:
        subprocess.run(
            ["ip", "-force", "-batch", "-"],
            input="\n".join(commands) + "\n",
            text=True,
            capture_output=True,
        )


class NetnsBackend(Backend):
    """Builds and runs a netns cluster (see the module docstring)."""

    mode = "netns"

    def __init__(
        self,
        state: ClusterState,
        *,
        state_dir: Path,
        subnet: str,
        prefix: str,
        private_tmp: bool,
        startup_timeout: float,
    ) -> None:
        super().__init__(state)
        self._state_dir = state_dir
        self._subnet = ipaddress.IPv4Network(subnet)
        if self._subnet.prefixlen > 24:
            raise ValueError(f"subnet must be /24 or larger, got {subnet}")
        if not 1 <= state.n <= MAX_HOSTS:
            raise ValueError(f"a netns cluster has 1..{MAX_HOSTS} hosts, got {state.n}")
        self._prefix = prefix
        self._private_tmp = private_tmp
        self._timeout = startup_timeout
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._slot = 0
        self._network: ipaddress.IPv4Network | None = None

    # ---------------------------------------------------------------- set-up

    def _claim_slot(self) -> None:
        used = _used_networks()
        slots = list(self._subnet.subnets(new_prefix=24))
        for slot, network in enumerate(slots[:256]):
            bridge, _, veths, namespaces = _names(slot, self.state.n, self._prefix)
            if any(network.overlaps(u) for u in used) or _link_exists(bridge):
                continue
            if any(map(_netns_exists, namespaces)):
                continue
            self.state.id = f"ns{slot}"
            self.state.bridge, self.state.veths, self.state.namespaces = bridge, veths, namespaces
            if claim_state(self._state_dir, self.state):
                self._slot, self._network = slot, network
                return
        raise TestbedError(f"no free /24 left in {self._subnet} for a new cluster")

    def start(self) -> None:
        # Clusters recorded in other state directories pick slots too: a slot is free when
        # its bridge, namespaces and range are unused, which holds only if choosing it and
        # creating them happen under one machine-wide lock.
        with _machine_lock():
            self._claim_slot()
            workdir = Path(
                tempfile.mkdtemp(prefix=f"execo-testbed-{self.state.id}-", dir="/var/tmp")
            )
            (workdir / MARKER).touch()
            self.state.workdir = str(workdir)
            write_state(self.state)
            self._write_files()
            write_state(self.state)
            self._create_network()
        self._configure_namespaces()
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        for node in self.nodes:
            self._spawn(node)
        write_state(self.state)
        try:
            wait_ssh_banners(
                [(n.host.address, _SSH_PORT) for n in self.nodes],
                list(self._procs.values()),
                timeout=self._timeout,
            )
        except RuntimeError as e:
            raise TestbedError(f"{e}; see the logs in {workdir}/hosts/*/sshd.log") from None

    def _write_files(self) -> None:
        """Keys, /etc/hosts, and per host: home, tmp, sshd_config, ip batch; the nodes."""
        assert self._network is not None
        workdir = self.workdir
        hostkey, keyfile, authorized = make_keys(workdir)
        login = write_login_script(workdir)
        self.state.keyfile = str(keyfile)
        _, names, _, namespaces = _names(self._slot, self.state.n, self._prefix)
        base = self._network.network_address
        addresses = [str(base + i) for i in range(1, self.state.n + 1)]
        (workdir / "etc_hosts").write_text(
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
            f"{base + 254}\tcontroller\n"
            + "".join(f"{a}\t{name}\n" for a, name in zip(addresses, names, strict=True))
        )
        for name, address, ns in zip(names, addresses, namespaces, strict=True):
            hostdir = workdir / "hosts" / name
            home = hostdir / "home"
            home.mkdir(parents=True)
            tmp = None
            if self._private_tmp:
                tmp = hostdir / "tmp"
                tmp.mkdir()
                tmp.chmod(0o1777)
            config = sshd_config(
                port=_SSH_PORT,
                listen=[address],
                hostkey=hostkey,
                authorized=authorized,
                home=home,
                login=login,
            )
            (hostdir / "sshd_config").write_text(config)
            (hostdir / "ip.batch").write_text(
                f"link set lo up\naddr add {address}/24 dev eth0\nlink set eth0 up\n"
            )
            host = Host(address, port=_SSH_PORT, keyfile=str(keyfile))
            self.nodes.append(Node(name=name, host=host, home=home, tmp=tmp, namespace=ns))
            self.state.hosts.append({"name": name, "address": address, "port": _SSH_PORT})
        write_ssh_config(workdir / "ssh_config", self.nodes)

    def _create_network(self) -> None:
        """The bridge, the namespaces and the veths between them, in one ``ip -batch``."""
        assert self._network is not None
        bridge = self.state.bridge
        mac = f"02:65:78:62:{self._slot:02x}:fe"
        batch = [
            f"link add {bridge} address {mac} type bridge"
            " nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0",
            f"link set {bridge} up",
            f"addr add {self._network.network_address + 254}/24 dev {bridge}",
        ]
        for veth, ns in zip(self.state.veths, self.state.namespaces, strict=True):
            batch += [
                f"netns add {ns}",
                f"link add {veth} type veth peer name eth0 netns {ns}",
                f"link set {veth} master {bridge} up",
            ]
        run_tool(["ip", "-batch", "-"], input="\n".join(batch) + "\n")

    def _configure_namespaces(self) -> None:
        """Addresses and links up inside every namespace (one ``ip -n <ns> -batch`` each)."""
        procs = []
        for node in self.nodes:
            batch = self._hostdir(node) / "ip.batch"
            argv = ["ip", "-n", str(node.namespace), "-batch", str(batch)]
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            procs.append((node, proc))
        errors = []
        for node, proc in procs:
            _, err = proc.communicate()
            if proc.returncode != 0:
                errors.append(f"{node.name}: {err.decode(errors='replace').strip()}")
        if errors:
            raise TestbedError("configuring the namespaces failed: " + "; ".join(errors))

    def _hostdir(self, node: Node) -> Path:
        return self.workdir / "hosts" / node.name

    def _spawn(self, node: Node) -> None:
        hostdir = self._hostdir(node)
        argv = [
            "ip", "netns", "exec", str(node.namespace),
            "unshare", "--uts", "--mount", "--propagation", "private", "--",
            "/bin/sh", "-c", _NODE_SCRIPT, "sh", node.name, str(node.tmp or ""),
            str(self.workdir / "etc_hosts"), find_sshd(), str(hostdir / "sshd_config"),
        ]  # fmt: skip
        proc = spawn_logged(argv, hostdir / "sshd.log")
        self._procs[node.name] = proc
        ref = proc_ref(proc.pid)
        if ref is not None:
            self.state.servers = [s for s in self.state.servers if s.alive()] + [ref]

    # ---------------------------------------------------------------- faults

    def kill_sshd(self, node: Node) -> None:
        proc = self._procs.get(node.name)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart_sshd(self, node: Node) -> None:
        proc = self._procs.get(node.name)
        if proc is not None and proc.poll() is None:
            return
        self._spawn(node)
        write_state(self.state)
        try:
            wait_ssh_banners(
                [(node.host.address, _SSH_PORT)], [self._procs[node.name]], timeout=self._timeout
            )
        except RuntimeError as e:
            raise TestbedError(f"{node.name}: {e}; see {self._hostdir(node)}/sshd.log") from None

    def _veth(self, node: Node) -> str:
        return self.state.veths[self.nodes.index(node)]

    def set_link(self, node: Node, up: bool) -> None:
        run_tool(["ip", "link", "set", self._veth(node), "up" if up else "down"])
        if up:
            # ARP entries left INCOMPLETE while the link was down would hold packets until
            # the next ARP retry (up to a second): start afresh on both sides.
            run_tool(["ip", "-n", str(node.namespace), "neigh", "flush", "dev", "eth0"])
            run_tool(["ip", "neigh", "flush", "to", node.host.address])

    def cut_link(self, a: Node, b: Node, cut: bool) -> None:
        for src, dst in ((a, b), (b, a)):
            route = ["blackhole", f"{dst.host.address}/32"]
            base = ["ip", "-n", str(src.namespace), "route"]
            if cut:
                run_tool([*base, "replace", *route])
            else:
                try:
                    run_tool([*base, "del", *route])
                except TestbedError as e:
                    if "No such process" not in str(e):
                        raise

    def set_qdisc(self, node: Node, shaping: Shaping) -> None:
        base = ["tc", "-n", str(node.namespace), "qdisc"]
        if shaping.empty:
            try:
                run_tool([*base, "del", "dev", "eth0", "root"])
            except TestbedError as e:
                if "handle of zero" not in str(e) and "No such file" not in str(e):
                    raise
            return
        try:
            run_tool([*base, "replace", "dev", "eth0", "root", "netem", *shaping.netem_args()])
        except TestbedError as e:
            if "unknown" not in str(e).lower():
                raise
            if not shaping.rate_only:
                raise NotSupportedError(
                    "this kernel has no netem queueing discipline (CONFIG_NET_SCH_NETEM, module "
                    "sch_netem): delay and loss cannot be emulated; rate alone can (tbf)"
                ) from e
            # A rate limit alone: the token bucket filter does it without netem.
            run_tool([*base, "replace", "dev", "eth0", "root", *shaping.tbf_args()])

    # -------------------------------------------------------------- teardown

    def stop(self) -> None:
        netns_teardown(self.state, list(self._procs.values()))
        self._procs.clear()


def netns_teardown(
    state: ClusterState, own: list[subprocess.Popen[bytes]] | None = None
) -> list[str]:
    """Undo a netns cluster from its record; returns what could not be removed (empty: all).

    Args:
        state: the cluster's record.
        own: the sshd processes this process started (to be reaped), if any.
    """
    found = netns_pids(state.namespaces) + [s for s in state.servers if s.alive()]
    refs = list({r.pid: r for r in found}.values())
    kill_refs(refs)
    for proc in own or ():
        proc.kill()
        proc.wait()
    survivors = wait_gone(refs)
    # Deleting the namespaces first lets the kernel destroy their veths in one batch (a
    # hundred times faster than deleting each veth); the bridge and stragglers go next.
    _ip_batch([f"netns del {ns}" for ns in state.namespaces if _netns_exists(ns)])
    deadline = time.monotonic() + 5.0
    while any(map(_link_exists, state.veths)) and time.monotonic() < deadline:
        time.sleep(0.01)
    links = [v for v in state.veths if _link_exists(v)]
    if state.bridge and _link_exists(state.bridge):
        links.append(state.bridge)
    _ip_batch([f"link del {link}" for link in links])
    left = [f"pid {r.pid}" for r in survivors]
    left += [v for v in state.veths if _link_exists(v)]
    left += [ns for ns in state.namespaces if _netns_exists(ns)]
    if state.bridge and _link_exists(state.bridge):
        left.append(state.bridge)
    remove_workdir(state.workdir)
    if not left:
        remove_state(state)
    return left


_ORPHAN_NAME = re.compile(r"^(?:execo(\d+)-.+|exbr(\d+)|exv(\d+)-\d+)$")


def find_orphans(recorded: Iterable[ClusterState]) -> list[ClusterState]:
    """Network objects of netns clusters that no state file records and nothing runs in.

    A cluster whose state file was lost (its state directory deleted while it ran, a machine
    state kept across a crash of the controller's container) leaves namespaces, veths and a
    bridge behind. They are recognised by this module's names (``exbr<slot>``,
    ``exv<slot>-<i>``, ``execo<slot>-<name>``); a slot is an orphan when no state in
    ``recorded`` claims it and no process runs in any of its namespaces (every live cluster
    has an sshd in each). Call under the machine lock (:func:`clean_orphans` does).

    Returns:
        One pseudo-record per orphan slot, ready for :func:`netns_teardown`.
    """
    claimed = {
        name for state in recorded for name in (*state.namespaces, *state.veths, state.bridge)
    }
    found: dict[int, ClusterState] = {}

    def record(slot: int) -> ClusterState:
        if slot not in found:
            found[slot] = ClusterState(
                id=f"orphan{slot}", mode="netns", n=0, owner=None, workdir=""
            )
        return found[slot]

    with contextlib.suppress(FileNotFoundError):
        for name in sorted(os.listdir("/run/netns")):
            m = _ORPHAN_NAME.match(name)
            if m and m.group(1) is not None and name not in claimed:
                record(int(m.group(1))).namespaces.append(name)
    for name in sorted(os.listdir("/sys/class/net")):
        m = _ORPHAN_NAME.match(name)
        if m is None or name in claimed or m.group(1) is not None:
            continue
        if m.group(2) is not None:
            record(int(m.group(2))).bridge = name
        else:
            record(int(m.group(3))).veths.append(name)
    return [state for state in found.values() if not netns_pids(state.namespaces)]


def clean_orphans(recorded: Iterable[ClusterState]) -> tuple[list[str], list[str]]:
    """Remove what :func:`find_orphans` finds, under the machine lock.

    Returns:
        The objects removed, and those that could not be.
    """
    removed: list[str] = []
    left: list[str] = []
    with _machine_lock():
        for state in find_orphans(recorded):
            objects = [*state.namespaces, *state.veths, *([state.bridge] if state.bridge else [])]
            failed = netns_teardown(state)
            left += failed
            removed += [o for o in objects if o not in failed]
    return removed, left
