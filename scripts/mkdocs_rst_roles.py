"""A griffe extension for the docs site: reStructuredText marks in docstrings become Markdown.

The docstrings follow the Google style, with a few reStructuredText habits (``:class:`X```,
double backquotes, ``Usage::`` literal blocks). mkdocstrings renders Markdown, so this turns
``:role:`~pkg.Name``` and ``:role:`pkg.Name``` into inline code naming ``Name`` (or the path),
double backquotes into single ones, and a paragraph ending with ``::`` into one ending with
``:`` followed by a fenced block. Nothing in the source changes.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|exc|mod|obj|const|ref):`(~?)([^`]+)`")
_DOUBLE = re.compile(r"``([^`]+)``")


def _role(match: re.Match[str]) -> str:
    short, target = match.group(1), match.group(2)
    if short:
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def _literal_blocks(text: str) -> str:
    """``para::`` + an indented block -> ``para:`` + a fenced block (Markdown)."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::") and not line.strip().startswith((">>>", "...")):
            head = line.rstrip()[:-2].rstrip()
            out.append(head + ":" if head else "")
            j = i + 1
            block: list[str] = []
            while j < len(lines) and (not lines[j].strip() or lines[j].startswith((" ", "\t"))):
                block.append(lines[j])
                j += 1
            while block and not block[-1].strip():
                block.pop()
            body = [b for b in block if b.strip()]
            if body:
                indent = min(len(b) - len(b.lstrip()) for b in body)
                out += ["", "```text", *(b[indent:] if b.strip() else "" for b in block), "```", ""]
                i = j
                continue
        out.append(line)
        i += 1
    return "\n".join(out)


def markdown_of(text: str) -> str:
    """The docstring ``text`` with its reStructuredText marks turned into Markdown."""
    text = _ROLE.sub(_role, text)
    text = _DOUBLE.sub(r"`\1`", text)
    return _literal_blocks(text)


class RstRoles(griffe.Extension):
    """Rewrites every docstring with :func:`markdown_of` as it is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown_of(obj.docstring.value)
