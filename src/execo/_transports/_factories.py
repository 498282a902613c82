"""From names to transports: the one place where tool names are compared.

Users name a transport with a string (``"ssh"``, ``"asyncssh"``, ``"taktuk"``, and for copies
``"scp"``, OpenSSH's copy program), with execo 2.8.2's constants (``SSH``, ``SCP``,
``TAKTUK``, and their integer values 0, 1, 2), through the configuration (``remote_tool``,
``fileput_tool``, ``fileget_tool``), or pass a :class:`~execo._transports._base.Transport`
object of their own. ``CHAINPUT`` names no transport but an action (:class:`~execo.ChainPut`):
:func:`fileput_choice` tells it apart for :func:`~execo.get_fileput`.

The asyncssh transport is imported only when it is first named: ``import execo`` does not
load asyncssh.
"""

from __future__ import annotations

from typing import Final, Literal, TypeAlias, cast

from .._core._config import configuration
from .._core._errors import ConfigurationError
from ._base import Transport
from ._openssh import OpenSshTransport
from ._taktuk import TaktukTransport

__all__ = [
    "CHAINPUT_ACTION",
    "TransportLike",
    "copy_transport",
    "fileput_choice",
    "remote_transport",
    "tool_transport",
    "transport_named",
]

TransportLike: TypeAlias = Transport | str | int | None
"""A transport object, its name, one of execo's tool constants, or None for the default."""

ToolKey: TypeAlias = Literal["remote_tool", "fileput_tool", "fileget_tool"]

_CODES: Final = {0: "ssh", 1: "scp", 2: "taktuk", 3: "chainput"}
_OPENSSH: Final = OpenSshTransport()
_TAKTUK: Final = TaktukTransport()
_asyncssh: Transport | None = None

CHAINPUT_ACTION: Final = "chainput"
"""What :func:`fileput_choice` returns for the ChainPut broadcast, which is an action."""


def _name(value: str | int) -> str:
    if isinstance(value, bool):
        raise TypeError(f"a transport name or object is expected, got {value!r}")
    if isinstance(value, int):
        return _CODES.get(value, str(value))
    return str(value)  # a StrEnum member too


def transport_named(name: str, *, copy: bool = False, what: str = "transport") -> Transport:
    """The transport called ``name`` (``scp`` is OpenSSH's when ``copy``).

    Raises:
        ConfigurationError: (a ValueError) no transport has that name; the message names
            ``what`` was given and lists the names.
    """
    global _asyncssh
    if name == "ssh" or (copy and name == "scp"):
        return _OPENSSH
    if name == "taktuk":
        return _TAKTUK
    if name == "asyncssh":
        if _asyncssh is None:
            try:
                from ._asyncssh import AsyncsshTransport
            except ImportError as e:
                if e.name != "asyncssh":
                    raise
                raise ImportError(
                    "the asyncssh transport needs asyncssh: pip install 'execo[asyncssh]'"
                ) from e
            _asyncssh = AsyncsshTransport()
        return _asyncssh
    names = "'ssh', 'asyncssh', 'taktuk'" + (", 'scp'" if copy else "")
    hint = " (a broadcast: use ChainPut or get_fileput)" if name == CHAINPUT_ACTION else ""
    raise ConfigurationError(f"{what} must be one of {names} or a Transport, got {name!r}{hint}")


_TRANSPORT_CLASSES: set[type] = set()


def _checked(value: object, *, copy: bool = False, what: str = "transport") -> Transport:
    """``value`` if it is a Transport object, else the error of :func:`transport_named`.
    Names and None, the usual values, are told apart before this: an isinstance check
    against the runtime-checkable protocol costs about 10 us, and every process of an
    action resolves its transport; a class whose instance passed it once is remembered."""
    if type(value) in _TRANSPORT_CLASSES:
        return cast(Transport, value)
    if isinstance(value, Transport):
        _TRANSPORT_CLASSES.add(type(value))
        return value
    return transport_named(str(value), copy=copy, what=what)


def remote_transport(value: TransportLike = None) -> Transport:
    """The transport of a remote command: ``value``, else ``configuration["remote_tool"]``
    when it names ssh or asyncssh (a process or a Remote of its own does not become a taktuk
    tree because the configuration prefers taktuk for :func:`~execo.get_remote`)."""
    if isinstance(value, (str, int)):
        return transport_named(_name(value))
    if value is None:
        tool = _name(configuration["remote_tool"])
        return transport_named(tool if tool in ("ssh", "asyncssh") else "ssh")
    return _checked(value)


def copy_transport(key: ToolKey, value: TransportLike = None) -> Transport:
    """The transport of a Put (``key="fileput_tool"``) or Get (``"fileget_tool"``):
    ``value``, else the configured tool when it names scp or asyncssh."""
    if isinstance(value, (str, int)):
        return transport_named(_name(value), copy=True)
    if value is None:
        tool = _name(configuration[key])
        return transport_named(tool if tool in ("scp", "asyncssh") else "scp", copy=True)
    return _checked(value, copy=True)


def fileput_choice(value: TransportLike = None) -> Transport | Literal["chainput"]:
    """What :func:`~execo.get_fileput` builds: a transport for Put, or the ChainPut action."""
    if value is None:
        tool = _name(configuration["fileput_tool"])
    elif isinstance(value, (str, int)):
        tool = _name(value)
    else:
        return _checked(value, copy=True, what="fileput_tool")
    if tool == CHAINPUT_ACTION:
        return CHAINPUT_ACTION
    return transport_named(tool, copy=True, what="fileput_tool")


def tool_transport(key: ToolKey, value: TransportLike = None) -> Transport:
    """What :func:`~execo.get_remote` / :func:`~execo.get_fileget` build on: ``value``,
    else the configured tool, taktuk included."""
    if value is None:
        tool = _name(configuration[key])
    elif isinstance(value, (str, int)):
        tool = _name(value)
    else:
        return _checked(value, copy=key != "remote_tool", what=key)
    return transport_named(tool, copy=key != "remote_tool", what=key)
