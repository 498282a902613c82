"""The Grid'5000 configuration value and its loader for ``~/.execo.conf.py``.

The loader is deliberately small: it executes the file in a fresh namespace and reads the
``g5k_configuration`` dict the file defines, so that it can later delegate the file reading to
the core's ``execo.config`` loader.
"""

from __future__ import annotations

import dataclasses
import os
import ssl
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from ._errors import G5kConfigError

__all__ = [
    "G5kConfigKeyError",
    "G5kConfiguration",
    "G5kSettings",
    "default_config_path",
    "read_g5k_configuration",
]

_NUM = (int, float)
_OPT_STR = (str, type(None))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class G5kConfiguration:
    """Settings of the Grid'5000 layer (execo's ``g5k_configuration``, typed and frozen).

    Update with `dataclasses.replace`. Keys that only the OAR and kadeploy layers use are
    accepted so that an execo 2.8.2 configuration file loads unchanged.

    Attributes:
        api_uri: Root of the REST API, without the version segment.
        api_version: Version segment appended to `api_uri` (``stable``, ``sid`` or ``3.0``).
            None means that `api_uri` already ends with it (execo's
            ``https://api.grid5000.fr/3.0/`` style).
        api_username: Grid'5000 login for HTTP basic auth; None means anonymous (fine on a
            frontend). The password comes from the keyring, never from this file.
        api_keyring_service: Keyring service name under which the password is stored.
        api_additional_args: Query parameters added to every request (e.g. ``branch``).
        api_timeout: Seconds allowed for reading each answer.
        api_connect_timeout: Seconds allowed for connecting.
        api_retries: How many times a request is retried after a connection error or a
            5xx answer (GET only).
        api_retry_backoff: First delay between retries, doubled at each retry.
        api_verify_ssl_cert: True (system CAs), False (no verification: discouraged), or the
            path of a CA bundle file.
        api_concurrency: Maximum number of requests in flight when fetching many resources.
        api_cache_dir: Directory of the reference-data cache; None means
            ``$XDG_CACHE_HOME/execo`` (or ``~/.cache/execo``).
        api_cache_max_age: Seconds during which the cache is trusted without asking the API
            for its version; after that one request checks it.
        default_frontend: Site whose frontend is used by default.
        oar_job_key_file: Key file given to ``oarsub -k -i``.
        oar_job_origin: Every oarsub gets ``-t origin=<this>`` (Grid'5000 statistics, as in
            execo); None leaves it out (stock OAR's admission rules refuse unknown types).
        default_timeout: Seconds allowed to each OAR, oargrid and kadeploy frontend command
            when the caller gives no timeout.
        no_ssh_for_local_frontend: Run the default site's commands locally, without ssh
            (the script runs on that frontend).
        polling_interval: Seconds between two ``oarstat`` calls of `wait_oar_job_start`.
        tiny_polling_interval: The same, once the predicted start has passed.
    """

    api_uri: str = "https://api.grid5000.fr/"
    api_version: str | None = "stable"
    api_username: str | None = None
    api_keyring_service: str = "grid5000_api"
    api_additional_args: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: MappingProxyType({})
    )
    api_timeout: float = 30.0
    api_connect_timeout: float = 10.0
    api_retries: int = 3
    api_retry_backoff: float = 0.5
    api_verify_ssl_cert: bool | str = True
    api_concurrency: int = 8
    api_cache_dir: str | None = None
    api_cache_max_age: float = 3600.0
    default_frontend: str | None = None
    oar_job_key_file: str | None = None
    oar_job_origin: str | None = "execo"
    # Used by the OAR and kadeploy layers (accepted here for execo compatibility).
    kadeploy3: str = "kadeploy3"
    kadeploy3_options: str = "-k -d"
    default_env_name: str | None = None
    default_env_file: str | None = None
    default_timeout: float = 900.0
    check_deployed_command: str | None = "! (mount | grep -E '^/dev/[[:alpha:]]+2 on / ')"
    no_ssh_for_local_frontend: bool = False
    polling_interval: float = 20.0
    tiny_polling_interval: float = 10.0
    oar_pgsql_ro_db: str = "oar2"
    oar_pgsql_ro_user: str = "oarreader"
    oar_pgsql_ro_password: str = "read"
    oar_pgsql_ro_port: int = 5432

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "api_additional_args", MappingProxyType(dict(self.api_additional_args))
        )
        if self.api_retries < 0 or self.api_concurrency < 1:
            raise G5kConfigError("api_retries must be >= 0 and api_concurrency >= 1")

    @property
    def base_url(self) -> str:
        """The API base URL, ending with ``/`` (e.g. ``https://api.grid5000.fr/stable/``)."""
        root = self.api_uri.rstrip("/") + "/"
        if self.api_version:
            root += self.api_version.strip("/") + "/"
        return root

    @property
    def cache_dir(self) -> Path:
        """The directory of the reference-data cache."""
        if self.api_cache_dir is not None:
            return Path(self.api_cache_dir).expanduser()
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = Path(xdg) if xdg else Path.home() / ".cache"
        return base / "execo"

    def ssl_verify(self) -> ssl.SSLContext | bool:
        """What httpx's ``verify=`` gets: False, or a context with the configured CAs."""
        if self.api_verify_ssl_cert is False:
            return False
        if self.api_verify_ssl_cert is True:
            return ssl.create_default_context()
        return ssl.create_default_context(cafile=self.api_verify_ssl_cert)


