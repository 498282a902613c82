"""Secrets: values that never show in a repr, a str, a log line or an exception message."""

from __future__ import annotations

__all__ = ["Secret"]


class Secret:
    """A secret string (a key passphrase...): ``str()`` and ``repr()`` say ``<hidden>``;
    :meth:`reveal` gives the value to whatever needs it, and only that."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("a Secret holds a str")
        self._value = value

    def reveal(self) -> str:
        """The secret itself."""
        return self._value

    def __repr__(self) -> str:
        return "Secret(<hidden>)"

    def __str__(self) -> str:
        return "<hidden>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret is not pickled (it would leave the process)")
