"""Exceptions of execo.testbed.

Tree::

    ExecoError
    └── TestbedError                a local cluster could not be set up, changed or torn down
        └── NotSupportedError       not possible in this mode (also NotImplementedError)
"""

from __future__ import annotations

from .._core._errors import ExecoError

__all__ = ["NotSupportedError", "TestbedError"]


class TestbedError(ExecoError):
    """A local cluster could not be set up, changed or torn down; the message says why."""

    __test__ = False  # not a pytest test class, despite the name


class NotSupportedError(TestbedError, NotImplementedError):
    """The operation needs another mode (e.g. link faults need the netns mode, as root)."""
