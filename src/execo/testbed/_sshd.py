"""Real OpenSSH servers on loopback addresses, for tests, benchmarks and local clusters.

:class:`LoopbackSshd` starts ``sshd`` processes listening on loopback addresses (127.0.0.2,
127.0.0.3 ..., then 127.0.1.1 ...: Linux routes all of 127/8 to ``lo``; at most 16 addresses
per sshd, OpenSSH's limit on listening sockets), all on one port, with freshly
generated host and client keys. Each address is a distinct host for execo. Remote commands
run with ``HOME`` set to a per-cluster (or per-host) directory so that the login shell reads
no slow startup files. Everything is torn down by PID.

The helpers here (keys, sshd configuration, readiness) serve the network-namespace cluster
too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Self

from .._core._host import Host

__all__ = ["LoopbackSshd", "find_sshd", "free_port"]

_MAX_LISTEN = 16


def find_sshd() -> str:
    """Absolute path of the sshd binary (sshd refuses to run from a relative path)."""
    for candidate in (shutil.which("sshd"), "/usr/sbin/sshd", "/usr/local/sbin/sshd"):
        if candidate and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    raise FileNotFoundError("sshd not found: install openssh-server")


def free_port(addresses: Sequence[str]) -> int:
    """A TCP port free on every one of ``addresses``."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind((addresses[0], 0))
            port: int = s.getsockname()[1]
        ok = True
        for addr in addresses[1:]:
            with socket.socket() as s:
                try:
                    s.bind((addr, port))
                except OSError:
                    ok = False
                    break
        if ok:
            return port
    raise OSError(f"no TCP port free on all of {len(addresses)} addresses")


# Every session starts in $HOME (set per cluster or per host by SetEnv), not in the
# account's home directory from passwd: remote commands, scp and sftp all see the host's own
# directory.
_LOGIN_SCRIPT = """#!/bin/sh
cd "$HOME" || exit 1
case "$SSH_ORIGINAL_COMMAND" in
  "") exec "${SHELL:-/bin/sh}" -l ;;
  */sftp-server*) exec $SSH_ORIGINAL_COMMAND ;;
esac
exec "${SHELL:-/bin/sh}" -c "$SSH_ORIGINAL_COMMAND"
"""


def sftp_server() -> str:
    """Absolute path of OpenSSH's sftp-server."""
    for candidate in (
        "/usr/lib/openssh/sftp-server",
        "/usr/libexec/openssh/sftp-server",
        "/usr/lib/ssh/sftp-server",
        "/usr/libexec/sftp-server",
    ):
        if os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError("sftp-server not found: install openssh-sftp-server")


def write_login_script(workdir: Path) -> Path:
    """Write the ForceCommand script that starts every session in ``$HOME``."""
    login = workdir / "login.sh"
    login.write_text(_LOGIN_SCRIPT)
    login.chmod(0o755)
    return login


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "execo-testbed", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )


def make_keys(workdir: Path) -> tuple[Path, Path, Path]:
    """Generate (once) a host key and a client key in ``workdir``; authorize the client key.

    Returns:
        The host key, the client private key and the authorized_keys file.
    """
    hostkey = workdir / "ssh_host_ed25519_key"
    keyfile = workdir / "id_client"
    if not hostkey.exists():
        _keygen(hostkey)
    if not keyfile.exists():
        _keygen(keyfile)
    authorized = workdir / "authorized_keys"
    authorized.write_text(Path(f"{keyfile}.pub").read_text())
    return hostkey, keyfile, authorized


def sshd_config(
    *,
    port: int,
    listen: Sequence[str],
    hostkey: Path,
    authorized: Path,
    home: Path,
    login: Path,
    max_startups: str = "1000",
    max_sessions: int = 100,
    extra: Sequence[str] = (),
    sftp: bool = True,
) -> str:
    """The text of an sshd_config for a test server (key login only, no PAM, no DNS)."""
    lines = [
        f"Port {port}",
        *(f"ListenAddress {a}" for a in listen),
        f"HostKey {hostkey}",
        f"AuthorizedKeysFile {authorized}",
        "PidFile none",
        "UsePAM no",
        "StrictModes no",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        f"SetEnv HOME={home}",
        f"MaxStartups {max_startups}",
        f"MaxSessions {max_sessions}",
        "UseDNS no",
        *([f"Subsystem sftp {sftp_server()}"] if sftp else []),
        f"ForceCommand {login}",
        "LogLevel ERROR",
        *extra,
    ]
    return "\n".join(lines) + "\n"


def spawn_logged(argv: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session, its output appended to ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True
        )


def wait_ssh_banners(
    targets: Sequence[tuple[str, int]],
    procs: Sequence[subprocess.Popen[bytes]],
    *,
    timeout: float = 30.0,
) -> None:
    """Wait until an ssh server answers with its banner on every ``(address, port)``.

    Raises:
        RuntimeError: one of ``procs`` exited, or ``timeout`` seconds passed.
    """
    deadline = time.monotonic() + timeout
    pending = list(targets)
    while pending:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"sshd (pid {proc.pid}) exited with {proc.returncode}")
        addr, port = pending[0]
        try:
            with socket.create_connection((addr, port), timeout=0.5) as s:
                if s.recv(4) != b"SSH-":  # the server's banner: it is really serving
                    raise OSError("no banner")
            pending.pop(0)
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"sshd not answering on {addr}:{port}") from None
            time.sleep(0.02)


