"""The ``execo.engine`` logger."""

from __future__ import annotations

import logging
from typing import Final

__all__ = ["logger"]

#: The logger of the engine package; ``-l LEVEL`` sets its level.
logger: Final = logging.getLogger("execo.engine")
