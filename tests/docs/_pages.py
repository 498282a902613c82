"""Reads the fenced code blocks of a Markdown page, with the harness's directives (pure).

A page is a list of items in reading order: :class:`Block` (a fenced code block) and
:class:`Directive` (an HTML comment ``<!-- harness: NAME -->`` standing on its own line,
which asks the harness to set something up at that point of the page).

A block may be preceded (on the line just above its fence) by one comment that says what to
do with it instead of running it:

* ``<!-- file: PATH -->``: write the block to ``PATH`` (relative to the page's working
  directory, or ``~/...`` in the page's home);
* ``<!-- not-run: REASON -->``: show it, do not run it; the reason is required;
* ``<!-- needs: root -->``: run it only as root (network namespaces), else skip the rest of
  the page.

Every other block is run according to its language, which must be given: ``python``
(statements, top-level ``await`` allowed; a block starting with ``>>>`` is a doctest),
``ipython`` (``In [n]:`` cells, with ``Out[n]:`` checked), ``console`` (``$ `` lines are
commands) or ``sh``. ``text`` marks what is not code (a diagram, an output).
"""

from __future__ import annotations

import dataclasses
import re

__all__ = ["RUN_LANGUAGES", "Block", "Directive", "PageError", "parse_page"]

RUN_LANGUAGES = ("python", "ipython", "console", "sh")
SHOWN_LANGUAGES = ("text",)

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_BLOCK_KEYS = ("file", "not-run", "needs")
_COMMENT = re.compile(r"^\s*<!--\s*(?P<key>[a-z-]+)\s*:\s*(?P<value>.*?)\s*-->\s*$")


class PageError(ValueError):
    """The page breaks the harness's rules; the message names the page and the line."""


@dataclasses.dataclass(frozen=True, slots=True)
class Block:
    """A fenced code block: its language, text, first line of text (1-based), and what the
    comment above it said (``file`` or ``not-run``), if anything."""

    language: str
    text: str
    line: int
    action: str = ""
    argument: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Directive:
    """``<!-- harness: NAME -->``: set ``NAME`` up here."""

    name: str
    line: int


def parse_page(text: str, name: str = "<page>") -> list[Block | Directive]:
    """The blocks and directives of a Markdown page, in order.

    Raises:
        PageError: a block without a language (or with an unknown one), an unclosed block,
            a ``not-run`` without a reason, an unknown comment key.
    """
    lines = text.split("\n")
    items: list[Block | Directive] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None:
            c = _COMMENT.match(lines[i])
            if c is not None and c["key"] == "harness":
                items.append(Directive(c["value"], i + 1))
            elif c is not None and c["key"] not in _BLOCK_KEYS:
                raise PageError(f"{name}:{i + 1}: unknown harness comment {c['key']!r}")
            i += 1
            continue
        indent, fence = m["indent"], m["fence"]
        info = m["info"].strip()
        language = info.split()[0] if info else ""
        start = i + 1
        body: list[str] = []
        i += 1
        while i < len(lines):
            closing = lines[i].strip()
            if closing.startswith(fence[0] * len(fence)) and not closing.strip(fence[0]):
                break
            line = lines[i]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            i += 1
        else:
            raise PageError(f"{name}:{start}: code block never closed")
        i += 1
        action, argument = "", ""
        above = _COMMENT.match(lines[start - 2]) if start >= 2 else None
        if above is not None and above["key"] in _BLOCK_KEYS:
            action, argument = above["key"], above["value"]
            if not argument:
                raise PageError(f"{name}:{start - 1}: {action} needs a value (a path, a reason)")
        if action == "needs" and argument != "root":
            raise PageError(f"{name}:{start - 1}: the only need the harness knows is root")
        if not language:
            raise PageError(
                f"{name}:{start}: code block without a language; say python, console, sh, "
                "ipython, or text for what is not code"
            )
        if action in ("", "needs") and language not in RUN_LANGUAGES + SHOWN_LANGUAGES:
            raise PageError(
                f"{name}:{start}: cannot run a {language!r} block; write it to a file "
                "(<!-- file: PATH -->), mark it <!-- not-run: REASON -->, or make it text"
            )
        items.append(Block(language, "\n".join(body) + "\n", start + 1, action, argument))
    return items
