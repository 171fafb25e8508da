"""The published measures as an Excel workbook: the table with real numbers in numeric cells, and a notes sheet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Font

from tasks.shared.config import MetricsFile
from tasks.shared.disclosure import NUMERIC_COLUMNS, SECONDARY_NOTE, SUM_OF_ROUNDED
from tasks.shared.exports import text_cell

FLAG_MEANINGS = {
    "suppressed": "count not shown (blank): a small number, or hidden so that a small number cannot be worked out "
    "from the total; its rate, interval and change are not shown either",
    "rounded": "count rounded to the policy's base; the rate, interval and change are computed from the rounded count",
    SUM_OF_ROUNDED: "the partnership's count is the sum of its authorities' rounded counts, so the table adds up",
    "exact": "count as recorded (the source publishes its counts openly)",
    "as published": "figure carried exactly as its producer published it (e.g. OHID Fingertips), never re-rounded",
}


def notes_rows(metrics: MetricsFile, title: str) -> list[tuple[str, str]]:
    """The notes sheet: what the table is, what each flag means, and each disclosure policy with its basis."""
    rows = [(title, ""), ("", ""), ("count_flag", "meaning")]
    rows += list(FLAG_MEANINGS.items())
    rows += [("value_unit", "what the value column is in: per 100,000 (a rate), % (a percentage of the denominator), "
              "ratio (reference = 100) (an indirectly standardised ratio; its denominator is the expected count) or "
              "count")]
    rows += [("note", SECONDARY_NOTE + ": every hidden cell carries this note, so the small one cannot be told "
              "apart"), ("blank cell", "not shown (see count_flag and note) or not computed"), ("", "")]
    rows.append(("disclosure policy", "rule (source)"))
    for name, policy in {"default": metrics.disclosure, **metrics.disclosure_policies}.items():
        suppressed = (f"counts {policy.suppress_from}-{policy.suppress_to} suppressed"
                      if policy.suppress_to >= policy.suppress_from else "nothing suppressed")
        rounding = "exact" if policy.round_to == 1 else f"others rounded to the nearest {policy.round_to}"
        rule = "as published by its producer" if policy.as_published else (
            f"{suppressed}, {rounding}; no rate under {policy.min_count_for_rate}")
        rows.append((name, f"{policy.name}: {rule}. {policy.basis}".strip()))
    return rows


def _append(sheet, values: list) -> None:
    """Append a row; text goes in as text (formula-looking text neutralised, tasks/shared/exports.py)."""
    row = sheet.max_row + 1 if sheet.max_row > 1 or sheet["A1"].value is not None else 1
    for column, value in enumerate(values, start=1):
        cell = sheet.cell(row=row, column=column)
        if isinstance(value, str):
            text_cell(cell, value)
        else:
            cell.value = value


def write_workbook(table: pd.DataFrame, path: Path, notes: list[tuple[str, str]]) -> Path:
    """Write the table (numbers as numbers, blanks as empty cells) and the notes sheet."""
    book = Workbook()
    sheet = book.active
    sheet.title = "measures"
    _append(sheet, list(table.columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    numeric = [c in NUMERIC_COLUMNS for c in table.columns]
    for row in table.itertuples(index=False):
        _append(sheet, [
            (float(v) if "." in str(v) else int(v)) if is_number and str(v) != "" else (v if v != "" else None)
            for v, is_number in zip(row, numeric, strict=True)
        ])
    sheet.freeze_panes = "A2"
    notes_sheet = book.create_sheet("notes")
    for left, right in notes:
        _append(notes_sheet, [left, right])
    notes_sheet["A1"].font = Font(bold=True)
    notes_sheet.column_dimensions["A"].width = 24
    notes_sheet.column_dimensions["B"].width = 120
    book.save(path)
    return path
