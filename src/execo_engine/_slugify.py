"""``slugify``: a value turned into a string safe for file names."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["slugify"]

_UNWANTED: Final = re.compile(r"[^\w\s-]")
_RUNS: Final = re.compile(r"[-\s]+")


def slugify(value: object, separator: str = "-") -> str:
    """``str(value)`` reduced to lowercase ASCII letters, digits, ``_`` and ``separator``.

    The text is NFKD-normalised and stripped of what is not ASCII; characters other than word
    characters, whitespace and ``-`` are removed; runs of whitespace and ``-`` become one
    ``separator``. Handy to name a result file after a combination::

        >>> slugify({"a": 1, "b": "x y"}, "_")
        'a_1_b_x_y'
    """
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode("ascii")
    text = _UNWANTED.sub("", text).strip().lower()
    return _RUNS.sub(lambda _match: separator, text)
