"""Stage 1, collect: every input file kept unchanged, checked against its suite, and loaded or quarantined."""

from __future__ import annotations

import pandas as pd
from prefect import flow
from prefect.futures import as_completed

from tasks.artifacts import Progress, publish_stage_artifacts, publish_table
from tasks.collection import collect_source
from tasks.completeness import summary_by_source
from tasks.reporting import markdown_table
from tasks.runs import finish_stage, start_stage
from tasks.validation import completeness


@flow(name="collect", log_prints=True)
def collect(partnership: str = "castle-point-rochford", financial_year: str = "2022/23") -> dict:
    """Collect the partnership's input files: store, parse, check and load them.

    Args:
        partnership: Partnership id (a folder under config/partnerships).
        financial_year: Financial year under review, e.g. 2022/23.
    """
    ctx = start_stage("collect", partnership, financial_year)
    progress = Progress(ctx.partnership_id, "collect-progress", len(ctx.config.sources), "Sources collected")
    futures = [collect_source.submit(ctx, source) for source in ctx.config.sources]  # concurrently
    outcomes = []
    for future in as_completed(futures):
        outcomes += future.result()
        progress.advance()
    outcomes.sort(key=lambda o: (o.source_id, o.original_name, o.raw_file_id))
    coverage = completeness(ctx)

    files = pd.DataFrame([o.as_row() for o in outcomes])
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
    }
    markdown = "\n".join(
        [
            f"# Collection: {ctx.config.partnership.name}, {ctx.year_label}",
            f"**{summary['files']}** files found in {len(ctx.config.sources)} sources; **{summary['loaded']}** loaded, "
            f"**{summary['quarantined']}** held in quarantine, {summary['superseded']} replaced by a corrected file.",
            f"{summary['observations']} observations written. {summary['crimes_without_location']} police records "
            "had no location (kept in the raw file, reported, not counted in any area).",
            "",
            *[f"- Quarantined: `{o.original_name}` ({o.source_id}): {o.reason}" for o in quarantined],
            "",
            "## Completeness of the year",
            markdown_table(summary_by_source(coverage)),
        ]
    )
    publish_stage_artifacts(ctx.partnership_id, "collect", markdown, files, "Files collected, checked and loaded")
    publish_table(ctx.partnership_id, "collect-completeness", coverage, "Expected, arrived, missing and late data")
    failures = pd.concat(
        [o.failures.assign(file=o.original_name, source=o.source_id) for o in outcomes if len(o.failures)]
        or [pd.DataFrame(columns=["file", "source"])],
        ignore_index=True,
    )
    if len(failures):
        failures = failures[["source", "file", "source_row", "column", "value", "rule", "severity"]].rename(
            columns={"source_row": "row"}
        )
    publish_table(ctx.partnership_id, "collect-failures", failures.head(1000), "Every failing row and file, with the rule")
    finish_stage(ctx, "collect", status, summary)
    print(f"collect: {summary}")
    return {"status": status, **summary}
