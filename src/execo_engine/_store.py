"""A sweeper's storage directory: its files, and the state they describe.

Layout (every file is framed JSON records, see ``_records``)::

    LOCK                    empty; POSIX-locked around every operation
    combinations.jsonl      append-only: each combination once; its rank is its index
    journal.<gen>.jsonl     append-only: the state events (see ``_state``)
    snapshot.<gen>.json     the state at the start of journal <gen> (none for gen 0)

Every operation takes the lock and reads only the journal records appended since its previous
operation (so its cost does not depend on the sweep size), then appends its own records with
one ``pwrite``. When a journal holds more than ``max(4 * combinations, 100_000)`` records it is
compacted: a new journal is created, an ``E`` record pointing at it ends the old one (the
commit point), then a snapshot is written and the old files removed. A reader of the old
journal follows the ``E`` record; one whose next journal is already gone reloads from the
latest snapshot.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from typing import TYPE_CHECKING, Any, ClassVar, Final

from ._errors import CombinationError, SweeperFormatError
from ._log import logger
from ._records import (
    decode_combinations,
    dumps,
    encode_combination,
    encode_event,
    frame,
    parse_records,
)
from ._state import SweepState, WorkerInfo
from ._storage import DirLock, RecordFile, Shrunk, atomic_write
from ._sweep import HashableDict

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

__all__ = ["SweeperStore"]

_FORMAT: Final = "execo-sweeper"
_VERSION: Final = 1
_CHUNK: Final = 10_000
_GEN_FILE: Final = re.compile(r"^(journal|snapshot)\.(\d+)\.jsonl?$")


def _header(kind: str, **extra: object) -> bytes:
    return dumps({"format": f"{_FORMAT}-{kind}", "version": _VERSION, **extra})


def _check_header(record: Any, kind: str, path: str) -> None:
    if not isinstance(record, dict) or record.get("format") != f"{_FORMAT}-{kind}":
        raise SweeperFormatError(f"{path}: not an execo sweeper {kind} file")
    if record.get("version") != _VERSION:
        raise SweeperFormatError(
            f"{path}: format version {record.get('version')!r}, this execo reads {_VERSION}"
        )


class _Locked:
    """The locked section of every operation (a class: cheaper than a generator)."""

    __slots__ = ("_store",)

    def __init__(self, store: SweeperStore) -> None:
        self._store = store

    def __enter__(self) -> None:
        store = self._store
        store.lock.__enter__()
        try:
            store.catch_up()
        except BaseException:
            store.lock.__exit__(None, None, None)
            raise

    def __exit__(self, *exc_info: object) -> None:
        self._store.lock.__exit__(None, None, None)


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
        self.combinations: list[HashableDict] = []
        self.index: dict[HashableDict, int] = {}
        self.state = SweepState()
        self.gen = 0
        self._is_dead = is_dead
        self._files: list[RecordFile] = []
        os.makedirs(directory, exist_ok=True)
        self.lock = DirLock.for_path(self.path("LOCK"))
        self.locked = _Locked(self)
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
        loads: Callable[[bytes], Any] = (
            decode_combinations if name.startswith("combinations") else json.loads
        )
        path = self.path(name)
        f = RecordFile.open(path, loads) or RecordFile.create(path, header, loads)
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
        """Load the combinations other workers added since the last call."""
        index = self.index
        combinations = self.combinations
        for record in self._read(self._combos, "combinations"):
            if record[0] != "C" or record[1] != len(combinations):
                raise SweeperFormatError(f"{self._combos.path}: out-of-sequence record")
            for combination in record[2]:
                index.setdefault(combination, len(combinations))
                combinations.append(combination)
        self.state.grow(len(combinations))

    def register(self, sweeps: Iterable[Mapping[str, Any]] | None) -> list[int]:
        """The indices of ``sweeps`` (distinct, in order), storing the new ones; None: all."""
        if sweeps is None:
            return list(range(len(self.combinations)))
        keys = (c if isinstance(c, HashableDict) else HashableDict(c) for c in sweeps)
        try:
            positions = dict.fromkeys(keys, -1)  # distinct, in order; hashes each once
        except TypeError as e:
            raise CombinationError(f"a combination has an unhashable level: {e}") from e
        index = self.index
        if index:
            for c in positions:
                positions[c] = index.get(c, -1)
        missing = [c for c, i in positions.items() if i < 0]
        if missing:
            encoded = [encode_combination(c) for c in missing]
            start = len(self.combinations)
            data = b"".join(
                frame(dumps(["C", start + i, encoded[i : i + _CHUNK]]))
                for i in range(0, len(encoded), _CHUNK)
            )
            self._combos.sync(self._combos.append(data, (len(encoded) + _CHUNK - 1) // _CHUNK))
            for i, c in enumerate(missing, start):
                index[c] = positions[c] = i
            self.combinations.extend(missing)
            self.state.grow(len(self.combinations))
        return list(positions.values())

    # -- the locked section ------------------------------------------------------------------

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
            following = RecordFile.open(self.path(f"journal.{next_gen}.jsonl"), json.loads)
            if following is None:  # compacted again since: start from the latest snapshot
                self._reload()
                return
            self._files.append(following)
            self.journal, self.gen = following, next_gen

    def write(self, events: list[list[Any]]) -> tuple[RecordFile, int]:
        """Append ``events``, already applied to the state; returns what to sync, and where."""
        journal = self.journal
        try:
            end = journal.append(b"".join([encode_event(e) for e in events]), len(events))
        except BaseException:
            self._reload()  # the state holds events the file may not: read it back
            raise
        if journal.records > max(self.compact_min_records, 4 * len(self.state.states)):
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
