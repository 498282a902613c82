"""execo: structured-concurrency control of local and remote processes.

Every :class:`Process` is a scope: ``await p.run()``, or ``async with p:`` (leaving the block
waits for it; an exception or a cancellation inside kills it, remote side included).
Nothing happens at import: the configuration file is read the first time a setting is
needed, and asyncssh is loaded only when its transport or pool is first used.

The names below are grouped by layer, lowest first; each layer imports only from those
above it in this list (``docs/design.md``, "Layers").
"""

# ruff: noqa: I001  (the imports are grouped by layer, not sorted)
import typing as _typing

# Layer 1, core: errors, hosts, configuration, logging, substitutions, the process model.
from ._core._config import CHAINPUT as CHAINPUT
from ._core._config import SCP as SCP
from ._core._config import SSH as SSH
from ._core._config import TAKTUK as TAKTUK
from ._core._config import ConnectionParams as ConnectionParams
from ._core._config import EffectiveConnectionParams as EffectiveConnectionParams
from ._core._config import configuration as configuration
from ._core._config import default_connection_params as default_connection_params
from ._core._config import default_frontend_connection_params as default_frontend_connection_params
from ._core._config import default_oarsh_oarcp_params as default_oarsh_oarcp_params
from ._core._config import load_configuration as load_configuration
from ._core._config import resolve_connection_params as resolve_connection_params
from ._core._errors import ConfigurationError as ConfigurationError
from ._core._errors import ExecoError as ExecoError
from ._core._errors import ExecoUsageError as ExecoUsageError
from ._core._host import Host as Host
from ._core._host import HostLike as HostLike
from ._core._host import expand_hosts as expand_hosts
from ._core._host import fold_hosts as fold_hosts
from ._core._host import get_hosts_list as get_hosts_list
from ._core._host import get_hosts_set as get_hosts_set
from ._core._host import get_unique_hosts_list as get_unique_hosts_list
from ._core._local import Process as Process
from ._core._log import logger as logger
from ._core._log import style as style
from ._core._output import STDERR as STDERR
from ._core._output import STDOUT as STDOUT
from ._core._output import LineSplitter as LineSplitter
from ._core._output import Stream as Stream
from ._core._process import LineHandler as LineHandler
from ._core._process import LocalProcessOptions as LocalProcessOptions
from ._core._process import OutputHandler as OutputHandler
from ._core._process import OutputHandlerSpec as OutputHandlerSpec
from ._core._process import ProcessBase as ProcessBase
from ._core._process import ProcessesFailed as ProcessesFailed
from ._core._process import ProcessLifecycleHandler as ProcessLifecycleHandler
from ._core._process import ProcessOptions as ProcessOptions
from ._core._process import SshProcessOptions as SshProcessOptions
from ._core._secret import Secret as Secret
from ._core._status import ExpectResult as ExpectResult
from ._core._status import ProcessStatus as ProcessStatus
from ._core._substitution import SubstitutionError as SubstitutionError
from ._core._substitution import substitute as substitute
from ._core._time import Timer as Timer
from ._core._time import format_date as format_date
from ._core._time import format_duration as format_duration
from ._core._time import get_seconds as get_seconds
from ._core._time import get_unixts as get_unixts
from ._core._time import sleep as sleep
from ._core._util import UNSET as UNSET

# Layer 2, transports: the seam (for implementors), and the processes that run over it.
from ._core._channel import ByteSource as ByteSource
from ._core._channel import Channel as Channel
from ._core._channel import ChannelInfo as ChannelInfo
from ._core._channel import ExitStatus as ExitStatus
from ._transports._base import Batch as Batch
from ._transports._base import CommandRequest as CommandRequest
from ._transports._base import CopyRequest as CopyRequest
from ._transports._base import Transport as Transport
from ._transports._process import CopyProcess as CopyProcess
from ._transports._process import ScpProcess as ScpProcess
from ._transports._process import SftpProcess as SftpProcess
from ._transports._process import SshProcess as SshProcess
from ._transports._process import TaktukProcess as TaktukProcess

# Layer 3, actions: sets of processes run as one scope, and the tool factories.
from ._actions._action import Action as Action
from ._actions._action import ActionLifecycleHandler as ActionLifecycleHandler
from ._actions._action import ActionOptions as ActionOptions
from ._actions._action import Local as Local
from ._actions._action import ParallelActions as ParallelActions
from ._actions._action import SequentialActions as SequentialActions
from ._actions._action import filter_bad_hosts as filter_bad_hosts
from ._actions._action import wait_all_actions as wait_all_actions
from ._actions._action import wait_any_actions as wait_any_actions
from ._actions._chainput import ChainPut as ChainPut
from ._actions._factories import get_fileget as get_fileget
from ._actions._factories import get_fileput as get_fileput
from ._actions._factories import get_process as get_process
from ._actions._factories import get_remote as get_remote
from ._actions._forward import PortForwarder as PortForwarder
from ._actions._forward import PortForwardingFailed as PortForwardingFailed
from ._actions._remote import Get as Get
from ._actions._remote import Put as Put
from ._actions._remote import Remote as Remote
from ._actions._remote import RemoteProcessArgs as RemoteProcessArgs
from ._actions._serial import RemoteSerial as RemoteSerial
from ._actions._serial import Serial as Serial
from ._actions._serial import SerialSsh as SerialSsh
from ._actions._taktuk import TaktukGet as TaktukGet
from ._actions._taktuk import TaktukPut as TaktukPut
from ._actions._taktuk import TaktukRemote as TaktukRemote

