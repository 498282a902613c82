"""Runs the blocks of a page: Python (top-level await under trio), doctests, IPython
sessions, shell commands. Each function raises AssertionError naming the page and line."""

from __future__ import annotations

import ast
import contextlib
import doctest
import inspect
import io
import os
import re
import signal
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import trio

from ._pages import Block

__all__ = ["run_block", "write_file_block"]

_EXIT = re.compile(r"#\s*exit status (\d+)\s*$")
_IN = re.compile(r"^In \[(\d+)\]: ?(.*)$")
_CONT = re.compile(r"^\s*\.\.\.: ?(.*)$")
_OUT = re.compile(r"^Out\[(\d+)\]: ?(.*)$")
_CHECKER = doctest.OutputChecker()
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _compile(source: str, path: Path, line: int) -> Any:
    # Pad with newlines so that tracebacks give the page's own line numbers.
    return compile(
        "\n" * (line - 1) + source, str(path), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    )


def _execute(code: Any, ns: dict[str, Any]) -> None:
    """exec, or, when the code awaits at top level, one ``trio.run`` (as IPython's
    ``%autoawait trio`` does for each cell)."""
    if code.co_flags & inspect.CO_COROUTINE:
        coroutine = eval(code, ns)

        async def cell() -> None:
            await coroutine

        trio.run(cell)
    else:
        exec(code, ns)


def run_python(block: Block, ns: dict[str, Any], path: Path) -> None:
    if block.text.lstrip().startswith(">>>"):
        _run_doctest(block, ns, path)
        return
    _execute(_compile(block.text, path, block.line), ns)


def _run_doctest(block: Block, ns: dict[str, Any], path: Path) -> None:
    test = doctest.DocTestParser().get_doctest(
        block.text, ns, f"{path.name}:{block.line}", str(path), block.line - 1
    )
    out = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=_FLAGS)
    runner.run(test, out=out.write, clear_globs=False)
    if runner.failures:
        raise AssertionError(f"{path.name}:{block.line}: doctest failed\n{out.getvalue()}")


