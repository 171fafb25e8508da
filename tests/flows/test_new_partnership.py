"""A partnership built by `partnership new` for a force not in the repository runs the whole cycle offline on one
real data.police.uk street file and a real ONS MYE2 file: its counts equal a plain pandas filter, and its outputs say
which measures could not be computed and why, and that the year is covered for one month of twelve."""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select

from tasks.shared.settings import PROJECT_ROOT, get_settings, reset_settings_cache
from tasks.shared.storage.models import MetricValue, Submission
from tasks.shared.storage.session import session_scope, table_row_counts

pytestmark = pytest.mark.flow
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
STREET = SHARED_DATA / "police_street" / "2024-01-merseyside-street.csv"
MYE2 = SHARED_DATA / "ons_population" / "ukpopestimatesmid2020on2021geography_MYE2-Persons.csv"
LSOA_LOOKUP = PROJECT_ROOT / "config" / "lookups" / (
    "Lower_Layer_Super_Output_Area__2011__to_Ward__2020__Lookup_in_England_and_Wales.csv"
)
PID = "knowsley"


@pytest.fixture
def knowsley(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if not (STREET.is_file() and MYE2.is_file()):
        pytest.skip(f"real data files not found under {SHARED_DATA} (../shared/data sits outside the clone)")
    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config, ignore=shutil.ignore_patterns("inputs"))
    monkeypatch.setenv("DUTYCYCLE_CONFIG_DIR", str(config))
    reset_settings_cache()
    from typer.testing import CliRunner

    from dutycycle.cli import app

    created = CliRunner().invoke(app, ["partnership", "new", PID, "--from", "E08000011"])
    assert created.exit_code == 0, created.output
    folder = config / "partnerships" / PID
    shutil.copyfile(STREET, folder / "inputs" / "police-archive" / STREET.name)
    shutil.copyfile(MYE2, folder / "inputs" / "population" / MYE2.name)
    return folder


def test_a_new_partnership_runs_the_cycle_on_public_data_and_says_what_it_could_not_compute(
    prefect_server: None, data_dir: Path, knowsley: Path
) -> None:
    from flows.annual_review import annual_review

    state = annual_review(partnership=PID, financial_year="2023/24", return_state=True)
    assert not state.is_failed(), state.message

    # the counts are those of a plain pandas filter of the real file to Knowsley's LSOAs (from the lookup itself):
    # its 2011 LSOAs, and LSOAs of the 2021 set (codes the 2011 lookup lacks) named "Knowsley NNNX"
    lookup = pd.read_csv(LSOA_LOOKUP, dtype=str, encoding="utf-8-sig")
    lsoas = set(lookup.loc[lookup["LAD20CD"] == "E08000011", "LSOA11CD"])
    street = pd.read_csv(STREET, dtype=str, keep_default_na=False)
    new_code = ~street["LSOA code"].isin(set(lookup["LSOA11CD"])) & (street["LSOA code"] != "")
    in_area = street[street["LSOA code"].isin(lsoas) | (new_code & street["LSOA name"].str.match(r"^Knowsley \d{3}[A-Z]$"))]
    expected = {
        "police_violence_and_sexual_offences": int((in_area["Crime type"] == "Violence and sexual offences").sum()),
        "police_robbery": int((in_area["Crime type"] == "Robbery").sum()),
        "police_possession_of_weapons": int((in_area["Crime type"] == "Possession of weapons").sum()),
    }
    assert expected["police_violence_and_sexual_offences"] > 100
    with session_scope(get_settings().resolved_database_url) as session:
        values = session.scalars(
            select(MetricValue).where(MetricValue.period == "2023/24", MetricValue.area_code == PID)
        ).all()
        submission = session.scalars(select(Submission)).one()
    counted = {v.metric_id: v for v in values}
    assert {m: int(counted[m].numerator) for m in expected} == expected
    # one month of twelve: a part-year count, never an annual rate
    for metric in expected:
        assert counted[metric].method == "count" and counted[metric].denominator is None
        assert counted[metric].note == "1 of 12 months: part-year count, not an annual rate"

    outputs = data_dir / "outputs" / PID / "2023-24"
    missing = {row["measure"]: row for row in csv.DictReader((outputs / "measures-not-computed.csv").open())}
    for headline, dataset in [("hospital_admissions_sharp_object", "hospital_sharp_object_admissions"),
                              ("police_knife_crime", "police_knife_crime"), ("homicide_non_domestic", "police_homicides")]:
        assert missing[headline]["headline"] == "yes"
        assert missing[headline]["reason"].startswith(f"no source supplies dataset {dataset}")
    assert set(missing) & set(expected) == set()
    published = list(csv.DictReader((outputs / "measures-published.csv").open()))
    assert {r["measure"] for r in published} == set(expected)
    assert all("1 of 12 months" in r["note"] for r in published)
    assert all(r["value"] == "" for r in published)

    summary = (outputs / "summary.html").read_text()
    assert "Measures not computed" in summary and "no source supplies dataset police_knife_crime" in summary
    assert "Part year." in summary and "1 of 12 months of 2023/24" in summary

    def board_pack_emails() -> list[Path]:
        return [p for p in (data_dir / "outbox" / PID).glob("*.eml")
                if "Serious violence measures" in p.read_text() and "csp-board" in p.read_text()]

    # the board's pack carries figures: nothing of it leaves before the board's chair (the approver `partnership
    # new` names) signs it off at the terminal
    assert board_pack_emails() == []
    from typer.testing import CliRunner

    from dutycycle.cli import app

    approved = CliRunner().invoke(app, ["approve", "1", "--kind", "board-pack", "--name",
                                        "Chair of the Community Safety Partnership Board", "--role", "board"])
    assert approved.exit_code == 0, approved.output
    [pack] = board_pack_emails()
    text = pack.read_text()
    assert "PART YEAR" in text and "Measures that could not be computed for 2023/24" in text
    assert "measures-not-computed.csv" in text

    with zipfile.ZipFile(submission.package_path) as package:
        assert "measures-not-computed.csv" in package.namelist()
        packaged = list(csv.DictReader(io.StringIO(package.read("measures-not-computed.csv").decode())))
    assert {r["measure"] for r in packaged} == set(missing)


def test_a_year_in_the_future_or_without_data_is_refused_before_anything_runs(
    prefect_server: None, data_dir: Path, knowsley: Path
) -> None:
    from flows.annual_review import annual_review

    future = annual_review(partnership=PID, financial_year="2031/32", return_state=True)
    assert future.is_failed() and future.message.startswith(
        "refused: nothing run: financial year 2031/32 starts on 01 April 2031")
    empty = annual_review(partnership=PID, financial_year="2019/20", return_state=True)
    assert empty.is_failed() and empty.message.startswith("refused: nothing run: financial year 2019/20 has no data")
    assert table_row_counts(get_settings().resolved_database_url)["runs"] == 0