def stop_processes(procs: Sequence[subprocess.Popen[bytes]], grace: float = 5.0) -> None:
    """SIGTERM the process groups of ``procs``, SIGKILL what is left after ``grace``; reap."""
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def loopback_address(index: int) -> str:
    """The ``index``-th loopback address (1-based): 127.0.0.1 ... 127.0.0.254, then
    127.0.1.1 ... (no .0 and no .255 in the last byte)."""
    block, last = divmod(index - 1, 254)
    return f"127.{block // 256}.{block % 256}.{last + 1}"


class LoopbackSshd:
    """sshd servers answering on ``n`` loopback addresses (a context manager): the addresses
    from ``127.0.0.<first>`` on, then ``127.0.1.1`` ... (:func:`loopback_address`).

    Args:
        n: number of hosts (up to 60000).
        first: index of the first address: 2 is 127.0.0.2 (127.0.0.1 stays free); 255 is
            127.0.1.1.
        workdir: where keys, configs and logs go (a new temporary directory by default).
        max_startups: sshd's MaxStartups (concurrent unauthenticated connections).
        max_sessions: sshd's MaxSessions (sessions per connection).
        extra_config: more sshd_config lines.
        sftp: offer the sftp subsystem (False: as a server that lacks it).
        addresses_per_sshd: how many addresses one sshd serves (1 to 16): with 1, every
            host has its own server, which :meth:`stop_server` can stop alone.
        homes: one ``HOME`` directory per host (needs ``addresses_per_sshd=1``); by default
            all hosts share ``workdir/home``.
    """

    def __init__(
        self,
        n: int,
        *,
        first: int = 2,
        workdir: str | os.PathLike[str] | None = None,
        max_startups: str = "1000",
        max_sessions: int = 100,
        extra_config: Sequence[str] = (),
        sftp: bool = True,
        addresses_per_sshd: int = _MAX_LISTEN,
        homes: Sequence[Path] | None = None,
    ) -> None:
        if first < 1 or not 1 <= n <= 60000:
            raise ValueError(f"n must be in 1..60000 and first >= 1, got n={n}, first={first}")
        if not 1 <= addresses_per_sshd <= _MAX_LISTEN:
            raise ValueError(f"addresses_per_sshd must be in 1..{_MAX_LISTEN}")
        if homes is not None and (addresses_per_sshd != 1 or len(homes) != n):
            raise ValueError("homes needs addresses_per_sshd=1 and one directory per host")
        self.n = n
        self.addresses = [loopback_address(first + i) for i in range(n)]
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="execo-sshd-"))
        self.max_startups = max_startups
        self.max_sessions = max_sessions
        self.extra_config = list(extra_config)
        self.sftp = sftp
        self.port = 0
        self.keyfile = self.workdir / "id_client"
        self.home = self.workdir / "home"
        self._homes = list(homes) if homes is not None else None
        self._per = addresses_per_sshd
        self._procs: list[subprocess.Popen[bytes] | None] = []

    @property
    def hosts(self) -> list[Host]:
        """The hosts, carrying the port and the client key."""
        return [Host(a, port=self.port, keyfile=str(self.keyfile)) for a in self.addresses]

    @property
    def pids(self) -> list[int]:
        """PIDs of the running sshd processes."""
        return [p.pid for p in self._procs if p is not None and p.poll() is None]

    def _group(self, index: int) -> list[str]:
        return self.addresses[index * self._per : (index + 1) * self._per]

    def server_of(self, address: str) -> int:
        """Index of the server that serves ``address``."""
        return self.addresses.index(address) // self._per

    def start(self) -> Self:
        """Generate keys, write configs, start the servers, wait until they accept."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(exist_ok=True)
        for home in self._homes or ():
            home.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        hostkey, self.keyfile, authorized = make_keys(self.workdir)
        login = write_login_script(self.workdir)
        self.port = free_port(self.addresses)
        for index in range(0, (self.n + self._per - 1) // self._per):
            home = self._homes[index] if self._homes is not None else self.home
            config = sshd_config(
                port=self.port,
                listen=self._group(index),
                hostkey=hostkey,
                authorized=authorized,
                home=home,
                login=login,
                max_startups=self.max_startups,
                max_sessions=self.max_sessions,
                extra=self.extra_config,
                sftp=self.sftp,
            )
            (self.workdir / f"sshd_config.{index}").write_text(config)
            self._procs.append(None)
            self.start_server(index, wait=False)
        self._wait(self.addresses, [p for p in self._procs if p is not None])
        return self

    def start_server(self, index: int, *, wait: bool = True) -> None:
        """(Re)start server ``index`` if it is not running; with ``wait``, until it answers."""
        proc = self._procs[index]
        if proc is not None and proc.poll() is None:
            return
        config = self.workdir / f"sshd_config.{index}"
        proc = spawn_logged(
            [find_sshd(), "-D", "-e", "-f", str(config)], self.workdir / f"sshd.{index}.log"
        )
        self._procs[index] = proc
        if wait:
            self._wait(self._group(index), [proc])

    def stop_server(self, index: int) -> None:
        """Stop server ``index`` (its open sessions live on, as with a real sshd)."""
        proc = self._procs[index]
        if proc is not None:
            stop_processes([proc])

    def _wait(self, addresses: Sequence[str], procs: Sequence[subprocess.Popen[bytes]]) -> None:
        try:
            wait_ssh_banners([(a, self.port) for a in addresses], procs, timeout=10.0)
        except RuntimeError as e:
            self.stop()
            raise RuntimeError(f"{e}: {self.logs()}") from None

    def logs(self) -> str:
        """The servers' logs."""
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.workdir.glob("sshd.*.log"))
        )

    def stop(self) -> None:
        """Stop every server (by PID) and remove the work directory if it was ours."""
        stop_processes([p for p in self._procs if p is not None])
        self._procs.clear()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __iter__(self) -> Iterator[Host]:
        return iter(self.hosts)