_TYPES: dict[str, tuple[type, ...]] = {
    "api_uri": (str,),
    "api_version": _OPT_STR,
    "api_username": _OPT_STR,
    "api_keyring_service": (str,),
    "api_additional_args": (Mapping,),
    "api_timeout": _NUM,
    "api_connect_timeout": _NUM,
    "api_retries": (int,),
    "api_retry_backoff": _NUM,
    "api_verify_ssl_cert": (bool, str),
    "api_concurrency": (int,),
    "api_cache_dir": _OPT_STR,
    "api_cache_max_age": _NUM,
    "default_frontend": _OPT_STR,
    "oar_job_key_file": _OPT_STR,
    "oar_job_origin": _OPT_STR,
    "kadeploy3": (str,),
    "kadeploy3_options": (str,),
    "default_env_name": _OPT_STR,
    "default_env_file": _OPT_STR,
    "default_timeout": _NUM,
    "check_deployed_command": _OPT_STR,
    "no_ssh_for_local_frontend": (bool,),
    "polling_interval": _NUM,
    "tiny_polling_interval": _NUM,
    "oar_pgsql_ro_db": (str,),
    "oar_pgsql_ro_user": (str,),
    "oar_pgsql_ro_password": (str,),
    "oar_pgsql_ro_port": (int,),
}
assert set(_TYPES) == {f.name for f in dataclasses.fields(G5kConfiguration)}


def default_config_path() -> Path:
    """``~/.execo.conf.py``, the file execo reads its configuration from."""
    return Path.home() / ".execo.conf.py"


def read_g5k_configuration(
    path: str | os.PathLike[str] | None = None,
    *,
    base: G5kConfiguration | None = None,
) -> G5kConfiguration:
    """Reads the ``g5k_configuration`` dict of an execo configuration file.

    The file is Python; it is executed in a fresh namespace. Only its ``g5k_configuration``
    name is read here (the other names belong to the core's configuration). A missing file
    gives `base` unchanged.

    Args:
        path: The file; None means ``~/.execo.conf.py``.
        base: The configuration the file's keys override; None means the defaults.

    Returns:
        A new configuration.

    Raises:
        G5kConfigError: The file fails to execute, ``g5k_configuration`` is not a dict, or
            a key is unknown or has a value of the wrong type (the message names the key and
            the file).
    """
    file = Path(path) if path is not None else default_config_path()
    base = base if base is not None else G5kConfiguration()
    try:
        source = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return base
    namespace: dict[str, Any] = {"__file__": str(file), "__name__": "__execo_conf__"}
    try:
        exec(compile(source, str(file), "exec"), namespace)
    except Exception as e:
        raise G5kConfigError(f"{file}: error while executing it: {e!r}") from e
    values = namespace.get("g5k_configuration")
    if values is None:
        return base
    if not isinstance(values, Mapping):
        raise G5kConfigError(f"{file}: g5k_configuration must be a dict, not {type(values)}")
    return configuration_from_mapping(values, source=str(file), base=base)


