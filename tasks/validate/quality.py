"""The data owners' view of the year's checks: one self-contained HTML page per data owner and one for the
partnership, naming every check by source, file and period (pure: frames in, HTML text out).

They replace Great Expectations' own Data Docs, which are not built (they load their styles and scripts from public
CDNs and show blank offline): these pages carry their CSS inline, need no script and link to nothing outside
themselves (the partnership's page links each owner's page beside it), so they open from a file share, an e-mail
attachment or a printer alike.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.shared.completeness import MID_YEAR, MONTH, SPAN
from tasks.shared.config import PartnershipConfig
from tasks.shared.published import QUALITY_INDEX
from tasks.shared.rendering import template_environment
from tasks.shared.tuples import frame_rows

STAGE_PACKAGE = "tasks.validate"
INDEX_PAGE = QUALITY_INDEX  # notify attaches it (tasks/shared/published.quality_page)
ROWS_PER_CHECK = 5  # the first failing rows shown under a check; the owner's e-mail carries every one as CSV
ROWS_PER_FILE = 10
VALUE_WIDTH = 40

FILE_COLUMNS = ["id", "source_id", "dataset", "original_name", "sha256", "received_at", "period", "status",
                "status_reason", "rows_read", "rows_loaded"]
CHECK_COLUMNS = ["stage", "dataset", "suite", "subject", "raw_file_id", "expectation_index", "expectation_type",
                 "column", "severity", "success", "unexpected_count", "description", "observed", "error"]
PROBLEM_COLUMNS = ["raw_file_id", "source_row", "column", "value", "rule", "severity"]

OUTCOME_LABELS = {"passed": "\u2713 Passed", "warning": "\u26a0 Warning", "failed": "\u2717 Failed"}
FILE_STATUS = {
    "loaded": "Loaded",
    "quarantined": "Held in quarantine: not loaded",
    "superseded": "Replaced by a corrected file (kept as history, no longer used)",
    "received": "Received, not yet checked",
}


@dataclass(frozen=True)
class CheckLine:
    """One rule's outcome on one file or on the year's loaded data, in a data owner's words."""

    rule: str
    importance: str
    outcome: str  # passed | warning | failed
    found: str
    failing_rows: list[str]
    more_rows: int

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS[self.outcome]


@dataclass(frozen=True)
class FileSection:
    """A received file: where it came from, what it covers, what happened to it and every check it met or failed."""

    anchor: str
    name: str
    sha256: str
    received: str
    period: str
    status: str
    status_label: str
    reason: str | None
    rows_read: Any
    rows_loaded: Any
    verdict: str  # passed | warning | failed | superseded
    checks: list[CheckLine]
    other_problems: list[str]
    more_problems: int


@dataclass
class SourceSection:
    """One source (a partner's return or a public dataset): its files, the year's checks and expected returns."""

    id: str
    title: str
    dataset: str
    owner: str
    owner_id: str
    files: list[FileSection] = field(default_factory=list)
    year_checks: list[CheckLine] = field(default_factory=list)
    expected: list[dict] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        lines = [c for f in self.files if f.status != "superseded" for c in f.checks] + self.year_checks
        return sum(1 for c in lines if c.outcome == outcome)

    def files_with(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)


def period_text(period: Any) -> str:
    """A stored period label in words, with the label itself (as file names and the registers write it)."""
    if period is None or (isinstance(period, float) and pd.isna(period)) or str(period) == "":
        return "not stated (the file may hold any year)"
    label = str(period)
    if MONTH.match(label):
        return f"{dt.date.fromisoformat(label + '-01'):%B %Y} ({label})"
    if span := SPAN.match(label):
        first = dt.date.fromisoformat(span.group(1) + "-01")
        last = dt.date.fromisoformat(span.group(2) + "-01")
        words = f"{first:%B} to {last:%B %Y}" if first.year == last.year else f"{first:%B %Y} to {last:%B %Y}"
        return f"{words} ({label})"
    if MID_YEAR.match(label):
        return f"mid-year population estimate ({label})"
    return label


def _blank(value: Any) -> bool:
    return value is None or (not isinstance(value, (str, list, dict)) and pd.isna(value))


def _when(value: Any) -> str:
    if _blank(value):
        return "unknown"
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return f"{stamp:%Y-%m-%d %H:%M} UTC"


