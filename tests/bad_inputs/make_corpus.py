"""Write the bad-input corpus (tests/bad_inputs/*) and its MANIFEST.yaml, byte for byte the same every run.

    uv run python tests/bad_inputs/make_corpus.py

Every file is a variant of an Essex Police knife-crime partner return (the layout of
config/partnerships/castle-point-rochford/inputs/partner-returns/essex-police/knife-crime-FY2022-23-Q1.csv)
unless its defect is about another format (data.police.uk archives, named police-archive-*.zip; Excel returns,
knife-crime-*.xlsx). File names match their source's pattern (knife-crime-*.csv or .xlsx, *.zip), so a test can
drop a file straight into the inbox.

The very large file is not written here: ``large_street_archive()`` builds it in memory at test time.
tests/unit/test_bad_inputs.py runs the real collection on every file and checks the manifest's outcome.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "MANIFEST.yaml"
KNIFE = "police-knife-crime"
ARCHIVE = "police-street-archive"
COUNT = "Knife or Sharp Instrument Offences"
HEADER = ["Month", "Local Authority Code", "Local Authority Name", "Victim Age Group", COUNT]
# The rows of the real-format FY2022/23 Q1 return (synthetic counts): spreadsheet rows 2..19.
BASE = [
    ["2022-04", "E07000069", "Castle Point", "Under 25", "1"],
    ["2022-04", "E07000069", "Castle Point", "25 and over", "1"],
    ["2022-04", "E07000069", "Castle Point", "Unknown", "1"],
    ["2022-04", "E07000075", "Rochford", "Under 25", "1"],
    ["2022-04", "E07000075", "Rochford", "25 and over", "6"],
    ["2022-04", "E07000075", "Rochford", "Unknown", "0"],
    ["2022-05", "E07000069", "Castle Point", "Under 25", "0"],
    ["2022-05", "E07000069", "Castle Point", "25 and over", "4"],
    ["2022-05", "E07000069", "Castle Point", "Unknown", "1"],
    ["2022-05", "E07000075", "Rochford", "Under 25", "0"],
    ["2022-05", "E07000075", "Rochford", "25 and over", "5"],
    ["2022-05", "E07000075", "Rochford", "Unknown", "0"],
    ["2022-06", "E07000069", "Castle Point", "Under 25", "4"],
    ["2022-06", "E07000069", "Castle Point", "25 and over", "0"],
    ["2022-06", "E07000069", "Castle Point", "Unknown", "2"],
    ["2022-06", "E07000075", "Rochford", "Under 25", "5"],
    ["2022-06", "E07000075", "Rochford", "25 and over", "3"],
    ["2022-06", "E07000075", "Rochford", "Unknown", "0"],
]
LAST_ROW = len(BASE) + 1  # spreadsheet row of the last record (the header is row 1)
FIXED_TIME = (2023, 7, 14, 9, 30, 0)  # every zip member's timestamp, so archives are byte-stable

# What each `needs` key asks to be wired (copied into MANIFEST.yaml). Empty: every behaviour the corpus checks is
# wired. A new case for behaviour not yet built gets a key here and needs="<key>" (a strict xfail until built).
NEEDS: dict[str, str] = {}


@dataclass
class Case:
    """One corpus file and what collecting it must do."""

    file: str
    defect: str
    data: bytes = field(repr=False)
    outcome: str = "quarantine"  # load | quarantine
    row: int | None = None
    column: str | None = None
    reason: str | None = None
    needs: str | None = None
    secret: str | None = None  # a personal value that must never be echoed in quarantine or reasons
    source: str = KNIFE
    byte_stable: bool = True  # False when a third-party writer (openpyxl) may change its bytes between versions

    def entry(self) -> dict:
        entry: dict = {"file": self.file}
        if self.source != KNIFE:
            entry["source"] = self.source
        entry["defect"] = self.defect
        entry["outcome"] = self.outcome
        if self.outcome == "quarantine":
            entry |= {"row": self.row, "column": self.column or "", "reason": self.reason}
        if self.secret:
            entry["secret"] = self.secret
        if self.needs:
            entry["needs"] = self.needs
        return entry


def csv_bytes(
    rows: list[list[str]], header: list[str] | None = None, *, newline: str = "\r\n", encoding: str = "utf-8"
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(header or HEADER)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def base() -> list[list[str]]:
    return [list(row) for row in BASE]


def with_cell(row: int, column: str, value: str, header: list[str] | None = None) -> list[list[str]]:
    """The base rows with one cell replaced (row is the spreadsheet row, 2 = first record)."""
    rows = base()
    rows[row - 2][(header or HEADER).index(column)] = value
    return rows


def with_extra_column(name: str, values: dict[int, str]) -> bytes:
    """The base return plus one column, blank except at the given spreadsheet rows."""
    rows = [row + [values.get(i + 2, "")] for i, row in enumerate(base())]
    return csv_bytes(rows, [*HEADER, name])


def xlsx_bytes(extra: tuple[str, dict[int, str]] | None = None, month_as_date: bool = False) -> bytes:
    """The base return saved as an Excel workbook (fixed document dates and zip timestamps), optionally with an
    extra column (name, {spreadsheet row: value}) and the Month written as real date cells."""
    import datetime as dt

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Knife crime"
    sheet.append(HEADER + ([extra[0]] if extra else []))
    for i, row in enumerate(BASE):
        month = dt.datetime.strptime(row[0], "%Y-%m") if month_as_date else row[0]
        sheet.append([month, *row[1:4], int(row[4])] + ([extra[1].get(i + 2) or None] if extra else []))
    fixed = dt.datetime(2023, 7, 14, 9, 30)
    workbook.properties.created = workbook.properties.modified = fixed
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _restamp_zip(buffer.getvalue())


def xlsx_variant(*, formula_at: tuple[int, str] | None = None, second_sheet: bool = False,
                 repeated_column: str | None = None) -> bytes:
    """The base return as a workbook with one defect: a formula saved with its cached value at (row, formula)
    in the count column, a second sheet holding data, or a header naming a column twice."""
    import datetime as dt

    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Knife crime"
    sheet.append(HEADER + ([repeated_column] if repeated_column else []))
    for row in BASE:
        sheet.append([*row[:4], int(row[4])] + ([row[HEADER.index(repeated_column)]] if repeated_column else []))
    if second_sheet:
        notes = workbook.create_sheet("Notes")
        notes.append(["Month", "Comment"])
        notes.append(["2022-05", "two offences reclassified"])
    fixed = dt.datetime(2023, 7, 14, 9, 30)
    workbook.properties.created = workbook.properties.modified = fixed
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    if formula_at:
        # openpyxl cannot save a formula with its cached value as Excel does: write the cell's XML by hand
        row, formula = formula_at
        column = chr(ord("A") + HEADER.index(COUNT))
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                content = source.read(info.filename)
                if info.filename == "xl/worksheets/sheet1.xml":
                    value = BASE[row - 2][HEADER.index(COUNT)]
                    old = f'<c r="{column}{row}" t="n"><v>{value}</v></c>'.encode()
                    assert old in content, "openpyxl changed how it writes a number cell"
                    content = content.replace(old, f'<c r="{column}{row}"><f>{formula}</f><v>{value}</v></c>'.encode())
                target.writestr(info, content)
        data = out.getvalue()
    return _restamp_zip(data)


def _restamp_zip(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps 'modified' with the time of saving
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2023-07-14T09:30:00Z", data)
            target.writestr(zipfile.ZipInfo(info.filename, FIXED_TIME), data)
    return out.getvalue()


def png_bytes() -> bytes:
    """A real 8x8 grey PNG image."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    pixels = b"".join(b"\x00" + bytes([128] * 8) for _ in range(8))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(pixels, 9))
        + chunk(b"IEND", b"")
    )


