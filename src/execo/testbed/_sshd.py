"""Real OpenSSH servers on loopback addresses, for tests, benchmarks and local clusters.

:class:`LoopbackSshd` starts ``sshd`` processes listening on 127.0.0.x addresses (at most
16 addresses per sshd, OpenSSH's limit on listening sockets), all on one port, with freshly
generated host and client keys. Each address is a distinct host for execo. Remote commands
run with ``HOME`` set to a per-cluster directory so that the login shell reads no slow
startup files. Everything is torn down by PID.
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

from .._host import Host

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


# Every session starts in $HOME (set per cluster by SetEnv), not in the account's home
# directory from passwd: remote commands, scp and sftp all see the cluster's own directory.
_LOGIN_SCRIPT = """#!/bin/sh
cd "$HOME" || exit 1
case "$SSH_ORIGINAL_COMMAND" in
  "") exec "${SHELL:-/bin/sh}" -l ;;
  */sftp-server*) exec $SSH_ORIGINAL_COMMAND ;;
esac
exec "${SHELL:-/bin/sh}" -c "$SSH_ORIGINAL_COMMAND"
"""


def _sftp_server() -> str:
    for candidate in (
        "/usr/lib/openssh/sftp-server",
        "/usr/libexec/openssh/sftp-server",
        "/usr/lib/ssh/sftp-server",
        "/usr/libexec/sftp-server",
    ):
        if os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError("sftp-server not found: install openssh-sftp-server")


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "execo-testbed", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )


class LoopbackSshd:
    """sshd servers answering on ``127.0.0.<first>`` ... for ``n`` hosts (a context manager).

    Args:
        n: number of hosts.
        first: last byte of the first address (2 by default: 127.0.0.1 stays free).
        workdir: where keys, configs and logs go (a new temporary directory by default).
        max_startups: sshd's MaxStartups (concurrent unauthenticated connections).
        max_sessions: sshd's MaxSessions (sessions per connection).
        extra_config: more sshd_config lines.
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
    ) -> None:
        if not 1 <= n <= 254 - first + 1:
            raise ValueError(f"n must be in 1..{255 - first}, got {n}")
        self.n = n
        self.addresses = [f"127.0.0.{first + i}" for i in range(n)]
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="execo-sshd-"))
        self.max_startups = max_startups
        self.max_sessions = max_sessions
        self.extra_config = list(extra_config)
        self.port = 0
        self.keyfile = self.workdir / "id_client"
        self.home = self.workdir / "home"
        self._procs: list[subprocess.Popen[bytes]] = []

    @property
    def hosts(self) -> list[Host]:
        """The hosts, carrying the port and the client key."""
        return [Host(a, port=self.port, keyfile=str(self.keyfile)) for a in self.addresses]

    @property
    def pids(self) -> list[int]:
        """PIDs of the sshd processes."""
        return [p.pid for p in self._procs]

    def start(self) -> Self:
        """Generate keys, write configs, start the servers, wait until they accept."""
        sshd = find_sshd()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        hostkey = self.workdir / "ssh_host_ed25519_key"
        if not hostkey.exists():
            _keygen(hostkey)
        if not self.keyfile.exists():
            _keygen(self.keyfile)
        authorized = self.workdir / "authorized_keys"
        authorized.write_text(Path(f"{self.keyfile}.pub").read_text())
        login = self.workdir / "login.sh"
        login.write_text(_LOGIN_SCRIPT)
        login.chmod(0o755)
        self.port = free_port(self.addresses)
        for group_index, start in enumerate(range(0, self.n, _MAX_LISTEN)):
            group = self.addresses[start : start + _MAX_LISTEN]
            config = self.workdir / f"sshd_config.{group_index}"
            lines = [
                f"Port {self.port}",
                *(f"ListenAddress {a}" for a in group),
                f"HostKey {hostkey}",
                f"AuthorizedKeysFile {authorized}",
                f"PidFile {self.workdir}/sshd.{group_index}.pid",
                "UsePAM no",
                "StrictModes no",
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                f"SetEnv HOME={self.home}",
                f"MaxStartups {self.max_startups}",
                f"MaxSessions {self.max_sessions}",
                "UseDNS no",
                f"Subsystem sftp {_sftp_server()}",
                f"ForceCommand {login}",
                "LogLevel ERROR",
                *self.extra_config,
            ]
            config.write_text("\n".join(lines) + "\n")
            log = open(self.workdir / f"sshd.{group_index}.log", "ab")  # noqa: SIM115
            try:
                proc = subprocess.Popen(
                    [sshd, "-D", "-e", "-f", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                )
            finally:
                log.close()
            self._procs.append(proc)
        self._wait_listening()
        return self

    def _wait_listening(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        pending = list(self.addresses)
        while pending:
            for proc in self._procs:
                if proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"sshd exited with {proc.returncode}: {self.logs()}")
            addr = pending[0]
            try:
                with socket.create_connection((addr, self.port), timeout=0.5) as s:
                    s.recv(4)  # the server's banner: it is really serving
                pending.pop(0)
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"sshd not answering on {addr}:{self.port}") from None
                time.sleep(0.02)

    def logs(self) -> str:
        """The servers' logs."""
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.workdir.glob("sshd.*.log"))
        )

    def stop(self) -> None:
        """Stop every server (by PID) and remove the work directory if it was ours."""
        for proc in self._procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self._procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self._procs.clear()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __iter__(self) -> Iterator[Host]:
        return iter(self.hosts)
