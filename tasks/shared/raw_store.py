"""Content-addressed store of raw inputs: every file is kept unchanged, named by its sha256."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

TEMPORARY_PREFIX = ".incoming-"
# a temporary file older than this belongs to no live run (a store of one file takes seconds): it is swept
ORPHAN_AGE_SECONDS = 6 * 3600
_swept: set[Path] = set()
_sweep_lock = threading.Lock()


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    path: Path
    size_bytes: int


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sweep_orphans(store_dir: Path, older_than_seconds: float = ORPHAN_AGE_SECONDS) -> list[Path]:
    """Remove temporary files that a killed process left in the store (never a stored file: those have no prefix)."""
    cutoff = time.time() - older_than_seconds
    removed = []
    for path in store_dir.glob(f"*/{TEMPORARY_PREFIX}*") if store_dir.is_dir() else []:
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:
            pass  # another process swept or renamed it a moment ago
    return removed


def _sweep_once(store_dir: Path) -> None:
    """The first store of a process sweeps what earlier, killed processes left behind."""
    key = store_dir.resolve()
    with _sweep_lock:
        if key in _swept:
            return
        _swept.add(key)
    sweep_orphans(store_dir)


def store_bytes(store_dir: Path, data: bytes, suffix: str = "") -> StoredFile:
    """Keep ``data`` under ``store_dir/ab/<sha256><suffix>``; storing the same bytes again is a no-op."""
    _sweep_once(store_dir)
    digest = sha256_of(data)
    target = store_dir / digest[:2] / f"{digest}{suffix.lower()}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        # write, fsync, then rename: a crash never leaves a half-written file under its final name, and a failed
        # write (disk full, file too large) leaves no temporary file behind either
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=TEMPORARY_PREFIX)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            try:
                os.unlink(temporary)
            except FileNotFoundError:
                pass
            raise
    return StoredFile(sha256=digest, path=target, size_bytes=len(data))


def read_stored(path: Path, expected_sha256: str) -> bytes:
    """Read a stored file back, refusing it if its bytes no longer match the recorded checksum."""
    data = path.read_bytes()
    actual = sha256_of(data)
    if actual != expected_sha256:
        raise ValueError(f"{path}: stored file is corrupt (sha256 {actual}, recorded {expected_sha256})")
    return data
