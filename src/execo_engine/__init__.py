"""Experiment engine: sweeps, ParamSweeper, Engine and execo-run.

Nothing happens at import. See ``docs/engine.md`` for the user guide.
"""

# ruff: noqa: I001  (the imports are grouped by layer, not sorted)
# Errors and the engine's logger (the lowest layer).
from ._errors import CombinationError as CombinationError
from ._errors import CombinationStateError as CombinationStateError
from ._errors import EngineError as EngineError
from ._errors import EngineLoadError as EngineLoadError
from ._errors import OwnershipError as OwnershipError
from ._errors import SweeperError as SweeperError
from ._errors import SweeperFormatError as SweeperFormatError
from ._log import logger as logger

# Sweeps: parameter spaces and their combinations (pure computation).
from ._sweep import HashableDict as HashableDict
from ._sweep import Parameters as Parameters
from ._sweep import geom as geom
from ._sweep import igeom as igeom
from ._sweep import sweep as sweep
from ._sweep import sweep_stats as sweep_stats
from ._slugify import slugify as slugify

# The sweeper: crash-safe, shared state of a sweep's combinations.
from ._views import CombinationSet as CombinationSet
from ._views import SweeperCounts as SweeperCounts
from ._views import SweeperStats as SweeperStats
from ._sweeper import Filter as Filter
from ._sweeper import ParamSweeper as ParamSweeper
from ._async_sweeper import AsyncParamSweeper as AsyncParamSweeper

# What a run ran on, and the results attached to combinations.
from ._results import RESULTS_FILE as RESULTS_FILE
from ._results import append_result as append_result
from ._results import export_results as export_results
from ._results import read_results as read_results
from ._provenance import PROVENANCE_FILE as PROVENANCE_FILE
from ._provenance import ProvenanceRecord as ProvenanceRecord

# The engine: a run's result directory, outputs, and the execo-run entry point.
from ._outputs import RedirectedOutputs as RedirectedOutputs
from ._outputs import copy_outputs as copy_outputs
from ._outputs import redirect_outputs as redirect_outputs
from ._engine import Engine as Engine

__all__ = [
    "logger",
    # the engine
    "Engine",
    "copy_outputs",
    "redirect_outputs",
    "RedirectedOutputs",
    # what a run ran on, and its results
    "PROVENANCE_FILE",
    "ProvenanceRecord",
    "RESULTS_FILE",
    "append_result",
    "read_results",
    "export_results",
    # sweeps
    "HashableDict",
    "Parameters",
    "sweep",
    "geom",
    "igeom",
    "sweep_stats",
    "slugify",
    # the sweeper
    "ParamSweeper",
    "AsyncParamSweeper",
    "Filter",
    "CombinationSet",
    "SweeperCounts",
    "SweeperStats",
    # errors
    "EngineError",
    "SweeperError",
    "SweeperFormatError",
    "CombinationError",
    "CombinationStateError",
    "OwnershipError",
    "EngineLoadError",
]


def _fixup_module_metadata() -> None:
    for name in __all__:
        obj = globals()[name]
        if getattr(obj, "__module__", "").startswith(__name__ + "._"):
            obj.__module__ = __name__


_fixup_module_metadata()
del _fixup_module_metadata
