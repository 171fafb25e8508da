"""The submission package a reviewer can open: cover note, report, measures (CSV and Excel), data-quality statement,
definitions and a manifest, as one zip whose identity checksum names its content, not the moment it was built."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import Any

import pandas as pd

from tasks.shared.exports import csv_text

# A fixed timestamp inside the zip makes the same content produce the same member bytes.
ZIP_TIMESTAMP = (2000, 1, 1, 0, 0, 0)
MANIFEST = "manifest.json"
APPROVAL = "approval.json"
# The summary of the year with its trend and funnel charts (charts/), beside the board's report
REPORT = "summary.html"
# The board's annual review report, byte-identical for the same figures (tasks/compute/report_step.py), so a
# rebuild of the same figures keeps the package's identity; the PDF is absent where WeasyPrint cannot load
BOARD_REPORT_HTML = "report.html"
BOARD_REPORT_PDF = "report.pdf"
MEASURES_CSV = "measures.csv"
MEASURES_XLSX = "measures.xlsx"
# Left out of the identity: the build time changes on every build, the approval is added after approval.
NOT_IN_IDENTITY = ("build_time", "identity")
IDENTITY_METHOD = (
    "sha256 of manifest.json written as canonical JSON (keys sorted, no spaces) without 'build_time' and "
    "'identity'; the manifest's 'files' holds the sha256 of every other member, so the identity covers all of "
    "them. approval.json, added after approval, is outside it."
)
# A text cell starting with one of these would be read by a spreadsheet as a formula (CSV/formula injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Package:
    """A built package: the zip, its identity checksum (``sha256``: same content, same identity, whatever the build
    time), the zip's own checksum and every member's checksum."""

    data: bytes
    sha256: str
    files: dict[str, str]  # member name -> sha256
    zip_sha256: str
    build_time: str


def measures_csv(published: pd.DataFrame) -> bytes:
    """The published measures as CSV, formula-looking text neutralised (tasks/shared/exports.py)."""
    return csv_text(published).encode("utf-8")


def _number_or_text(text: str) -> int | float | str:
    """A cell as a number only when the number prints back exactly as the CSV's text ("10", "12.5", "-3.0");
    anything else stays the CSV's text, so the two files always show the same figures."""
    for kind in (int, float):
        try:
            number = kind(text)
        except ValueError:
            continue
        if str(number) == text:
            return number
    return text


def _text_cell(cell: Any, text: str) -> None:
    """Write text as an explicit string cell: openpyxl would turn '=...' into a formula; a quote prefix also keeps
    a spreadsheet from re-reading it as one when the cell is edited."""
    cell.value = text
    cell.data_type = "s"
    if text.startswith(FORMULA_START):
        cell.quotePrefix = True


def _write_rows(sheet: Any, rows: list[list[str]], numbers: bool) -> None:
    for r, row in enumerate(rows, start=1):
        for c, text in enumerate(row, start=1):
            cell = sheet.cell(row=r, column=c)
            value = _number_or_text(text) if numbers and r > 1 and text else text
            if isinstance(value, str):
                _text_cell(cell, value)
            else:
                cell.value = value
                # show the CSV's decimals ("11.0", not "11"): the two files must read the same
                decimals = len(text.partition(".")[2])
                cell.number_format = "0." + "0" * decimals if decimals else "0"


def _reproducible_xlsx(data: bytes) -> bytes:
    """The workbook re-zipped with fixed timestamps and fixed document dates: the same figures give the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                                 rb"\g<1>2000-01-01T00:00:00Z\g<3>", content)
            info = zipfile.ZipInfo(item.filename, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, content)
    return out.getvalue()


def measures_xlsx(published: pd.DataFrame, notes: list[list[str]]) -> bytes:
    """The published measures as a workbook: sheet 'measures' holds the CSV's cells (numbers typed where they print
    back exactly, every other cell as text, formula-looking text neutralised); sheet 'notes' explains them."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "measures"
    table = published.astype(str)
    _write_rows(sheet, [list(table.columns), *table.values.tolist()], numbers=True)
    sheet.freeze_panes = "A2"
    _write_rows(workbook.create_sheet("notes"), notes, numbers=False)
    fixed = dt.datetime(2000, 1, 1)
    workbook.properties.created = fixed
    workbook.properties.creator = "dutycycle"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _reproducible_xlsx(buffer.getvalue())


def _canonical(manifest: dict) -> bytes:
    kept = {k: v for k, v in manifest.items() if k not in NOT_IN_IDENTITY}
    return json.dumps(kept, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, members[name])
    return buffer.getvalue()