def _cell(value: Any) -> str:
    if _blank(value):
        return "(blank)"
    text = str(value)
    if text == "":
        return "(blank)"
    return repr(text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "\u2026")


def problem_text(row: Any) -> str:
    """Where a failing cell is, for a person with the file open: row and column, then its value."""
    source_row = int(row.source_row)
    where = "the whole file" if source_row == 0 else ("the header (row 1)" if source_row == 1 else f"row {source_row}")
    column = "" if _blank(row.column) or str(row.column) == "" else f", column {row.column!s}"
    value = "" if source_row in (0, 1) and _blank(row.value) else f": {_cell(row.value)}"
    return f"{where}{column}{value}"


def outcome_of(check: Any) -> str:
    """Passed, or failed as its importance says: a failing warning is a warning, never a failure nor a pass."""
    if bool(check.success):
        return "passed"
    return "failed" if check.severity == "critical" else "warning"


def _found(check: Any) -> str:
    if not _blank(check.error):
        return str(check.error)
    observed = "" if _blank(check.observed) else str(check.observed)
    if not bool(check.success) and not observed and int(check.unexpected_count or 0):
        return f"{int(check.unexpected_count):,} value(s) did not meet the rule"
    return observed or ("met" if bool(check.success) else "not met")


def check_line(check: Any, problems: pd.DataFrame, *, whole_dataset: bool) -> CheckLine:
    """A stored check result with its first failing rows (the quarantine entries recorded under its rule)."""
    outcome = outcome_of(check)
    if check.severity == "critical":
        importance = "critical: blocks the dataset" if whole_dataset else "critical: stops the file loading"
    else:
        importance = "warning: the data still loads"
    failing_rows, more_rows = [], 0
    # most checks pass: no frame to filter and sort for them (a page has hundreds of checks)
    if outcome != "passed" and len(problems):
        rows = problems[problems["rule"] == check.description].sort_values(["source_row", "column"], kind="stable")
        failing_rows = [problem_text(r) for r in frame_rows(rows.head(ROWS_PER_CHECK))]
        more_rows = max(0, len(rows) - ROWS_PER_CHECK)
    return CheckLine(
        rule=str(check.description), importance=importance, outcome=outcome, found=_found(check),
        failing_rows=failing_rows, more_rows=more_rows,
    )


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "item"


def file_section(file: Any, checks: pd.DataFrame, problems: pd.DataFrame) -> FileSection:
    """A file with every check stored against it, in the suite's order, and the problems no check names."""
    own_problems = problems[problems["raw_file_id"] == file.id]
    own_checks = checks[checks["raw_file_id"] == file.id].sort_values(["suite", "expectation_index"])
    lines = [check_line(c, own_problems, whole_dataset=False) for c in frame_rows(own_checks)]
    # e.g. personal data found or an unreadable file: recorded against the file, under no suite rule's words
    other = own_problems[~own_problems["rule"].isin(set(own_checks["description"]))].sort_values(
        ["source_row", "column"], kind="stable")
    other_text = [f"{problem_text(r)} ({r.rule})" for r in frame_rows(other.head(ROWS_PER_FILE))]
    status = str(file.status)
    if status == "superseded":
        verdict = "superseded"
    elif status == "quarantined" or any(line.outcome == "failed" for line in lines):
        verdict = "failed"
    elif any(line.outcome == "warning" for line in lines):
        verdict = "warning"
    else:
        verdict = "passed"
    return FileSection(
        anchor=f"file-{int(file.id)}", name=str(file.original_name), sha256=str(file.sha256),
        received=_when(file.received_at), period=period_text(file.period), status=status,
        status_label=FILE_STATUS.get(status, status), reason=None if _blank(file.status_reason) else str(file.status_reason),
        rows_read=None if _blank(file.rows_read) else int(file.rows_read),
        rows_loaded=None if _blank(file.rows_loaded) else int(file.rows_loaded),
        verdict=verdict, checks=lines, other_problems=other_text, more_problems=max(0, len(other) - ROWS_PER_FILE),
    )


def _year_check_sources(check: Any, config: PartnershipConfig) -> list[str]:
    """The sources a check on the year's loaded data concerns: the one its subject names ("<source> months"), else
    every source feeding its dataset."""
    named = [s.id for s in config.sources if str(check.subject).startswith(f"{s.id} ")]
    return named or [s.id for s in config.sources if s.dataset == check.dataset]


