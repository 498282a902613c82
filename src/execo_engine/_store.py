"""A sweeper's storage directory: its files, and the state they describe.

Layout (every file is framed JSON records, see ``_records``)::

    LOCK                    empty; POSIX-locked around every operation
    combinations.jsonl      append-only: each combination once; its rank is its index, in
                            ``["C", first_index, count, [combination, ...]]`` chunks
    journal.<gen>.jsonl     append-only: the state events (see ``_state``)
    snapshot.<gen>.json     the state at the start of journal <gen> (none for gen 0)

Every operation takes the lock and reads only the journal records appended since its previous
operation (so its cost does not depend on the sweep size), then appends its own records with
one ``pwrite``. Opening reads the combinations file but decodes a chunk only when one of its
combinations is first needed, and builds the combination -> index table only when a
combination must be looked up by value (see :class:`Combinations`).

When a journal holds more than ``max(4 * combinations, 100_000)`` records it is compacted: a
new journal is created, an ``E`` record pointing at it ends the old one (the commit point),
then a snapshot is written and the old files removed. A reader of the old
journal follows the ``E`` record; one whose next journal is already gone reloads from the
latest snapshot.
"""

from __future__ import annotations

import bisect
import contextlib
import gc
import json
import operator
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final, overload

from ._errors import CombinationError, SweeperFormatError
from ._log import logger
from ._records import (
    decode_chunk,
    dumps,
    encode_combination,
    encode_event,
    frame,
    parse_events,
    parse_records,
    split_records,
)
from ._state import SweepState, WorkerInfo
from ._storage import DirLock, RecordFile, Shrunk, atomic_write
from ._sweep import HashableDict

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

__all__ = ["Combinations", "SweeperStore"]

_FORMAT: Final = "execo-sweeper"
_VERSION: Final = 1
_CHUNK: Final = 10_000
_GEN_FILE: Final = re.compile(r"^(journal|snapshot)\.(\d+)\.jsonl?$")
_CHUNK_HEAD: Final = re.compile(rb'\["C",(\d+),(\d+),\[')


def _header(kind: str, **extra: object) -> bytes:
    return dumps({"format": f"{_FORMAT}-{kind}", "version": _VERSION, **extra})


def _check_header(record: Any, kind: str, path: str) -> None:
    if isinstance(record, bytes):
        try:
            record = json.loads(record)
        except ValueError:
            record = None
    if not isinstance(record, dict) or record.get("format") != f"{_FORMAT}-{kind}":
        raise SweeperFormatError(f"{path}: not an execo sweeper {kind} file")
    if record.get("version") != _VERSION:
        raise SweeperFormatError(
            f"{path}: format version {record.get('version')!r}, this execo reads {_VERSION}"
        )


def _is_chunk(record: Any) -> bool:
    """Whether ``record`` is ``["C", first, count, [combination, ...]]`` (count right)."""
    return (
        isinstance(record, list)
        and len(record) == 4
        and record[0] == "C"
        and type(record[1]) is int
        and type(record[2]) is int
        and isinstance(record[3], list)
        and len(record[3]) == record[2]
        and all(isinstance(c, HashableDict) for c in record[3])
    )


