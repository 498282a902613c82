"""Where and how to connect with asyncssh: pool keys resolved from the connection parameters
and the OpenSSH client config (ProxyJump chains included), host keys, algorithms, and the
one place where connection errors become reasons in OpenSSH's words.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import getpass
import os
import threading
from pathlib import Path

import asyncssh

from .._core._config import EffectiveConnectionParams
from .._core._secret import Secret

__all__ = [
    "CIPHERS",
    "KEX_ALGORITHMS",
    "ConnectFailed",
    "HostKeyPolicy",
    "KnownHosts",
    "TargetKey",
    "default_known_hosts_store",
    "describe_connect_error",
    "local_username",
    "target_key",
]


class HostKeyPolicy(enum.StrEnum):
    """What to do with the server's host key."""

    STRICT = "strict"  # known keys only (OpenSSH's known_hosts files and our store)
    ACCEPT_NEW = "accept-new"  # unknown hosts are accepted and recorded; changed keys refused
    INSECURE = "insecure"  # no check at all


class ConnectFailed(Exception):
    """A connection could not be made; ``reason`` says why in OpenSSH's words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def describe_connect_error(e: BaseException) -> str:
    """The one place where asyncssh and socket errors become a reason (OpenSSH-like words)."""
    if isinstance(e, ConnectFailed):
        return e.reason
    if isinstance(e, asyncssh.HostKeyNotVerifiable):
        return f"Host key verification failed: {e.reason}"
    if isinstance(e, asyncssh.PermissionDenied):
        return f"Permission denied ({e.reason})"
    if isinstance(e, asyncssh.DisconnectError):
        return f"Connection closed by remote host: {e.reason}"
    if isinstance(e, asyncssh.ChannelOpenError):
        return f"channel open failed: {e.reason}"
    if isinstance(e, asyncssh.KeyImportError | asyncssh.KeyEncryptionError):
        return f"cannot use the key: {e}"
    if isinstance(e, TimeoutError):
        return "Connection timed out"
    if isinstance(e, ConnectionRefusedError):
        return "Connection refused"
    if isinstance(e, ConnectionResetError):
        return "Connection reset by peer"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e) or type(e).__name__


def default_known_hosts_store() -> Path:
    """``$XDG_STATE_HOME/execo/known_hosts`` (``~/.local/state/execo/known_hosts``)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return Path(base) / "execo" / "known_hosts"


@dataclasses.dataclass(frozen=True, slots=True)
class TargetKey:
    """Everything that makes two connections interchangeable (the pool's key)."""

    host: str
    port: int | None
    user: str | None
    keyfile: str | None
    ssh_config: str | None
    policy: HostKeyPolicy
    store: str
    connect_timeout: float
    kex: tuple[str, ...]
    jump: TargetKey | None
    keepalive: float | None = None
    passphrase: Secret | None = None


class KnownHosts:
    """The trusted keys: OpenSSH's known_hosts files and our store, read once per pool."""

    def __init__(self, store: Path, files: list[str]) -> None:
        self.store = store
        self._lock = threading.Lock()
        self.hosts = self._base = asyncssh.SSHKnownHosts()
        for f in [*files, str(store)]:
            path = Path(f).expanduser()
            if path.is_file():
                try:
                    self._base.load(path.read_text())
                except (OSError, ValueError, asyncssh.Error):
                    continue

    def lookup(self, host: str, addr: str, port: int | None, key: asyncssh.SSHKey) -> bool | None:
        """Whether ``key`` is trusted for the host now; None if the host has no key at all."""
        keys, cas, _revoked, certs, _rc, subjects, _rs = self._base.match(host, addr, port)
        if key in keys:
            return True
        return False if (keys or cas or certs or subjects) else None

    def record(self, host: str, port: int | None, key: asyncssh.SSHKey) -> None:
        name = host if port in (None, 22) else f"[{host}]:{port}"
        line = f"{name} {key.export_public_key('openssh').decode().strip()}\n"
        with self._lock:
            self._base.load(line)
            self.store.parent.mkdir(parents=True, exist_ok=True)
            with open(self.store, "a") as f:
                f.write(line)


