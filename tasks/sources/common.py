"""Shared pieces of every source: the canonical observation schema and strict CSV reading."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

# The canonical long format every source is normalised into (see ../shared/architecture.md).
OBSERVATION_KEY = [
    "partnership",
    "dataset",
    "measure",
    "area_type",
    "area_code",
    "period_start",
    "period_type",
    "age_band",
    "sex",
]
OBSERVATION_COLUMNS = [*OBSERVATION_KEY, "value", "raw_file_id"]

# Row numbers in reports count CSV records the way a spreadsheet shows them: the header is row 1.
FIRST_DATA_ROW = 2


class InputFileError(ValueError):
    """An input file cannot be read; the message names the file, and the row and column where known."""

    def __init__(self, file: str, reason: str, row: int | None = None, column: str | None = None):
        self.file, self.reason, self.row, self.column = file, reason, row, column
        where = "".join([f", row {row}" if row is not None else "", f", column '{column}'" if column else ""])
        super().__init__(f"{file}{where}: {reason}")


@dataclass(frozen=True)
class DiscoveredFile:
    """An input file found in a source's folder, before it is stored."""

    path: Path
    name: str
    data: bytes = field(repr=False)


def discover_files(folder: Path, patterns: list[str]) -> list[DiscoveredFile]:
    """Every file in a source folder matching its patterns, oldest first (so a later correction of a return
    is processed after, and supersedes, the file it corrects); hidden files are ignored."""
    if not folder.is_dir():
        return []
    paths = {path for pattern in patterns for path in folder.glob(pattern) if path.is_file()}
    ordered = sorted((p for p in paths if not p.name.startswith(".")), key=lambda p: (p.stat().st_mtime_ns, p.name))
    return [DiscoveredFile(path=path, name=path.name, data=path.read_bytes()) for path in ordered]


ZIP_MAGIC = b"PK\x03\x04"  # .xlsx workbooks are zip files


def is_excel_workbook(data: bytes) -> bool:
    return data.startswith(ZIP_MAGIC)


def decode_text(data: bytes, file: str) -> str:
    """UTF-8 text (a byte-order mark is allowed); anything else is refused with the offending position."""
    if not data.strip():
        raise InputFileError(file, "the file is empty")
    if is_excel_workbook(data):
        raise InputFileError(file, "this is an Excel workbook, not CSV text: send it named .xlsx, or save it as CSV UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputFileError(
            file, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as CSV UTF-8", row=line
        ) from exc


def read_csv_strings(data: bytes, file: str, required_columns: list[str] | None = None) -> pd.DataFrame:
    """A CSV read with every cell as text (so checks see exactly what the partner sent) plus ``source_row``."""
    text = decode_text(data, file)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False)
    except pd.errors.ParserError as exc:
        raise InputFileError(file, f"not a readable CSV: {exc}") from exc
    except pd.errors.EmptyDataError as exc:
        raise InputFileError(file, "the file has no header row") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    if required_columns:
        missing = [c for c in required_columns if c not in frame.columns]
        if missing:
            raise InputFileError(
                file,
                f"missing column(s) {', '.join(repr(m) for m in missing)}; found {', '.join(repr(c) for c in frame.columns)}",
                row=1,
                column=missing[0],
            )
    frame.insert(0, "source_row", range(FIRST_DATA_ROW, FIRST_DATA_ROW + len(frame)))
    return frame


def read_excel_strings(
    data: bytes, file: str, required_columns: list[str] | None = None, date_formats: dict[str, str] | None = None
) -> pd.DataFrame:
    """The first sheet of a workbook as text, like read_csv_strings; date cells are written with the format of
    their column (a Month column holding 1 April 2022 becomes '2022-04'), other dates as ISO dates."""
    import openpyxl  # imported here: only Excel returns need it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a damaged workbook
        raise InputFileError(file, f"not a readable Excel workbook: {exc}") from exc
    sheet = workbook.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    workbook.close()
    if not rows or all(cell is None for cell in rows[0]):
        raise InputFileError(file, "the first sheet has no header row", row=1)
    header = ["" if cell is None else str(cell).strip() for cell in rows[0]]
    formats = date_formats or {}
    records = []
    for values in rows[1:]:
        if all(cell is None for cell in values):
            continue  # Excel keeps formatted but empty rows at the end of a sheet
        record = {}
        for column, cell in zip(header, values, strict=False):
            if isinstance(cell, dt.datetime | dt.date):
                record[column] = cell.strftime(formats.get(column, "%Y-%m-%d"))
            elif isinstance(cell, float) and cell.is_integer():
                record[column] = str(int(cell))
            else:
                record[column] = "" if cell is None else str(cell)
        records.append(record)
    frame = pd.DataFrame(records, columns=header, dtype=str).fillna("")
    if required_columns:
        missing = [c for c in required_columns if c not in frame.columns]
        if missing:
            raise InputFileError(
                file,
                f"missing column(s) {', '.join(repr(m) for m in missing)}; found {', '.join(repr(c) for c in header)}",
                row=1,
                column=missing[0],
            )
    frame.insert(0, "source_row", range(FIRST_DATA_ROW, FIRST_DATA_ROW + len(frame)))
    return frame


def empty_observations() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype="object") for column in OBSERVATION_COLUMNS})
