"""The package a reviewer opens: every raw file of the series, Excel = CSV, no formulas, an identity checksum that
ignores the build time, the approval added without touching the approved bytes, and a cover note that says what it is."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from tasks.shared.storage.models import MetricValue, RawFile
from tasks.shared.storage.session import session_scope
from tasks.submit.documents import package_documents
from tasks.submit.package import build_package, identity_of, with_approval
from tasks.submit.steps import provenance
from tasks.submit.store import store_package
from tests.unit.report_helpers import demo_context

DEMO = "castle-point-rochford"
BUILT = dt.datetime(2024, 1, 10, 9, 30, tzinfo=dt.UTC)
TABLE = pd.DataFrame(
    [
        ["police_knife_crime", "Knife crime", DEMO, "Castle Point and Rochford", "2022/23", "all", "35", "18.4",
         "12.8", "25.6", "-12.5", ""],
        ["police_knife_crime", "Knife crime", "E07000069", "Castle Point", "2022/23", "under_25", "*", "", "", "",
         "", "=HYPERLINK(\"http://evil.example\",\"click\")"],
        ["police_robbery", "Robbery", "E07000075", "Rochford", "2022/23", "all", "10", "11.0", "5.3", "20.2", "",
         "+cmd|' /C calc'!A0"],
        ["police_robbery", "Robbery", "E92000001", "England", "2022/23", "all", "70000", "123.4", "122.5", "124.3",
         "3.0", "@SUM(A1:A2); -note"],
    ],
    columns=["measure", "title", "area_code", "area_name", "financial_year", "age_band", "count", "value",
             "lower_ci_95", "upper_ci_95", "change_on_previous_year_percent", "note"],
)
MANIFEST = {"partnership": DEMO, "financial_year": "2022/23", "raw_files": [
    {"source": "police_knife_crime", "file": "knife.csv", "sha256": "a" * 64, "received_at": "2023-05-01T00:00:00Z",
     "synthetic": True}]}


def _build(table: pd.DataFrame = TABLE, when: dt.datetime = BUILT) -> bytes:
    return build_package(table, "<html>report</html>", MANIFEST, extra_files={"charts/a.png": b"png"},
                         documents={"cover-note.html": b"<p>note</p>"}, build_time=when,
                         xlsx_notes=[["section", "item", "text"], ["raw file", "=evil.csv", "sha256 a"]]).data


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# ---------------------------------------------------------------- every raw file of every year of the series


def _file(session, name: str, source: str = "police_knife_crime", synthetic: bool = True) -> int:
    row = RawFile(partnership=DEMO, source_id=source, dataset=source, original_name=name, sha256=name[:1] * 64,
                  size_bytes=1, stored_path=f"/x/{name}", synthetic=synthetic, status="loaded", period=None,
                  received_at=dt.datetime(2023, 6, 1, 12, 0))
    session.add(row)
    session.flush()
    return row.id


def _value(session, metric: str, period: str, files: list[int], version: int = 1, area: str = DEMO) -> None:
    session.add(MetricValue(partnership=DEMO, metric_id=metric, metric_version=version, area_type="csp",
                            area_code=area, period=period, age_band="all", numerator=10, denominator=1000,
                            value=1.0, method="crude rate", multiplier=100_000, raw_file_ids=files))


def test_the_manifest_lists_every_raw_file_of_every_year_of_the_series(data_dir: Path) -> None:
    ctx = demo_context()  # reviews 2022/23: the series is 2018/19 to 2022/23
    with session_scope(ctx.database_url) as session:
        k18, k20, k22 = (_file(session, n) for n in ("k-2018.csv", "l-2020.csv", "m-2022.csv"))
        pop18, pop22 = _file(session, "p-mid2018.csv", "population", False), _file(session, "q-mid2022.csv",
                                                                                 "population", False)
        old = _file(session, "z-2017.csv")
        retired = _file(session, "y-version9.csv")
        month = _file(session, "x-2022-05.csv")
        _value(session, "police_knife_crime", "2018/19", [k18, pop18])
        _value(session, "police_knife_crime", "2020/21", [k20, pop18])
        _value(session, "police_knife_crime", "2022/23", [k22, pop22])
        _value(session, "police_knife_crime", "2022/23", [k22, pop22], area="E07000069")
        _value(session, "police_knife_crime", "2017/18", [old])  # before the series: not in the package
        _value(session, "police_knife_crime", "2021/22", [retired], version=9)  # a definition not in force
        _value(session, "police_knife_crime", "2022-05", [month])  # a monthly breakdown stays internal
    listed = [(f["source"], f["file"], f["used_for_years"]) for f in provenance(ctx)["raw_files"]]
    assert listed == [
        ("police_knife_crime", "k-2018.csv", ["2018/19"]),
        ("police_knife_crime", "l-2020.csv", ["2020/21"]),
        ("police_knife_crime", "m-2022.csv", ["2022/23"]),
        ("population", "p-mid2018.csv", ["2018/19", "2020/21"]),
        ("population", "q-mid2022.csv", ["2022/23"]),
    ]
    first = provenance(ctx)["raw_files"][0]
    assert first["sha256"] == "k" * 64 and first["received_at"] == "2023-06-01T12:00:00Z" and first["synthetic"]
    assert provenance(ctx)["series_years"] == ["2018/19", "2019/20", "2020/21", "2021/22", "2022/23"]


# ---------------------------------------------------------------- Excel = CSV, formulas neutralised


def _shown(cell) -> str:
    """A cell as the CSV writes it: text as it is (a quote-prefixed cell with the quote that the CSV carries in its
    text, tasks/shared/exports.py), a number in its number format ('0', '0.0', '0.00')."""
    if cell.value is None:
        return ""
    if isinstance(cell.value, str):
        return ("'" if cell.quotePrefix else "") + cell.value
    decimals = len(cell.number_format.partition(".")[2])
    return f"{cell.value:.{decimals}f}"


def test_the_workbook_holds_the_csv_cells_and_no_formula() -> None:
    members = _members(_build())
    rows = list(csv.reader(io.StringIO(members["measures.csv"].decode())))
    sheet = load_workbook(io.BytesIO(members["measures.xlsx"]))["measures"]
    cells = [[_shown(c) for c in row] for row in sheet.iter_rows()]
    assert cells == rows
    assert sheet["G5"].value == 70000 and sheet["H2"].value == 18.4  # figures are numbers a reviewer can sum
    for ref, text in (("L3", '=HYPERLINK("http://evil.example","click")'), ("L4", "+cmd|' /C calc'!A0"),
                      ("L5", "@SUM(A1:A2); -note")):
        assert sheet[ref].value == text and sheet[ref].data_type == "s", ref
    with zipfile.ZipFile(io.BytesIO(members["measures.xlsx"])) as workbook:
        assert b"<f>" not in workbook.read("xl/worksheets/sheet1.xml")
    notes = load_workbook(io.BytesIO(members["measures.xlsx"]))["notes"]
    assert notes["A1"].value == "section" and notes["B2"].value == "=evil.csv" and notes["B2"].data_type == "s"


# ---------------------------------------------------------------- identity vs build time


def test_the_identity_ignores_the_build_time_and_follows_the_figures() -> None:
    first = build_package(TABLE, "r", MANIFEST, build_time=BUILT)
    later = build_package(TABLE, "r", MANIFEST, build_time=BUILT + dt.timedelta(days=3))
    assert first.sha256 == later.sha256
    assert first.zip_sha256 != later.zip_sha256  # the build time is in the bytes ...
    manifest = json.loads(_members(later.data)["manifest.json"])
    assert manifest["build_time"] == "2024-01-13T09:30:00Z"  # ... in the manifest, which names the identity
    assert manifest["identity"]["sha256"] == later.sha256 and "build_time" in manifest["identity"]["method"]
    assert identity_of(later.data) == first.sha256
    assert build_package(TABLE, "r", MANIFEST, build_time=BUILT).data == first.data  # reproducible for a time
    changed = TABLE.copy()
    changed.loc[0, "count"] = "40"
    assert build_package(changed, "r", MANIFEST, build_time=BUILT).sha256 != first.sha256
    other_file = {**MANIFEST, "raw_files": [{**MANIFEST["raw_files"][0], "sha256": "b" * 64}]}
    assert build_package(TABLE, "r", other_file, build_time=BUILT).sha256 != first.sha256


# ---------------------------------------------------------------- the approval beside the approved bytes


def test_the_approval_is_added_and_every_approved_member_is_unchanged() -> None:
    package = build_package(TABLE, "r", MANIFEST, build_time=BUILT)
    approval = {"approver": "Sam Reviewer", "role": "board", "decision": "approve",
                "time": dt.datetime(2024, 1, 20, 15, 0, tzinfo=dt.UTC)}
    delivered = with_approval(package.data, approval)
    before, after = _members(package.data), _members(delivered)
    assert set(after) == set(before) | {"approval.json"}
    assert all(after[name] == content for name, content in before.items())
    assert json.loads(after["approval.json"]) == {
        "approver": "Sam Reviewer", "role": "board", "decision": "approve", "time": "2024-01-20T15:00:00Z",
        "approved_identity_sha256": package.sha256,
    }
    assert identity_of(delivered) == package.sha256  # the approval is outside the identity
    with pytest.raises(ValueError, match="already carries an approval"):
        with_approval(delivered, approval)
    with pytest.raises(ValueError, match="is for package"):
        with_approval(package.data, {**approval, "approved_identity_sha256": "0" * 64})


def test_a_package_changed_after_it_was_built_is_refused() -> None:
    members = _members(build_package(TABLE, "r", MANIFEST, build_time=BUILT).data)
    members["measures.csv"] = members["measures.csv"].replace(b"35", b"36")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(ValueError, match="do not match its manifest: measures.csv"):
        with_approval(buffer.getvalue(), {"approver": "x"})


# ---------------------------------------------------------------- the cover note and the readable name


def test_the_cover_note_names_deadline_year_partnership_and_flags_demo_data(data_dir: Path) -> None:
    ctx = demo_context()
    documents, notes = package_documents(ctx, TABLE, pd.DataFrame(columns=["title", "reason"]), MANIFEST,
                                         "annual-review", ["charts/a.png"])
    note = documents["cover-note.html"].decode()
    assert "DEMONSTRATION ONLY: SYNTHETIC DATA." in note
    assert "1 of the raw files used are marked synthetic" in note
    assert "Castle Point and Rochford Community Safety Partnership (demo)" in note
    assert "Annual review of the serious violence strategy published and sent to the Home Office" in note
    assert "due 2024-01-31" in note and "financial year 2022/23" in note
    assert "Home Office (Serious Violence Duty team)" in note and "community.safety@example.org" in note
    # the policy in words, as measures.csv shows it: the police count of this table is published exactly
    assert "Police recorded crime (published openly, exact): every count is shown exactly" in note
    definitions = documents["definitions.md"].decode()
    assert "`police_knife_crime` version 1" in definitions and "Byar" in definitions
    assert "# Data-quality statement" in documents["data-quality.md"].decode()
    assert notes[0] == ["section", "item", "text"]
    assert notes[-1] == ["raw file", "police_knife_crime: knife.csv", f"sha256 {'a' * 64}, received 2023-05-01T00:00:00Z"]
    assert ["definition", "police_knife_crime: version", "1"] in notes


def test_the_package_is_offered_under_a_readable_name_and_a_version_never_names_two_contents(data_dir: Path) -> None:
    ctx = demo_context()
    first = build_package(TABLE, "r", MANIFEST, build_time=BUILT)
    stored = store_package(ctx, first, "annual-review")
    assert stored.path.name == "castle-point-rochford_annual-review_2022-23_v1.zip"
    again = store_package(ctx, build_package(TABLE, "r", MANIFEST, build_time=BUILT + dt.timedelta(hours=1)),
                          "annual-review")
    assert again.path == stored.path and again.path.read_bytes() == first.data  # the first build is kept
    changed = TABLE.copy()
    changed.loc[0, "count"] = "40"
    other = store_package(ctx, build_package(changed, "r", MANIFEST, build_time=BUILT), "annual-review")
    assert other.path.name == "castle-point-rochford_annual-review_2022-23_v2.zip"
    assert stored.path.read_bytes() == first.data
    assert other.content_path.name == f"{other.sha256}.zip"