# Layer 4, display: reports and output views.
from ._display._console import GatheredOutput as GatheredOutput
from ._display._console import HostPrefixedOutput as HostPrefixedOutput
from ._display._console import format_gathered as format_gathered
from ._display._console import gather_outputs as gather_outputs
from ._display._console import progress as progress
from ._display._report import Report as Report

# Above the layers: execo 2.8.2's names that have a better replacement (docs/from_execo.md).
from ._compat import ActionFactory as ActionFactory
from ._compat import ActionsFailed as ActionsFailed
from ._compat import ExpectOutputHandler as ExpectOutputHandler
from ._compat import ProcessOutputHandler as ProcessOutputHandler
from ._compat import default_action_factory as default_action_factory

if _typing.TYPE_CHECKING:
    # The asyncssh pool (layer 2), loaded on first use (see __getattr__).
    from ._transports._sshpool import Limits as Limits
    from ._transports._sshpool import PoolStatistics as PoolStatistics
    from ._transports._sshpool import SshPool as SshPool
    from ._transports._sshpool import ssh_pool as ssh_pool
    from ._transports._sshtarget import HostKeyPolicy as HostKeyPolicy

__version__ = "3.0.0.dev0"

_LAZY = {
    "Limits": "._transports._sshpool",
    "PoolStatistics": "._transports._sshpool",
    "SshPool": "._transports._sshpool",
    "ssh_pool": "._transports._sshpool",
    "HostKeyPolicy": "._transports._sshtarget",
}


def __getattr__(name: str) -> _typing.Any:
    """The asyncssh-backed names, imported when first asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'execo' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    # core
    "CHAINPUT",
    "SCP",
    "SSH",
    "TAKTUK",
    "UNSET",
    "ConfigurationError",
    "ConnectionParams",
    "EffectiveConnectionParams",
    "ExecoError",
    "ExecoUsageError",
    "ExpectResult",
    "Host",
    "HostLike",
    "LineHandler",
    "LineSplitter",
    "LocalProcessOptions",
    "OutputHandler",
    "OutputHandlerSpec",
    "Process",
    "ProcessBase",
    "ProcessLifecycleHandler",
    "ProcessOptions",
    "ProcessStatus",
    "ProcessesFailed",
    "STDERR",
    "STDOUT",
    "Secret",
    "SshProcessOptions",
    "Stream",
    "SubstitutionError",
    "Timer",
    "configuration",
    "default_connection_params",
    "default_frontend_connection_params",
    "default_oarsh_oarcp_params",
    "expand_hosts",
    "fold_hosts",
    "format_date",
    "format_duration",
    "get_hosts_list",
    "get_hosts_set",
    "get_seconds",
    "get_unique_hosts_list",
    "get_unixts",
    "load_configuration",
    "logger",
    "resolve_connection_params",
    "sleep",
    "style",
    "substitute",
    # transports
    "Batch",
    "ByteSource",
    "Channel",
    "ChannelInfo",
    "CommandRequest",
    "CopyProcess",
    "CopyRequest",
    "ExitStatus",
    "HostKeyPolicy",
    "Limits",
    "PoolStatistics",
    "ScpProcess",
    "SftpProcess",
    "SshPool",
    "SshProcess",
    "TaktukProcess",
    "Transport",
    "ssh_pool",
    # actions
    "Action",
    "ActionLifecycleHandler",
    "ActionOptions",
    "ChainPut",
    "Get",
    "Local",
    "ParallelActions",
    "PortForwarder",
    "PortForwardingFailed",
    "Put",
    "Remote",
    "RemoteProcessArgs",
    "RemoteSerial",
    "SequentialActions",
    "Serial",
    "SerialSsh",
    "TaktukGet",
    "TaktukPut",
    "TaktukRemote",
    "filter_bad_hosts",
    "get_fileget",
    "get_fileput",
    "get_process",
    "get_remote",
    "wait_all_actions",
    "wait_any_actions",
    # display
    "GatheredOutput",
    "HostPrefixedOutput",
    "Report",
    "format_gathered",
    "gather_outputs",
    "progress",
    # execo 2.8.2's names
    "ActionFactory",
    "ActionsFailed",
    "ExpectOutputHandler",
    "ProcessOutputHandler",
    "default_action_factory",
]
