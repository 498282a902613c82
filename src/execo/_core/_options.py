"""Keyword options checked at run time as strictly as mypy checks them statically.

Public constructors take their options as ``**options: Unpack[SomeOptions]`` (a TypedDict), so
``mypy --strict`` rejects a misspelled keyword in user code. At run time
:func:`check_keywords` does the same before anything is built: an unknown keyword raises a
TypeError that names the user's class and the closest valid keyword, and, for actions, points
at ``process_args=`` when the keyword belongs to the processes.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable, Mapping

__all__ = ["check_keywords", "keys_of"]


def keys_of(options_type: type) -> frozenset[str]:
    """The keys of a TypedDict class (its own and its bases')."""
    optional: frozenset[str] = getattr(options_type, "__optional_keys__", frozenset())
    required: frozenset[str] = getattr(options_type, "__required_keys__", frozenset())
    return optional | required


_explicit: dict[type, frozenset[str]] = {}


def _explicit_keywords(cls: type) -> frozenset[str]:
    """The named parameters of ``cls``'s constructor (what Python binds before
    ``**options``)."""
    known = _explicit.get(cls)
    if known is not None:
        return known
    try:
        params = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        params = []
    kinds = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    known = _explicit[cls] = frozenset(p.name for p in params if p.kind in kinds)
    return known


def check_keywords(
    owner: object,
    given: Mapping[str, object],
    options_type: type,
    *,
    process_options: type | None = None,
    also: Iterable[str] = (),
    where: str | None = None,
) -> None:
    """Raise TypeError if ``given`` has a keyword that ``options_type`` does not define.

    Args:
        owner: the object being built (its class names the error) or a function name.
        given: the ``**options`` the caller passed.
        options_type: the TypedDict of the accepted options.
        process_options: for an action, the TypedDict of its processes' options: such a
            keyword given to the action itself is pointed at ``process_args=``.
        also: further valid keywords to suggest (named parameters of a function).
        where: the argument ``given`` came in (``"process_args"``), when it is a dict
            rather than the keywords themselves.
    """
    allowed = keys_of(options_type)
    unknown = [k for k in given if k not in allowed]
    if not unknown:
        return
    if isinstance(owner, str):
        name, suggestions = owner, set(also)
    else:
        cls = type(owner)
        name = cls.__name__
        suggestions = set(also) if where else set(_explicit_keywords(cls)) | set(also)
    suggestions |= allowed
    key = unknown[0]
    if process_options is not None and key in keys_of(process_options):
        raise TypeError(
            f"{name}() got an unexpected keyword argument {key!r}: it is an option of each "
            f"process; pass it as process_args={{{key!r}: ...}}"
        )
    close = difflib.get_close_matches(key, sorted(suggestions), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    if where is not None:
        raise TypeError(f"{name}(): {where} has an unexpected key {key!r}{hint}")
    raise TypeError(f"{name}() got an unexpected keyword argument {key!r}{hint}")
