"""``python -m execo``: the ``execo`` command (see :mod:`execo.cli`)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
