"""Substitutions in commands and paths: ``{{{host}}}`` and ``{{expression}}`` (pure).

``{{{host}}}`` becomes the address of ``hosts[index]``; ``{{expr}}`` is evaluated in the given
namespace, must give a sequence ``seq``, and becomes ``str(seq[index % len(seq)])`` (shorter
sequences wrap around). One pass: what a substitution produces is never substituted again.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import Any

from ._errors import ExecoError
from ._host import Host

__all__ = ["SubstitutionError", "capture_namespace", "has_substitutions", "substitute"]

_PATTERN = re.compile(r"\{\{\{host\}\}\}|\{\{((?:(?!\}\}).)+)\}\}")


class SubstitutionError(ExecoError, ValueError):
    """A ``{{expression}}`` failed to evaluate or did not give a sequence."""


def has_substitutions(template: str) -> bool:
    """Whether ``template`` contains anything :func:`substitute` would replace."""
    return _PATTERN.search(template) is not None


def needs_namespace(template: str) -> bool:
    """Whether ``template`` has ``{{expression}}`` parts (not only ``{{{host}}}``)."""
    return any(m.group(1) is not None for m in _PATTERN.finditer(template))


def substitute(
    template: str, hosts: Sequence[Host], index: int, namespace: Mapping[str, Any]
) -> str:
    """Substitute ``{{{host}}}`` and ``{{expr}}`` in ``template`` for ``hosts[index]``.

    Raises:
        SubstitutionError: an expression fails, or its value is not a non-empty sequence;
            the message names the expression.
    """
    return substitute_all(template, hosts, namespace, indices=[index])[0]


def substitute_all(
    template: str,
    hosts: Sequence[Host],
    namespace: Mapping[str, Any],
    indices: Sequence[int] | None = None,
) -> list[str]:
    """:func:`substitute` for every index (default: every host), each expression evaluated
    once."""
    values: dict[str, Sequence[Any]] = {}
    globs = namespace if isinstance(namespace, dict) else dict(namespace)

    def evaluate(expr: str) -> Sequence[Any]:
        if expr not in values:
            try:
                value = eval(expr, globs)
            except Exception as e:
                raise SubstitutionError(f"substitution {{{{{expr}}}}} failed: {e!r}") from e
            if not (hasattr(value, "__len__") and hasattr(value, "__getitem__")):
                raise SubstitutionError(
                    f"substitution {{{{{expr}}}}} must give a sequence (with len and "
                    f"indexing), got {type(value).__name__}: {value!r}"
                )
            if len(value) == 0:
                raise SubstitutionError(f"substitution {{{{{expr}}}}} gave an empty sequence")
            values[expr] = value
        return values[expr]

    out: list[str] = []
    for index in range(len(hosts)) if indices is None else indices:

        def replace(m: re.Match[str], index: int = index) -> str:
            expr = m.group(1)
            if expr is None:
                return hosts[index].address
            seq = evaluate(expr)
            item = seq[index % len(seq)]
            return item.address if isinstance(item, Host) else str(item)

        out.append(_PATTERN.sub(replace, template))
    return out


def capture_namespace(frame: FrameType | None = None) -> dict[str, Any]:
    """The namespace of the first caller outside execo: its globals updated by its locals.

    Actions call this once, when they are constructed, so that ``{{expr}}`` sees the
    variables of the code that built them (factories and wrappers inside execo skipped).
    """
    f: FrameType | None = frame if frame is not None else sys._getframe(1)
    while f is not None and _is_execo_frame(f):
        f = f.f_back
    if f is None:
        return {}
    return {**f.f_globals, **f.f_locals}


def _is_execo_frame(frame: FrameType) -> bool:
    name = frame.f_globals.get("__name__", "")
    return isinstance(name, str) and (name == "execo" or name.startswith("execo."))
