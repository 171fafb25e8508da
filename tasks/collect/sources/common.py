"""Shared pieces of every source: the canonical observation schema and strict CSV reading."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tasks.shared.inboxes import inbox_files

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
    refusal: str | None = None  # refused before reading (a link, too large): ``data`` then says what was found


def discover_files(folder: Path, patterns: list[str], max_bytes: int | None = None) -> list[DiscoveredFile]:
    """Every file in a source folder matching its patterns, oldest first (so a later correction of a return
    is processed after, and supersedes, the file it corrects); hidden files are ignored. A symbolic link is never
    followed (it could point anywhere on the machine) and a file over ``max_bytes`` is not read: both are
    returned with a refusal, to be quarantined with the reason."""
    ordered = sorted(inbox_files(folder, patterns), key=lambda p: (p.lstat().st_mtime_ns, p.name))
    return [_discovered(path, max_bytes) for path in ordered]


def _discovered(path: Path, max_bytes: int | None) -> DiscoveredFile:
    if path.is_symlink():
        target = os.readlink(path)
        reason = f"a symbolic link (to {target}): links are refused, never followed; put the file itself in the inbox"
        return DiscoveredFile(path=path, name=path.name, data=f"symbolic link to {target}\n".encode(), refusal=reason)
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        reason = f"the file is {size:,} bytes, over the {max_bytes:,}-byte limit (DUTYCYCLE_MAX_FILE_BYTES)"
        return DiscoveredFile(path=path, name=path.name, data=f"{path.name}: {size} bytes, not read\n".encode(),
                              refusal=reason)
    return DiscoveredFile(path=path, name=path.name, data=path.read_bytes())


ZIP_MAGIC = b"PK\x03\x04"  # .xlsx workbooks are zip files
BINARY_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"GIF8", "a GIF image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\xd0\xcf\x11\xe0", "an old-style Excel (.xls) or Office file"),
]
PARSER_LINE = re.compile(r"in line (\d+)")  # pandas: 1-based line number
PARSER_ROW = re.compile(r"starting at row (\d+)")  # pandas: 0-based row number
FORMULA_START = re.compile(r"^[=+\-@\t\r]")
PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def is_excel_workbook(data: bytes) -> bool:
    """An .xlsx workbook: a zip holding the Office Open XML parts."""
    if not data.startswith(ZIP_MAGIC):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "[Content_Types].xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def binary_kind(data: bytes) -> str | None:
    """What a binary file sent in place of CSV text is, from its first bytes."""
    if is_excel_workbook(data):
        return "an Excel workbook"
    if data.startswith(ZIP_MAGIC):
        return "a zip archive"
    return next((kind for magic, kind in BINARY_MAGIC if data.startswith(magic)), None)


def decode_text(data: bytes, file: str) -> str:
    """UTF-8 text (a byte-order mark is allowed); anything else is refused with the offending position."""
    if not data.strip():
        raise InputFileError(file, "the file is empty")
    kind = binary_kind(data)
    if kind == "an Excel workbook":
        raise InputFileError(file, "this is an Excel workbook, not CSV text: send it named .xlsx, or save it as CSV UTF-8")
    if kind:
        raise InputFileError(file, f"this is {kind}, not a CSV file: send the data as CSV UTF-8 or Excel")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputFileError(
            file, f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as CSV UTF-8", row=line
        ) from exc


def _parser_error_row(message: str) -> int | None:
    if match := PARSER_LINE.search(message):
        return int(match.group(1))
    if match := PARSER_ROW.search(message):
        return int(match.group(1)) + 1
    return None


def require_columns(frame: pd.DataFrame, file: str, required: list[str] | None) -> None:
    """Refuse a file without a column its parser needs, naming the first missing one on the header row."""
    missing = [c for c in required or [] if c not in frame.columns]
    if missing:
        raise InputFileError(
            file,
            f"missing column(s) {', '.join(repr(m) for m in missing)}; found {', '.join(repr(c) for c in frame.columns)}",
            row=1,
            column=missing[0],
        )


def refuse_repeated_columns(header: list[str], file: str) -> None:
    """Refuse a header that names a column twice: which of the two a rule or a template reads would be a guess."""
    seen: set[str] = set()
    for name in (str(cell).strip() for cell in header):
        if name and name in seen:
            raise InputFileError(file, f"the column {name!r} appears twice in the header; keep one", row=1, column=name)
        seen.add(name)


def read_csv_strings(data: bytes, file: str, required_columns: list[str] | None = None) -> pd.DataFrame:
    """A CSV read with every cell as text (so checks see exactly what the partner sent) plus ``source_row``,
    the row a spreadsheet shows for each record (the header is row 1; blank lines count, as they do there)."""
    text = decode_text(data, file)
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=False
        )
    except pd.errors.ParserError as exc:
        message = str(exc).replace("Error tokenizing data. C error: ", "")
        raise InputFileError(file, f"not a readable CSV: {message}", row=_parser_error_row(message)) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputFileError(file, "the file has no header row") from exc
    refuse_repeated_columns(next(csv.reader(io.StringIO(text.split("\n", 1)[0]))), file)
    frame.columns = [str(c).strip() for c in frame.columns]
    require_columns(frame, file, required_columns)
    frame.insert(0, "source_row", range(FIRST_DATA_ROW, FIRST_DATA_ROW + len(frame)))
    blank = (frame.drop(columns="source_row") == "").all(axis=1)
    return frame.loc[~blank].reset_index(drop=True)


def _present_distinct(series: pd.Series) -> list[str]:
    """The column's distinct present values as ``astype(str)`` writes them (blanks stay missing there)."""
    distinct = pd.unique(series.to_numpy(dtype=object))
    return [
        value if type(value) is str else value.decode() if isinstance(value, bytes) else str(value)
        for value, blank in zip(distinct, pd.isna(distinct).tolist(), strict=True) if not blank
    ]


