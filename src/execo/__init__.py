"""execo: structured-concurrency control of local and remote processes.

Every :class:`Process` is a scope: ``await p.run()``, or ``async with p:`` (leaving the block
waits for it; an exception or a cancellation inside kills it, remote side included).
Nothing happens at import: the configuration file is read the first time a setting is needed.
"""

from ._config import CHAINPUT as CHAINPUT
from ._config import SCP as SCP
from ._config import SSH as SSH
from ._config import TAKTUK as TAKTUK
from ._config import ConnectionParams as ConnectionParams
from ._config import EffectiveConnectionParams as EffectiveConnectionParams
from ._config import configuration as configuration
from ._config import default_connection_params as default_connection_params
from ._config import load_configuration as load_configuration
from ._config import resolve_connection_params as resolve_connection_params
from ._errors import ConfigurationError as ConfigurationError
from ._errors import ExecoError as ExecoError
from ._errors import ExecoUsageError as ExecoUsageError
from ._errors import ProcessesFailed as ProcessesFailed
from ._host import Host as Host
from ._host import HostLike as HostLike
from ._host import get_hosts_list as get_hosts_list
from ._host import get_hosts_set as get_hosts_set
from ._host import get_unique_hosts_list as get_unique_hosts_list
from ._log import logger as logger
from ._log import style as style
from ._output import STDERR as STDERR
from ._output import STDOUT as STDOUT
from ._output import LineHandler as LineHandler
from ._output import LineSplitter as LineSplitter
from ._output import OutputHandler as OutputHandler
from ._output import OutputHandlerSpec as OutputHandlerSpec
from ._output import Stream as Stream
from ._process import ExpectResult as ExpectResult
from ._process import Process as Process
from ._process import ProcessBase as ProcessBase
from ._process import ProcessLifecycleHandler as ProcessLifecycleHandler
from ._process import ProcessStatus as ProcessStatus
from ._ssh import SshProcess as SshProcess
from ._util import UNSET as UNSET

__version__ = "3.0.0.dev0"

__all__ = [
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
    "configuration",
    "default_connection_params",
    "get_hosts_list",
    "get_hosts_set",
    "get_unique_hosts_list",
    "load_configuration",
    "logger",
    "resolve_connection_params",
    "style",
]
