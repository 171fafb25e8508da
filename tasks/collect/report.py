"""What the collect stage tells the analyst: files found, loaded, quarantined, and the completeness of the year (pure)."""

from __future__ import annotations

import pandas as pd

from tasks.collect.steps import FileOutcome
from tasks.shared.artifacts import StageReport
from tasks.shared.completeness import summary_by_source
from tasks.shared.context import CycleContext
from tasks.shared.markdown import markdown_table

FAILURE_COLUMNS = ["source", "file", "row", "column", "value", "rule", "severity"]
MAX_FAILURES_SHOWN = 1000  # the artifact table; the quarantine table keeps every row


def failures_table(outcomes: list[FileOutcome]) -> pd.DataFrame:
    """Every failing row and file of the collection, with its source, file, row, column, value and rule."""
    frames = [o.failures.assign(file=o.original_name, source=o.source_id) for o in outcomes if len(o.failures)]
    if not frames:
        return pd.DataFrame(columns=["file", "source"])
    failures = pd.concat(frames, ignore_index=True)
    return failures[["source", "file", "source_row", "column", "value", "rule", "severity"]].rename(
        columns={"source_row": "row"}
    )


def collection_report(ctx: CycleContext, outcomes: list[FileOutcome], coverage: pd.DataFrame) -> StageReport:
    """The collection's status, summary, markdown page and tables (files, completeness, failures)."""
    quarantined = [o for o in outcomes if o.status == "quarantined"]
    superseded = [o for o in outcomes if o.status == "superseded"]
    warned = [o for o in outcomes if o.validation_status == "warning"]
    status = "failed" if quarantined else ("completed with warnings" if warned else "completed")
    summary = {
        "files": len(outcomes),
        "loaded": len(outcomes) - len(quarantined) - len(superseded),
        "superseded": len(superseded),
        "quarantined": len(quarantined),
        "observations": int(sum(o.observations for o in outcomes)),
        "crimes_without_location": int(sum(o.rows_without_location for o in outcomes)),
        "crimes_repeating_a_crime_id": int(sum(o.rows_repeating_crime_id for o in outcomes)),
        "crimes_in_lsoas_recognised_by_name": int(sum(o.rows_in_unlisted_lsoas for o in outcomes)),
        "crimes_not_attributable": int(sum(o.rows_unattributable for o in outcomes)),
    }
    markdown = "\n".join(
        [
            f"# Collection: {ctx.config.partnership.name}, {ctx.year_label}",
            f"**{summary['files']}** files found in {len(ctx.config.sources)} sources; **{summary['loaded']}** loaded, "
            f"**{summary['quarantined']}** held in quarantine, {summary['superseded']} replaced by a corrected file.",
            f"{summary['observations']} observations written. {summary['crimes_without_location']} police records "
            "had no location (kept in the raw file, reported, not counted in any area).",
            f"{summary['crimes_repeating_a_crime_id']} police records repeat a Crime ID already listed (data.police.uk "
            "lists some crimes twice, with two outcomes or locations): each row is counted, as data.police.uk counts.",
            f"{summary['crimes_in_lsoas_recognised_by_name']} police records are in LSOAs of the 2021 set that the "
            "partnership's 2011 list lacks, recognised by their LSOA name and counted for their authority; "
            f"{summary['crimes_not_attributable']} are in such LSOAs of a district several members share and are "
            "not counted.",
            "",
            *[f"- Quarantined: `{o.original_name}` ({o.source_id}): {o.reason}" for o in quarantined],
            "",
            "## Completeness of the year",
            markdown_table(summary_by_source(coverage)),
        ]
    )
    by_source = sorted({o.source_id for o in quarantined})
    failure = (f"{len(quarantined)} file(s) held in quarantine, of {', '.join(by_source)}; first: "
               f"{quarantined[0].reason or quarantined[0].original_name}".splitlines()[0] if quarantined else "")
    return StageReport(
        status=status,
        failure=failure,
        summary=summary,
        markdown=markdown,
        table=pd.DataFrame([o.as_row() for o in outcomes]),
        description="Files collected, checked and loaded",
        tables=[
            ("collect-completeness", coverage, "Expected, arrived, missing and late data"),
            ("collect-failures", failures_table(outcomes).head(MAX_FAILURES_SHOWN), "Every failing row and file, with the rule"),
        ],
    )