def _formula_like(text: str) -> bool:
    """A cell a spreadsheet would run as a formula: =, +, -, @, tab or CR first, not a plain number, not one sign."""
    return len(text) > 1 and FORMULA_START.match(text) is not None and PLAIN_NUMBER.fullmatch(text) is None


def refuse_formulas(frame: pd.DataFrame, file: str) -> None:
    """Refuse cells that a spreadsheet would run as a formula (=, +, -, @ at the start, other than plain numbers):
    a file carrying them can execute code on the machine of whoever opens it next."""
    for column in frame.columns:
        if column in ("source_row", "raw_file_id") or pd.api.types.is_numeric_dtype(frame[column]):
            continue
        # judged on the column's distinct values (a column repeats its values), in plain Python first (pandas' string
        # methods cost ~1 ms a column whatever its rows, the bulk of this guard on small files); the frame is
        # searched for the first row holding one only when a value is suspicious
        if not any(_formula_like(value) for value in _present_distinct(frame[column])):
            continue
        cells = frame[column].astype(str)
        distinct = pd.Series(cells.unique())
        suspicious = distinct.str.match(FORMULA_START) & ~distinct.str.fullmatch(PLAIN_NUMBER) & (distinct.str.len() > 1)
        if suspicious.any():
            first = cells.isin(distinct[suspicious]).idxmax()
            row = int(frame.at[first, "source_row"]) if "source_row" in frame.columns else None
            raise InputFileError(
                file,
                f"{cells[first]!r} looks like a spreadsheet formula; formulas are not accepted (they can run code "
                "when the file is opened): type the value itself",
                row=row,
                column=column,
            )


def refuse_workbook_formulas_and_extra_sheets(data: bytes, file: str) -> None:
    """Refuse a workbook with a formula anywhere (even one Excel saved with its value: the value is not what the
    partner typed, and the formula can run code when the file is opened) or with data on more than one sheet
    (which sheet is the return would be a guess)."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises several unrelated types for a damaged workbook
        raise InputFileError(file, f"not a readable Excel workbook: {exc}") from exc
    try:
        with_data = []
        for sheet in workbook.worksheets:
            header: tuple = ()
            has_data = False
            for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                if number == 1:
                    header = row
                if any(cell is not None for cell in row):
                    has_data = True
                for index, cell in enumerate(row):
                    if isinstance(cell, str) and cell.startswith("=") and len(cell) > 1:
                        column = str(header[index]) if index < len(header) and header[index] is not None else ""
                        raise InputFileError(
                            file,
                            f"sheet {sheet.title!r} holds the formula {cell!r}; formulas are not accepted, even "
                            "with a saved value: paste the values only",
                            row=number,
                            column=column or f"column {index + 1}",
                        )
            if has_data:
                with_data.append(sheet.title)
    finally:
        workbook.close()
    if len(with_data) > 1:
        raise InputFileError(
            file, f"data on {len(with_data)} sheets ({', '.join(with_data)}); send the return on one sheet only"
        )


def read_excel_strings(
    data: bytes, file: str, required_columns: list[str] | None = None, date_formats: dict[str, str] | None = None
) -> pd.DataFrame:
    """The first sheet of a workbook as text, like read_csv_strings; date cells are written with the format of
    their column (a Month column holding 1 April 2022 becomes '2022-04'), other dates as ISO dates."""
    import openpyxl  # imported here: only Excel returns need it

    refuse_workbook_formulas_and_extra_sheets(data, file)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a damaged workbook
        raise InputFileError(file, f"not a readable Excel workbook: {exc}") from exc
    sheet = workbook.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    workbook.close()
    if not rows or all(cell is None for cell in rows[0]):
        raise InputFileError(file, "the first sheet has no header row", row=1)
    refuse_repeated_columns(["" if cell is None else str(cell) for cell in rows[0]], file)
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
    require_columns(frame, file, required_columns)
    frame.insert(0, "source_row", range(FIRST_DATA_ROW, FIRST_DATA_ROW + len(frame)))
    return frame