# AES-GCM first: one OpenSSL call per packet on both sides (AES-NI), where asyncssh builds
# chacha20-poly1305 out of several cipher objects per packet.
CIPHERS = (
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes256-ctr",
)

KEX_ALGORITHMS: tuple[str, ...] = (
    "ecdh-sha2-nistp256",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "mlkem768x25519-sha256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group14-sha256",
    "diffie-hellman-group16-sha512",
)
"""The asyncssh transport's default key exchange preference.

Apart from its forks and execs, the key exchange is what a connection costs the *server*.
OpenSSH computes curve25519 with its portable reference code (and sntrup761, its default
since 9.0, costs several times that), while P-256 goes through OpenSSL's assembly. Measured
against OpenSSH 9.2 (sshd CPU per connection + ``true``, median of 5 runs on 100 hosts):
P-256 21.3 ms, curve25519 29.3 ms; connect only: 21.6 ms and 23.1 ms. Both are classical
(not post-quantum); for experiment control traffic we take the cheaper one. Set
``kex_algorithms`` for a post-quantum hybrid (``mlkem768x25519-sha256``, OpenSSH >= 9.9).
"""


def expand(path: str | os.PathLike[str] | None) -> str | None:
    """``~`` expanded, or None."""
    if path is None:
        return None
    return os.path.expanduser(os.fspath(path))


@functools.cache
def local_username() -> str:
    """The local user's name (looked up once per process).

    Raises:
        KeyError: no name in the environment and none in the passwd database.
    """
    return getpass.getuser()


def jump_key(base: TargetKey, host: str, depth: int = 0) -> TargetKey | None:
    """The ProxyJump chain of ``host`` from the ssh config, as nested pool keys.

    Each hop is ``base`` (the target's key) with the hop's host, port and user, no key
    file (as with OpenSSH's ``-J``: hops use the config, the default keys, the agent) and
    the previous hop as its tunnel.
    """
    if base.ssh_config is None or depth > 8:
        return None
    from asyncssh.config import SSHClientConfig

    config = SSHClientConfig.load(
        None, [base.ssh_config], False, False, False, local_username(), (), host, ()
    )
    jump = config.get("ProxyJump")
    if not isinstance(jump, str) or not jump or jump.lower() == "none":
        return None
    key: TargetKey | None = None
    for i, hop in enumerate(jump.split(",")):
        user, _, rest = hop.rpartition("@")
        name, port = rest, None
        if ":" in rest and not rest.endswith("]"):
            name, _, port_s = rest.rpartition(":")
            port = int(port_s)
        name = name.strip("[]")
        prev = key
        if i == 0:  # the first hop may have its own ProxyJump
            prev = jump_key(base, name, depth + 1)
        key = dataclasses.replace(
            base, host=name, port=port, user=user or None, keyfile=None, passphrase=None, jump=prev
        )
    return key


def target_key(params: EffectiveConnectionParams, address: str) -> TargetKey:
    """The pool key of the connection to ``address`` with ``params`` (reads the ssh config)."""
    host = params.rewritten_address(address)
    ssh_config = expand(params.ssh_config)
    if ssh_config is not None and not os.path.isfile(ssh_config):
        ssh_config = None
    base = TargetKey(
        host=host,
        port=params.port,
        user=params.user,
        keyfile=expand(params.keyfile),
        ssh_config=ssh_config,
        policy=HostKeyPolicy(params.host_key_policy),
        store=expand(params.known_hosts_store) or str(default_known_hosts_store()),
        connect_timeout=float(params.connect_timeout),
        kex=params.kex_algorithms or KEX_ALGORITHMS,
        jump=None,
        keepalive=params.keepalive_timeout,
        passphrase=params.keyfile_passphrase,
    )
    return dataclasses.replace(base, jump=jump_key(base, host))
