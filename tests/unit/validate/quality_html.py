"""Read the quality report's HTML back as a reader (or a screen reader) meets it: landmarks, tables with their
captions and rows, and every attribute that could fetch or link something."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from tasks.shared.context import CycleContext
from tasks.shared.storage.models import RawFile, ValidationResult
from tasks.shared.storage.session import session_scope

WORD = {"passed": "Passed", "warning": "Warning", "failed": "Failed"}


@dataclass
class Cell:
    tag: str
    classes: set[str]
    text: str = ""


@dataclass
class Row:
    classes: set[str]
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Table:
    caption: str = ""
    rows: list[Row] = field(default_factory=list)  # body rows and header rows alike

    def body_rows(self) -> list[Row]:
        return [r for r in self.rows if not all(c.tag == "th" for c in r.cells)]


class PageReader(HTMLParser):
    """Tables, headings, landmark tags, every tag with its attributes, and the text of <style>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: list[Table] = []
        self.headings: list[tuple[str, str]] = []
        self.style = ""
        self._stack: list[str] = []
        self._table: list[Table] = []
        self._in_caption = False
        self._cell: Cell | None = None
        self._heading: list[str] | None = None
        self._in_style = False
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        classes = set((attributes.get("class") or "").split())
        if tag == "table":
            self._table.append(Table())
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr" and self._table:
            self._table[-1].rows.append(Row(classes))
        elif tag in ("td", "th") and self._table and self._table[-1].rows:
            self._cell = Cell(tag, classes)
            self._table[-1].rows[-1].cells.append(self._cell)
        elif tag in ("h1", "h2", "h3", "h4"):
            self._heading = [tag, ""]
        elif tag == "style":
            self._in_style = True
        elif tag == "br" and self._cell is not None:
            self._cell.text += " | "

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._table:
            self.tables.append(self._table.pop())
        elif tag == "caption":
            self._in_caption = False
        elif tag in ("td", "th"):
            self._cell = None
        elif tag in ("h1", "h2", "h3", "h4") and self._heading:
            self.headings.append((self._heading[0], " ".join(self._heading[1].split())))
            self._heading = None
        elif tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data
            return
        self.text.append(data)
        if self._in_caption and self._table:
            self._table[-1].caption += data
        if self._cell is not None:
            self._cell.text += data
        if self._heading is not None:
            self._heading[1] += data


def read_page(html: str) -> PageReader:
    reader = PageReader()
    reader.feed(html)
    reader.close()
    for table in reader.tables:
        table.caption = " ".join(table.caption.split())
        for row in table.rows:
            for cell in row.cells:
                cell.text = " ".join(cell.text.split())
    return reader


def stored(ctx: CycleContext, year: str = "2022/23") -> pd.DataFrame:
    """Every check of the year as the database holds it, with its file's name and period (read without the report)."""
    with session_scope(ctx.database_url) as session:
        rows = session.execute(
            select(ValidationResult.stage, ValidationResult.dataset, ValidationResult.subject,
                   ValidationResult.severity, ValidationResult.success, ValidationResult.description,
                   RawFile.source_id, RawFile.original_name, RawFile.period)
            .outerjoin(RawFile, RawFile.id == ValidationResult.raw_file_id)
            .where(ValidationResult.financial_year == year, ValidationResult.stage.in_(["collect", "validate"]))
        ).all()
    return pd.DataFrame(rows, columns=["stage", "dataset", "subject", "severity", "success", "description",
                                       "source_id", "file", "period"])


def check_rows(table: Table) -> list:
    return [r for r in table.body_rows() if "check" in r.classes]


def find_row(page: PageReader, caption_has: list[str], rule: str):
    """The check row of a rule in the one table whose caption names all of caption_has."""
    tables = [t for t in page.tables if t.caption.startswith("Checks on ") and all(p in t.caption for p in caption_has)]
    assert len(tables) == 1, (caption_has, [t.caption for t in page.tables])
    rows = [r for r in check_rows(tables[0]) if r.cells[0].text == " ".join(rule.split())]
    assert len(rows) == 1, (caption_has, rule)
    return rows[0]


def expected_outcome(success: bool, severity: str) -> str:
    return "passed" if success else ("failed" if severity == "critical" else "warning")


def assert_offline_and_accessible(page: PageReader, folder: Path) -> None:
    """Nothing to fetch (no script, stylesheet link, image or CSS url), no link leaving the folder; landmarks,
    one h1 and a caption on every table."""
    tags = [tag for tag, _ in page.tags]
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(tags)
    assert "url(" not in page.style and "@import" not in page.style
    for _, attributes in page.tags:
        assert "src" not in attributes
        for name in ("href", "action", "data"):
            target = attributes.get(name)
            if target is None:
                continue
            assert not re.match(r"^[a-z][a-z0-9+.-]*:|^//", target), target  # no http(s):, file:, data:, //host
            assert target.startswith("#") or (folder / target).is_file(), target
    assert {"header", "main"} <= set(tags) and dict(page.tags)["html"].get("lang") == "en"
    assert [h for h in page.headings if h[0] == "h1"] and len([h for h in page.headings if h[0] == "h1"]) == 1
    assert page.tables and all(t.caption for t in page.tables)
    assert all("scope" in attrs for tag, attrs in page.tags if tag == "th")


def assert_every_check_shown(page: PageReader, checks: pd.DataFrame, sources_of: dict[str, list[str]]) -> None:
    """Each stored check in the table of its file (caption: file, source, period) or, for a check on the year's
    loaded data, of each source of its dataset (``sources_of``; a "<source> months" check: that source only), with
    its outcome in words; and not one row more."""
    on_files = checks[checks["file"].notna()]
    for check in on_files.itertuples(index=False):
        period = f"({check.period})" if isinstance(check.period, str) else "period not stated"
        row = find_row(page, [check.file, f"({check.source_id})", period], check.description)
        outcome = expected_outcome(check.success, check.severity)
        assert outcome in row.classes and WORD[outcome] in row.cells[2].text, (check.file, check.description)
    on_year = checks[checks["file"].isna()]
    shown_year = 0
    for check in on_year.itertuples(index=False):
        named = [s for s in sources_of[check.dataset] if check.subject.startswith(f"{s} ")]
        for source_id in named or sources_of[check.dataset]:
            row = find_row(page, ["every loaded file", f"({source_id})", f"dataset {check.dataset}", "2022/23"],
                           check.description)
            outcome = expected_outcome(check.success, check.severity)
            assert outcome in row.classes and WORD[outcome] in row.cells[2].text, (check.subject, check.description)
            shown_year += 1
    assert sum(len(check_rows(t)) for t in page.tables) == len(on_files) + shown_year