def utc_timestamp(moment: dt.datetime | None = None) -> str:
    return (moment or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def build_package(
    published: pd.DataFrame,
    summary_html: str,
    manifest: dict,
    extra_files: dict[str, bytes] | None = None,
    *,
    documents: dict[str, bytes] | None = None,
    xlsx_notes: list[list[str]] | None = None,
    build_time: dt.datetime | None = None,
    report_files: dict[str, bytes] | None = None,
) -> Package:
    """Zip the published measures (CSV and Excel), the summary with its charts, the board's report (``report_files``:
    report.html and report.pdf), the documents (cover note,
    data-quality statement, definitions) and a manifest listing every member's checksum, the raw files, the
    software and the build time; the identity checksum leaves the build time out."""
    members = {
        MEASURES_CSV: measures_csv(published),
        MEASURES_XLSX: measures_xlsx(published, xlsx_notes or [["note"], ["See definitions.md"]]),
        REPORT: summary_html.encode("utf-8"),
    }
    members.update(report_files or {})
    members.update(documents or {})
    members.update(extra_files or {})
    if MANIFEST in members or APPROVAL in members:
        raise ValueError(f"{MANIFEST} and {APPROVAL} are written by the package itself, not passed in")
    checksums = {name: hashlib.sha256(content).hexdigest() for name, content in sorted(members.items())}
    full = {**manifest, "files": checksums}
    identity = hashlib.sha256(_canonical(full)).hexdigest()
    built = utc_timestamp(build_time)
    full.update(build_time=built, identity={"sha256": identity, "method": IDENTITY_METHOD})
    members[MANIFEST] = json.dumps(full, indent=2, sort_keys=True, default=str).encode("utf-8")
    data = _zip(members)
    return Package(data=data, sha256=identity, files=checksums, zip_sha256=hashlib.sha256(data).hexdigest(),
                   build_time=built)


def identity_of(package_bytes: bytes) -> str:
    """Recompute a package's identity from its bytes, refusing a package whose members no longer match its
    manifest (so an approval can never cover altered content)."""
    try:
        with zipfile.ZipFile(io.BytesIO(package_bytes)) as archive:
            manifest = json.loads(archive.read(MANIFEST))
            names = set(archive.namelist()) - {MANIFEST, APPROVAL}
            actual = {name: hashlib.sha256(archive.read(name)).hexdigest() for name in names}
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as error:
        raise ValueError(f"not a submission package: {error}") from error
    if actual != manifest.get("files"):
        changed = sorted(set(actual) ^ set(manifest.get("files", {})) |
                         {n for n in actual if manifest.get("files", {}).get(n) not in (None, actual[n])})
        raise ValueError(f"the package's members do not match its manifest: {', '.join(changed)}")
    identity = hashlib.sha256(_canonical(manifest)).hexdigest()
    recorded = (manifest.get("identity") or {}).get("sha256")
    if recorded != identity:
        raise ValueError(f"the manifest's identity {recorded} does not match its content ({identity})")
    return identity


def with_approval(package_bytes: bytes, approval: dict) -> bytes:
    """The delivered zip: the approved package, every member byte-identical, plus ``approval.json`` (approver, role,
    decision, time, and the identity checksum approved). Refuses an approval of other content or a second one."""
    identity = identity_of(package_bytes)
    approved = approval.get("approved_identity_sha256") or approval.get("package_sha256")
    if approved is not None and approved != identity:
        raise ValueError(f"the approval is for package {approved}, not this package ({identity})")
    record = {**approval, "approved_identity_sha256": identity}
    for key, value in list(record.items()):
        if isinstance(value, dt.datetime):
            record[key] = utc_timestamp(value)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package_bytes)) as source, zipfile.ZipFile(out, "w") as target:
        if APPROVAL in source.namelist():
            raise ValueError("the package already carries an approval")
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        info = zipfile.ZipInfo(APPROVAL, date_time=ZIP_TIMESTAMP)
        info.compress_type = zipfile.ZIP_DEFLATED
        target.writestr(info, json.dumps(record, indent=2, sort_keys=True, default=str).encode("utf-8"))
    return out.getvalue()


def readable_name(partnership: str, deadline_id: str, financial_year: str, version: int) -> str:
    """The name a reviewer sees: ``<partnership>_<deadline>_<2022-23>_v<version>.zip``."""
    return f"{partnership}_{deadline_id}_{financial_year.replace('/', '-')}_v{version}.zip"
