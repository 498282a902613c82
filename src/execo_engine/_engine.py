"""Engine: the skeleton of an experiment script, with a result directory and logs."""

from __future__ import annotations

import argparse
import contextlib
import inspect
import logging
import os
import shlex
import sys
import time
from typing import TYPE_CHECKING, Final

from ._log import logger
from ._outputs import RedirectedOutputs, copy_outputs, redirect_outputs
from ._provenance import ProvenanceRecord, outcome
from ._results import RESULTS_FILE, Format, append_result, export_results

if TYPE_CHECKING:
    from collections.abc import Awaitable, Mapping, Sequence
    from typing import IO, Any

    from ._sweeper import ParamSweeper

__all__ = ["Engine"]

_HOOKS: Final = ("setup_run_name", "setup_result_dir", "init", "run")
_LOG_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _log_level(text: str) -> int:
    if text.lstrip("-").isdigit():
        return int(text)
    level = logging.getLevelName(text.upper())
    if not isinstance(level, int):
        raise argparse.ArgumentTypeError(f"unknown log level {text!r}")
    return level


class Engine:
    """Base class of experiment engines: subclass it and write ``async def run(self)``.

    An engine parses its command line, names its run, creates (or, with ``-c DIR``, reuses)
    a result directory, logs into it, optionally copies or redirects its outputs there, then
    calls the hooks. Built-in options:

    ======== ===================================================================
    ``-l L`` log level of the ``execo.engine`` logger (a name or a number)
    ``-L``   copy stdout and stderr into ``result_dir`` (they still show)
    ``-R``   redirect stdout and stderr into ``result_dir``
    ``-M``   with ``-L``/``-R``: one file ``stdout+stderr`` instead of two
    ``-c D`` continue: use directory ``D`` as ``result_dir`` (made absolute)
    ======== ===================================================================

    Hooks (override any of them): ``setup_run_name``, ``setup_result_dir``, ``init`` and
    ``run``. For each hook, *every* class of the hierarchy from ``Engine`` down to the
    engine's own class that defines it gets it called, base classes first: a hook adds to
    what its bases did, and must not call ``super()``. ``init`` and ``run`` may be plain or
    ``async`` methods; ``setup_*`` are plain.

    Each run records what it ran on in ``result_dir/provenance.json`` (host, user, Python
    and dependency versions, the engine file's sha256 and git state, command line, start
    and end, exit status; continuing with ``-c`` appends a run). `attach_result` keeps a
    result per combination in ``result_dir/results.jsonl``; `export_results` writes the
    sweep's done combinations with their results, as JSON lines or CSV.

    Attributes:
        engine_dir: the directory of the file defining the engine class (None if unknown).
        args_parser: an ``argparse.ArgumentParser``; add options in ``__init__``.
        args: the parsed arguments (an empty namespace until :meth:`start`).
        run_name: ``<ClassName>_<YYYYmmdd_HHMMSS_+zzzz>`` unless ``setup_run_name`` says
            otherwise.
        result_dir: absolute path of the result directory (set by :meth:`start`).
        provenance: this run's `ProvenanceRecord` (set by :meth:`start`).
    """

    def __init__(self) -> None:
        cls = type(self)
        try:
            self.engine_dir: str | None = os.path.dirname(os.path.abspath(inspect.getfile(cls)))
        except (TypeError, OSError):
            self.engine_dir = None
        self.args_parser = argparse.ArgumentParser(
            usage="%(prog)s [options] <arguments>", description=f"engine: {cls.__name__}"
        )
        group = self.args_parser.add_argument_group("engine options")
        group.add_argument(
            "-l", dest="log_level", metavar="LEVEL", type=_log_level, help="log level"
        )
        outputs = group.add_mutually_exclusive_group()
        outputs.add_argument(
            "-L",
            dest="output_mode",
            action="store_const",
            const="copy",
            help="copy stdout and stderr to files in the result directory",
        )
        outputs.add_argument(
            "-R",
            dest="output_mode",
            action="store_const",
            const="redirect",
            help="redirect stdout and stderr to files in the result directory",
        )
        group.add_argument(
            "-M",
            dest="merge_outputs",
            action="store_true",
            help="with -L or -R, one file 'stdout+stderr' for both",
        )
        group.add_argument(
            "-c",
            dest="use_dir",
            metavar="DIR",
            help="continue: use DIR as the result directory",
        )
        self.args = argparse.Namespace()
        self.run_name = ""
        self.result_dir = ""
        self.provenance: ProvenanceRecord | None = None

    # -- hooks ---------------------------------------------------------------------------

    def setup_run_name(self) -> None:
        """Name the run: ``<ClassName>_<YYYYmmdd_HHMMSS_+zzzz>``."""
        self.run_name = f"{type(self).__name__}_{time.strftime('%Y%m%d_%H%M%S_%z')}"

    def setup_result_dir(self) -> None:
        """Choose the result directory (without ``-c``): ``run_name`` in the current directory."""
        self.result_dir = os.path.abspath(self.run_name)

    def init(self) -> Awaitable[None] | None:
        """Prepare the experiment (may be ``async``); called after the result dir exists."""
        return None

    def run(self) -> Awaitable[None] | None:
        """The experiment (normally ``async def run(self) -> None``)."""
        return None

    def _hooks(self, name: str) -> list[Awaitable[None] | None]:
        """Call hook ``name`` of each class, base classes first; return what they returned."""
        return [
            vars(klass)[name].__get__(self, klass)()
            for klass in reversed(type(self).__mro__)
            if issubclass(klass, Engine) and name in vars(klass)
        ]

    async def _async_hooks(self, name: str) -> None:
        for klass in reversed(type(self).__mro__):
            if issubclass(klass, Engine) and name in vars(klass):
                result = vars(klass)[name].__get__(self, klass)()
                if inspect.isawaitable(result):
                    await result

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, engineargs: Sequence[str] | None = None) -> None:
        """Run the engine under ``trio.run`` (see :meth:`astart`)."""
        import trio  # loaded when a run starts, not with execo_engine

        trio.run(self.astart, engineargs)

    async def astart(self, engineargs: Sequence[str] | None = None) -> None:
        """Parse ``engineargs`` (default ``sys.argv[1:]``), prepare, then call the hooks.

        Preparing: set the log level, ``setup_run_name``, choose the result directory (``-c``
        or ``setup_result_dir``) and create it, copy or redirect the outputs, log into
        ``result_dir/engine.log``. Then ``init`` and ``run``. Everything prepared is undone
        when ``run`` returns or raises.

        Raises:
            SystemExit: bad arguments (from argparse).
        """
        argv = list(sys.argv[1:] if engineargs is None else engineargs)
        self.args = self.args_parser.parse_args(argv)
        with contextlib.ExitStack() as stack:
            self._prepare(argv, stack)
            record = self.provenance = ProvenanceRecord(self.result_dir, type(self).__name__)
            await record.start(
                run_name=self.run_name,
                engine_file=self._engine_file(),
                engine_args=argv,
                continued=bool(self.args.use_dir),
            )
            try:
                await self._async_hooks("init")
                await self._async_hooks("run")
            except BaseException as e:
                record.finish(*outcome(e))
                raise
            record.finish(*outcome(None))

    def _engine_file(self) -> str | None:
        try:
            return os.path.abspath(inspect.getfile(type(self)))
        except (TypeError, OSError):
            return None

    # -- results ---------------------------------------------------------------------------

    def attach_result(self, combination: Mapping[str, Any], result: Mapping[str, Any]) -> None:
        """Keeps `result` (a dict of JSON values) for `combination`, in
        ``result_dir/results.jsonl`` (the last one attached wins at export).

        Raises:
            EngineError: Called before the run started, or `result` is not JSON.
        """
        if not self.result_dir:
            from ._errors import EngineError

            raise EngineError("attach_result() before the engine's result_dir exists")
        run = self.provenance.entry.get("run") if self.provenance is not None else None
        append_result(os.path.join(self.result_dir, RESULTS_FILE), combination, result, run=run)

    def export_results(
        self,
        sweeper: ParamSweeper,
        destination: str | os.PathLike[str] | IO[str],
        *,
        format: Format = "jsonl",
    ) -> int:
        """Writes `sweeper`'s done combinations with the results attached to them (see
        :func:`~execo_engine.export_results`); returns how many."""
        return export_results(sweeper, destination, results=self.result_dir, format=format)

    def _prepare(self, argv: list[str], stack: contextlib.ExitStack) -> None:
        stack.callback(logger.setLevel, logger.level)
        if self.args.log_level is not None:
            logger.setLevel(self.args.log_level)
        elif logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
        self._hooks("setup_run_name")
        if self.args.use_dir:
            self.result_dir = os.path.abspath(self.args.use_dir)
        else:
            self._hooks("setup_result_dir")
        os.makedirs(self.result_dir, exist_ok=True)
        outputs = self._setup_outputs()
        if outputs is not None:
            stack.callback(outputs.restore)
        self._setup_logging(stack)
        logger.info("command line arguments: %s", argv)
        logger.info("command line: %s", shlex.join(sys.argv))
        logger.info("run in directory %s", self.result_dir)

    def _setup_outputs(self) -> RedirectedOutputs | None:
        mode = self.args.output_mode
        if mode is None:
            return None
        if self.args.merge_outputs:
            files: tuple[str, str | None] = (os.path.join(self.result_dir, "stdout+stderr"), None)
        else:
            files = (
                os.path.join(self.result_dir, "stdout"),
                os.path.join(self.result_dir, "stderr"),
            )
        return (copy_outputs if mode == "copy" else redirect_outputs)(*files)

    def _setup_logging(self, stack: contextlib.ExitStack) -> None:
        """Log the ``execo`` loggers into ``result_dir/engine.log``, and to stderr if unset."""
        execo_logger = logging.getLogger("execo")
        handlers: list[logging.Handler] = [
            logging.FileHandler(os.path.join(self.result_dir, "engine.log"), encoding="utf-8")
        ]
        if not execo_logger.hasHandlers():
            handlers.append(logging.StreamHandler(sys.stderr))
        for handler in handlers:
            handler.setFormatter(logging.Formatter(_LOG_FORMAT))
            execo_logger.addHandler(handler)
            stack.callback(handler.close)
            stack.callback(execo_logger.removeHandler, handler)
