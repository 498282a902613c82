"""execo: structured-concurrency control of local and remote processes.

Every :class:`Process` is a scope: ``await p.run()``, or ``async with p:`` (leaving the block
waits for it; an exception or a cancellation inside kills it, remote side included).
Nothing happens at import: the configuration file is read the first time a setting is needed.
"""

from ._actions._action import Action as Action
from ._actions._action import ActionLifecycleHandler as ActionLifecycleHandler
from ._actions._action import Local as Local
from ._actions._action import ParallelActions as ParallelActions
from ._actions._action import SequentialActions as SequentialActions
from ._actions._action import filter_bad_hosts as filter_bad_hosts
from ._actions._action import wait_all_actions as wait_all_actions
from ._actions._action import wait_any_actions as wait_any_actions
from ._actions._chainput import ChainPut as ChainPut
from ._actions._forward import PortForwarder as PortForwarder
from ._actions._remote import Get as Get
from ._actions._remote import Put as Put
from ._actions._remote import Remote as Remote
from ._actions._remote import ScpProcess as ScpProcess
from ._actions._remote import get_fileget as get_fileget
from ._actions._remote import get_fileput as get_fileput
from ._actions._remote import get_process as get_process
from ._actions._remote import get_remote as get_remote
from ._actions._serial import RemoteSerial as RemoteSerial
from ._actions._serial import Serial as Serial
from ._actions._serial import SerialSsh as SerialSsh
from ._actions._taktuk import TaktukGet as TaktukGet
from ._actions._taktuk import TaktukPut as TaktukPut
from ._actions._taktuk import TaktukRemote as TaktukRemote
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
from ._core._errors import ProcessesFailed as ProcessesFailed
from ._core._host import Host as Host
from ._core._host import HostLike as HostLike
from ._core._host import expand_hosts as expand_hosts
from ._core._host import fold_hosts as fold_hosts
from ._core._host import get_hosts_list as get_hosts_list
from ._core._host import get_hosts_set as get_hosts_set
from ._core._host import get_unique_hosts_list as get_unique_hosts_list
from ._core._log import logger as logger
from ._core._log import style as style
from ._core._output import STDERR as STDERR
from ._core._output import STDOUT as STDOUT
from ._core._output import LineHandler as LineHandler
from ._core._output import LineSplitter as LineSplitter
from ._core._output import OutputHandler as OutputHandler
from ._core._output import OutputHandlerSpec as OutputHandlerSpec
from ._core._output import Stream as Stream
from ._core._process import ExpectResult as ExpectResult
from ._core._process import Process as Process
from ._core._process import ProcessBase as ProcessBase
from ._core._process import ProcessLifecycleHandler as ProcessLifecycleHandler
from ._core._process import ProcessStatus as ProcessStatus
from ._core._substitution import SubstitutionError as SubstitutionError
from ._core._substitution import substitute as substitute
from ._core._time import Timer as Timer
from ._core._time import format_date as format_date
from ._core._time import format_duration as format_duration
from ._core._time import get_seconds as get_seconds
from ._core._time import get_unixts as get_unixts
from ._core._time import sleep as sleep
from ._core._util import UNSET as UNSET
from ._display._console import GatheredOutput as GatheredOutput
from ._display._console import HostPrefixedOutput as HostPrefixedOutput
from ._display._console import format_gathered as format_gathered
from ._display._console import gather_outputs as gather_outputs
from ._display._console import progress as progress
from ._display._report import Report as Report
from ._transports._asyncssh import SftpProcess as SftpProcess
from ._transports._openssh import SshProcess as SshProcess
from ._transports._sshpool import Limits as Limits
from ._transports._sshpool import PoolStatistics as PoolStatistics
from ._transports._sshpool import SshPool as SshPool
from ._transports._sshpool import ssh_pool as ssh_pool
from ._transports._sshtarget import HostKeyPolicy as HostKeyPolicy
from ._transports._taktuk import TaktukProcess as TaktukProcess

__version__ = "3.0.0.dev0"

__all__ = [
    "HostKeyPolicy",
    "Limits",
    "PoolStatistics",
    "SftpProcess",
    "SshPool",
    "ssh_pool",
    "RemoteSerial",
    "Serial",
    "SerialSsh",
    "Timer",
    "format_date",
    "format_duration",
    "get_seconds",
    "get_unixts",
    "sleep",
    "Action",
    "ActionLifecycleHandler",
    "ChainPut",
    "GatheredOutput",
    "Get",
    "HostPrefixedOutput",
    "Local",
    "ParallelActions",
    "PortForwarder",
    "Put",
    "Remote",
    "Report",
    "ScpProcess",
    "SequentialActions",
    "SubstitutionError",
    "TaktukGet",
    "TaktukPut",
    "TaktukRemote",
    "filter_bad_hosts",
    "format_gathered",
    "gather_outputs",
    "get_fileget",
    "get_fileput",
    "get_process",
    "get_remote",
    "progress",
    "substitute",
    "wait_all_actions",
    "wait_any_actions",
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
    "OutputHandler",
    "OutputHandlerSpec",
    "Process",
    "ProcessBase",
    "ProcessLifecycleHandler",
    "ProcessStatus",
    "ProcessesFailed",
    "STDERR",
    "STDOUT",
    "SshProcess",
    "Stream",
    "TaktukProcess",
    "configuration",
    "default_connection_params",
    "default_frontend_connection_params",
    "default_oarsh_oarcp_params",
    "expand_hosts",
    "fold_hosts",
    "get_hosts_list",
    "get_hosts_set",
    "get_unique_hosts_list",
    "load_configuration",
    "logger",
    "resolve_connection_params",
    "style",
]
