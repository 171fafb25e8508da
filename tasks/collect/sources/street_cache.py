"""Each force's street file (and the national population estimates) parsed once for all its partnerships: parsed
frames kept by the sha256 of the file's bytes and the parser's version, beside the raw store.

Every community safety partnership of a force reads the same force-month file (a police force area holds up to a
dozen partnerships); parsing it is most of what collect spends on it. The first partnership to meet a file parses it
and keeps the frame here; the others (in this process or another: a Dask worker, a Prefect worker) read the kept
frame. A lock per file makes a second process wait for the first's parse instead of parsing too. Each parse is
appended to ``parses.log`` (time, sha256, file, rows, process), so how often each file was parsed can be checked.
The national MYE2 population file, which every partnership reads, is kept the same way under its own parser's
version (``parser="mye2.v1"``), so a file's frame from one parser is never read as another's.

The same folder keeps the raw suites' verdicts of any collected file, by the file's sha256 (``load_verdict`` /
``keep_verdict``, used by ``tasks.shared.suites.validate_frames``): a file every partnership reads (the national
population estimates, a force's street file) has its rules about the file itself checked once.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import logging
import os
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tasks.shared.atomic_file import TEMPORARY_PREFIX, sweep_orphans, write_atomically

logger = logging.getLogger(__name__)
PARSES_LOG = "parses.log"
FORMAT = 1  # bump when the parsed frame's shape changes: older entries are then ignored, never misread


@dataclass(frozen=True)
class CachedParse:
    """A street file's parsed frame and whether the personal-data and formula guards already passed on it."""

    frame: pd.DataFrame
    sha256: str
    parsed_now: bool
    guarded: bool


class StreetParseCache:
    """Parsed street files, content-addressed: ``<dir>/<ab>/<sha256>.v<FORMAT>.pkl`` (+ ``.guarded`` once the
    guards passed on it). Only this code writes there; a file the guards refused is never marked."""

    def __init__(self, folder: Path):
        self.folder = folder

    def _entry(self, sha256: str, parser: str | None = None) -> Path:
        # street files keep their first name (no parser in it); any other parser names itself and its version
        name = f"{sha256}.v{FORMAT}.pkl" if parser is None else f"{sha256}.{parser}.pkl"
        return self.folder / sha256[:2] / name

    def get_or_parse(
        self, data: bytes, label: str, parse: Callable[[bytes, str], pd.DataFrame], parser: str | None = None
    ) -> CachedParse:
        """The parsed frame of ``data``: from the cache, or parsed now (under the file's lock) and kept. ``parser``
        names the parse function and its version (``None``: the street-file parser); bump the version whenever its
        frame changes, so older entries are ignored, never misread."""
        sha256 = hashlib.sha256(data).hexdigest()
        entry = self._entry(sha256, parser)
        kept = self._read_used(entry)
        if kept is not None:
            return CachedParse(kept, sha256, False, self.is_guarded(sha256, parser))
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            lock = open(entry.parent / f"{sha256}.lock", "a")  # noqa: SIM115 - held until the frame is kept
        except OSError as exc:  # a cache must never stop a collection (a full or read-only disk): parse here
            logger.warning("parse cache %s not used: %s", self.folder, exc)
            return CachedParse(parse(data, label), sha256, True, False)
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another process parsing the same file: wait for its frame
            kept = self._read_used(entry)
            if kept is not None:
                return CachedParse(kept, sha256, False, self.is_guarded(sha256, parser))
            frame = parse(data, label)  # an unreadable file raises here and nothing is kept
            try:
                self._write(entry, frame)
                self._log(sha256, label, len(frame))
            except OSError as exc:
                logger.warning("parse cache %s: %s not kept: %s", self.folder, label, exc)
        return CachedParse(frame, sha256, True, False)

    def is_guarded(self, sha256: str, parser: str | None = None) -> bool:
        return self._entry(sha256, parser).with_suffix(".guarded").is_file()

    def mark_guarded(self, sha256: str, parser: str | None = None) -> None:
        """Record that the guards passed on this file's frame (as ``parser`` read it): the next partnership need
        not scan it again."""
        marker = self._entry(sha256, parser).with_suffix(".guarded")
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError as exc:  # not recorded: the next partnership scans it again
            logger.warning("parse cache %s: guard verdict not kept: %s", self.folder, exc)

    def parses(self) -> list[dict]:
        """Every parse recorded, oldest first."""
        log = self.folder / PARSES_LOG
        if not log.is_file():
            return []
        fields = ("time", "sha256", "file", "rows", "pid")
        return [dict(zip(fields, line.split("\t"), strict=True)) for line in log.read_text().splitlines() if line]

    def _verdict_entry(self, sha256: str, key: str) -> Path:
        return self.folder / sha256[:2] / f"{sha256}.{key}.verdict.pkl"

    def load_verdict(self, sha256: str, key: str) -> dict | None:
        """Rule outcomes kept for this file's frame under ``key`` (suite, its sha256, GX version, frame digest)."""
        entry = self._verdict_entry(sha256, key)
        try:
            verdict = self._read(entry)
            os.utime(entry)  # used now: kept from pruning for another parse_cache_days
        except (FileNotFoundError, NotADirectoryError):  # never kept (or no cache here): checked in full
            return None
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
            logger.warning("parse cache %s: verdict %s not read: %s", self.folder, entry.name, exc)
            return None  # checked again, and kept again
        return verdict if isinstance(verdict, dict) else None

    def keep_verdict(self, sha256: str, key: str, verdict: dict) -> None:
        """Keep a file's rule outcomes for the next partnership (a failure to keep costs only a check again)."""
        entry = self._verdict_entry(sha256, key)
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            self._write(entry, verdict)
        except OSError as exc:
            logger.warning("parse cache %s: verdict of %s not kept: %s", self.folder, sha256[:12], exc)

    def prune(self, unused_days: float, now: float | None = None) -> tuple[int, int]:
        """Delete every file's entries (its parsed frame, guard mark, kept verdicts, lock) none of which was used
        in the last ``unused_days``; a file another process is parsing now (its lock held) is left alone.
        Returns (files pruned, bytes freed). ``parses.log`` is kept: it is the record of what was parsed."""
        cutoff = (time.time() if now is None else now) - unused_days * 86400
        groups: dict[tuple[Path, str], list[Path]] = {}
        pruned = freed = 0
        # half-written entries of killed processes go whatever their age (a live writer's lock keeps its own)
        freed += sum(swept.size_bytes for swept in sweep_orphans(self.folder))
        for path in self.folder.glob("??/*"):
            if path.is_file() and not path.name.startswith(TEMPORARY_PREFIX):
                groups.setdefault((path.parent, path.name.split(".", 1)[0]), []).append(path)
        for (folder, sha256), paths in groups.items():
            if max(path.stat().st_mtime for path in paths) >= cutoff:
                continue
            try:
                lock = open(folder / f"{sha256}.lock", "a")  # noqa: SIM115 - held while its entries go
            except OSError as exc:
                logger.warning("parse cache %s: %s not pruned: %s", self.folder, sha256[:12], exc)
                continue
            with lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:  # being parsed now: in use
                    continue
                for path in paths:
                    try:
                        freed += path.stat().st_size
                        path.unlink()
                    except FileNotFoundError:
                        pass
                (folder / f"{sha256}.lock").unlink(missing_ok=True)
            pruned += 1
        return pruned, freed

    def _read_used(self, entry: Path) -> pd.DataFrame | None:
        """A kept frame, marked as used now (pruning keeps what was used lately); None when there is none (or
        it was pruned a moment ago)."""
        try:
            frame = self._read(entry)
            os.utime(entry)
        except (FileNotFoundError, NotADirectoryError):
            return None
        return frame

    @staticmethod
    def _read(entry: Path) -> pd.DataFrame:
        with entry.open("rb") as handle:
            return pickle.load(handle)

    @staticmethod
    def _write(entry: Path, frame: object) -> None:
        # whole or not at all: a reader never sees half a frame, and a killed parse leaves no entry behind (not
        # flushed to disk: a cache entry lost in a machine crash is parsed again)
        write_atomically(entry, lambda out: pickle.dump(frame, out, protocol=pickle.HIGHEST_PROTOCOL), mode=0o600,
                         durable=False)

    def _log(self, sha256: str, label: str, rows: int) -> None:
        line = f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}\t{sha256}\t{label}\t{rows}\t{os.getpid()}\n"
        # one short append per parse: O_APPEND keeps lines from several processes whole
        with open(self.folder / PARSES_LOG, "a", encoding="utf-8") as log:
            log.write(line)


