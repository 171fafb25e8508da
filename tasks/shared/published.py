"""The year's published outputs as compute leaves them on disk, for the stages that send or submit them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tasks.shared.context import CycleContext

INDEX_NAME = "published.json"  # which files make up the year's publication (charts included)
MEASURES_CSV = "measures-published.csv"
SUMMARY_HTML = "summary.html"
REPORT_HTML = "report.html"  # the board's annual review report, self-contained (tasks/compute/board_report.py)
REPORT_PDF = "report.pdf"  # the same, printed by WeasyPrint; absent when WeasyPrint cannot load on this machine
# under internal/: which HTML and renderer printed report.pdf, so the same HTML is not printed again
REPORT_PDF_RECORD = "report-pdf-source.json"
NOT_COMPUTED_CSV = "measures-not-computed.csv"  # a row per measure of the year that could not be computed, and why
NOT_COMPUTED_COLUMNS = ["measure", "title", "headline", "reason"]


@dataclass(frozen=True)
class PublishedOutputs:
    """The measures under disclosure control, the HTML summary and the charts it shows."""

    table: pd.DataFrame
    measures_csv: Path
    summary_html: Path
    charts: dict[str, Path]  # "measure" (its trend) or "measure:kind" -> PNG
    not_computed: pd.DataFrame  # NOT_COMPUTED_COLUMNS
    not_computed_csv: Path
    report_html: Path | None = None
    report_pdf: Path | None = None
    report_note: str | None = None  # why report.pdf was not written, when it was not


class NothingPublishedError(FileNotFoundError):
    """Compute has not published the year's measures yet."""


def outputs_folder(ctx: CycleContext) -> Path:
    """Where the year's published files are written: outputs/<partnership>/<year>/."""
    return ctx.settings.outputs_dir / ctx.partnership_id / ctx.year_label.replace("/", "-")


QUALITY_FOLDER = "quality"  # outputs/<partnership>/<year>/quality/: index.html and <owner id>.html (validate)
QUALITY_INDEX = "index.html"


def quality_page(ctx: CycleContext, owner_id: str | None) -> Path:
    """The year's quality page validate wrote for a data owner (their own sources), or the partnership's (None)."""
    return outputs_folder(ctx) / QUALITY_FOLDER / (f"{owner_id}.html" if owner_id else QUALITY_INDEX)


def write_index(outputs: PublishedOutputs) -> Path:
    """Record which files make up the publication, so a later stage reads exactly these (not stale charts)."""
    folder = outputs.measures_csv.parent
    index = {
        "measures_csv": outputs.measures_csv.name,
        "summary_html": outputs.summary_html.name,
        "not_computed_csv": outputs.not_computed_csv.name,
        "charts": {key: str(path.relative_to(folder)) for key, path in sorted(outputs.charts.items())},
        **{key: path.name for key, path in (("report_html", outputs.report_html), ("report_pdf", outputs.report_pdf))
           if path is not None},
    }
    path = folder / INDEX_NAME
    path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_published(ctx: CycleContext) -> PublishedOutputs:
    """The publication compute wrote for the year, with the measures table as the published text."""
    folder = outputs_folder(ctx)
    path = folder / INDEX_NAME
    if not path.is_file():
        raise NothingPublishedError(
            f"no published measures for {ctx.partnership_id} {ctx.year_label} in {folder}: run the compute stage first"
        )
    index = json.loads(path.read_text(encoding="utf-8"))
    measures_csv = folder / index["measures_csv"]
    not_computed_csv = folder / index.get("not_computed_csv", NOT_COMPUTED_CSV)
    not_computed = (pd.read_csv(not_computed_csv, dtype=str, keep_default_na=False) if not_computed_csv.is_file()
                    else pd.DataFrame(columns=NOT_COMPUTED_COLUMNS))
    return PublishedOutputs(
        table=pd.read_csv(measures_csv, dtype=str, keep_default_na=False),
        measures_csv=measures_csv,
        summary_html=folder / index["summary_html"],
        charts={key: folder / name for key, name in index["charts"].items()},
        not_computed=not_computed,
        not_computed_csv=not_computed_csv,
        report_html=folder / index["report_html"] if "report_html" in index else None,
        report_pdf=folder / index["report_pdf"] if "report_pdf" in index else None,
    )
