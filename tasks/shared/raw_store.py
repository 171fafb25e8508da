"""Content-addressed store of raw inputs: every file is kept unchanged, named by its sha256."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from tasks.shared.atomic_file import sweep_orphans_once, write_atomically


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    path: Path
    size_bytes: int


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def store_bytes(store_dir: Path, data: bytes, suffix: str = "") -> StoredFile:
    """Keep ``data`` under ``store_dir/ab/<sha256><suffix>``; storing the same bytes again is a no-op."""
    sweep_orphans_once(store_dir)  # the first store of a process: what killed processes left half-written here
    digest = sha256_of(data)
    target = store_dir / digest[:2] / f"{digest}{suffix.lower()}"
    if not target.exists():
        # whole or not at all, flushed to disk (a failed write, disk full or file too large, leaves nothing behind);
        # readable by its owner only, as raw inputs may hold personal data
        write_atomically(target, data, mode=0o600)
    return StoredFile(sha256=digest, path=target, size_bytes=len(data))


def read_stored(path: Path, expected_sha256: str) -> bytes:
    """Read a stored file back, refusing it if its bytes no longer match the recorded checksum."""
    data = path.read_bytes()
    actual = sha256_of(data)
    if actual != expected_sha256:
        raise ValueError(f"{path}: stored file is corrupt (sha256 {actual}, recorded {expected_sha256})")
    return data