def source_sections(
    config: PartnershipConfig, files: pd.DataFrame, checks: pd.DataFrame, problems: pd.DataFrame,
    coverage: pd.DataFrame,
) -> list[SourceSection]:
    """Every source of the partnership (and any stored source no longer configured), in the configuration's order."""
    owners = {s.id: s for s in config.stakeholders}
    sections: dict[str, SourceSection] = {}
    for source in config.sources:
        owner = owners.get(source.owner)
        sections[source.id] = SourceSection(
            id=source.id, title=source.title, dataset=source.dataset, owner_id=source.owner,
            owner=f"{owner.name}, {owner.organisation}" if owner else source.owner,
        )
    for source_id, dataset in files[["source_id", "dataset"]].drop_duplicates().itertuples(index=False):
        sections.setdefault(source_id, SourceSection(
            id=source_id, title=f"{source_id} (no longer configured)", dataset=dataset, owner="", owner_id=""))
    ordered = files.assign(_period=files["period"].fillna("")).sort_values(["_period", "original_name", "id"])
    for file in ordered.itertuples(index=False):
        sections[file.source_id].files.append(file_section(file, checks, problems))
    no_problems = problems.iloc[0:0]
    year_checks = checks[checks["raw_file_id"].isna()].sort_values(["suite", "subject", "expectation_index"])
    for check in year_checks.itertuples(index=False):
        for source_id in _year_check_sources(check, config):
            sections[source_id].year_checks.append(check_line(check, no_problems, whole_dataset=True))
    for row in coverage.itertuples(index=False):
        if row.source in sections:
            sections[row.source].expected.append(
                {"period": row.period, "due": row.due, "status": row.status, "files": row.files})
    return list(sections.values())


@dataclass(frozen=True)
class QualityReport:
    """Where the year's quality pages were written: the partnership's, and each data owner's by owner id."""

    index: Path
    owners: dict[str, Path]


@dataclass(frozen=True)
class QualityPages:
    """The partnership's page (index.html) and each data owner's page (<owner id>.html), as HTML text."""

    pages: dict[str, str]
    owners: dict[str, str]  # owner id -> page name


def quality_pages(
    config: PartnershipConfig,
    year_label: str,
    files: pd.DataFrame,
    checks: pd.DataFrame,
    problems: pd.DataFrame,
    coverage: pd.DataFrame,
    produced: dt.datetime,
) -> QualityPages:
    """The year's quality report for the partnership and for each data owner (their own sources only).

    ``files``: FILE_COLUMNS of every file with a check of the year; ``checks``: CHECK_COLUMNS of the collect and
    validate stages' stored results for the year; ``problems``: PROBLEM_COLUMNS (the quarantine entries of those
    files, warnings included); ``coverage``: the completeness table of the year.
    """
    sections = source_sections(config, files, checks, problems, coverage)
    template = template_environment(STAGE_PACKAGE).get_template("quality_report.html")
    owners = {s.owner_id: None for s in sections if s.owner_id}
    owner_pages = {owner_id: f"{owner_id}.html" for owner_id in owners}
    people = {s.id: s for s in config.stakeholders}
    common = {"partnership": config.partnership, "year": year_label, "produced": _when(produced),
              "outcome_labels": OUTCOME_LABELS, "rows_per_check": ROWS_PER_CHECK, "held_files": held_files}
    pages = {INDEX_PAGE: template.render(
        **common, sections=sections, owner=None,
        owner_links=[{"page": owner_pages[o], "name": _owner_name(people.get(o), o),
                      "sources": [s.title for s in sections if s.owner_id == o]} for o in owners])}
    for owner_id, page in owner_pages.items():
        pages[page] = template.render(
            **common, sections=[s for s in sections if s.owner_id == owner_id],
            owner=_owner_name(people.get(owner_id), owner_id), owner_links=[])
    return QualityPages(pages=pages, owners=owner_pages)


def held_files(sections: list[SourceSection]) -> list[tuple[SourceSection, FileSection]]:
    """The files held in quarantine, each with its source: what a data owner must correct first."""
    return [(s, f) for s in sections for f in s.files if f.status == "quarantined"]


def _owner_name(person: Any, owner_id: str) -> str:
    return f"{person.name}, {person.organisation}" if person is not None else owner_id
