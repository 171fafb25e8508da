"""Files written whole or not at all; what a killed writer leaves is removed at once, a live writer's file never."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from tasks.shared.atomic_file import (
    TEMPORARY_PREFIX,
    sweep_orphans,
    sweep_orphans_of,
    sweep_orphans_once,
    write_atomically,
)
from tests.writers import SECOND_HALF, WriterInTheMiddle, killed_in_the_middle_of_writing


def _temporaries(folder: Path) -> list[Path]:
    return sorted(folder.rglob(f"{TEMPORARY_PREFIX}*"))


def test_a_file_is_written_whole_under_its_name_with_the_mode_asked(tmp_path: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    write_atomically(tmp_path / "a" / "report.pdf", b"%PDF-1.7 whole")
    write_atomically(tmp_path / "a" / "raw.csv", lambda out: out.write(b"a,b\n1,2\n"), mode=0o600)
    assert (tmp_path / "a" / "report.pdf").read_bytes() == b"%PDF-1.7 whole"
    assert (tmp_path / "a" / "raw.csv").read_bytes() == b"a,b\n1,2\n"
    assert stat.S_IMODE((tmp_path / "a" / "report.pdf").stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "a" / "raw.csv").stat().st_mode) == 0o600
    assert _temporaries(tmp_path) == []


def test_a_write_that_fails_leaves_neither_a_temporary_file_nor_a_changed_file(tmp_path: Path) -> None:
    target = tmp_path / "receipt.json"
    target.write_bytes(b"the earlier receipt")

    def fails(out) -> None:
        out.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        write_atomically(target, fails)
    assert target.read_bytes() == b"the earlier receipt" and _temporaries(tmp_path) == []


def test_a_killed_writers_file_is_swept_at_once_and_a_live_writers_never_whatever_its_age(tmp_path: Path) -> None:
    orphan = killed_in_the_middle_of_writing(tmp_path / "raw" / "ab" / "killed.csv")
    live = WriterInTheMiddle(tmp_path / "outputs" / "report.pdf")
    try:
        a_day_ago = time.time() - 86_400
        os.utime(live.temporary, (a_day_ago, a_day_ago))  # a slow write: old, and still being written
        stored = tmp_path / "raw" / "ab" / "stored.csv"
        write_atomically(stored, b"a,b\n")
        swept = sweep_orphans(tmp_path)
        assert [file.path for file in swept] == [orphan] and swept[0].size_bytes == len(b"the first half of the file")
        assert not orphan.exists() and live.temporary.exists() and stored.read_bytes() == b"a,b\n"
        assert sweep_orphans(tmp_path) == []
    finally:
        live.finish()
    assert (tmp_path / "outputs" / "report.pdf").read_bytes() == SECOND_HALF  # the live write went on to the end
    assert _temporaries(tmp_path) == []


def test_a_drop_folder_sweep_judges_only_the_temporary_files_of_its_own_target(tmp_path: Path) -> None:
    target = tmp_path / "drop" / "package_v1.zip"
    ours = killed_in_the_middle_of_writing(target)
    other_target = killed_in_the_middle_of_writing(tmp_path / "drop" / "package_v2.zip")
    another_program = tmp_path / "drop" / f"{TEMPORARY_PREFIX}their-upload"
    another_program.write_bytes(b"not ours")
    assert [file.path for file in sweep_orphans_of(target)] == [ours]
    assert other_target.exists() and another_program.exists()


def test_writers_and_sweepers_at_the_same_time_lose_no_write_and_leave_nothing(tmp_path: Path) -> None:
    """A sweep may find a file between its creation and its writer's lock: the writer must notice and start over."""
    stop = threading.Event()
    failures: list[BaseException] = []

    def sweep() -> None:
        while not stop.is_set():
            sweep_orphans(tmp_path)

    def write(worker: int) -> None:
        try:
            for n in range(150):
                write_atomically(tmp_path / f"{worker}-{n}.bin", f"{worker}-{n}".encode() * 100, durable=False)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    sweepers = [threading.Thread(target=sweep) for _ in range(2)]
    writers = [threading.Thread(target=write, args=(worker,)) for worker in range(3)]
    for thread in sweepers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in sweepers:
        thread.join()
    assert failures == []
    for worker in range(3):
        for n in range(150):
            assert (tmp_path / f"{worker}-{n}.bin").read_bytes() == f"{worker}-{n}".encode() * 100
    assert _temporaries(tmp_path) == []


def test_a_process_sweeps_a_folder_once_and_again_only_after_a_kill_is_found(tmp_path: Path) -> None:
    first = killed_in_the_middle_of_writing(tmp_path / "raw" / "ab" / "first.csv")
    assert [file.path for file in sweep_orphans_once(tmp_path)] == [first]
    later = killed_in_the_middle_of_writing(tmp_path / "raw" / "ab" / "later.csv")
    assert sweep_orphans_once(tmp_path) == [] and later.exists()  # swept once already: no walk at every call
    assert [file.path for file in sweep_orphans_once(tmp_path, again=True)] == [later]