class Combinations(Sequence[HashableDict]):
    """The stored combinations by index, decoded a chunk at a time when first needed.

    A combination is always the same object (decoded chunks are kept), so the sweeper can
    recognise the ones it handed out by identity. :meth:`lookup` (by value) builds the
    combination -> index table on first use: O(size) once.
    """

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._bodies: list[bytes | None] = []
        self._chunks: list[list[HashableDict] | None] = []
        self._counts: list[int] = []
        self._len = 0
        self._index: dict[HashableDict, int] | None = None
        self._decoding = threading.Lock()

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, i: int) -> HashableDict: ...
    @overload
    def __getitem__(self, i: slice) -> list[HashableDict]: ...
    def __getitem__(self, i: int | slice) -> HashableDict | list[HashableDict]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self._len))]
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError(i)
        k = bisect.bisect_right(self._starts, i) - 1
        chunk = self._chunks[k]
        if chunk is None:
            chunk = self._decode(k)
        return chunk[i - self._starts[k]]

    def __iter__(self) -> Iterator[HashableDict]:
        for k in range(len(self._starts)):
            yield from self._chunks[k] or self._decode(k)

    def _decode(self, k: int) -> list[HashableDict]:
        # Once only, even for threads iterating a view outside the sweeper's lock: each
        # combination must stay one object (the sweeper recognises those it handed out by id).
        with self._decoding:
            done = self._chunks[k]
            if done is not None:
                return done
            body = self._bodies[k]
            assert body is not None
            # Thousands of new dicts would trigger collections that scan everything already
            # decoded: without them, decoding a million combinations takes 1.4 s, not 3.4.
            enabled = gc.isenabled()
            gc.disable()
            try:
                record = decode_chunk(body)
            finally:
                if enabled:
                    gc.enable()
            if not _is_chunk(record) or record[2] != self._counts[k]:
                raise SweeperFormatError(f"damaged combinations record (first {self._starts[k]})")
            chunk: list[HashableDict] = record[3]
            self._chunks[k] = chunk
            self._bodies[k] = None
            return chunk

    def add_body(self, body: bytes, path: str) -> None:
        """Append a chunk record read from the file (decoded later)."""
        damaged = SweeperFormatError(f"{path}: out-of-sequence or damaged combinations record")
        m = _CHUNK_HEAD.match(body)
        chunk: list[HashableDict] | None = None
        if m is not None:
            first, count = int(m.group(1)), int(m.group(2))
        else:  # not the compact JSON this package writes (another writer?): decode it now
            try:
                record = decode_chunk(body)
            except ValueError:
                raise damaged from None
            if not _is_chunk(record):
                raise damaged
            first, count, chunk = record[1], record[2], record[3]
        if first != self._len:
            raise damaged
        self._starts.append(self._len)
        self._bodies.append(None if chunk is not None else body)
        self._chunks.append(chunk)
        self._counts.append(count)
        self._len += count
        if self._index is not None:
            self._index_chunk(len(self._starts) - 1)

    def add_chunk(self, chunk: list[HashableDict]) -> None:
        """Append a chunk this process wrote (already decoded)."""
        self._starts.append(self._len)
        self._bodies.append(None)
        self._chunks.append(chunk)
        self._counts.append(len(chunk))
        self._len += len(chunk)
        if self._index is not None:
            self._index_chunk(len(self._starts) - 1)

    def _index_chunk(self, k: int) -> None:
        assert self._index is not None
        setdefault = self._index.setdefault
        for i, combination in enumerate(self._chunks[k] or self._decode(k), self._starts[k]):
            setdefault(combination, i)  # the first of duplicates (there should be none)

    @property
    def by_value(self) -> dict[HashableDict, int]:
        """Combination -> index (built on first use: about 1 s per million)."""
        if self._index is None:
            index: dict[HashableDict, int] = {}
            # Backwards, so that the first of duplicates (there should be none) wins, and
            # with dict.update: 3x faster than a loop of setdefault.
            for k in range(len(self._starts) - 1, -1, -1):
                chunk = self._chunks[k] or self._decode(k)
                start = self._starts[k]
                positions = range(start + len(chunk) - 1, start - 1, -1)
                index.update(zip(reversed(chunk), positions, strict=True))
            self._index = index
        return self._index

    def lookup(self, combination: HashableDict) -> int | None:
        """The index of ``combination``, or None."""
        return self.by_value.get(combination)