# --- data.police.uk street files ---------------------------------------------------------------------

STREET_HEADER = [
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location", "LSOA code",
    "LSOA name", "Crime type", "Last outcome category", "Context",
]
# In-area LSOAs of the demo partnership (config/partnerships/castle-point-rochford/partnership.yaml).
STREET_LSOAS = [("E01021476", "Castle Point 003A"), ("E01021513", "Castle Point 001A"), ("E01021477", "Castle Point 003B")]
STREET_PLACES = ["On or near Potash Road", "On or near A127", "On or near Petrol Station", "On or near Sadlers Close",
                 "On or near Supermarket", "On or near B1006", "On or near Parking Area", "On or near High Street"]
CRIME_TYPES = ["Violence and sexual offences", "Anti-social behaviour", "Criminal damage and arson", "Shoplifting",
               "Vehicle crime", "Public order", "Other theft", "Burglary"]
STREET_MEMBER = "2022-12/2022-12-essex-street.csv"


def street_rows(count: int, month: str = "2022-12") -> list[list[str]]:
    rows = []
    for i in range(count):
        lsoa, lsoa_name = STREET_LSOAS[i % len(STREET_LSOAS)]
        crime_type = CRIME_TYPES[i % len(CRIME_TYPES)]
        crime_id = "" if crime_type == "Anti-social behaviour" else hashlib.sha256(f"crime-{i}".encode()).hexdigest()
        rows.append([
            crime_id, month, "Essex Police", "Essex Police", f"{0.55 + (i % 97) / 1000:.6f}",
            f"{51.55 + (i % 89) / 1000:.6f}", STREET_PLACES[i % len(STREET_PLACES)], lsoa, lsoa_name, crime_type,
            "" if crime_type == "Anti-social behaviour" else "Investigation complete; no suspect identified", "",
        ])
    return rows


