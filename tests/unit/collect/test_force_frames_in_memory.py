"""A force's parsed street files stay in the process's memory for its next partnerships, within a byte budget that
whole forces least recently used make room in; the rows are those of a plain parse."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tasks.collect.sources import police_archive
from tasks.collect.sources.street_cache import MEMORY_PER_CSV_BYTE, FramesInMemory, StreetParseCache
from tests.unit.collect.real_forces import STREET_FILES


def _street_csv(force: str, rows: int = 30) -> bytes:
    header = ",".join(police_archive.STREET_COLUMNS)
    lines = [f"id{i},2024-01,{force} Police,{force} Police,-2.9,53.4,On or near X,E01006{400 + i},"
             f"Knowsley 0{i:02d}A,Violence and sexual offences,Under investigation," for i in range(rows)]
    return ("\n".join([header, *lines]) + "\n").encode()


def _archive(folder: Path, month: str, forces: dict[str, bytes]) -> bytes:
    path = folder / f"{month}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for force, csv in forces.items():
            archive.writestr(f"{month}/{month}-{force}-street.csv", csv)
    return path.read_bytes()


def test_the_force_s_next_partnership_takes_the_frame_from_memory(tmp_path: Path) -> None:
    data = _archive(tmp_path, "2024-01", {"merseyside": _street_csv("Merseyside")})
    cache, memory = StreetParseCache(tmp_path / "parsed"), FramesInMemory()
    memory.set_budget(10 * 2**20)
    first = police_archive.parse_archive(data, "2024-01.zip", ["merseyside"], cache=cache, memory=memory)[0]
    assert memory.held == MEMORY_PER_CSV_BYTE * len(_street_csv("Merseyside"))
    first.frame.loc[0, "Crime type"] = "changed by the first partnership"  # never reaches the next one
    for path in cache.folder.glob("??/*.pkl"):
        path.unlink()  # the disk cache's entry gone: only memory can spare a second parse
    second = police_archive.parse_archive(data, "2024-01.zip", ["merseyside"], cache=cache, memory=memory)[0]
    plain = police_archive.parse_archive(data, "2024-01.zip", ["merseyside"])[0]
    pd.testing.assert_frame_equal(second.frame, plain.frame)
    assert len(cache.parses()) == 1 and second.sha256 == first.sha256 and not second.guarded
    cache.mark_guarded(first.sha256)  # the guards passed for the first partnership
    assert police_archive.parse_archive(data, "2024-01.zip", ["merseyside"], cache=cache, memory=memory)[0].guarded
    # other bytes under the same names (a corrected archive) are never answered from memory
    corrected = _archive(tmp_path, "2024-01", {"merseyside": _street_csv("Merseyside", rows=31)})
    again = police_archive.parse_archive(corrected, "2024-01.zip", ["merseyside"], cache=cache, memory=memory)[0]
    assert len(again.frame) == 31 and len(cache.parses()) == 2


def test_memory_never_holds_more_than_its_budget_and_forces_make_room_whole() -> None:
    memory = FramesInMemory()
    memory.set_budget(100)
    assert [memory.keep("durham", ("a", f"m{i}"), f"durham {i}", 30) for i in range(4)] == [True, True, True, False]
    assert memory.held == 90  # the fourth month did not fit: the first three are kept, not pushed out one by one
    assert memory.get("durham", ("a", "m0")) == "durham 0" and memory.get("durham", ("a", "m3")) is None
    assert memory.keep("cleveland", ("b", "m0"), "cleveland 0", 40)  # another force: Durham's months make room
    assert memory.held == 40 and memory.get("durham", ("a", "m1")) is None
    assert not memory.keep("cleveland", ("b", "big"), "too big", 101) and memory.held == 40
    memory.keep("durham", ("a", "m0"), "durham 0", 30)
    assert memory.get("cleveland", ("b", "m0")) == "cleveland 0"  # used last: Durham goes first next time
    memory.keep("essex", ("c", "m0"), "essex 0", 50)
    assert memory.get("durham", ("a", "m0")) is None and memory.get("cleveland", ("b", "m0")) == "cleveland 0"
    assert memory.held == 90
    memory.set_budget(0)  # DUTYCYCLE_PARSE_MEMORY_MIB=0: nothing is held
    assert memory.held == 0 and memory.get("essex", ("c", "m0")) is None
    assert not memory.keep("essex", ("c", "m0"), "essex 0", 1)


def test_every_real_force_file_taken_from_memory_equals_a_plain_parse(tmp_path: Path) -> None:
    """Every real data.police.uk street file (nine forces, one of them in two years), a month's archive each holding
    every force of that month:
    the second partnership's frames (from memory, the disk cache emptied) are those of a plain parse, row for row."""
    files = sorted(STREET_FILES.glob("*-street.csv"))
    if not files:
        pytest.skip(f"real street files not found under {STREET_FILES}")
    by_month: dict[str, dict[str, bytes]] = {}
    for path in files:
        month, force = path.name[:7], path.name[8:-len("-street.csv")]
        by_month.setdefault(month, {})[force] = path.read_bytes()
    cache, memory = StreetParseCache(tmp_path / "parsed"), FramesInMemory()
    memory.set_budget(512 * 2**20)
    compared, files_compared = 0, 0
    for month, forces in by_month.items():
        data = _archive(tmp_path, month, forces)
        name = f"{month}.zip"
        police_archive.parse_archive(data, name, list(forces), cache=cache, memory=memory)
        for path in cache.folder.glob("??/*.pkl"):
            path.unlink()
        parses = len(cache.parses())
        remembered = police_archive.parse_archive(data, name, list(forces), cache=cache, memory=memory)
        assert len(cache.parses()) == parses, f"{month}: parsed again instead of taken from memory"
        plain = police_archive.parse_archive(data, name, list(forces))
        assert [m.force for m in remembered] == [m.force for m in plain] == sorted(forces)
        for kept, fresh in zip(remembered, plain, strict=True):
            pd.testing.assert_frame_equal(kept.frame, fresh.frame, obj=f"{month} {kept.force}")
            compared, files_compared = compared + len(fresh.frame), files_compared + 1
    assert files_compared == len(files) and compared > 100_000