def _unknown_key(key: object, source: str) -> str:
    known = ", ".join(sorted(_TYPES))
    where = "" if source == "g5k_configuration" else f"{source}: "
    return f"{where}unknown key {key!r} in g5k_configuration (known keys: {known})"


def configuration_from_mapping(
    values: Mapping[str, Any], *, source: str, base: G5kConfiguration
) -> G5kConfiguration:
    """`base` with the keys of `values` replaced, each checked by name and type."""
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in _TYPES:
            raise G5kConfigKeyError(_unknown_key(key, source))
        types = _TYPES[key]
        wrong_bool = isinstance(value, bool) and bool not in types
        if wrong_bool or not isinstance(value, types):
            names = " or ".join(t.__name__ for t in types)
            where = "" if source == "g5k_configuration" else f"{source}: "
            raise G5kConfigError(
                f"{where}g5k_configuration[{key!r}] must be {names}, not {value!r}"
            )
        changes[key] = value
    return dataclasses.replace(base, **changes)


class G5kConfigKeyError(G5kConfigError, KeyError):
    """An unknown key of ``g5k_configuration`` (also a KeyError, as a dict would raise)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class G5kSettings(MutableMapping[str, Any]):
    """execo's ``g5k_configuration`` dict, over the typed, frozen `G5kConfiguration`.

    ``g5k_configuration["oar_job_key_file"] = path`` checks the key and the value's type
    (a `G5kConfigError` naming the key otherwise, before anything changes), then installs a
    new `G5kConfiguration` with that field replaced: every later call reads it. Reading a
    key gives the value in force. The typed value itself is `current` (what `G5kApi` and the
    OAR and kadeploy functions read); `install` replaces it as a whole. Keys cannot be
    deleted.

    For code written against the frozen value, it also reads as the configuration in force:
    its attributes (``g5k_configuration.polling_interval``, ``.base_url``) are those of
    `current`, and ``dataclasses.replace(g5k_configuration, ...)`` gives a new
    `G5kConfiguration` (to install with ``set_g5k_configuration``).
    """

    # dataclasses.replace() sees the configuration in force (see __class__ below).
    __dataclass_fields__: ClassVar[dict[str, Any]] = G5kConfiguration.__dataclass_fields__

    def __init__(self, initial: G5kConfiguration | None = None) -> None:
        self._current = initial if initial is not None else G5kConfiguration()

    @property
    def current(self) -> G5kConfiguration:
        """The configuration in force (frozen: read its attributes, with their types)."""
        return self._current

    def install(self, config: G5kConfiguration) -> G5kConfiguration:
        """Puts `config` in force; returns the previous configuration."""
        if isinstance(config, G5kSettings):  # the dict itself (it passes for a configuration)
            config = config.current
        if not isinstance(config, G5kConfiguration):
            raise G5kConfigError(f"expected a G5kConfiguration, got {config!r}")
        previous, self._current = self._current, config
        return previous

    def __getitem__(self, key: str) -> Any:
        if key not in _TYPES:
            raise G5kConfigKeyError(_unknown_key(key, "g5k_configuration"))
        return getattr(self._current, key)

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in _TYPES:
            raise G5kConfigKeyError(_unknown_key(key, "g5k_configuration"))
        self._current = configuration_from_mapping(
            {key: value}, source="g5k_configuration", base=self._current
        )

    def __delitem__(self, key: str) -> None:
        raise G5kConfigError(
            f"g5k_configuration keys cannot be deleted (set {key!r} to another value)"
        )

    def __iter__(self) -> Iterator[str]:
        return iter(_TYPES)

    def __len__(self) -> int:
        return len(_TYPES)

    def __repr__(self) -> str:
        return f"g5k_configuration({self._current!r})"

    def __getattr__(self, name: str) -> Any:
        # Only called for names G5kSettings lacks: the configuration's fields and methods.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._current, name)

    @property  # type: ignore[misc]
    def __class__(self) -> type[G5kConfiguration]:  # type: ignore[override]
        # dataclasses.replace() builds ``obj.__class__(**fields)``: a G5kConfiguration.
        return G5kConfiguration