class _Pretty:
    """The part of IPython's pretty printer that execo's ``_repr_pretty_`` methods use."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def text(self, s: str) -> None:
        self.parts.append(s)

    def pretty(self, obj: object) -> None:
        self.parts.append(_display(obj))

    def breakable(self, sep: str = " ") -> None:
        self.parts.append("\n")


def _display(obj: object) -> str:
    method = getattr(type(obj), "_repr_pretty_", None)
    if method is None:
        return repr(obj)
    printer = _Pretty()
    method(obj, printer, False)
    return "".join(printer.parts)


def _cells(block: Block) -> list[tuple[int, str, str]]:
    """``(line, code, expected)`` of each ``In [n]:`` cell (expected: printed + Out)."""
    cells: list[tuple[int, list[str], list[str]]] = []
    for offset, line in enumerate(block.text.rstrip("\n").split("\n")):
        m_in, m_cont, m_out = _IN.match(line), _CONT.match(line), _OUT.match(line)
        if m_in:
            cells.append((block.line + offset, [m_in[2]], []))
        elif not cells:
            if line.strip():
                raise AssertionError(f"line {block.line + offset}: text before the first In [n]:")
        elif m_cont and not cells[-1][2]:
            cells[-1][1].append(m_cont[1])
        elif m_out:
            cells[-1][2].append(m_out[2])
        else:
            cells[-1][2].append(line)
    return [(n, "\n".join(code), "\n".join(exp).strip()) for n, code, exp in cells]


def run_ipython(block: Block, ns: dict[str, Any], path: Path) -> None:
    """An IPython session: ``%autoawait trio`` first, then cells whose printed output and
    ``Out[n]:`` value are checked (doctest rules: ``...`` matches anything)."""
    autoawait = bool(ns.get("__autoawait_trio__"))
    for line, code, expected in _cells(block):
        where = f"{path.name}:{line}"
        if code.startswith("%"):
            if code.split() != ["%autoawait", "trio"]:
                raise AssertionError(f"{where}: the harness knows only %autoawait trio")
            ns["__autoawait_trio__"] = autoawait = True
            continue
        tree = ast.parse(code)
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            target = ast.Name("__out__", ast.Store())
            tree.body[-1] = ast.Assign([target], tree.body[-1].value, lineno=0)
            ast.fix_missing_locations(tree)
        compiled = compile(tree, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        if compiled.co_flags & inspect.CO_COROUTINE and not autoawait:
            raise AssertionError(f"{where}: top-level await needs %autoawait trio first")
        printed = io.StringIO()
        ns.pop("__out__", None)
        with contextlib.redirect_stdout(printed):
            _execute(compiled, ns)
        got = printed.getvalue()
        value = ns.pop("__out__", None)
        if value is not None:
            got += _display(value) + "\n"
        if not _CHECKER.check_output(expected + "\n", got, _FLAGS) and (expected or got.strip()):
            raise AssertionError(f"{where}: expected\n{expected}\ngot\n{got}")


def _shell(command: str, cwd: Path, env: Mapping[str, str], where: str, want: int) -> str:
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", command],
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != want:
        raise AssertionError(
            f"{where}: {command!r} exited {done.returncode}, expected {want}\n"
            f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        )
    return done.stdout


def run_console(block: Block, cwd: Path, env: Mapping[str, str], path: Path) -> None:
    """Every ``$ command`` line (a trailing backslash continues it) must exit 0, or the
    status its ``# exit status N`` comment says."""
    lines = block.text.split("\n")
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            i += 1
            continue
        start = i
        command = lines[i][2:]
        while command.endswith("\\") and i + 1 < len(lines):
            i += 1
            command = command[:-1] + " " + lines[i].strip()
        m = _EXIT.search(command)
        _shell(command, cwd, env, f"{path.name}:{block.line + start}", int(m[1]) if m else 0)
        i += 1


def write_file_block(block: Block, cwd: Path, home: Path) -> Path:
    """``<!-- file: PATH -->``: write the block there (``~`` is the page's home)."""
    name = block.argument
    target = home / name[2:] if name.startswith("~/") else cwd / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(block.text)
    return target


BLOCK_TIMEOUT = 240.0
"""Seconds a block may run: an example that hangs fails instead of stalling the suite."""


class BlockTimeout(Exception):
    pass


@contextlib.contextmanager
def _deadline(where: str) -> Iterator[None]:
    def expired(signum: int, frame: object) -> None:
        raise BlockTimeout(f"{where}: still running after {BLOCK_TIMEOUT:.0f} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, BLOCK_TIMEOUT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_block(
    block: Block, ns: dict[str, Any], cwd: Path, home: Path, env: Mapping[str, str], path: Path
) -> None:
    """Run (or write, or skip) one block, within :data:`BLOCK_TIMEOUT`."""
    with _deadline(f"{path.name}:{block.line}"):
        _run_block(block, ns, cwd, home, env, path)


def _run_block(
    block: Block, ns: dict[str, Any], cwd: Path, home: Path, env: Mapping[str, str], path: Path
) -> None:
    if block.action == "needs" and os.geteuid() != 0:
        pytest.skip(f"{path.name}:{block.line} and what follows need root")
    if block.action == "file":
        write_file_block(block, cwd, home)
    elif block.action == "not-run" or block.language == "text":
        return
    elif block.language == "python":
        run_python(block, ns, path)
    elif block.language == "ipython":
        run_ipython(block, ns, path)
    elif block.language == "console":
        run_console(block, cwd, env, path)
    elif block.language == "sh":
        _shell(block.text, cwd, env, f"{path.name}:{block.line}", 0)
    else:  # _pages.parse_page refuses the rest
        raise AssertionError(f"{path.name}:{block.line}: cannot run {block.language!r}")
