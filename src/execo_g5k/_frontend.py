"""Where Grid'5000 commands run: on a site's frontend over ssh, or here.

OAR, oargrid and kadeploy commands exist only on frontends. A command for site ``lyon``
runs as ``ssh lyon.grid5000.fr ...`` (the site name goes through the frontend connection
parameters' ``host_rewrite_func``), or locally when there is no frontend to go to (no site
and no default frontend), or when ``no_ssh_for_local_frontend`` is set and the site is the
default one (the script already runs on that frontend).

Every command is given as an argv and shell-quoted here (execo 2.8.2 concatenated strings).
It runs with ``TZ=UTC0``: the only dates ever written for OAR (``oarsub -r``) are formatted
in UTC, so the frontend's own time zone never matters.
"""

from __future__ import annotations

import functools
import re
import shlex
import socket
from collections.abc import Mapping, Sequence
from typing import Unpack

from execo import Host, Process, ProcessOptions, SshProcess
from execo._core._config import (
    ConnectionParamsLike,
    _as_overrides,
    default_frontend_connection_params,
)
from execo._core._process import ProcessBase
from execo._core._util import UNSET, Unset

from . import config as _config_module

__all__ = [
    "make_frontend_connection_params",
    "frontend_process",
    "get_default_frontend",
    "get_frontend_host",
    "get_kavlan_host_name",
    "resolve_timeout",
]

_G5K_HOSTNAME = re.compile(r"^[^.]+\.([^.]+)\.grid5000\.fr$")

# The environment of every frontend command (see the module docstring).
FRONTEND_ENV: Mapping[str, str] = {"TZ": "UTC0", "LC_ALL": "C"}


def get_default_frontend() -> str | None:
    """The default site: ``g5k_configuration["default_frontend"]``, else the site of this host
    when its name is ``<node>.<site>.grid5000.fr``, else None (run commands locally)."""
    configured = _config_module.current_g5k_configuration().default_frontend
    if configured:
        return configured
    return _local_site()


@functools.cache
def _local_site() -> str | None:
    """The site of this machine's fully qualified name (looked up once: it may be slow)."""
    m = _G5K_HOSTNAME.match(socket.getfqdn())
    return m.group(1) if m else None


def get_frontend_host(frontend: str | None = None) -> Host | None:
    """The host to ssh to for `frontend` (a site name), or None for "run locally".

    Args:
        frontend: The site; None means the default frontend.

    Returns:
        None when there is no frontend at all, or when ``no_ssh_for_local_frontend`` is set
        and `frontend` is the default one; otherwise ``Host(frontend)`` (the site name, which
        the frontend connection parameters rewrite into a host name).
    """
    default = get_default_frontend()
    site = frontend if frontend is not None else default
    if site is None:
        return None
    if _config_module.current_g5k_configuration().no_ssh_for_local_frontend and site == default:
        return None
    return Host(site)


def get_kavlan_host_name(host: Host | str, vlan_id: int) -> str:
    """``node.site.grid5000.fr`` -> ``node-kavlan-<vlan_id>.site.grid5000.fr``."""
    address = host.address if isinstance(host, Host) else host
    short, sep, rest = address.partition(".")
    return f"{short}-kavlan-{vlan_id}{sep}{rest}"


def make_frontend_connection_params(params: ConnectionParamsLike = None) -> dict[str, object]:
    """`default_frontend_connection_params` overlaid with `params` (as a checked dict)."""
    merged = dict(default_frontend_connection_params.snapshot())
    merged.update(_as_overrides(params))
    return merged


def resolve_timeout(timeout: float | Unset | None) -> float | None:
    """UNSET means ``g5k_configuration["default_timeout"]``; None means no timeout."""
    if timeout is UNSET:
        return _config_module.current_g5k_configuration().default_timeout
    return timeout


def frontend_process(
    argv: Sequence[str],
    frontend: str | None,
    *,
    frontend_connection_params: ConnectionParamsLike = None,
    pty: bool = False,
    **options: Unpack[ProcessOptions],
) -> ProcessBase:
    """A process running `argv` on `frontend`'s frontend (or locally, see the module doc).

    The OAR commands are run without a pty by default, whatever the frontend connection
    parameters say: their stdout is parsed (JSON), and killing works without one.

    Args:
        argv: The command.
        frontend: The site; None means the default frontend.
        frontend_connection_params: Overrides over `default_frontend_connection_params`.
        pty: Run it in a (remote) pty.
        **options: More process options (`execo.ProcessOptions`: handlers, nolog flags...);
            without ``timeout``, ``g5k_configuration["default_timeout"]``.
    """
    host = get_frontend_host(frontend)
    options.setdefault("timeout", resolve_timeout(UNSET))
    if host is None:
        return Process(list(argv), env=FRONTEND_ENV, pty=pty, **options)
    env_words = [f"{k}={v}" for k, v in FRONTEND_ENV.items()]
    cmd = shlex.join(["env", *env_words, *argv])
    params = make_frontend_connection_params(frontend_connection_params)
    return SshProcess(cmd, host, connection_params=params, pty=pty, **options)
