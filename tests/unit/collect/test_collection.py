"""Collect on bad input: the file is kept, quarantined with its failing rows, and the rest still loads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from tasks.collect.steps import collect_source
from tasks.shared.checks import blocked_datasets
from tasks.shared.context import open_cycle
from tasks.shared.settings import PROJECT_ROOT, reset_settings_cache
from tasks.shared.storage.models import Observation, QuarantineEntry, RawFile
from tasks.shared.storage.session import session_scope, table_row_counts

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


def _upload(name: str, text_or_bytes, tmp_path: Path):
    from tasks.collect.steps import upload_file

    path = tmp_path / "sent" / name
    path.parent.mkdir(exist_ok=True)
    if isinstance(text_or_bytes, bytes):
        path.write_bytes(text_or_bytes)
    else:
        path.write_text(text_or_bytes, newline="")
    ctx = open_cycle(DEMO, "2022/23")
    return ctx, upload_file(ctx, ctx.config.source("police-knife-crime"), path)


def test_corrected_resubmission_supersedes_with_history_kept(inbox: Path, tmp_path: Path) -> None:
    original = HEADER + "2022-10,E07000069,Castle Point,Under 25,4\r\n2022-10,E07000075,Rochford,Under 25,2\r\n"
    corrected = HEADER + "2022-10,E07000069,Castle Point,Under 25,5\r\n"
    ctx, [first] = _upload("knife-crime-FY2022-23-Q3.csv", original, tmp_path)
    assert first.status == "loaded"
    ctx, [kept, second] = _upload("knife-crime-FY2022-23-Q3.csv", corrected, tmp_path)
    assert (kept.status, second.status) == ("loaded", "loaded")
    assert "supersedes raw file(s)" in second.reason

    with session_scope(ctx.database_url) as session:
        files = {f.sha256: f for f in session.scalars(select(RawFile).where(RawFile.period == "2022-10"))}
        old, new = files[first.sha256], files[second.sha256]
        assert (old.status, old.superseded_by, new.status) == ("superseded", new.id, "loaded")
        assert Path(old.stored_path).read_bytes() == original.encode()  # the history is kept, byte for byte
        rows = session.execute(select(Observation.area_code, Observation.value, Observation.raw_file_id)
                               .where(Observation.period_start == old.received_at.date().replace(2022, 10, 1))).all()
    # the corrected return's figures only: Rochford's row, absent from the correction, is gone
    assert rows == [("E07000069", 5.0, new.id)]

    _collect()  # the inbox: the fixture's Q1 file and the corrected Q3
    counts = table_row_counts(ctx.database_url)
    _collect()  # collecting again neither reloads the superseded file nor duplicates anything
    assert table_row_counts(ctx.database_url) == counts
    with session_scope(ctx.database_url) as session:
        assert session.get(RawFile, old.id).status == "superseded"


def test_excel_return_loads_with_date_cells_as_months(inbox: Path, tmp_path: Path) -> None:
    import datetime as dt

    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER.strip().split(","))
    sheet.append([dt.datetime(2023, 1, 1), "E07000069", "Castle Point", "Under 25", 3])
    sheet.append([dt.datetime(2023, 1, 1), "E07000075", "Rochford", "25 and over", 6])
    path = tmp_path / "knife-crime-FY2022-23-Q4.xlsx"
    workbook.save(path)
    ctx, [outcome] = _upload(path.name, path.read_bytes(), tmp_path)
    assert outcome.status == "loaded" and outcome.period == "2023-01"
    with session_scope(ctx.database_url) as session:
        values = sorted(session.scalars(select(Observation.value).where(Observation.raw_file_id == outcome.raw_file_id)))
    assert values == [3.0, 6.0]

    # the same workbook saved under a .csv name is refused with a reason the partner can act on
    _, [refused] = _upload("knife-crime-FY2022-23-Q4.csv", path.read_bytes(), tmp_path)
    assert refused.status == "quarantined" and "Excel workbook, not CSV text" in refused.reason


def test_upload_refuses_a_file_named_for_another_source(inbox: Path, tmp_path: Path) -> None:
    from tasks.collect.sources.common import InputFileError

    with pytest.raises(InputFileError, match="takes files named knife-crime-"):
        _upload("homicides-FY2022-23.csv", HEADER, tmp_path)


def test_a_good_correction_retires_a_quarantined_file_and_unblocks_its_dataset(inbox: Path, tmp_path: Path) -> None:
    bad = HEADER + "2022-10,E07000069,Castle Point,Under 25,four\r\n"
    good = HEADER + "2022-10,E07000069,Castle Point,Under 25,4\r\n"
    ctx, [first] = _upload("knife-crime-FY2022-23-Q3.csv", bad, tmp_path)
    assert first.status == "quarantined" and "police_knife_crime" in blocked_datasets(ctx)
    ctx, [_, second] = _upload("knife-crime-FY2022-23-Q3.csv", good, tmp_path)
    assert second.status == "loaded"
    with session_scope(ctx.database_url) as session:
        assert session.get(RawFile, first.raw_file_id).status == "superseded"
    assert "police_knife_crime" not in blocked_datasets(ctx)


def test_a_failing_correction_never_displaces_the_good_file_nor_blocks_the_year(inbox: Path, tmp_path: Path) -> None:
    good = HEADER + "2022-10,E07000069,Castle Point,Under 25,4\r\n"
    bad = HEADER + "2022-10,E07000069,Castle Point,Under 25,-4\r\n"
    ctx, [first] = _upload("knife-crime-FY2022-23-Q3.csv", good, tmp_path)
    ctx, [kept, refused] = _upload("knife-crime-FY2022-23-Q3.csv", bad, tmp_path)
    assert (kept.status, refused.status) == ("loaded", "quarantined")
    with session_scope(ctx.database_url) as session:
        assert session.get(RawFile, first.raw_file_id).status == "loaded"
        values = session.execute(select(Observation.value, Observation.raw_file_id)).all()
    assert (4.0, first.raw_file_id) in values and all(v >= 0 for v, _ in values)
    # the refused correction is reported to its owner, but the good file stays in force: nothing is blocked
    assert "police_knife_crime" not in blocked_datasets(ctx)


def test_a_correction_for_one_month_does_not_retire_a_file_for_more_months(inbox: Path, tmp_path: Path) -> None:
    quarter = HEADER + "".join(f"2022-{m},E07000069,Castle Point,Under 25,{n}\r\n" for m, n in [(10, 1), (11, 2), (12, 3)])
    november = HEADER + "2022-11,E07000069,Castle Point,Under 25,7\r\n"
    ctx, [first] = _upload("knife-crime-FY2022-23-Q3.csv", quarter, tmp_path)
    ctx, [_, second] = _upload("knife-crime-FY2022-23-Q3.csv", november, tmp_path)
    assert second.status == "loaded"
    with session_scope(ctx.database_url) as session:
        assert session.get(RawFile, first.raw_file_id).status == "loaded"  # October and December stay
        values = sorted((str(p), v) for p, v in session.execute(select(Observation.period_start, Observation.value))
                        if str(p) >= "2022-10-01")
    # November replaced by the correction (upsert on the natural key), nothing counted twice
    assert values == [("2022-10-01", 1.0), ("2022-11-01", 7.0), ("2022-12-01", 3.0)]


def _quarantined_at(ctx, outcome) -> set[tuple[int, str]]:
    with session_scope(ctx.database_url) as session:
        assert session.scalars(select(Observation).where(Observation.raw_file_id == outcome.raw_file_id)).all() == []
        return {(q.source_row, q.column) for q in
                session.scalars(select(QuarantineEntry).where(QuarantineEntry.raw_file_id == outcome.raw_file_id))}


def test_the_unfinished_current_month_and_a_running_quarter_are_refused(inbox: Path, tmp_path: Path) -> None:
    import datetime as dt

    this_month = dt.date.today().strftime("%Y-%m")
    text = HEADER + f"{this_month},E07000069,Castle Point,Under 25,4\r\n"
    ctx, [outcome] = _upload("knife-crime-FY2030-31-Q1.csv", text, tmp_path)
    assert outcome.status == "quarantined" and "not yet over" in outcome.reason
    assert (2, "Month") in _quarantined_at(ctx, outcome)


def test_a_symbolic_link_in_an_inbox_is_refused_never_followed(inbox: Path) -> None:
    secret = inbox.parent / "elsewhere.csv"
    secret.write_text("not for the partnership\n")
    (inbox / "knife-crime-FY2022-23-Q2.csv").symlink_to(secret)
    ctx, outcomes = _collect()
    link = next(o for o in outcomes if o.original_name == "knife-crime-FY2022-23-Q2.csv")
    assert link.status == "quarantined" and "symbolic link" in link.reason and str(secret) in link.reason
    with session_scope(ctx.database_url) as session:
        stored = Path(session.get(RawFile, link.raw_file_id).stored_path).read_bytes()
    assert b"not for the partnership" not in stored  # the target was never read
    assert next(o for o in outcomes if o.original_name == "knife-crime-FY2022-23-Q1.csv").status == "loaded"


def test_files_over_the_size_and_row_limits_are_refused_with_the_limit(inbox: Path, monkeypatch) -> None:
    monkeypatch.setenv("DUTYCYCLE_MAX_ROWS_PER_FILE", "10")  # the good Q1 file has 18 rows
    reset_settings_cache()
    ctx, [outcome] = _collect()
    assert outcome.status == "quarantined" and "18 rows, over the limit of 10" in outcome.reason
    monkeypatch.setenv("DUTYCYCLE_MAX_FILE_BYTES", "100")
    reset_settings_cache()
    ctx, outcomes = _collect()
    assert all(o.status == "quarantined" for o in outcomes)
    assert any("over the 100-byte limit" in o.reason for o in outcomes)
