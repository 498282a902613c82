"""Logging: the ``execo`` stdlib logger, written to stderr, coloured on a tty.

The library prints nothing by itself; it logs. Until the application configures logging
(a handler on the root logger), a fallback handler writes execo's records to stderr with a
short format, coloured when stderr is a terminal; once the root logger has a handler, the
fallback steps aside and records simply propagate.
"""

from __future__ import annotations

import logging
import sys
from typing import Final

from ._config import configuration

__all__ = ["logger", "style"]

logger: Final = logging.getLogger("execo")

_ANSI: Final = {
    "reset": "\033[0m",
    "bold": "\033[1m",
    "red": "\033[31m",
    "green": "\033[32m",
    "yellow": "\033[33m",
    "blue": "\033[34m",
    "magenta": "\033[35m",
    "cyan": "\033[36m",
    "on_red": "\033[41m",
}

_DEFAULT_STYLES: Final[dict[str, tuple[str, ...]]] = {
    "log_header": ("bold",),
    "object_repr": ("blue", "bold"),
    "emph": ("magenta", "bold"),
    "report_warn": ("magenta",),
    "report_error": ("red", "bold"),
    "command": ("blue", "bold"),
    "host": ("magenta", "bold"),
    "DEBUG": ("green",),
    "INFO": ("magenta",),
    "WARNING": ("cyan",),
    "ERROR": ("red",),
    "CRITICAL": ("yellow", "on_red"),
}


def color_enabled() -> bool:
    """Whether to use ANSI colours: ``configuration['color_mode']``, else stderr is a tty."""
    mode = configuration["color_mode"]
    if mode is not None:
        return bool(mode)
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class _Styler:
    """``style.host("n-1")`` wraps text in the ANSI codes of a style when colours are on."""

    def set(self, name: str, text: str) -> str:
        if not color_enabled():
            return text
        styles: dict[str, tuple[str, ...]] = {**_DEFAULT_STYLES, **configuration["color_styles"]}
        codes = "".join(_ANSI.get(a, "") for a in styles.get(name, ()))
        return f"{codes}{text}{_ANSI['reset']}" if codes else text

    def __getattr__(self, name: str) -> _StyleFunc:
        if name.startswith("_"):
            raise AttributeError(name)
        return _StyleFunc(self, name)


class _StyleFunc:
    def __init__(self, styler: _Styler, name: str) -> None:
        self._styler = styler
        self._name = name

    def __call__(self, text: str) -> str:
        return self._styler.set(self._name, text)


style: Final = _Styler()


class _FallbackHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the current ``sys.stderr`` while the application has not set up logging."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(_Formatter())

    def emit(self, record: logging.LogRecord) -> None:
        if logging.getLogger().handlers:
            return  # the application configured logging; propagation handles it
        self.setStream(sys.stderr)
        super().emit(record)


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        level = style.set(record.levelname, record.levelname)
        header = style.log_header(f"{self.formatTime(record, '%H:%M:%S')} {level}")
        text = f"{header} {record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


_fallback: _FallbackHandler | None = None


def ensure_log_setup() -> None:
    """Apply ``configuration['log_level']`` and attach the fallback handler (once)."""
    global _fallback
    level = configuration["log_level"]
    if logger.level != level:  # setLevel clears every logger's cache: 40 µs a process
        logger.setLevel(level)
    if _fallback is None:
        _fallback = _FallbackHandler()
        logger.addHandler(_fallback)
