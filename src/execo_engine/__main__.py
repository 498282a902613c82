"""``python -m execo_engine ENGINE ...``: the same as ``execo-run``."""

import sys

from ._cli import main

sys.exit(main())