# A parsed street file holds about 3.6-3.8 times its CSV's bytes in memory (pandas string cells: measured on a
# Metropolitan month, 18.3 MB -> 66 MiB, and a Durham month, 1.2 MB -> 4.6 MiB); counting 4x bounds the memory
# without measuring each frame (a deep measure costs as much as the read it saves)
MEMORY_PER_CSV_BYTE = 4


class FramesInMemory:
    """Parsed force files kept in this process between the partnerships of one force, within a byte budget.

    The disk cache already spares the parse; this spares the next partnership of the force in the same process
    unzipping the file, hashing it and reading the kept frame again. Entries are grouped by force: to make room,
    whole forces least recently used go first, never the force being read (a force larger than the budget keeps
    the months that fitted and reads the others from disk, rather than each month pushing out the next one). What
    is held is at most the budget, counted as ``MEMORY_PER_CSV_BYTE`` times each file's CSV size."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forces: OrderedDict[str, dict[tuple[str, str], tuple[object, int]]] = OrderedDict()
        self.budget = 0
        self.held = 0

    def set_budget(self, budget_bytes: int) -> None:
        with self._lock:
            self.budget = max(0, budget_bytes)
            while self.held > self.budget and self._forces:
                self._evict_oldest()

    def get(self, force: str, key: tuple[str, str]) -> object | None:
        with self._lock:
            entries = self._forces.get(force)
            if entries is None or key not in entries:
                return None
            self._forces.move_to_end(force)
            return entries[key][0]

    def keep(self, force: str, key: tuple[str, str], value: object, size: int) -> bool:
        """Hold ``value`` if it fits (after letting other forces go); whether it is held."""
        with self._lock:
            entries = self._forces.get(force, {})
            if key in entries or size > self.budget:
                return key in entries
            while self.held + size > self.budget and any(f != force for f in self._forces):
                self._evict_oldest(sparing=force)
            if self.held + size > self.budget:
                return False
            self._forces.setdefault(force, entries)[key] = (value, size)
            self._forces.move_to_end(force)
            self.held += size
            return True

    def _evict_oldest(self, sparing: str | None = None) -> None:
        force = next(f for f in self._forces if f != sparing)
        self.held -= sum(size for _, size in self._forces.pop(force).values())


_IN_MEMORY = FramesInMemory()


def frames_in_memory(budget_bytes: int) -> FramesInMemory:
    """This process's parsed force files, with its budget set to ``budget_bytes`` (0: nothing is held)."""
    _IN_MEMORY.set_budget(budget_bytes)
    return _IN_MEMORY
