"""Every real data.police.uk street file in ../shared/data (ten forces, 2016 to 2024) loads for a partnership of
its whole force area, and the counts by LSOA (or authority), month and crime type equal a plain pandas filter.

Routine features of the official files are warnings with counts, never a quarantine: repeated Crime IDs, rows
without a location, LSOA codes of the 2021 set (recognised by their LSOA name), Welsh place names."""

from __future__ import annotations

import collections
import csv
import re
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from tasks.collect.steps import collect_source
from tasks.shared.context import open_cycle
from tasks.shared.settings import reset_settings_cache
from tasks.shared.storage.models import Observation
from tasks.shared.storage.session import session_scope
from tests.unit.collect.real_forces import (
    CSP_LOOKUP,
    STREET_FILES,
    district,
    force_id,
    national_lsoa11_codes,
    write_force_partnership,
)

pytestmark = pytest.mark.skipif(not STREET_FILES.is_dir(), reason="../shared/data/police_street is not beside the project")

FILE_NAME = re.compile(r"^\d{4}-\d{2}-(.+)-street\.csv$")


def files_by_force() -> dict[str, list[Path]]:
    found = collections.defaultdict(list)
    for path in sorted(STREET_FILES.glob("*-street.csv")) if STREET_FILES.is_dir() else []:
        found[FILE_NAME.match(path.name).group(1)].append(path)
    return dict(found)


def pfa_names() -> dict[str, str]:
    with CSP_LOOKUP.open(encoding="utf-8-sig", newline="") as handle:
        return {force_id(r["PFA17NM"]): r["PFA17NM"] for r in csv.DictReader(handle)}


def plain_counts(files: list[Path], area: dict, national: set[str]) -> tuple[dict, dict, int]:
    """The expected counts by a plain pandas filter: rows in one of the area's 2011 LSOAs by (LSOA, month, crime
    type); rows in an LSOA outside the national 2011 set whose name is a member district's (or its renamed or
    merged successor's, when only one member carries that name) by (authority, month, crime type)."""
    listed = {lsoa["code"] for lsoa in area["lsoas"]}
    names = collections.defaultdict(set)
    for code, name in area["members"].items():
        for alias in [name, *area["renamed"].get(code, [])]:
            names[alias].add(code)
    by_lsoa, by_authority, rows = collections.Counter(), collections.Counter(), 0
    for path in files:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        rows += len(frame)
        for row in frame.itertuples(index=False):
            code, name = row[7], row[8]  # LSOA code, LSOA name
            key = (row[1], row[9])  # Month, Crime type
            if code in listed:
                by_lsoa[(code, *key)] += 1
            elif code and code not in national and len(names.get(district(name), ())) == 1:
                by_authority[(next(iter(names[district(name)])), *key)] += 1
    return dict(by_lsoa), dict(by_authority), rows


@pytest.fixture
def config_dir(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "config"
    folder.mkdir()
    monkeypatch.setenv("DUTYCYCLE_CONFIG_DIR", str(folder))
    reset_settings_cache()
    return folder


@pytest.mark.parametrize("force", sorted(files_by_force()))
def test_every_real_street_file_loads_and_counts_equal_a_plain_pandas_filter(force: str, config_dir: Path) -> None:
    files = files_by_force()[force]
    area = write_force_partnership(config_dir, force, pfa_names()[force], files)
    ctx = open_cycle(force, "2022/23")
    outcomes = collect_source.fn(ctx, ctx.config.source("police-street-archive"))

    assert [o.status for o in outcomes] == ["loaded"] * len(files), [o.reason for o in outcomes]
    assert all(o.validation_status in ("passed", "warning") for o in outcomes)
    expected_lsoa, expected_authority, rows = plain_counts(files, area, national_lsoa11_codes())
    with session_scope(ctx.database_url) as session:
        stored = session.execute(
            select(Observation.area_type, Observation.area_code, Observation.period_start, Observation.measure,
                   Observation.value).where(Observation.partnership == force)
        ).all()
    measure = {m: re.sub(r"[^a-z0-9]+", "_", m.lower()).strip("_") for (_, _, m) in [*expected_lsoa, *expected_authority]}
    want_lsoa = {(c, f"{m}-01", measure[t]): float(n) for (c, m, t), n in expected_lsoa.items()}
    want_authority = {(c, f"{m}-01", measure[t]): float(n) for (c, m, t), n in expected_authority.items()}
    got_lsoa = {(c, str(p), m): v for t, c, p, m, v in stored if t == "lsoa"}
    got_authority = {(c, str(p), m): v for t, c, p, m, v in stored if t == "lad"}
    assert got_lsoa == want_lsoa
    assert got_authority == want_authority
    assert sum(o.rows_read for o in outcomes) == rows
    assert sum(o.rows_loaded for o in outcomes) == sum(want_lsoa.values()) + sum(want_authority.values())


def test_the_routine_features_of_real_files_are_reported_with_counts(config_dir: Path) -> None:
    # Kent 2024-01: 3 Crime IDs on two rows each, 136 rows without a location, 2021 LSOA codes (SOURCES.md)
    files = files_by_force()["kent"]
    write_force_partnership(config_dir, "kent", "Kent", files)
    ctx = open_cycle("kent", "2022/23")
    [outcome] = collect_source.fn(ctx, ctx.config.source("police-street-archive"))
    assert (outcome.status, outcome.validation_status) == ("loaded", "warning")
    assert outcome.rows_repeating_crime_id == 3
    assert outcome.rows_without_location == 136
    assert outcome.rows_in_unlisted_lsoas > 0
    warned = {rule for rule in outcome.failures["rule"]}
    assert any("Crime IDs repeat" in rule for rule in warned)
    assert set(outcome.failures["severity"]) == {"warning"}
