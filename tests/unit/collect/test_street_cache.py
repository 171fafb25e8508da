"""A force's street file is parsed once whichever partnership (and process) meets it first; the others read the
kept frame."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from tasks.collect.sources import police_archive
from tasks.collect.sources.common import InputFileError
from tasks.collect.sources.street_cache import StreetParseCache


def _street_csv() -> bytes:
    header = ",".join(police_archive.STREET_COLUMNS)
    rows = [f"id{i},2024-01,Merseyside Police,Merseyside Police,-2.9,53.4,On or near X,E01006{400 + i},"
            f"Knowsley 0{i:02d}A,Violence and sexual offences,Under investigation," for i in range(40)]
    return ("\n".join([header, *rows]) + "\n").encode()


def _archive(folder: Path) -> tuple[bytes, str]:
    path = folder / "2024-01.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("2024-01/2024-01-merseyside-street.csv", _street_csv())
    return path.read_bytes(), path.name


def _parse_in_a_process(cache_dir: str, data: bytes, name: str) -> list:
    months = police_archive.parse_archive(data, name, ["merseyside"], cache=StreetParseCache(Path(cache_dir)))
    return months[0].frame.to_dict("records")


def test_three_partnerships_in_three_processes_parse_the_force_file_once(tmp_path: Path) -> None:
    data, name = _archive(tmp_path)
    cache = StreetParseCache(tmp_path / "parsed")
    with ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("spawn")) as pool:
        frames = list(pool.map(_parse_in_a_process, [str(cache.folder)] * 3, [data] * 3, [name] * 3))
    assert [len(f) for f in frames] == [40, 40, 40] and frames[0] == frames[1] == frames[2]
    parses = cache.parses()
    assert len(parses) == 1, parses
    assert parses[0]["file"] == "2024-01.zip:2024-01/2024-01-merseyside-street.csv" and parses[0]["rows"] == "40"
    # a fourth partnership, later, in this process: read from the cache, the same rows as a parse without it
    again = police_archive.parse_archive(data, name, ["merseyside"], cache=cache)[0]
    plain = police_archive.parse_archive(data, name, ["merseyside"])[0]
    pd.testing.assert_frame_equal(again.frame, plain.frame)
    assert len(cache.parses()) == 1 and not again.guarded
    cache.mark_guarded(again.sha256)
    assert police_archive.parse_archive(data, name, ["merseyside"], cache=cache)[0].guarded


def _slow_parse(data: bytes, label: str) -> pd.DataFrame:
    time.sleep(1)  # widens the window in which a second process could parse too, were there no lock
    return police_archive.read_street_csv(data, label)


def _meet_then_parse(cache_dir: str, data: bytes, processes: int) -> int:
    """Wait until every process is ready (a barrier of files), then all ask for the same file at once."""
    folder = Path(cache_dir).parent
    (folder / f"ready-{os.getpid()}").touch()
    while len(list(folder.glob("ready-*"))) < processes:
        time.sleep(0.01)
    return len(StreetParseCache(Path(cache_dir)).get_or_parse(data, "2024-01-merseyside-street.csv", _slow_parse).frame)


def test_processes_asking_at_the_same_moment_wait_for_one_parse(tmp_path: Path) -> None:
    cache = StreetParseCache(tmp_path / "parsed")
    with ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("spawn")) as pool:
        rows = list(pool.map(_meet_then_parse, [str(cache.folder)] * 3, [_street_csv()] * 3, [3] * 3))
    assert rows == [40, 40, 40]
    assert len(cache.parses()) == 1, cache.parses()


def test_an_unreadable_street_file_is_refused_every_time_and_nothing_is_kept(tmp_path: Path) -> None:
    cache = StreetParseCache(tmp_path / "parsed")
    bad = b"Crime ID,Month\nx,2024-01\n"
    for _ in range(2):
        with pytest.raises(InputFileError, match="2024-01-merseyside-street.csv"):
            police_archive.parse_archive(bad, "2024-01-merseyside-street.csv", ["merseyside"], cache=cache)
    assert cache.parses() == [] and not list(cache.folder.glob("*/*.pkl"))


def test_a_cache_that_cannot_be_written_never_stops_the_collection(tmp_path: Path) -> None:
    data, name = _archive(tmp_path)
    blocked = tmp_path / "parsed"
    blocked.write_text("a file where the cache's folder should be")  # as a full or read-only disk would refuse it
    [month] = police_archive.parse_archive(data, name, ["merseyside"], cache=StreetParseCache(blocked))
    assert len(month.frame) == 40 and not month.guarded
    StreetParseCache(blocked).mark_guarded(month.sha256)  # not kept, not an error


def _csv_of(rows: int) -> bytes:
    return b"\n".join(_street_csv().splitlines()[: rows + 1]) + b"\n"


def test_entries_unused_for_the_configured_days_are_pruned_and_used_ones_kept(tmp_path: Path) -> None:
    cache = StreetParseCache(tmp_path / "parsed")
    old, recent, busy = _csv_of(5), _csv_of(6), _csv_of(7)
    entries = {}
    for name, data in (("old", old), ("recent", recent), ("busy", busy)):
        kept = cache.get_or_parse(data, f"{name}.csv", police_archive.read_street_csv)
        cache.mark_guarded(kept.sha256)
        cache.keep_verdict(kept.sha256, "police_street.raw.abc", {"rule": "passed"})
        entries[name] = sorted(p for p in cache.folder.glob(f"??/{kept.sha256}*"))
    assert all(len(paths) == 4 for paths in entries.values())  # frame, guard mark, verdict, lock
    (cache.folder / entries["old"][0].parent / ".incoming-killed").write_bytes(b"half a frame")
    forty_days_ago = time.time() - 40 * 86400
    for path in [*entries["old"], *entries["recent"], *entries["busy"], *cache.folder.glob("??/.incoming-*")]:
        os.utime(path, (forty_days_ago, forty_days_ago))
    # "recent" was used again today (a second partnership read it): its last use is today, its parse 40 days ago
    assert not cache.get_or_parse(recent, "recent.csv", police_archive.read_street_csv).parsed_now
    # "busy" is being parsed by another process now: its lock is held
    busy_sha = entries["busy"][0].name.split(".")[0]
    with open(entries["busy"][0].parent / f"{busy_sha}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        pruned, freed = cache.prune(unused_days=35)
    assert pruned == 1 and freed > 0
    assert not any(path.exists() for path in entries["old"]) and not list(cache.folder.glob("??/.incoming-*"))
    assert all(path.exists() for path in [*entries["recent"], *entries["busy"]])
    assert [p["file"] for p in cache.parses()] == ["old.csv", "recent.csv", "busy.csv"]  # the record stays
    # the pruned file is simply parsed again when met again
    again = cache.get_or_parse(old, "old.csv", police_archive.read_street_csv)
    assert again.parsed_now and len(again.frame) == 5 and not again.guarded
    # once its parse is over, the busy file (unused for 40 days) goes too; the two used today stay
    assert cache.prune(unused_days=35)[0] == 1 and not any(path.exists() for path in entries["busy"])
    assert again.frame is not None and all(path.exists() for path in entries["recent"])
    assert cache.get_or_parse(old, "old.csv", police_archive.read_street_csv).parsed_now is False
