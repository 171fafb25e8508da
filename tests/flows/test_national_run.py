"""`dutycycle national` on three partnerships of `partnership new` (two Merseyside CSPs sharing one force archive
folder of the real data.police.uk file of January 2024, and Wirral with no police data): serial, on Dask (a local
cluster of two workers) and on a Prefect process work pool (two workers) store the same metric values, row for row;
the force's file is parsed once; the partnership that fails is named and does not stop the others."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from tasks.shared.settings import PROJECT_ROOT
from tests.databases import fresh_database

pytestmark = [pytest.mark.flow, pytest.mark.slow]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
STREET = SHARED_DATA / "police_street" / "2024-01-merseyside-street.csv"
MYE2 = SHARED_DATA / "ons_population" / "ukpopestimatesmid2020on2021geography_MYE2-Persons.csv"
LSOA_LOOKUP = PROJECT_ROOT / "config" / "lookups" / (
    "Lower_Layer_Super_Output_Area__2011__to_Ward__2020__Lookup_in_England_and_Wales.csv"
)
PARTNERSHIPS = {"knowsley": "E08000011", "st-helens": "E08000013", "wirral": "E08000015"}
SHARING = ("knowsley", "st-helens")  # read the one Merseyside archive folder; wirral has no police file
# what makes two runs' figures the same: every column but the row's id, the run that wrote it, when, and the raw
# file ids (numbered in the order several processes happened to register the files)
KEY = ["partnership", "metric_id", "metric_version", "area_code", "period", "age_band"]
IGNORED = {"id", "flow_run_id", "computed_at", "raw_file_ids"}


@pytest.fixture(scope="module")
def national_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A configuration folder holding only the three partnerships, built by `partnership new`; the Merseyside
    archive in the layout of the national generator: one folder per force, YYYY-MM.zip."""
    if not (STREET.is_file() and MYE2.is_file()):
        pytest.skip(f"real data files not found under {SHARED_DATA} (../shared/data sits outside the clone)")
    root = tmp_path_factory.mktemp("national")
    config = root / "config"
    shutil.copytree(PROJECT_ROOT / "config", config, ignore=shutil.ignore_patterns("inputs", "castle-point-rochford"))
    archives = root / "archives" / "merseyside"
    archives.mkdir(parents=True)
    with zipfile.ZipFile(archives / "2024-01.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(STREET, f"2024-01/{STREET.name}")
    env = {**os.environ, "DUTYCYCLE_CONFIG_DIR": str(config)}
    # the three at once: each writes only its own folder, and each process's start-up is most of its time
    making = {pid: subprocess.Popen([sys.executable, "-m", "dutycycle.cli", "partnership", "new", pid, "--from", code],
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    cwd=PROJECT_ROOT)
              for pid, code in PARTNERSHIPS.items()}
    for pid, made in making.items():
        _, stderr = made.communicate(timeout=600)
        assert made.returncode == 0, stderr
        folder = config / "partnerships" / pid
        shutil.copyfile(MYE2, folder / "inputs" / "population" / MYE2.name)
        if pid in SHARING:
            sources = folder / "sources.yaml"
            sources.write_text(sources.read_text().replace("location: inputs/police-archive", f"location: {archives}"))
    return config


def national(config: Path, data_dir: Path, *args: str) -> tuple[subprocess.CompletedProcess, pd.DataFrame]:
    """`dutycycle national` in its own process with its own data directory and database; its metric values."""
    with fresh_database() as url, fresh_database() as prefect_url:
        env = {**os.environ, "DUTYCYCLE_CONFIG_DIR": str(config), "DUTYCYCLE_DATA_DIR": str(data_dir)}
        env.pop("PREFECT_API_URL", None)  # each run finds or starts what it needs itself
        if url:
            env["DUTYCYCLE_DATABASE_URL"] = url
        if prefect_url:  # on PostgreSQL, the Prefect server the command starts keeps its state there too (README)
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = prefect_url.replace("+psycopg://", "+asyncpg://", 1)
        run = subprocess.run([sys.executable, "-m", "dutycycle.cli", "national", "--financial-year", "2023/24", *args],
                             env=env, capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=1800)
        engine = create_engine(url or f"sqlite:///{data_dir / 'dutycycle.db'}")
        with engine.connect() as connection:
            values = pd.read_sql(text("SELECT * FROM metric_values"), connection)
        engine.dispose()
        if prefect_url:  # the flow runs are recorded there, not in a SQLite file under the Prefect home
            engine = create_engine(prefect_url)
            with engine.connect() as connection:
                names = set(connection.execute(text("SELECT name FROM flow_run")).scalars())
            engine.dispose()
            assert {f"{pid} 2023/24 all stages" for pid in PARTNERSHIPS} <= names, sorted(names)
    columns = [c for c in values.columns if c not in IGNORED]
    return run, values[columns].sort_values(KEY).reset_index(drop=True)


def summary(run: subprocess.CompletedProcess) -> list[str]:
    return run.stdout[run.stdout.index("national run ("):].splitlines()


def parsed_once(data_dir: Path) -> None:
    """The one force file was parsed once in the run, though both partnerships sharing it loaded it; so was the
    national population file every partnership reads; nothing else is kept parsed."""
    parses = (data_dir / "parsed" / "parses.log").read_text().splitlines() \
        if (data_dir / "parsed" / "parses.log").is_file() else []
    street = [line for line in parses if "2024-01-merseyside-street.csv" in line]
    population = [line for line in parses if "\tukpopestimates" in line]
    assert len(street) == 1 and len(population) == 1 and len(parses) == 2, parses


def test_the_national_run_gives_the_same_figures_serially_on_dask_and_on_a_process_pool(
    national_config: Path, tmp_path: Path
) -> None:
    serial, reference = national(national_config, tmp_path / "serial", "--runner", "serial")
    assert serial.returncode == 1, serial.stdout[-3000:] + serial.stderr[-3000:]
    assert "archive group(s)" in serial.stdout and f"merseyside: {', '.join(SHARING)}" in serial.stdout
    lines = summary(serial)
    assert lines[0].startswith("national run (serial): 2 of 3 partnerships completed")
    assert "  failed: wirral" in lines
    for pid in PARTNERSHIPS:  # one line per partnership, the failed one with its reason
        [line] = [line for line in serial.stdout.splitlines() if line.startswith(f"{pid} ")]
        assert (" failed " in line and "has no data" in line) if pid == "wirral" else " completed" in line

    # the reference is right: Knowsley's violence count is a plain pandas filter of the real file
    lookup = pd.read_csv(LSOA_LOOKUP, dtype=str, encoding="utf-8-sig")
    street = pd.read_csv(STREET, dtype=str, keep_default_na=False)
    knowsley_lsoas = set(lookup.loc[lookup["LAD20CD"] == "E08000011", "LSOA11CD"])
    new_code = ~street["LSOA code"].isin(set(lookup["LSOA11CD"])) & (street["LSOA code"] != "")
    in_knowsley = street["LSOA code"].isin(knowsley_lsoas) | (
        new_code & street["LSOA name"].str.match(r"^Knowsley \d{3}[A-Z]$"))
    violence = int((street.loc[in_knowsley, "Crime type"] == "Violence and sexual offences").sum())
    assert violence > 100
    counted = reference[(reference["metric_id"] == "police_violence_and_sexual_offences")
                        & (reference["area_code"] == "knowsley") & (reference["period"] == "2023/24")]
    assert counted["numerator"].tolist() == [violence]
    assert set(reference["partnership"]) == set(SHARING)
    parsed_once(tmp_path / "serial")

    for runner, args in [("dask", ["--runner", "dask", "--workers", "2"]),
                         ("process", ["--runner", "process", "--workers", "2"])]:
        run, values = national(national_config, tmp_path / runner, *args)
        assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]
        lines = summary(run)
        assert lines[0].startswith(f"national run ({runner}): 2 of 3 partnerships completed"), \
            run.stdout[-4000:] + run.stderr[-4000:]
        assert "  failed: wirral" in lines
        assert "database is locked" not in run.stdout + run.stderr
        pd.testing.assert_frame_equal(values, reference, check_dtype=False)
        parsed_once(tmp_path / runner)
