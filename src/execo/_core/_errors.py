"""Exceptions of execo: one root, :class:`ExecoError`, for everything execo, execo_g5k and
execo_engine raise on purpose.

Tree (where each class lives in brackets; builtin bases in parentheses)::

    ExecoError
    ├── ConfigurationError (ValueError)     a bad configuration file, unknown key, bad value
    │   └── G5kConfigError                  ... of the Grid'5000 configuration [execo_g5k]
    │       └── G5kConfigKeyError (KeyError)  an unknown g5k_configuration key
    ├── ExecoUsageError (RuntimeError)      misuse of the API (starting a Process twice...)
    ├── SubstitutionError (ValueError)      a {{expression}} that fails or gives no sequence
    ├── ProcessesFailed                     opt-in raise: some processes did not finish ok;
    │   │                                   .processes holds them [execo._core._process]
    │   └── PortForwardingFailed            the forwarding did not come up [execo._actions]
    ├── ActionsFailed                       execo 2.8.2's name, never raised [execo._compat]
    ├── TestbedError                        a local cluster could not be set up [execo.testbed]
    │   └── NotSupportedError (NotImplementedError)
    ├── G5kApiError                         no answer from the Grid'5000 API [execo_g5k]
    │   ├── G5kTransportError
    │   │   └── G5kTimeout (TimeoutError)
    │   ├── G5kHTTPError                    .status, .url, .body
    │   │   ├── G5kAuthError
    │   │   └── G5kNotFound
    │   └── G5kDataError
    ├── UnknownElementError (ValueError)    a site, cluster or host the API data lacks
    ├── OarError                            an OAR command failed [execo_g5k.oar]
    │   ├── OarSubmitError, OarCommandError, OarJobError
    │   └── OarJobNotFound (LookupError)
    └── EngineError                         [execo_engine]
        ├── SweeperError
        │   ├── SweeperFormatError
        │   ├── CombinationError (ValueError)
        │   └── CombinationStateError
        │       └── OwnershipError
        └── EngineLoadError

Failures of the processes themselves are *data* (``ok``, ``status``, ``error_reason``...), as
in execo; ``ProcessesFailed`` is raised only when asked (``check=True`` or
``raise_for_error()``). A misspelled keyword is a builtin ``TypeError`` (naming the class and
the closest valid keyword), as Python itself raises.
"""

from __future__ import annotations

__all__ = ["ConfigurationError", "ExecoError", "ExecoUsageError"]


class ExecoError(Exception):
    """Root of the exceptions execo raises on purpose."""


class ConfigurationError(ExecoError, ValueError):
    """A configuration file, key or value is wrong; the message names the culprit."""


class ExecoUsageError(ExecoError, RuntimeError):
    """The API was used in a way it does not support."""
