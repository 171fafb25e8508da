"""Files written whole or not at all, and the half-written ones a killed process left behind found and removed.

A file is written beside its final name under a temporary dot-name (``.incoming-<name>.<random>``), flushed and
renamed over the final name, so a reader never sees half a file. Its writer holds an exclusive ``flock`` on the
temporary file for as long as it writes. The kernel drops that lock when the writer's process ends, however it ends
(a SIGKILL, the OOM killer, a container stopped), so a temporary file nobody holds a lock on is provably an orphan
and may be removed at once, while one being written, however long it takes, is never touched. (An age rule cannot
tell the two apart: a run killed a minute ago left a young file, and a slow write on a busy disk is an old one.)
"""

from __future__ import annotations

import fcntl
import os
import stat
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO, NamedTuple

TEMPORARY_PREFIX = ".incoming-"
# room for the prefix and the random part within a file name's 255 bytes
_NAME_KEPT = 200
_RANDOM_LENGTH = 12
_swept_once: set[Path] = set()
_swept_once_lock = threading.Lock()


class SweptFile(NamedTuple):
    path: Path
    size_bytes: int


def _temporary_stem(target: Path) -> str:
    """What every temporary name of ``target`` starts with; a random part of ``_RANDOM_LENGTH`` follows."""
    return f"{TEMPORARY_PREFIX}{target.name[:_NAME_KEPT]}."


def temporary_name(target: Path) -> Path:
    """A fresh temporary name beside ``target`` (a dot-file: the file server and globs of final names skip it)."""
    return target.with_name(_temporary_stem(target) + uuid.uuid4().hex[:_RANDOM_LENGTH])


def _still_named(path: Path, descriptor: int) -> bool:
    """Whether ``path`` still names the file open as ``descriptor`` (not swept, renamed or replaced meanwhile)."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(descriptor)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _open_locked(target: Path, mode: int) -> tuple[Path, int]:
    """Create a temporary file beside ``target`` and lock it; its name and descriptor."""
    while True:
        temporary = temporary_name(target)
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        # a sweep may have found the file between its creation and the lock, and removed it: take another name
        if _still_named(temporary, descriptor):
            return temporary, descriptor
        os.close(descriptor)


def write_atomically(target: Path, content: bytes | Callable[[BinaryIO], object], *, mode: int = 0o666,
                     durable: bool = True) -> None:
    """Put ``content`` (bytes, or a function writing into a binary file) under ``target`` whole or not at all.

    ``mode`` is masked by the umask, as for any new file; ``durable`` flushes the data to disk before the rename
    (a crash of the machine then leaves the old file or the new one, never an empty one). A write that fails (disk
    full, file too large, an exception in ``content``) leaves no temporary file behind."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary, descriptor = _open_locked(target, mode)
    try:
        with os.fdopen(descriptor, "wb") as out:
            if callable(content):
                content(out)
            else:
                out.write(content)
            out.flush()
            if durable:
                os.fsync(out.fileno())
            os.replace(temporary, target)  # still under our lock: no sweep can take it first
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def sweep_orphans(folder: Path) -> list[SweptFile]:
    """Remove the temporary files anywhere under ``folder`` whose writer is gone (no process holds their lock);
    files being written now, and every file under a final name, are left alone. Returns what was removed."""
    return _sweep(Path(root) / name for root, _, names in os.walk(folder) for name in names
                  if name.startswith(TEMPORARY_PREFIX))


def sweep_orphans_of(target: Path) -> list[SweptFile]:
    """Remove the temporary files of ``target`` alone whose writer is gone: for a folder shared with other
    software (a drop folder), where another program's files must never be judged by our naming."""
    stem = _temporary_stem(target)
    folder = target.parent
    return _sweep(folder / name for name in (os.listdir(folder) if folder.is_dir() else [])
                  if name.startswith(stem) and len(name) == len(stem) + _RANDOM_LENGTH)


def sweep_orphans_once(folder: Path, again: bool = False) -> list[SweptFile]:
    """``sweep_orphans`` the first time this process asks for ``folder`` (what processes killed before it began
    left behind), and again only when ``again`` (a kill found since); otherwise nothing, at no cost."""
    key = folder.resolve()
    with _swept_once_lock:
        if key in _swept_once and not again:
            return []
        _swept_once.add(key)
    return sweep_orphans(folder)


def _sweep(candidates: Iterable[Path]) -> list[SweptFile]:
    removed = []
    for path in candidates:
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            continue  # renamed to its final name a moment ago, or not ours to judge
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its writer is alive and writing
            opened = os.fstat(descriptor)
            if stat.S_ISREG(opened.st_mode) and _still_named(path, descriptor):  # not renamed by its writer meanwhile
                path.unlink()
                removed.append(SweptFile(path, opened.st_size))
        finally:
            os.close(descriptor)  # unlinked before the lock goes: a writer that locks next sees its name gone
    return removed
