"""A force's street file is parsed once whichever partnership (and process) meets it first; the others read the
kept frame."""

from __future__ import annotations

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
