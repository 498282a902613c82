"""Per-host substitutions in commands and paths: ``{{{host}}}`` and ``{{expr}}``.

The names are those of :mod:`execo`; this module exists for execo 2.8.2 imports such as
``from execo.substitutions import SubstitutionError``.
"""

from __future__ import annotations

from . import (
    SubstitutionError,
    substitute,
)

__all__ = [
    "SubstitutionError",
    "substitute",
]
