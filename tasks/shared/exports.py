"""Files people open in a spreadsheet (CSV, Excel) never carry a cell the spreadsheet would run as a formula.

A text cell starting with = + - @, a tab or a carriage return is read by Excel, LibreOffice and Google Sheets as
a formula (CSV or formula injection: ``=HYPERLINK(...)`` leaks data, ``=cmd|' /C calc'!A0`` runs a program).
Such text can reach an export from a partner's file (a refused cell quoted in a data-quality report), a file
name or configuration. As OWASP's "CSV Injection" page recommends, the text is prefixed with a single quote, so
it shows as the text it is; in a workbook the cell is also typed as text with Excel's quote prefix. A plain
number ("-20.0", "+3", "-1e-05") is left alone: a negative change must stay a number.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def looks_like_formula(text: str) -> bool:
    """True when a spreadsheet would read this text as a formula (and it is not simply a signed number)."""
    return text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text)


def neutralise(value: Any) -> Any:
    """A cell's value made safe to open in a spreadsheet: formula-looking text gets a leading single quote."""
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    return value


def _csv_cell(value: Any) -> Any:
    """Neutralised, and a carriage return made a line feed: the CSV writer quotes a cell holding a line feed, but
    not one holding a bare CR, which many readers (Excel among them) take as the end of the row, so the text after
    it would start a row of its own, unprotected."""
    value = neutralise(value)
    if isinstance(value, str) and "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a table for a CSV file: every formula-looking text cell (and column name) neutralised, no bare
    carriage return; numbers untouched."""
    safe = frame.copy()
    for column in safe.columns:
        if not pd.api.types.is_numeric_dtype(safe[column]):
            safe[column] = safe[column].map(_csv_cell)
    safe.columns = [_csv_cell(c) for c in safe.columns]
    return safe


def csv_text(frame: pd.DataFrame, **options: Any) -> str:
    """The table as CSV text, safe to open in a spreadsheet (no index, LF line ends unless told otherwise)."""
    options.setdefault("index", False)
    options.setdefault("lineterminator", "\n")
    return safe_frame(frame).to_csv(**options)


def write_csv(frame: pd.DataFrame, path: Path | str, **options: Any) -> Path:
    """Write the table as a CSV file safe to open in a spreadsheet."""
    Path(path).write_text(csv_text(frame, **options), encoding="utf-8")
    return Path(path)


def text_cell(cell: Any, text: str) -> None:
    """Put text in an openpyxl cell as text: openpyxl itself would store '=...' as a formula. Formula-looking text
    gets Excel's quote prefix as well, so editing the cell later does not turn it into one."""
    cell.value = text
    cell.data_type = "s"
    if looks_like_formula(text):
        cell.quotePrefix = True
