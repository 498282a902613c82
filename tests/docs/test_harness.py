"""The docs harness itself: what it accepts, refuses and checks (so that a page cannot
silently skip an example)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ._pages import Block, Directive, PageError, parse_page
from ._runner import run_block


def _page(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def test_blocks_directives_and_actions() -> None:
    items = parse_page(
        _page(
            "<!-- harness: g5k-api -->",
            "<!-- file: ~/x.py -->",
            "```python",
            "x = 1",
            "```",
            "- a list item:",
            "  ```console",
            "  $ true",
            "  ```",
            "<!-- not-run: it prompts -->",
            "```sh",
            "read a",
            "```",
        )
    )
    assert items == [
        Directive("g5k-api", 1),
        Block("python", "x = 1\n", 4, "file", "~/x.py"),
        Block("console", "$ true\n", 8),
        Block("sh", "read a\n", 12, "not-run", "it prompts"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_page("```", "x", "```"), "without a language"),
        (_page("```toml", "a = 1", "```"), "cannot run a 'toml' block"),
        (_page("<!-- not-run: -->", "```python", "x", "```"), "needs a value"),
        (_page("<!-- skip: why -->"), "unknown harness comment 'skip'"),
        (_page("```python", "x = 1"), "never closed"),
        (_page("<!-- needs: network -->", "```python", "x", "```"), "only need"),
    ],
)
def test_what_the_harness_refuses(text: str, message: str) -> None:
    with pytest.raises(PageError, match=message):
        parse_page(text, "page.md")


def _run(block: Block, tmp_path: Path, ns: dict[str, object] | None = None) -> dict[str, object]:
    namespace = ns if ns is not None else {}
    run_block(block, namespace, tmp_path, tmp_path, {"PATH": "/usr/bin:/bin"}, tmp_path / "p.md")
    return namespace


def test_top_level_await_runs_under_trio(tmp_path: Path) -> None:
    ns = _run(Block("python", "import trio\nawait trio.sleep(0)\nx = 2\n", 1), tmp_path)
    assert ns["x"] == 2


def test_doctest_and_ipython_outputs_are_checked(tmp_path: Path) -> None:
    _run(Block("python", ">>> 1 + 1\n2\n", 1), tmp_path)
    with pytest.raises(AssertionError, match="doctest failed"):
        _run(Block("python", ">>> 1 + 1\n3\n", 1), tmp_path)
    session = (
        "In [1]: %autoawait trio\n\nIn [2]: 6 * 7\nOut[2]: 42\n\nIn [3]: print('a...z')\na...z\n"
    )
    _run(Block("ipython", session, 1), tmp_path)
    with pytest.raises(AssertionError, match="expected"):
        _run(Block("ipython", "In [1]: 6 * 7\nOut[1]: 41\n", 1), tmp_path)
    with pytest.raises(AssertionError, match="autoawait"):
        _run(Block("ipython", "In [1]: import trio\n\nIn [2]: await trio.sleep(0)\n", 1), tmp_path)


def test_console_exit_statuses_are_checked(tmp_path: Path) -> None:
    _run(Block("console", "$ true\nsome output\n$ false   # exit status 1\n", 1), tmp_path)
    with pytest.raises(AssertionError, match="exited 1, expected 0"):
        _run(Block("console", "$ false\n", 1), tmp_path)


def test_file_blocks_are_written_and_not_run(tmp_path: Path) -> None:
    _run(Block("python", "raise SystemExit\n", 1, "file", "~/conf.py"), tmp_path)
    assert (tmp_path / "conf.py").read_text() == "raise SystemExit\n"
    _run(Block("python", "raise SystemExit\n", 1, "not-run", "why"), tmp_path)