class SweeperStore:
    """The files of one storage directory, and the in-memory state they describe.

    Args:
        directory: the storage directory (created if needed).
        sweeps: the combinations to select (added to the storage when new); None: all.
        is_dead: tells whether a registered worker is dead (compaction forgets dead idle ones).
    """

    compact_min_records: ClassVar[int] = 100_000

    def __init__(
        self,
        directory: str,
        sweeps: Iterable[Mapping[str, Any]] | None,
        is_dead: Callable[[WorkerInfo, float], bool],
    ) -> None:
        self.directory = directory
        self.combinations = Combinations()
        self.state = SweepState()
        self.gen = 0
        self._is_dead = is_dead
        self._files: list[RecordFile] = []
        os.makedirs(directory, exist_ok=True)
        self.lock = DirLock.for_path(self.path("LOCK"))
        self._compact_at = self.compact_min_records
        try:
            with self.lock:
                self._combos = self._open_or_create("combinations.jsonl", _header("combinations"))
                self.journal = self._load_state()
                self.read_combinations()
                self.state.select(self.register(sweeps))
        except BaseException:
            self.close()
            raise

    # -- opening ---------------------------------------------------------------------------

    def path(self, name: str) -> str:
        """The path of file ``name`` of the directory."""
        return os.path.join(self.directory, name)

    def _open_or_create(self, name: str, header: bytes) -> RecordFile:
        parse = split_records if name.startswith("combinations") else parse_events
        path = self.path(name)
        f = RecordFile.open(path, parse) or RecordFile.create(path, header, parse)
        self._files.append(f)
        return f

    def _read(self, f: RecordFile, kind: str) -> list[Any]:
        at_start = f.end == 0
        records = f.read_new()
        if at_start:
            _check_header(records.pop(0), kind, f.path)
        return records

    def _generations(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {"journal": [], "snapshot": []}
        for entry in os.listdir(self.directory):
            m = _GEN_FILE.match(entry)
            if m:
                found[m.group(1)].append(int(m.group(2)))
        return found

    def _load_state(self) -> RecordFile:
        """Rebuild the state from the latest snapshot and the journals after it."""
        gen = max(self._generations()["snapshot"], default=0)
        state = SweepState()
        if gen > 0:
            path = self.path(f"snapshot.{gen}.json")
            with open(path, "rb") as f:
                records, _ = parse_records(f.read())
            if not records:
                raise SweeperFormatError(f"{path}: damaged snapshot")
            _check_header(records[0], "snapshot", path)
            state = SweepState.from_json(records[0])
        self.state = state
        self.gen = gen
        self.journal = self._open_or_create(f"journal.{gen}.jsonl", _header("journal", gen=gen))
        self.catch_up()
        return self.journal

    def _reload(self) -> None:
        selection = self.state.order
        self._load_state()
        self.state.select(selection)

    def read_combinations(self) -> None:
        """Load the combinations other workers added since the last call (not decoded yet)."""
        combinations = self.combinations
        path = self._combos.path
        for body in self._read(self._combos, "combinations"):
            combinations.add_body(body, path)
        self._grown()

    def _grown(self) -> None:
        size = len(self.combinations)
        self.state.grow(size)
        self._compact_at = max(self.compact_min_records, 4 * size)

    def register(self, sweeps: Iterable[Mapping[str, Any]] | None) -> Sequence[int]:
        """The indices of ``sweeps`` (distinct, in order), storing the new ones; None: all."""
        stored = self.combinations
        if sweeps is None:
            return range(len(stored))
        given = sweeps if isinstance(sweeps, list) else list(sweeps)
        if given and len(given) == len(stored) and all(map(operator.eq, given, stored)):
            # Reopened with the sweeps it was created with (the usual continuation): the
            # stored ones are distinct, so these are too, and nothing needs hashing.
            return range(len(given))
        keys = (c if isinstance(c, HashableDict) else HashableDict(c) for c in given)
        try:
            positions = dict.fromkeys(keys, -1)  # distinct, in order; hashes each once
        except TypeError as e:
            raise CombinationError(f"a combination has an unhashable level: {e}") from e
        if self.combinations:
            index = self.combinations.by_value
            for c in positions:
                positions[c] = index.get(c, -1)
        missing = [c for c, i in positions.items() if i < 0]
        if missing:
            encoded = [encode_combination(c) for c in missing]
            start = len(self.combinations)
            chunks = range(0, len(encoded), _CHUNK)
            parts = [encoded[i : i + _CHUNK] for i in chunks]
            data = b"".join(
                frame(dumps(["C", start + i, len(part), part]))
                for i, part in zip(chunks, parts, strict=True)
            )
            self._combos.sync(self._combos.append(data, len(chunks)))
            for i in chunks:
                self.combinations.add_chunk(missing[i : i + _CHUNK])
            for i, c in enumerate(missing, start):
                positions[c] = i
            self._grown()
        return list(positions.values())

    # -- the locked section ------------------------------------------------------------------

    def enter(self) -> None:
        """Take the directory lock and catch up with the journal (the start of every operation)."""
        lock = self.lock
        lock.acquire()
        try:
            journal = self.journal
            if os.fstat(journal.fd).st_size != journal.end:
                self.catch_up()
        except BaseException:
            lock.release()
            raise

    def exit(self) -> None:
        """Release what :meth:`enter` took."""
        self.lock.release()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """:meth:`enter` ... :meth:`exit` as a context manager."""
        self.enter()
        try:
            yield
        finally:
            self.exit()

    def catch_up(self) -> None:
        """Apply the journal records written since the last call (under the lock)."""
        while True:
            try:
                events = self._read(self.journal, "journal")
            except Shrunk:
                self._reload()
                return
            apply = self.state.apply
            next_gen = None
            for event in events:
                if event[0] == "E":
                    next_gen = event[1]
                    break
                apply(event)
            if next_gen is None:
                return
            following = RecordFile.open(self.path(f"journal.{next_gen}.jsonl"), parse_events)
            if following is None:  # compacted again since: start from the latest snapshot
                self._reload()
                return
            self._files.append(following)
            self.journal, self.gen = following, next_gen

    def write(self, events: list[list[Any]]) -> tuple[RecordFile, int]:
        """Append ``events``, already applied to the state; returns what to sync, and where."""
        return self.write_framed(b"".join([encode_event(e) for e in events]), len(events))

    def write_framed(self, data: bytes, count: int) -> tuple[RecordFile, int]:
        """Append ``count`` framed events (see :meth:`write`)."""
        journal = self.journal
        try:
            end = journal.append(data, count)
        except BaseException:
            self._reload()  # the state holds events the file may not: read it back
            raise
        if journal.records > self._compact_at:
            self.compact()
        return journal, end

    # -- compaction --------------------------------------------------------------------------

    def compact(self) -> None:
        """Start a new journal from a snapshot of the state (under the lock, caught up)."""
        new_gen = self.gen + 1
        new = self._open_or_create(f"journal.{new_gen}.jsonl", _header("journal", gen=new_gen))
        self._read(new, "journal")
        old = self.journal
        old.sync(old.append(frame(dumps(["E", new_gen])), 1))  # the commit point
        self.journal, self.gen = new, new_gen
        self._forget_dead_idle_workers()
        snapshot = self.state.to_json(new_gen)
        atomic_write(self.path(f"snapshot.{new_gen}.json"), frame(dumps(snapshot)))
        for kind, gens in self._generations().items():
            for gen in gens:
                if gen < new_gen:
                    suffix = "jsonl" if kind == "journal" else "json"
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(self.path(f"{kind}.{gen}.{suffix}"))
        logger.debug("%s: journal compacted into generation %d", self.directory, new_gen)

    def _forget_dead_idle_workers(self) -> None:
        state = self.state
        now = time.monotonic()
        for token, info in list(state.workers.items()):
            if not state.owned.get(token) and self._is_dead(info, now):
                del state.workers[token]
                state.owned.pop(token, None)

    def close(self) -> None:
        """Close every file and release the lock's share."""
        for f in self._files:
            f.close()
        self._files = []
        if hasattr(self, "lock"):
            self.lock.close()
            del self.lock
