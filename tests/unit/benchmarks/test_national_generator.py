"""The synthetic national year (benchmarks/national/generate.py): a small one (two forces, scale 0.0005) has every
community safety partnership of its forces as the ONS lookup lists them, each passing `config check`; its archives
are data.police.uk's format and pass collection's parser and raw suite; its returns pass their suites; MANIFEST.json
counts what is on disk; and the baseline counts what an independent csv-module count gives."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from benchmarks.national import baseline
from benchmarks.national.generate import (
    anonymisation_points,
    generate_national,
    read_reference,
    street_csv,
)
from dutycycle.cli import app
from tasks.collect.sources import police_archive
from tasks.collect.steps import parse_file, partner_row_refusals
from tasks.shared.config import load_partnership_config
from tasks.shared.context import CycleContext
from tasks.shared.settings import PROJECT_ROOT, get_settings, reset_settings_cache
from tasks.shared.suites import validate_frames

FORCES = {"durham": "Durham", "dyfed-powys": "Dyfed-Powys"}  # data.police.uk id -> force area of the lookup
YEAR, MONTHS = "2022/23", [f"2022-{m:02d}" for m in range(4, 13)] + ["2023-01", "2023-02", "2023-03"]
LOOKUP = next((PROJECT_ROOT / "config" / "lookups").glob("Local_Authority_District_to_Community*.csv"))
REAL_ARCHIVE = PROJECT_ROOT / "config" / "partnerships" / "castle-point-rochford" / "inputs" / "police-archive" / "2022-12.zip"


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("national") / "year"
    summary = generate_national(out, YEAR, 0.0005, list(FORCES), seed=1)
    return out, summary


@pytest.fixture
def config_env(national: tuple[Path, dict], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DUTYCYCLE_CONFIG_DIR", str(national[0] / "config"))
    reset_settings_cache()
    yield national[0] / "config"
    reset_settings_cache()


def _lookup_csps() -> dict[str, set[str]]:
    """CSP code -> its districts, for the two forces, read from the ONS file with the csv module."""
    with LOOKUP.open(encoding="utf-8-sig", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["PFA17NM"] in FORCES.values()]
    csps: dict[str, set[str]] = {}
    for row in rows:
        csps.setdefault(row["CSP17CD"], set()).add(row["LAD17CD"])
    return csps


def _partnerships(config_dir: Path) -> dict[str, dict]:
    return {folder.name: yaml.safe_load((folder / "partnership.yaml").read_text())
            for folder in sorted((config_dir / "partnerships").iterdir())}


def test_every_csp_of_the_forces_is_a_partnership_with_the_lookups_districts(national) -> None:
    out, summary = national
    csps = _lookup_csps()
    partnerships = _partnerships(out / "config")

    assert len(partnerships) == len(csps) == summary["partnerships"] == 6  # Durham 2, Dyfed-Powys 4 (lookup)
    assert sorted(sorted(la["code"] for la in p["local_authorities"]) for p in partnerships.values()) == \
        sorted(sorted(districts) for districts in csps.values())
    assert {p["csp"] for p in summary["partnership_list"]} == set(csps)
    for pid, partnership in partnerships.items():
        assert [f["id"] for f in partnership["police_forces"]] in (["durham"], ["dyfed-powys"]), pid
        text = (out / "config" / "partnerships" / pid / "partnership.yaml").read_text()
        assert re.search(r"partnership new \S+ --from [EW](22|14)\d{6}`", text), pid  # written by partnership new


def test_config_check_passes_for_every_partnership_without_warnings(national, config_env) -> None:
    runner = CliRunner()
    for pid in _partnerships(config_env):
        result = runner.invoke(app, ["config", "check", "--partnership", pid])
        assert result.exit_code == 0, result.output
        assert "warning" not in result.output and "8 sources" in result.output, result.output


def test_archives_are_data_police_uk_street_files_counted_in_the_manifest(national) -> None:
    out, summary = national
    with zipfile.ZipFile(REAL_ARCHIVE) as real:
        real_header = real.read(real.namelist()[0]).split(b"\r\n", 1)[0]
    located_codes = {pid: {lsoa["code"] for lsoa in p["lsoas"]} for pid, p in _partnerships(out / "config").items()}
    total = 0
    for force in FORCES:
        folder = out / "archives" / force
        assert sorted(p.name for p in folder.iterdir()) == [f"{m}.zip" for m in MONTHS]
        ids: Counter = Counter()
        for month in MONTHS:
            data = (folder / f"{month}.zip").read_bytes()
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                assert archive.namelist() == [f"{month}/{month}-{force}-street.csv"]
                raw = archive.read(archive.namelist()[0])
            assert raw.split(b"\r\n", 1)[0] == real_header
            assert raw.endswith(b"\r\n") and raw.count(b"\n") == raw.count(b"\r\n")  # CRLF only

            [parsed] = police_archive.parse_archive(data, f"{month}.zip", [force])
            frame = parsed.frame
            rows = len(frame)
            assert rows == summary["per_force"][force]["street_rows_by_month"][month]
            assert set(frame["Month"]) == {month}
            asb = frame["Crime type"] == "Anti-social behaviour"
            assert (frame.loc[asb, "Crime ID"] == "").all()
            assert frame.loc[~asb, "Crime ID"].str.fullmatch(r"[0-9a-f]{64}").all()
            ids.update(frame.loc[~asb, "Crime ID"])
            # every located row lies in exactly one of the force's partnerships; no-location rows have no LSOA
            in_area = 0
            for codes in located_codes.values():
                split = police_archive.split_by_area(frame, codes, {})
                in_area += split.in_area
                assert split.unattributable == 0
            no_location = frame["LSOA code"] == ""
            assert in_area == rows - no_location.sum()
            assert (frame.loc[no_location, "Location"] == "No Location").all()
            assert (frame.loc[no_location, ["Longitude", "Latitude"]] == "").all().all()
            total += rows
        assert summary["per_force"][force]["street_rows"] == sum(
            summary["per_force"][force]["street_rows_by_month"].values())
        assert any(count == 2 for count in ids.values()), f"{force}: no crime listed twice"
    assert total == summary["street_rows"] == json.loads((out / "MANIFEST.json").read_text())["street_rows"]
    assert total > 0


def test_collection_parses_and_checks_every_file_of_every_partnership_without_quarantine(national, config_env) -> None:
    settings = get_settings()
    # every partnership's files of a suite are checked in one validate_frames call (each file keeps the verdict it
    # gets alone: test_suites_batched.py): far fewer Great Expectations runs than a call per partnership and source
    by_suite: dict[str, list[tuple[str, str, object]]] = {}
    for pid in _partnerships(config_env):
        config = load_partnership_config(config_env, pid)
        ctx = CycleContext(config=config, settings=settings, financial_year=2022)
        for source in config.sources:
            folder = config.source_folder(source)
            files = sorted({p for pattern in source.patterns for p in folder.glob(pattern)})
            if source.kind == "ons_lsoa_population" and config.partnership.local_authorities[0].code.startswith("W"):
                assert files == []  # IoD2019 is England's: no LSOA population in Wales
                continue
            assert files, f"{pid}: {source.id} has no file in {folder}"
            parsed = [parse_file(ctx, source, path.read_bytes(), path.name, raw_file_id=i)
                      for i, path in enumerate(files)]
            by_suite.setdefault(source.suite_name, []).extend((pid, path.name, p) for p, path in zip(parsed, files, strict=True))
            if source.kind == "partner_return":
                for p, path in zip(parsed, files, strict=True):
                    refusals = partner_row_refusals(ctx, source, p)
                    assert refusals.empty, (pid, path.name, refusals.head().to_dict("records"))
    for suite, checked in by_suite.items():
        outcomes = validate_frames([(p.frame, p.suite_parameters) for _, _, p in checked], suite,
                                   expectations_dir=settings.expectations_dir)
        for outcome, (pid, name, _) in zip(outcomes, checked, strict=True):
            assert not outcome.blocking, (pid, name, [o.description for o in outcome.failed_critical])


def test_a_mapped_return_gives_the_counts_of_its_file(national, config_env) -> None:
    # knife crime: "Under 25" is mapped to 0-24 by the template `source add` wrote; expected sums from the csv module
    from tasks.collect.steps import build_observations

    pid = "county-durham"
    config = load_partnership_config(config_env, pid)
    ctx = CycleContext(config=config, settings=get_settings(), financial_year=2022)
    source = config.source("police-knife-crime")
    files = sorted(config.source_folder(source).glob("knife-crime-*.csv"))
    assert [f.name for f in files] == [f"knife-crime-FY2022-23-Q{q}.csv" for q in range(1, 5)]
    expected: Counter = Counter()
    for path in files:
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                expected[row["Victim Age Group"]] += int(row["Knife or Sharp Instrument Offences"])
    observed: Counter = Counter()
    for path in files:
        parsed = parse_file(ctx, source, path.read_bytes(), path.name, raw_file_id=1)
        observations = build_observations(ctx, source, parsed, path.name, 1)
        for band, value in zip(observations["age_band"], observations["value"], strict=True):
            observed[band] += value
    assert observed == {"0-24": expected["Under 25"], "25+": expected["25 and over"], "unknown": expected["Unknown"]}
    assert sum(expected.values()) > 0


def test_the_baseline_counts_what_the_csv_module_counts(national) -> None:
    out, _ = national
    results = baseline.police_counts(out / "config", YEAR)
    partnerships = _partnerships(out / "config")
    expected: Counter = Counter()
    for pid, partnership in partnerships.items():
        codes = {lsoa["code"] for lsoa in partnership["lsoas"]}
        force = partnership["police_forces"][0]["id"]
        for path in sorted((out / "archives" / force).glob("*.zip")):
            with zipfile.ZipFile(path) as archive:
                text = archive.read(archive.namelist()[0]).decode()
            for row in csv.DictReader(io.StringIO(text)):
                if row["LSOA code"] in codes and row["Month"] in MONTHS:
                    expected[(pid, row["Crime type"])] += 1
    crime_types = {"police_violence_and_sexual_offences": "Violence and sexual offences",
                   "police_robbery": "Robbery", "police_possession_of_weapons": "Possession of weapons"}
    got = {(r["partnership"], crime_types[r["metric"]]): r["count"] for r in results if r["area"] == r["partnership"]}
    assert got == {(pid, t): expected[(pid, t)] for pid in partnerships for t in crime_types.values()}
    assert sum(got.values()) > 0
    # the denominator is the MYE2 file's "All ages" of the area (its authorities summed), read with the csv module
    [mye2] = (out / "population").glob("mid-2022-MYE2-persons.csv")
    with mye2.open(encoding="utf-8-sig", newline="") as handle:
        all_ages = {row["Code"]: int(row["All ages"].replace(",", "")) for row in csv.DictReader(handle)}
    for row in results:
        authorities = [la["code"] for la in partnerships[row["partnership"]]["local_authorities"]]
        area = authorities if row["area"] == row["partnership"] else [row["area"]]
        assert row["denominator"] == sum(all_ages[code] for code in area)
        assert row["rate"] == pytest.approx(row["count"] / row["denominator"] * 100_000)


def test_the_same_seed_gives_the_same_bytes_and_another_seed_others() -> None:
    reference = read_reference()
    lsoas = {"LSOA11CD": ["E01000001", "E01000002"], "LSOA11NM": ["City of London 001A", "City of London 001B"],
             "weight": [0.5, 0.5]}
    frame = pd.DataFrame(lsoas)

    def one(seed: int) -> bytes:
        points = anonymisation_points(np.random.default_rng([seed, 0]), frame, reference)
        return street_csv(np.random.default_rng([seed, 1]), "2022-04", "City of London Police", frame, points, 400.0,
                          reference)[0]

    assert one(1) == one(1) != one(2)
    assert b"2022-04,City of London Police,City of London Police," in one(1)
