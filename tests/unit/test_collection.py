"""Collect on bad input: the file is kept, quarantined with its failing rows, and the rest still loads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from tasks.context import open_cycle
from tasks.collection import collect_source
from tasks.settings import PROJECT_ROOT, reset_settings_cache
from tasks.storage.models import Observation, QuarantineEntry, RawFile
from tasks.storage.session import session_scope, table_row_counts
from tasks.validation import blocked_datasets

DEMO = "castle-point-rochford"
DEMO_INPUTS = PROJECT_ROOT / "config" / "partnerships" / DEMO / "inputs"
HEADER = "Month,Local Authority Code,Local Authority Name,Victim Age Group,Knife or Sharp Instrument Offences\r\n"


@pytest.fixture
def inbox(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the demo configuration whose knife-crime inbox holds one good file."""
    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config, ignore=shutil.ignore_patterns("inputs"))
    folder = config / "partnerships" / DEMO / "inputs" / "partner-returns" / "essex-police"
    folder.mkdir(parents=True)
    shutil.copy(DEMO_INPUTS / "partner-returns/essex-police/knife-crime-FY2022-23-Q1.csv", folder)
    monkeypatch.setenv("DUTYCYCLE_CONFIG_DIR", str(config))
    reset_settings_cache()
    return folder


def _collect():
    ctx = open_cycle(DEMO, "2022/23")
    return ctx, collect_source.fn(ctx, ctx.config.source("police-knife-crime"))


def test_bad_rows_quarantine_the_file_with_row_column_value_and_rule(inbox: Path) -> None:
    (inbox / "knife-crime-FY2022-23-Q2.csv").write_text(
        HEADER
        + "2022-07,E07000069,Castle Point,Under 25,4\r\n"
        + "2022-07,E07000069,Castle Point,25 and over,-2\r\n"
        + "2022-07,E09000001,City of London,Under 25,1\r\n",
        newline="",
    )
    ctx, outcomes = _collect()
    by_name = {o.original_name: o for o in outcomes}
    assert by_name["knife-crime-FY2022-23-Q1.csv"].status == "loaded"
    bad = by_name["knife-crime-FY2022-23-Q2.csv"]
    assert bad.status == "quarantined" and "failed critical checks" in bad.reason

    with session_scope(ctx.database_url) as session:
        raw = session.scalars(select(RawFile).where(RawFile.original_name == bad.original_name)).one()
        assert Path(raw.stored_path).read_bytes() == (inbox / bad.original_name).read_bytes()  # kept unchanged
        held = {(q.source_row, q.column, q.value) for q in
                session.scalars(select(QuarantineEntry).where(QuarantineEntry.raw_file_id == raw.id))}
        loaded_from_bad = session.scalars(select(Observation).where(Observation.raw_file_id == raw.id)).all()
    assert (3, "Knife or Sharp Instrument Offences", "-2") in held
    assert (4, "Local Authority Code", "E09000001") in held
    assert loaded_from_bad == []
    assert "police_knife_crime" in blocked_datasets(ctx)


def test_unreadable_file_is_quarantined_whole_and_collecting_again_adds_nothing(inbox: Path) -> None:
    (inbox / "knife-crime-FY2022-23-Q3.csv").write_bytes((HEADER + "2022-10,E07000069,Castle Point,Under 25,4\r\n")
                                                         .encode("utf-16"))
    ctx, outcomes = _collect()
    bad = next(o for o in outcomes if o.original_name.endswith("Q3.csv"))
    assert bad.status == "quarantined"
    assert "not UTF-8" in bad.reason and "knife-crime-FY2022-23-Q3.csv" in bad.reason
    counts = table_row_counts(ctx.database_url)
    _collect()
    assert table_row_counts(ctx.database_url) == counts


def test_missing_column_names_the_column(inbox: Path) -> None:
    (inbox / "knife-crime-FY2022-23-Q4.csv").write_text(
        "Month,Local Authority Code,Victim Age Group,Offences\r\n2023-01,E07000069,Under 25,3\r\n", newline=""
    )
    _, outcomes = _collect()
    bad = next(o for o in outcomes if o.original_name.endswith("Q4.csv"))
    assert bad.status == "quarantined"
    assert bad.reason.startswith(
        "knife-crime-FY2022-23-Q4.csv, row 1, column 'Knife or Sharp Instrument Offences': missing column(s) "
        "'Knife or Sharp Instrument Offences'; found 'Month', 'Local Authority Code', 'Victim Age Group', 'Offences'"
    )
    failure = bad.failures.iloc[0]
    assert (failure["source_row"], failure["column"]) == (1, "Knife or Sharp Instrument Offences")
