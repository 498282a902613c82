"""execo-run: load an engine class from a file or module and run it under trio.

usage: execo-run ENGINE[:Class] [engine options] [-- user arguments]

ENGINE is MyEngine (loads MyEngine.py from the current directory, or else the importable
module MyEngine), path/to/MyEngine.py, or either followed by :Class when the class is not
named after the file. Everything after ENGINE goes to the engine's own argument parser;
"execo-run ENGINE --help" lists the engine's options (-l LEVEL, -L, -R, -M, -c DIR and its
own). Exit status: 0 on success, 1 when the engine raised, 2 on a usage or loading error,
130 on Ctrl-C.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from typing import TYPE_CHECKING, Final

from ._engine import Engine
from ._errors import EngineLoadError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import ModuleType

__all__ = ["load_engine_class", "main"]

_USAGE: Final = "usage: execo-run ENGINE[:Class] [engine options] [-- user arguments]"


def _load_file(path: str) -> ModuleType:
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise EngineLoadError(f"cannot load {path!r} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    directory = os.path.dirname(os.path.abspath(path))
    if directory not in sys.path:
        sys.path.insert(0, directory)  # so that the engine can import its sibling modules
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def load_engine_class(spec: str) -> type[Engine]:
    """The Engine subclass named by ``spec`` (see the module docstring).

    Raises:
        EngineLoadError: no such file or module, no such class, or not an Engine subclass.
    """
    target, _, class_name = spec.partition(":") if ":" in spec else (spec, "", "")
    if not target:
        raise EngineLoadError(f"no engine file or module in {spec!r}")
    path: str | None = None
    if target.endswith(".py") or os.sep in target:
        path = target
    elif os.path.isfile(target + ".py"):
        path = target + ".py"
    if path is not None:
        if not os.path.isfile(path):
            raise EngineLoadError(f"engine file {path!r} not found")
        module = _load_file(path)
        default_name = os.path.splitext(os.path.basename(path))[0]
    else:
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as e:
            if e.name != target:
                raise
            raise EngineLoadError(
                f"no file {target + '.py'!r} in {os.getcwd()!r} and no module {target!r}"
            ) from None
        default_name = target.rpartition(".")[2]
    class_name = class_name or default_name
    cls = getattr(module, class_name, None)
    if cls is None:
        engines = sorted(
            name
            for name, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, Engine) and value is not Engine
        )
        hint = f"; Engine subclasses there: {', '.join(engines)}" if engines else ""
        raise EngineLoadError(f"{module.__name__!r} defines no class {class_name!r}{hint}")
    if not (isinstance(cls, type) and issubclass(cls, Engine)):
        raise EngineLoadError(f"{module.__name__}.{class_name} is not an Engine subclass")
    return cls


def _is_interrupt(e: BaseException) -> bool:
    """A KeyboardInterrupt, maybe wrapped in exception groups by nurseries."""
    if isinstance(e, BaseExceptionGroup):
        return e.split(KeyboardInterrupt)[1] is None
    return isinstance(e, KeyboardInterrupt)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``execo-run`` console script; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        out = sys.stdout if args else sys.stderr
        print(_USAGE, file=out)
        print(file=out)
        print(__doc__.split("\n\n", 2)[2].strip() if __doc__ else "", file=out)
        return 0 if args else 2
    spec, engine_args = args[0], args[1:]
    try:
        cls = load_engine_class(spec)
        engine = cls()
    except EngineLoadError as e:
        print(f"execo-run: error: {e}", file=sys.stderr)
        return 2
    except Exception:
        traceback.print_exc()
        print(f"execo-run: error: loading {spec!r} failed (traceback above)", file=sys.stderr)
        return 2
    engine.args_parser.prog = f"execo-run {spec}"
    try:
        engine.start(engine_args)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException as e:
        if _is_interrupt(e):
            print(f"execo-run: {spec} interrupted", file=sys.stderr)
            return 130
        traceback.print_exc()
        print(f"execo-run: error: engine {cls.__name__} failed", file=sys.stderr)
        return 1
    return 0