def street_archive(rows: list[list[str]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo(STREET_MEMBER, FIXED_TIME), csv_bytes(rows, STREET_HEADER))
    return out.getvalue()


LARGE_ROWS = 200_000
LARGE_BAD_ROW = 199_990  # spreadsheet row of the one bad record, near the end


def large_street_archive(rows: int = LARGE_ROWS, bad_row: int = LARGE_BAD_ROW) -> bytes:
    """A 200,000-row street archive, every crime in the area, one unknown crime type near the end.
    Built at test time (about 8 MB zipped), never committed."""
    records = street_rows(rows)
    records[bad_row - 2][9] = "Knife crime"
    return street_archive(records)


# --- the corpus --------------------------------------------------------------------------------------


def cases() -> list[Case]:
    rows = base()
    numeric_quarantine = "Knife or Sharp Instrument Offences is a whole number"
    corpus = [
        # Files that must load.
        Case("knife-crime-ok-baseline.csv", "control: the real-format return, unchanged", csv_bytes(rows), "load"),
        Case("knife-crime-utf8-bom.csv", "saved by Excel as 'CSV UTF-8': starts with a UTF-8 byte-order mark",
             b"\xef\xbb\xbf" + csv_bytes(rows), "load"),
        Case("knife-crime-lf-no-final-newline.csv", "Unix line endings and no newline after the last record",
             csv_bytes(rows, newline="\n").rstrip(b"\n"), "load"),
        Case("knife-crime-extra-column-notes.csv",
             "an extra, harmless column (allowed: the suite matches columns with exact_match false); its "
             "'On or near ...' text is a police snap point, not an address",
             with_extra_column("Notes", {3: "Provisional", 8: "On or near Potash Road", 12: "Revised 2023-07-01"}),
             "load"),
        Case("knife-crime-trailing-empty-columns.csv", "Excel export with trailing empty columns (',,,')",
             "\r\n".join([",".join(HEADER) + ",,,"] + [",".join(r) + ",,," for r in rows]).encode() + b"\r\n", "load"),
        Case("knife-crime-blank-lines-middle.csv", "blank lines between records (skipped)",
             _with_blank_lines(rows, after=[6, 12]), "load"),
        # Encodings and file types.
        Case("knife-crime-cp1252-pound.csv", "saved as Windows-1252 with a '£' in an extra column (row 5)",
             csv_bytes([r + [{5: "Blade worth £40"}.get(i + 2, "")] for i, r in enumerate(rows)],
                       [*HEADER, "Notes"], encoding="cp1252"),
             row=5, column="", reason="not UTF-8 text (byte 0xa3"),
        Case("knife-crime-cp1252-e-acute.csv", "saved as Windows-1252 with an 'é' in a name (row 7)",
             csv_bytes(with_cell(7, "Local Authority Name", "Rochford Café Quarter"), encoding="cp1252"),
             row=7, column="", reason="not UTF-8 text (byte 0xe9"),
        Case("knife-crime-utf16.csv", "saved as 'Unicode Text' (UTF-16 with its byte-order mark)",
             csv_bytes(rows, encoding="utf-16"), row=1, column="", reason="not UTF-8 text (byte 0xff at offset 0)"),
        Case("knife-crime-xlsx-named-csv.csv", "an Excel workbook (.xlsx) saved under a .csv name", xlsx_bytes(),
             row=0, column="", reason="Excel workbook", byte_stable=False),
        Case("knife-crime-excel-ok.xlsx", "control: the return as an Excel workbook, Month as real date cells",
             xlsx_bytes(month_as_date=True), "load", byte_stable=False),
        Case("knife-crime-excel-csv-text-named-xlsx.xlsx", "CSV text saved under an .xlsx name", csv_bytes(rows),
             row=0, column="", reason="not a readable Excel workbook"),
        Case("knife-crime-excel-pd-surname.xlsx", "personal data in an Excel return: a 'Surname' column (row 6)",
             xlsx_bytes(extra=("Surname", {6: "Okonkwo"})), row=6, column="Surname", reason="personal data", secret="Okonkwo", byte_stable=False),
        Case("knife-crime-png-named-csv.csv", "a PNG image renamed .csv", png_bytes(),
             row=0, column="", reason="PNG image"),
        Case("knife-crime-empty-0-bytes.csv", "an empty file (0 bytes)", b"", row=0, column="",
             reason="the file is empty"),
        Case("knife-crime-header-only.csv", "the header and no data rows", csv_bytes([]), row=0, column="",
             reason="no data rows"),
        # Columns.
        Case("knife-crime-missing-column.csv", "the Victim Age Group column is missing",
             csv_bytes([[r[0], r[1], r[2], r[4]] for r in rows], [HEADER[0], HEADER[1], HEADER[2], HEADER[4]]),
             row=1, column="Victim Age Group", reason="missing column(s) 'Victim Age Group'"),
        Case("knife-crime-renamed-count-column.csv", "the count column renamed 'Knife Offences'",
             csv_bytes(rows, [*HEADER[:4], "Knife Offences"]), row=1, column=COUNT,
             reason=f"missing column(s) '{COUNT}'"),
        Case("knife-crime-renamed-la-name-column.csv",
             "'Local Authority Name' renamed 'LA Name' (not read by the template, but required by the suite)",
             csv_bytes(rows, [HEADER[0], HEADER[1], "LA Name", HEADER[3], HEADER[4]]), row=1,
             column="Local Authority Name", reason="Missing: 'Local Authority Name'"),
        # Values.
        Case("knife-crime-text-in-count.csv", "'n/a' in the count column (row 6)",
             csv_bytes(with_cell(6, COUNT, "n/a")), row=6, column=COUNT, reason=numeric_quarantine),
        Case("knife-crime-negative-count.csv", "a negative count (row 8)", csv_bytes(with_cell(8, COUNT, "-3")),
             row=8, column=COUNT, reason=numeric_quarantine),
        Case("knife-crime-decimal-count.csv", "a decimal count (row 10)", csv_bytes(with_cell(10, COUNT, "2.5")),
             row=10, column=COUNT, reason=numeric_quarantine),
        Case("knife-crime-suppressed-count.csv",
             "a small count suppressed as '*' by the partner (row 3): we need the true count; disclosure control "
             "is applied to our outputs", csv_bytes(with_cell(3, COUNT, "*")), row=3, column=COUNT,
             reason=numeric_quarantine),
        Case("knife-crime-duplicate-rows.csv", "row 6 repeats row 5 (same month, authority and age group)",
             csv_bytes(rows[:4] + [rows[3]] + rows[4:]), row=6, column="Month",
             reason="Each month, local authority and victim age group appears only once"),
        Case("knife-crime-future-month.csv", "a month in the future, 2099-01 (row 19)",
             csv_bytes(with_cell(19, "Month", "2099-01")), row=19, column="Month",
             reason="Month is not later than the latest month"),
        Case("knife-crime-before-first-month.csv", "a month before the source's first possible month (first_month "
             "2018-04 in sources.yaml), 2017-03 (row 5)", csv_bytes(with_cell(5, "Month", "2017-03")), row=5,
             column="Month", reason="before the source's first possible month, 2018-04"),
        Case("knife-crime-implausible-count.csv", "a count of 250000 offences for one authority and month (row 8), "
             "beyond the source's plausible ceiling", csv_bytes(with_cell(8, COUNT, "250000")), row=8, column=COUNT,
             reason="beyond the plausible ceiling of 100,000"),
        Case("knife-crime-repeated-column.csv", "the header names 'Victim Age Group' twice",
             csv_bytes([row + [row[3]] for row in base()], [*HEADER, "Victim Age Group"]), row=1,
             column="Victim Age Group", reason="appears twice in the header"),
        Case("knife-crime-excel-formula-cached.xlsx", "a formula saved with its value, =2+3 shown as 5 (row 12)",
             xlsx_variant(formula_at=(12, "2+3")), row=12, column=COUNT, reason="formulas are not accepted, even with a "
             "saved value", byte_stable=False),
        Case("knife-crime-excel-two-sheets.xlsx", "a second sheet with data ('Notes')", xlsx_variant(second_sheet=True),
             row=0, column="", reason="data on 2 sheets", byte_stable=False),
        Case("knife-crime-excel-repeated-column.xlsx", "the header names 'Victim Age Group' twice",
             xlsx_variant(repeated_column="Victim Age Group"), row=1, column="Victim Age Group",
             reason="appears twice in the header", byte_stable=False),
        Case("knife-crime-month-wrong-format.csv", "month written 01/2023 instead of YYYY-MM (row 2)",
             csv_bytes(with_cell(2, "Month", "01/2023")), row=2, column="Month", reason="Month is written as YYYY-MM"),
        Case("knife-crime-la-code-outside-area.csv", "a local authority outside the partnership, Chelmsford (row 12)",
             csv_bytes(with_cell(12, "Local Authority Code", "E07000070")), row=12, column="Local Authority Code",
             reason="Local Authority Code is one of the partnership's local authorities"),
        Case("knife-crime-age-group-not-in-list.csv", "a victim age group outside the agreed list, '18-24' (row 4)",
             csv_bytes(with_cell(4, "Victim Age Group", "18-24")), row=4, column="Victim Age Group",
             reason="Victim Age Group is"),
        # Broken CSV structure.
        Case("knife-crime-truncated-mid-field.csv", "the upload was cut off in the middle of the last record",
             csv_bytes(rows).rstrip(b"\r\n")[: -len("ford,Unknown,0")], row=LAST_ROW, column="Victim Age Group",
             reason="Victim Age Group is"),
        Case("knife-crime-truncated-unbalanced-quote.csv",
             "cut off inside a quoted field: the last record opens a quote that never closes",
             csv_bytes(rows[:-1]) + b'2022-06,E07000075,"Rochford,Unkn', row=LAST_ROW, column="",
             reason="EOF inside string"),
        Case("knife-crime-too-many-fields.csv", "row 7 has six fields for five columns",
             _with_raw_line(rows, 7, ",".join(rows[5]) + ",extra"), row=7, column="",
             reason="Expected 5 fields"),
        Case("knife-crime-too-few-fields.csv", "row 9 stops after the age group (no count)",
             _with_raw_line(rows, 9, ",".join(rows[7][:4])), row=9, column=COUNT, reason=numeric_quarantine),
        Case("knife-crime-blank-line-then-bad-row.csv",
             "a blank line (line 7) and then 'n/a' as a count on line 12: the report must name line 12, the row "
             "the owner sees in a spreadsheet",
             _with_blank_lines(with_cell(11, COUNT, "n/a"), after=[6]), row=12, column=COUNT,
             reason=numeric_quarantine),
    ]
    # Formula injection: in a text column the suite does not check (loads today), and in the count column.
    formulas = [
        ("hyperlink", '=HYPERLINK("http://x","click")'),
        ("cmd", "+cmd|' /C calc'!A0"),
        ("at-sum", "@SUM(1+1)"),
        ("minus", "-2+3"),
    ]
    for offset, (name, formula) in enumerate(formulas):
        row = 3 + offset
        corpus.append(
            Case(f"knife-crime-formula-{name}-text.csv", f"spreadsheet formula {formula} as a local authority name "
                 f"(row {row})", csv_bytes(with_cell(row, "Local Authority Name", formula)), row=row,
                 column="Local Authority Name", reason="formula")
        )
        corpus.append(
            Case(f"knife-crime-formula-{name}-count.csv", f"spreadsheet formula {formula} as a count (row {row})",
                 csv_bytes(with_cell(row, COUNT, formula)), row=row, column=COUNT, reason=COUNT)
        )
    # Personal data: one file per kind (by header, or by value under an innocent header).
    personal = [
        ("names", "Victim Name", 5, "John Smith", "a 'Victim Name' column"),
        ("date-of-birth", "Date of Birth", 4, "12/03/2005", "a 'Date of Birth' column"),
        ("nhs-number", "NHS Number", 6, "450 557 7104", "an 'NHS Number' column (valid check digit)"),
        ("postcode", "Postcode", 7, "SS7 1AB", "a 'Postcode' column with a full unit postcode"),
        ("street-address", "Location", 8, "14 Potash Road",
         "a 'Location' column of police snap points ('On or near ...') with one house address"),
        ("email", "Contact", 4, "jane.smith@example.org", "an e-mail address in a 'Contact' column"),
        ("phone", "Notes", 9, "Call back on 07700 900123", "a mobile number in a 'Notes' column"),
        ("ni-number", "NI Number", 10, "JG 10 37 59 A", "a National Insurance number column"),
        ("dob-in-notes", "Notes", 11, "15/08/2006", "a full date with the day in a 'Notes' column"),
    ]
    for name, column, row, value, what in personal:
        values = {row: value}
        if column == "Location":
            values = {i + 2: STREET_PLACES[i % len(STREET_PLACES)] for i in range(len(BASE))} | {row: value}
        corpus.append(
            Case(f"knife-crime-pd-{name}.csv", f"personal data: {what} (row {row})", with_extra_column(column, values),
                 row=row, column=column, reason="personal data",
                 secret=value.replace("Call back on ", ""))
        )
    corpus.append(
        Case("knife-crime-pd-email-in-required-column.csv",
             "personal data inside a template column: an e-mail address in Local Authority Name (row 3)",
             csv_bytes(with_cell(3, "Local Authority Name", "Castle Point (j.bloggs@essex.police.uk)")), row=3,
             column="Local Authority Name", reason="personal data",
             secret="j.bloggs@essex.police.uk")
    )
    # data.police.uk archives.
    good_street = street_rows(40)
    addressed = street_rows(40)
    addressed[20 - 2][6] = "12 Potash Road"
    corpus += [
        Case("police-archive-ok-snap-points.zip", "control: a street archive whose locations are snap points",
             street_archive(good_street), "load", source=ARCHIVE),
        Case("police-archive-corrupt.zip", "a street archive cut off after 200 bytes", street_archive(good_street)[:200],
             row=0, column="", reason="not a readable zip archive", source=ARCHIVE),
        Case("police-archive-street-address.zip",
             "a street archive whose Location on row 20 is a house address, not an 'On or near' snap point",
             street_archive(addressed), row=20, column="Location", reason="personal data", secret="12 Potash Road", source=ARCHIVE),
    ]
    return corpus


def _with_blank_lines(rows: list[list[str]], after: list[int]) -> bytes:
    """CRLF CSV with an empty line after the given spreadsheet rows (counted before any blank line)."""
    lines = [",".join(HEADER)]
    for i, row in enumerate(rows):
        lines.append(",".join(row))
        if i + 2 in after:
            lines.append("")
    return ("\r\n".join(lines) + "\r\n").encode()


def _with_raw_line(rows: list[list[str]], row: int, line: str) -> bytes:
    """CRLF CSV with the record at spreadsheet ``row`` replaced by a raw line of text."""
    lines = [",".join(HEADER)] + [",".join(r) for r in rows]
    lines[row - 1] = line
    return ("\r\n".join(lines) + "\r\n").encode()


GENERATED = [
    {
        "file": "police-archive-large-200k-rows.zip",
        "source": ARCHIVE,
        "defect": f"{LARGE_ROWS:,} in-area street records, one unknown crime type 'Knife crime' on row {LARGE_BAD_ROW:,}",
        "generated": "large_street_archive",
        "outcome": "quarantine",
        "row": LARGE_BAD_ROW,
        "column": "Crime type",
        "reason": "Crime type is one of the 14 data.police.uk crime categories",
    }
]


def manifest_text(corpus: list[Case]) -> str:
    document = {"needs": NEEDS, "files": [case.entry() for case in corpus] + GENERATED}
    header = (
        "# The bad-input corpus: what collecting each file must do. Generated by make_corpus.py: edit that, not this.\n"
        "# outcome load: the file loads. outcome quarantine: the file is kept unchanged in the raw store, nothing of it\n"
        "# is in observations, the quarantine table holds an entry at (row, column) (row 0 and column '' = the whole\n"
        "# file; row 1 = the header) and the file's reason contains `reason` (case-insensitive). `secret`: a personal\n"
        "# value that must appear in no quarantine entry and no reason. `needs`: the behaviour is not wired yet; the\n"
        "# test is a strict xfail until it is (then delete the key). `generated`: built in memory by the test.\n"
    )
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120)


def write(folder: Path = HERE) -> list[Case]:
    corpus = cases()
    for case in corpus:
        (folder / case.file).write_bytes(case.data)
    (folder / MANIFEST.name).write_text(manifest_text(corpus), encoding="utf-8")
    return corpus


if __name__ == "__main__":
    written = write()
    print(f"wrote {len(written)} files and {MANIFEST.name} to {HERE}")
