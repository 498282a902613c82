"""The exceptions of :mod:`execo_engine`.

Every exception the package raises on purpose derives from :class:`EngineError`::

    EngineError
    ├── SweeperError                 something about a ParamSweeper's storage or its use
    │   ├── SweeperFormatError       a storage file is not an execo sweeper file, or is damaged
    │   │                            somewhere other than a torn tail (which is cut, not raised)
    │   ├── CombinationError         (also ValueError) a combination that cannot be stored or that
    │   │                            this sweeper does not know
    │   └── CombinationStateError    the transition asked for is not allowed in the current state
    │       └── OwnershipError       the combination is in progress by another worker: ours was
    │                                reclaimed (our lease lapsed, or someone reset it)
    └── EngineLoadError              ``execo-run`` could not find or load the engine class

Misuse of the API that Python already names (a wrong type, an out-of-range argument) raises the
builtin ``TypeError`` / ``ValueError``.
"""

from __future__ import annotations

from execo import ExecoError

__all__ = [
    "EngineError",
    "SweeperError",
    "SweeperFormatError",
    "CombinationError",
    "CombinationStateError",
    "OwnershipError",
    "EngineLoadError",
]


class EngineError(ExecoError):
    """Root of the exceptions raised by :mod:`execo_engine`."""


class SweeperError(EngineError):
    """A ParamSweeper's storage cannot be used as asked."""


class SweeperFormatError(SweeperError):
    """A storage file is not an execo sweeper file, has an unknown version, or is damaged."""


class CombinationError(SweeperError, ValueError):
    """A combination cannot be stored (not JSON-encodable) or is unknown to this sweeper."""


class CombinationStateError(SweeperError):
    """The transition asked for is not allowed from the combination's current state.

    Attributes:
        combination: the combination concerned.
        state: its state when the call was made (``"todo"``, ``"inprogress"``, ``"done"``,
            ``"skipped"``).
    """

    def __init__(self, message: str, combination: object, state: str) -> None:
        super().__init__(message)
        self.combination = combination
        self.state = state


class OwnershipError(CombinationStateError):
    """The combination is in progress by another worker.

    Raised by ``done``, ``skip`` or ``cancel`` when the combination was handed to this worker but
    has since been reclaimed and handed to another one (this worker was presumed dead), so
    recording it here would count it twice.
    """


class EngineLoadError(EngineError):
    """``execo-run`` could not find the engine file or module, or the class in it."""
