"""Process output: incremental decoding, line splitting, handlers, stream buffers.

Pure pieces (:class:`LineSplitter`) carry no I/O; a :class:`StreamBuffer` holds what one
stream of one process printed, feeds its handlers, and wakes whoever waits for more.
"""

from __future__ import annotations

import codecs
import enum
import os
import re
from collections.abc import Callable, Sequence
from typing import IO, Any, Protocol

import anyio

from ._log import logger

__all__ = [
    "STDERR",
    "STDOUT",
    "ChunkSink",
    "FileSink",
    "LineSink",
    "LineSplitter",
    "Sink",
    "Stream",
    "StreamBuffer",
    "SupportsWrite",
    "WriterSink",
]


class Stream(enum.StrEnum):
    """An output stream of a process."""

    STDOUT = "stdout"
    STDERR = "stderr"

    @classmethod
    def of(cls, value: Stream | str | int) -> Stream:
        """Accepts a Stream, ``"stdout"``/``"stderr"``, or execo's ints 1/2."""
        if isinstance(value, Stream):
            return value
        if value in (1, "stdout", "STDOUT"):
            return cls.STDOUT
        if value in (2, "stderr", "STDERR"):
            return cls.STDERR
        raise ValueError(f"stream must be 'stdout' or 'stderr', got {value!r}")


STDOUT = Stream.STDOUT
STDERR = Stream.STDERR

_LINE_END = re.compile(r"\r\n|\r|\n")


class LineSplitter:
    """Splits text that arrives in pieces into lines, without their terminators.

    ``\\n``, ``\\r\\n`` and a lone ``\\r`` each end a line; a ``\\r`` at the end of a piece
    is held back until the next piece shows whether a ``\\n`` follows it.
    """

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, text: str, eof: bool = False) -> list[str]:
        """Add ``text``; return the lines it completes (all the rest too when ``eof``)."""
        data = self._pending + text
        lines: list[str] = []
        pos = 0
        for m in _LINE_END.finditer(data):
            if m.group() == "\r" and m.end() == len(data) and not eof:
                break  # maybe the first half of \r\n
            lines.append(data[pos : m.start()])
            pos = m.end()
        self._pending = data[pos:]
        if eof and self._pending:
            lines.append(self._pending)
            self._pending = ""
        return lines


class SupportsWrite(Protocol):
    """An object with ``write(str)``, such as a text file or ``sys.stdout``."""

    def write(self, s: str, /) -> object: ...


class Sink:
    """A normalised output handler: receives chunks; may need opening and closing.

    ``process`` is whatever the stream belongs to (a :class:`~execo.ProcessBase`); the
    user-facing handler kinds are normalised into sinks by ``execo._core._process``.
    """

    __slots__ = ()

    def open(self) -> None:
        pass

    def feed(self, process: Any, stream: Stream, text: str, eof: bool) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class LineSink(Sink):
    __slots__ = ("_callback", "_splitter")

    def __init__(self, callback: Callable[[Any, Stream, str], object]) -> None:
        self._callback = callback
        self._splitter = LineSplitter()

    def open(self) -> None:
        self._splitter = LineSplitter()

    def feed(self, process: Any, stream: Stream, text: str, eof: bool) -> None:
        for line in self._splitter.feed(text, eof):
            self._callback(process, stream, line)


class ChunkSink(Sink):
    __slots__ = ("_callback",)

    def __init__(self, callback: Callable[[Any, Stream, str, bool], object]) -> None:
        self._callback = callback

    def feed(self, process: Any, stream: Stream, text: str, eof: bool) -> None:
        self._callback(process, stream, text, eof)


class WriterSink(Sink):
    __slots__ = ("_writer",)

    def __init__(self, writer: SupportsWrite) -> None:
        self._writer = writer

    def feed(self, process: Any, stream: Stream, text: str, eof: bool) -> None:
        if text:
            self._writer.write(text)
        if eof:
            flush = getattr(self._writer, "flush", None)
            if callable(flush):
                flush()


class FileSink(Sink):
    __slots__ = ("_file", "path")

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._file: IO[str] | None = None

    def open(self) -> None:
        self.close()
        self._file = open(self.path, "a", encoding="utf-8", errors="replace")  # noqa: SIM115

    def feed(self, process: Any, stream: Stream, text: str, eof: bool) -> None:
        if self._file is None:
            return
        if text:
            self._file.write(text)
        if eof:
            self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class StreamBuffer:
    """Everything one stream of one process printed, plus who is waiting for more."""

    __slots__ = (
        "_changed",
        "_chunks",
        "_decoder",
        "_encoding",
        "_errors",
        "_joined",
        "_joined_count",
        "_length",
        "capture",
        "eof",
        "sinks",
        "stream",
    )

    def __init__(
        self,
        stream: Stream,
        encoding: str,
        errors: str,
        capture: bool = True,
        sinks: Sequence[Sink] = (),
    ) -> None:
        self.stream = stream
        self.capture = capture
        self.sinks: Sequence[Sink] = sinks
        self._encoding = encoding
        self._errors = errors
        self._decoder: codecs.IncrementalDecoder | None = None  # made by the first bytes
        # The list is made by the first text: most commands of a large action print nothing
        # but what the transport strips.
        self._chunks: list[str] | tuple[()] = ()
        self._length = 0
        self._joined = ""
        self._joined_count = 0
        self.eof = False
        self._changed: anyio.Event | None = None

    def reset(self, encoding: str, errors: str) -> None:
        self._encoding = encoding
        self._errors = errors
        self._decoder = None
        self._chunks = ()
        self._length = 0
        self._joined = ""
        self._joined_count = 0
        self.eof = False
        self._wake()

    def feed_bytes(self, process: Any, data: bytes, eof: bool = False) -> None:
        """Decode ``data`` (incrementally: no split multibyte garbage) and dispatch it."""
        decoder = self._decoder
        if decoder is None:
            if not data:  # nothing was ever fed: nothing to decode
                self.feed_text(process, "", eof)
                return
            decoder = self._decoder = codecs.getincrementaldecoder(self._encoding)(self._errors)
        self.feed_text(process, decoder.decode(data, eof), eof)

    def feed_text(self, process: Any, text: str, eof: bool = False) -> None:
        if self.eof:
            return
        if text and self.capture:
            if self._chunks:
                self._chunks.append(text)
            else:
                self._chunks = [text]
            self._length += len(text)
        if eof:
            self.eof = True
        for sink in self.sinks:
            try:
                sink.feed(process, self.stream, text, eof)
            except Exception:
                logger.exception(
                    "output handler %r of %s raised; it keeps receiving output", sink, process
                )
        self._wake()

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def changed_event(self) -> anyio.Event:
        """An event set at the next change (new text or eof)."""
        if self._changed is None:
            self._changed = anyio.Event()
        return self._changed

    def __len__(self) -> int:
        return self._length

    def text(self) -> str:
        """All the captured text (joined incrementally and cached)."""
        if self._joined_count < len(self._chunks):
            self._joined += "".join(self._chunks[self._joined_count :])
            self._joined_count = len(self._chunks)
        return self._joined

    def chunks_from(self, index: int) -> tuple[list[str], int]:
        """The chunks from ``index`` on, and the next index (for incremental readers)."""
        return list(self._chunks[index:]), len(self._chunks)
