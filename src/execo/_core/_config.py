"""Configuration: global settings and connection parameters, with layered defaults.

Layers, lowest first: built-in defaults < the configuration file (``~/.execo.conf.py``, or the
file named by ``$EXECO_CONFIG_FILE``; an empty value disables it) < per-call arguments < the
fields of a :class:`~execo.Host`. The file is an execo-compatible Python file that defines
dicts named ``configuration`` and/or ``default_connection_params``; it is read lazily, the
first time a setting is needed (importing execo does nothing), and unknown keys are errors
naming the key and the file.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias, cast

from ._errors import ConfigurationError
from ._host import Host, check_address
from ._secret import Secret
from ._util import UNSET, Unset

__all__ = [
    "CHAINPUT",
    "SCP",
    "SSH",
    "TAKTUK",
    "ConnectionParams",
    "EffectiveConnectionParams",
    "configuration",
    "default_connection_params",
    "default_frontend_connection_params",
    "default_oarsh_oarcp_params",
    "get_user_config_filename",
    "load_configuration",
    "resolve_connection_params",
]

RemoteTool: TypeAlias = Literal["ssh", "asyncssh", "taktuk"]
FilePutTool: TypeAlias = Literal["scp", "asyncssh", "taktuk", "chainput"]
FileGetTool: TypeAlias = Literal["scp", "asyncssh", "taktuk"]

# execo 2.8.2's integer constants, accepted wherever a tool name is.
SSH: Final = "ssh"
SCP: Final = "scp"
TAKTUK: Final = "taktuk"
CHAINPUT: Final = "chainput"
_EXECO_TOOL_CODES: Final = {0: "ssh", 1: "scp", 2: "taktuk", 3: "chainput"}

DEFAULT_SSH_CONFIG: Final = "~/.ssh/config"
"""OpenSSH's per-user client configuration, read by both ssh transports by default."""

_COMMON_SSH_OPTIONS: Final = (
    "-o", "BatchMode=yes",
    "-o", "PasswordAuthentication=no",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
)  # fmt: skip


def _tool(allowed: tuple[str, ...]) -> Callable[[str, object], object]:
    def check(key: str, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            value = _EXECO_TOOL_CODES.get(value, value)
        if value not in allowed:
            raise ConfigurationError(f"{key} must be one of {allowed}, got {value!r}")
        return value

    return check


def _typed(*types: type, none: bool = False) -> Callable[[str, object], object]:
    def check(key: str, value: object) -> object:
        if value is None and none:
            return value
        if isinstance(value, bool) and bool not in types:
            raise ConfigurationError(f"{key} must be {_names(types)}, got {value!r}")
        if not isinstance(value, types):
            raise ConfigurationError(f"{key} must be {_names(types)}, got {value!r}")
        return value

    return check


def _names(types: tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in types)


def _str_tuple(key: str, value: object) -> object:
    if isinstance(value, str) or not isinstance(value, tuple | list):
        raise ConfigurationError(f"{key} must be a tuple of strings, got {value!r}")
    if not all(isinstance(v, str) for v in value):
        raise ConfigurationError(f"{key} must be a tuple of strings, got {value!r}")
    return tuple(value)


def _str_tuple_or_none(key: str, value: object) -> object:
    return None if value is None else _str_tuple(key, value)


def _log_level(key: str, value: object) -> object:
    if isinstance(value, str):
        level = logging.getLevelName(value.upper())
        if isinstance(level, int):
            return level
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ConfigurationError(f"{key} must be a logging level (int or name), got {value!r}")


def _port_range(key: str, value: object) -> object:
    if (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, int) for v in value)
        and 0 < value[0] < value[1] <= 65536
    ):
        return (value[0], value[1])
    raise ConfigurationError(f"{key} must be a (start, end) pair of ports, got {value!r}")


