"""The national population estimates (MYE2), which every partnership reads, are parsed and guarded once: the
next partnership reads the kept frame; a bad file still fails every partnership with file, row and column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tasks.collect.sources import police_archive, population
from tasks.collect.sources.common import InputFileError
from tasks.collect.sources.street_cache import StreetParseCache
from tasks.collect.steps import PersonalDataFound, guard_frame, parse_shared_file
from tasks.shared.settings import PROJECT_ROOT

MYE2 = PROJECT_ROOT / "config" / "partnerships" / "castle-point-rochford" / "inputs" / "population" / \
    "mid-2022-MYE2-persons.csv"
CASTLE_POINT = b"E07000069,Castle Point,Non-metropolitan District,"


def _shared(cache: StreetParseCache, data: bytes, name: str = MYE2.name) -> pd.DataFrame:
    return parse_shared_file(cache, data, name, population.parse_mye2, population.MYE2_PARSER)


def test_three_partnerships_parse_the_national_file_once_and_read_the_same_frame(tmp_path: Path) -> None:
    data = MYE2.read_bytes()
    cache = StreetParseCache(tmp_path / "parsed")
    plain = population.parse_mye2(data, MYE2.name)
    frames = [_shared(cache, data) for _ in range(3)]
    for frame in frames:
        pd.testing.assert_frame_equal(frame, plain)
    parses = cache.parses()
    assert [(p["file"], p["rows"]) for p in parses] == [(MYE2.name, str(len(plain)))], parses
    kept = cache.get_or_parse(data, MYE2.name, population.parse_mye2, parser=population.MYE2_PARSER)
    assert not kept.parsed_now and kept.guarded  # the guards passed on the first partnership's parse
    # kept under the parser's own name: a street file's entry of the same bytes is another entry
    assert [p.name.split(".", 1)[1] for p in cache.folder.glob("??/*.pkl")] == [f"{population.MYE2_PARSER}.pkl"]
    assert not cache.is_guarded(kept.sha256)


def test_a_changed_parser_version_parses_the_file_again(tmp_path: Path) -> None:
    data = MYE2.read_bytes()
    cache = StreetParseCache(tmp_path / "parsed")
    _shared(cache, data)
    parse_shared_file(cache, data, MYE2.name, population.parse_mye2, "mye2.v0-older")
    assert len(cache.parses()) == 2


def test_a_file_with_a_formula_fails_every_partnership_with_its_file_row_and_column(tmp_path: Path) -> None:
    data = MYE2.read_bytes().replace(CASTLE_POINT + b'"91,084",', CASTLE_POINT + b'"=1+1",')
    assert data != MYE2.read_bytes()
    line = 1 + data.splitlines().index(next(ln for ln in data.splitlines() if ln.startswith(CASTLE_POINT)))
    cache = StreetParseCache(tmp_path / "parsed")
    for name in (MYE2.name, "mid-2022-MYE2-persons (sent again).csv"):  # the same bytes under another name
        with pytest.raises(InputFileError) as shared:
            _shared(cache, data, name)
        with pytest.raises(InputFileError) as alone:
            guard_frame(population.parse_mye2(data, name), name)
        assert str(shared.value) == str(alone.value)  # as without the cache, word for word
        assert str(shared.value).startswith(f"{name}, row {line}, column 'All ages': '=1+1' looks like a spreadsheet")
    # parsed once (the bytes are readable) but never marked as passed: each partnership is refused
    assert len(cache.parses()) == 1
    assert not cache.get_or_parse(data, MYE2.name, population.parse_mye2, parser=population.MYE2_PARSER).guarded


def test_a_file_with_personal_data_is_refused_every_time(tmp_path: Path) -> None:
    data = MYE2.read_bytes().replace(CASTLE_POINT, b"E07000069,jane.smith@example.com,Non-metropolitan District,")
    cache = StreetParseCache(tmp_path / "parsed")
    for _ in range(2):
        with pytest.raises(PersonalDataFound) as refused:
            _shared(cache, data)
        assert [(f.file, f.column) for f in refused.value.findings] == [(MYE2.name, "Name")]
    assert not cache.get_or_parse(data, MYE2.name, population.parse_mye2, parser=population.MYE2_PARSER).guarded


def test_an_unreadable_file_is_refused_every_time_and_nothing_is_kept(tmp_path: Path) -> None:
    data = MYE2.read_bytes().replace(b"Code,Name,", b"Kode,Name,", 1)  # a required column missing
    cache = StreetParseCache(tmp_path / "parsed")
    messages = set()
    for _ in range(2):
        with pytest.raises(InputFileError) as refused:
            _shared(cache, data)
        messages.add(str(refused.value))
    [message] = messages
    assert message.startswith(MYE2.name) and "Code" in message
    assert cache.parses() == [] and not list(cache.folder.glob("??/*.pkl"))


def test_street_entries_keep_their_names(tmp_path: Path) -> None:
    csv = (",".join(police_archive.STREET_COLUMNS) + "\n" + ",2024-01,X,X,,,No location,,,Drugs,,\n").encode()
    cache = StreetParseCache(tmp_path / "parsed")
    kept = cache.get_or_parse(csv, "2024-01-x-street.csv", police_archive.read_street_csv)
    cache.mark_guarded(kept.sha256)
    names = sorted(p.name for p in cache.folder.glob("??/*") if not p.name.endswith(".lock"))
    assert names == [f"{kept.sha256}.v1.guarded", f"{kept.sha256}.v1.pkl"]  # entries of earlier runs still read