def _positive(key: str, value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigurationError(f"{key} must be a number > 0, got {value!r}")
    return value


def _positive_or_none(key: str, value: object) -> object:
    return None if value is None else _positive(key, value)


def _secret_or_none(key: str, value: object) -> object:
    if value is None or isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    raise ConfigurationError(f"{key} must be a str, a Secret or None, got a {type(value).__name__}")


def _callable_or_none(key: str, value: object) -> object:
    if value is None or callable(value):
        return value
    raise ConfigurationError(f"{key} must be a callable or None, got {value!r}")


def _choice(allowed: tuple[str, ...]) -> Callable[[str, object], object]:
    def check(key: str, value: object) -> object:
        value = str(value) if isinstance(value, str) else value  # a StrEnum member too
        if value not in allowed:
            raise ConfigurationError(f"{key} must be one of {allowed}, got {value!r}")
        return value

    return check


def _anything(key: str, value: object) -> object:
    return value


_NUM = (int, float)

# key -> (built-in default, validator)
_CONFIGURATION_SPEC: Final[dict[str, tuple[object, Callable[[str, object], object]]]] = {
    "log_level": (logging.WARNING, _log_level),
    "remote_tool": ("ssh", _tool(("ssh", "asyncssh", "taktuk"))),
    "fileput_tool": ("scp", _tool(("scp", "asyncssh", "taktuk", "chainput"))),
    "fileget_tool": ("scp", _tool(("scp", "asyncssh", "taktuk"))),
    "compact_output_threshold": (4096, _typed(int)),
    "kill_timeout": (5.0, _typed(*_NUM)),
    "output_drain_timeout": (2.0, _typed(*_NUM)),
    "port_range": ((25500, 26700), _port_range),
    "color_mode": (None, _typed(bool, none=True)),
    "color_styles": ({}, _typed(dict)),
    "encoding": ("utf-8", _typed(str)),
    "encoding_errors": ("replace", _typed(str)),
    # execo 2.8.2 keys with no meaning here (no polling, no watchdog process): accepted.
    "intr_period": (1, _anything),
    "kill_childs_at_end": (True, _anything),
}

_CONNECTION_SPEC: Final[dict[str, tuple[object, Callable[[str, object], object]]]] = {
    "user": (None, _typed(str, none=True)),
    "keyfile": (None, _typed(str, os.PathLike, none=True)),
    "keyfile_passphrase": (None, _secret_or_none),
    "port": (None, _typed(int, none=True)),
    "ssh": ("ssh", _typed(str)),
    "scp": ("scp", _typed(str)),
    "taktuk": ("taktuk", _typed(str)),
    "ssh_options": (_COMMON_SSH_OPTIONS, _str_tuple),
    "scp_options": ((*_COMMON_SSH_OPTIONS, "-r", "-p"), _str_tuple),
    "taktuk_options": (("-s",), _str_tuple),
    "taktuk_connector": ("ssh", _typed(str)),
    "taktuk_connector_options": (_COMMON_SSH_OPTIONS, _str_tuple),
    "taktuk_gateway": (None, _typed(str, none=True)),
    "connect_timeout": (20.0, _typed(*_NUM)),
    "ssh_config": (DEFAULT_SSH_CONFIG, _typed(str, os.PathLike, none=True)),
    "host_key_policy": ("accept-new", _choice(("strict", "accept-new", "insecure"))),
    "known_hosts_store": (None, _typed(str, os.PathLike, none=True)),
    "kex_algorithms": (None, _str_tuple_or_none),
    "pty": (False, _typed(bool)),
    "host_rewrite_func": (None, _callable_or_none),
    "nc": ("/bin/nc.traditional -v -v", _typed(str)),
    "chainput_python": ("python3", _typed(str, none=True)),
    "chainput_nc_client_timeout": (5, _typed(*_NUM)),
    "chainput_nc_server_timeout": (30, _typed(*_NUM)),
    "chainput_host_retry": (5, _typed(int)),
    "chainput_chain_retry": (10, _typed(*_NUM)),
    "chainput_try_delay": (1, _typed(*_NUM)),
    "forwarding_timeout": (25, _typed(*_NUM)),
    "watchdog_period": (1.0, _positive),
    "watchdog_grace": (2.0, _positive),
    "keepalive_timeout": (30.0, _positive_or_none),
}


class _Settings(MutableMapping[str, Any]):
    """A dict of settings with a fixed set of keys, each value checked when set.

    With ``sparse`` defaults, only the keys given hold a value (an overlay of connection
    parameters, such as :data:`default_frontend_connection_params`); keys may be deleted.
    """

    def __init__(
        self,
        kind: str,
        spec: Mapping[str, tuple[object, Callable[[str, object], object]]],
        sparse: Mapping[str, object] | None = None,
    ) -> None:
        self._kind = kind
        self._spec = spec
        self._sparse = None if sparse is None else dict(sparse)
        self._values: dict[str, object] = {}
        self.reset_defaults()

    def _check(self, key: str, value: object, origin: str = "") -> object:
        if key not in self._spec:
            where = f" in {origin}" if origin else ""
            known = ", ".join(sorted(self._spec))
            raise ConfigurationError(
                f"unknown {self._kind} key {key!r}{where}; known keys: {known}"
            )
        try:
            return self._spec[key][1](key, value)
        except ConfigurationError as e:
            if origin:
                raise ConfigurationError(f"{origin}: {self._kind}: {e}") from None
            raise

    def __getitem__(self, key: str) -> Any:
        _ensure_loaded()
        if key not in self._values:
            raise KeyError(key)
        return self._values[key]

    def __setitem__(self, key: str, value: object) -> None:
        _ensure_loaded()
        self._values[key] = self._check(key, value)

    def __delitem__(self, key: str) -> None:
        if self._sparse is None:
            raise ConfigurationError(f"{self._kind} keys cannot be deleted (reset {key!r} instead)")
        _ensure_loaded()
        del self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        _ensure_loaded()
        return f"{self._kind}({self._values!r})"

    def update_from(self, values: Mapping[str, object], origin: str = "") -> None:
        """Check every key and value first, then apply them all (all or nothing)."""
        if not isinstance(values, Mapping):
            raise ConfigurationError(f"{origin}: {self._kind} must be a dict, got {values!r}")
        checked = {k: self._check(k, v, origin) for k, v in values.items()}
        self._values.update(checked)

    def reset_defaults(self) -> None:
        """Back to the built-in defaults."""
        if self._sparse is None:
            self._values = {k: default for k, (default, _) in self._spec.items()}
        else:
            self._values = {k: self._check(k, v) for k, v in self._sparse.items()}

    def snapshot(self) -> dict[str, object]:
        _ensure_loaded()
        return dict(self._values)


configuration: Final = _Settings("configuration", _CONFIGURATION_SPEC)
"""Global settings (execo-compatible dict): ``configuration["kill_timeout"] = 10``."""

default_connection_params: Final = _Settings("default_connection_params", _CONNECTION_SPEC)
"""Default connection parameters (execo-compatible dict), below per-call ones."""


def _grid5000_frontend(site: str) -> str:
    """A Grid'5000 site name to its frontend's host name (``lyon`` -> ``lyon.grid5000.fr``)."""
    return f"{site}.grid5000.fr"


default_frontend_connection_params: Final = _Settings(
    "default_frontend_connection_params",
    _CONNECTION_SPEC,
    sparse={"pty": True, "host_rewrite_func": _grid5000_frontend},
)
"""Connection parameters for Grid'5000 frontends (an overlay: only its keys override):
``Remote(cmd, ["lyon", "nancy"], connection_params=default_frontend_connection_params)``."""

default_oarsh_oarcp_params: Final = _Settings(
    "default_oarsh_oarcp_params",
    _CONNECTION_SPEC,
    sparse={"ssh": "oarsh", "scp": "oarcp", "taktuk_connector": "oarsh", "pty": True},
)
"""Connection parameters to reach the nodes of an OAR job with oarsh/oarcp (an overlay); the
pty lets a kill reach commands that oarsh runs under sudo."""

_load_lock = threading.Lock()
_loaded = False


def get_user_config_filename() -> Path | None:
    """The configuration file to read: ``$EXECO_CONFIG_FILE``, else ``~/.execo.conf.py``."""
    env = os.environ.get("EXECO_CONFIG_FILE")
    if env is not None:
        return Path(env) if env else None
    home = os.environ.get("HOME")
    return Path(home) / ".execo.conf.py" if home else None


def load_configuration(path: str | os.PathLike[str] | None = None) -> None:
    """Read a configuration file (default: :func:`get_user_config_filename`).

    The file is executed in a fresh namespace; the dicts it names ``configuration``,
    ``default_connection_params``, ``default_frontend_connection_params`` and
    ``default_oarsh_oarcp_params`` update the global ones. Other names are left to the other
    packages (``execo_g5k`` reads ``g5k_configuration``). Nothing is changed unless every key
    and value is valid.

    Raises:
        ConfigurationError: the file fails to run, or has an unknown key or a bad value.
    """
    global _loaded
    with _load_lock:
        _loaded = True
        target = Path(path) if path is not None else get_user_config_filename()
        if target is None or not target.exists():
            if path is not None:
                raise ConfigurationError(f"configuration file {target} does not exist")
            return
        namespace = _exec_config_file(target)
        staged: list[tuple[_Settings, Mapping[str, object]]] = []
        for name, settings in (
            ("configuration", configuration),
            ("default_connection_params", default_connection_params),
            ("default_frontend_connection_params", default_frontend_connection_params),
            ("default_oarsh_oarcp_params", default_oarsh_oarcp_params),
        ):
            if name in namespace:
                staged.append((settings, cast(Mapping[str, object], namespace[name])))
        for settings, values in staged:
            settings.update_from(values, origin=str(target))


def _exec_config_file(path: Path) -> dict[str, object]:
    try:
        source = path.read_text()
        code = compile(source, str(path), "exec")
        namespace: dict[str, object] = {"__file__": str(path), "__name__": "execo_conf"}
        exec(code, namespace)
    except Exception as e:
        raise ConfigurationError(f"configuration file {path} failed: {e!r}") from e
    return namespace


def _ensure_loaded() -> None:
    if not _loaded:
        load_configuration()


def reset_configuration() -> None:
    """Back to built-in defaults, and forget that the file was read (for tests)."""
    global _loaded
    with _load_lock:
        for settings in (
            configuration,
            default_connection_params,
            default_frontend_connection_params,
            default_oarsh_oarcp_params,
        ):
            settings.reset_defaults()
        _loaded = False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionParams:
    """Per-call connection parameters; every field left :data:`UNSET` is inherited.

    The keys are those of :data:`default_connection_params`. A ``dict`` of the same keys is
    accepted wherever a ConnectionParams is. Besides execo's keys:

    * ``ssh_config``: the OpenSSH client configuration file both ssh transports read
      (default ``~/.ssh/config``; None: none; ``ssh`` and ``scp`` get ``-F`` when it is not
      the default);
    * ``host_key_policy`` (``"strict"``, ``"accept-new"``, ``"insecure"``, see
      :class:`~execo.HostKeyPolicy`) and ``known_hosts_store`` (where accept-new records
      keys): the asyncssh transport's host-key check. The OpenSSH transport follows its own
      options (``ssh_options``: execo's defaults check nothing);
    * ``kex_algorithms``: key exchange algorithms in order of preference. None: OpenSSH's
      own choice for ``ssh``; for asyncssh, the classical ECDH ones first (cheapest for the
      server, see docs/design.md), then the post-quantum hybrid mlkem768x25519;
    * ``keyfile_passphrase``: the passphrase of an encrypted ``keyfile``, for the asyncssh
      transport (held as a :class:`~execo.Secret`: it never shows in a repr, a log or an
      error; OpenSSH takes keys from ssh-agent instead, as it never prompts here);
    * ``watchdog_period``, ``watchdog_grace`` (1 s, 2 s): the remote watchdog of every
      command (not detached) checks its connection every period, and ends the command's
      process group (SIGTERM, SIGKILL after the grace) once the connection has ended: at
      most period + grace after it ends;
    * ``keepalive_timeout`` (30 s; None: off): a connection cut silently (no packet gets
      through any more) is taken as ended within that bound, on both sides: the local ssh
      client or asyncssh connection gives up (keepalives), and the remote watchdog misses its
      heartbeats and ends the command;
    * ``chainput_python`` (``"python3"``; None: never): the interpreter of ChainPut's relays
      on a host that has it (Python 3.7 or later), with netcat (``nc``) and ``sh`` as the
      fallback. The Python relay forwards, writes and hashes each block as it comes, at a
      third of the CPU of netcat, tee and sha256sum.
    """

    user: str | Unset | None = UNSET
    keyfile: str | Unset | None = UNSET
    keyfile_passphrase: str | Secret | Unset | None = UNSET
    port: int | Unset | None = UNSET
    ssh: str | Unset = UNSET
    scp: str | Unset = UNSET
    taktuk: str | Unset = UNSET
    ssh_options: tuple[str, ...] | Unset = UNSET
    scp_options: tuple[str, ...] | Unset = UNSET
    taktuk_options: tuple[str, ...] | Unset = UNSET
    taktuk_connector: str | Unset = UNSET
    taktuk_connector_options: tuple[str, ...] | Unset = UNSET
    taktuk_gateway: str | Unset | None = UNSET
    connect_timeout: float | Unset = UNSET
    ssh_config: str | Unset | None = UNSET
    host_key_policy: str | Unset = UNSET
    known_hosts_store: str | Unset | None = UNSET
    kex_algorithms: tuple[str, ...] | Unset | None = UNSET
    pty: bool | Unset = UNSET
    host_rewrite_func: Callable[[str], str] | Unset | None = UNSET
    nc: str | Unset = UNSET
    chainput_python: str | Unset | None = UNSET
    chainput_nc_client_timeout: float | Unset = UNSET
    chainput_nc_server_timeout: float | Unset = UNSET
    chainput_host_retry: int | Unset = UNSET
    chainput_chain_retry: float | Unset = UNSET
    chainput_try_delay: float | Unset = UNSET
    forwarding_timeout: float | Unset = UNSET
    watchdog_period: float | Unset = UNSET
    watchdog_grace: float | Unset = UNSET
    keepalive_timeout: float | Unset | None = UNSET

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not UNSET:
                object.__setattr__(self, f.name, _CONNECTION_SPEC[f.name][1](f.name, value))

    def given(self) -> dict[str, object]:
        """The fields that were set, as a dict."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not UNSET
        }


ConnectionParamsLike: TypeAlias = ConnectionParams | Mapping[str, object] | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class EffectiveConnectionParams:
    """Fully resolved connection parameters for one host (no field is unset)."""

    user: str | None
    keyfile: str | None
    keyfile_passphrase: Secret | None
    port: int | None
    ssh: str
    scp: str
    taktuk: str
    ssh_options: tuple[str, ...]
    scp_options: tuple[str, ...]
    taktuk_options: tuple[str, ...]
    taktuk_connector: str
    taktuk_connector_options: tuple[str, ...]
    taktuk_gateway: str | None
    connect_timeout: float
    ssh_config: str | None
    host_key_policy: str
    known_hosts_store: str | None
    kex_algorithms: tuple[str, ...] | None
    pty: bool
    host_rewrite_func: Callable[[str], str] | None
    nc: str
    chainput_python: str | None
    chainput_nc_client_timeout: float
    chainput_nc_server_timeout: float
    chainput_host_retry: int
    chainput_chain_retry: float
    chainput_try_delay: float
    forwarding_timeout: float
    watchdog_period: float
    watchdog_grace: float
    keepalive_timeout: float | None

    def rewritten_address(self, address: str) -> str:
        """``address`` through ``host_rewrite_func``, if any."""
        if self.host_rewrite_func is None:
            return address
        rewritten = self.host_rewrite_func(address)
        if not isinstance(rewritten, str) or not rewritten:
            raise ConfigurationError(
                f"host_rewrite_func returned {rewritten!r} for {address!r}; expected a host name"
            )
        try:
            check_address(rewritten)
        except ValueError as e:
            raise ConfigurationError(f"host_rewrite_func for {address!r}: {e}") from None
        return rewritten


def _as_overrides(params: ConnectionParamsLike) -> dict[str, object]:
    if params is None:
        return {}
    if isinstance(params, ConnectionParams):
        return params.given()
    if isinstance(params, Mapping):
        checked = _Settings("connection_params", _CONNECTION_SPEC)
        return {str(k): checked._check(str(k), v) for k, v in params.items()}
    raise TypeError(f"connection_params must be a ConnectionParams or a dict, got {params!r}")


def resolve_connection_params(
    params: ConnectionParamsLike = None,
    host: Host | None = None,
    defaults: Mapping[str, object] | None = None,
) -> EffectiveConnectionParams:
    """Merge the layers: built-ins < ``defaults`` (the global ones) < ``params`` < ``host``.

    Args:
        params: per-call parameters (a ConnectionParams or a dict of the same keys).
        host: its ``user``, ``keyfile`` and ``port``, when not None, win over everything.
        defaults: the layer under ``params``; :data:`default_connection_params` if None.

    Raises:
        ConfigurationError: an unknown key or a bad value, naming it.
    """
    merged = dict(default_connection_params.snapshot() if defaults is None else defaults)
    merged.update(_as_overrides(params))
    if host is not None:
        for name in ("user", "keyfile", "port"):
            value = getattr(host, name)
            if value is not None:
                merged[name] = value
    for name in ("keyfile", "ssh_config", "known_hosts_store"):
        if merged.get(name) is not None:
            merged[name] = os.fspath(cast(str, merged[name]))
    return EffectiveConnectionParams(**cast(dict[str, Any], merged))
