"""Prefect artifacts a non-engineer can read: a markdown summary and a table per stage."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import pandas as pd
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)


@dataclass(frozen=True)
class StageReport:
    """What a stage tells the analyst: its outcome and summary, a markdown page, its main table, and any further
    tables and links, all composed by the stage package and only published by the flow."""

    status: str  # completed | completed with warnings | failed
    summary: dict
    markdown: str
    table: pd.DataFrame | list[dict]
    description: str  # of the main table
    tables: list[tuple[str, pd.DataFrame, str]] = field(default_factory=list)  # (artifact name, table, description)
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (artifact name, URL, description)
    failure: str = ""  # when failed: what failed its checks, in one line (the run's final state says it)


def artifact_scope(partnership: str, year_label: str) -> str:
    """The start of every artifact key of a partnership's year, e.g. castle-point-rochford-2022-23: the UI keeps
    one history per key, so a year's summary is never mistaken for another year's."""
    return artifact_key(partnership, year_label)


def stage_summary_key(scope: str, stage: str) -> str:
    return artifact_key(scope, stage, "summary")


def publish_report(partnership: str, year_label: str, stage: str, report: StageReport) -> None:
    """Publish a stage's report as Prefect artifacts: summary, main table, then its further tables and links."""
    scope = artifact_scope(partnership, year_label)
    publish_stage_artifacts(scope, stage, report.markdown, report.table, report.description)
    for name, table, description in report.tables:
        publish_table(scope, name, table, description)
    for name, link, description in report.links:
        publish_link(scope, name, link, description)


def artifact_key(*parts: str) -> str:
    """Artifact keys allow only lowercase letters, digits and dashes."""
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", "-".join(parts).lower())).strip("-")


def _plain(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return ""
    if value is None:
        return ""
    return value if isinstance(value, (int, float, str, bool)) else str(value)


def publish_stage_artifacts(
    scope: str, stage: str, markdown: str, table: pd.DataFrame | list[dict], description: str
) -> None:
    """The summary and table of one stage, keyed by partnership, year and stage so the UI keeps their history."""
    rows = table.to_dict("records") if isinstance(table, pd.DataFrame) else table
    rows = [{k: _plain(v) for k, v in row.items()} for row in rows]
    create_markdown_artifact(key=stage_summary_key(scope, stage), markdown=markdown, description=description)
    create_table_artifact(key=artifact_key(scope, stage, "table"), table=rows, description=description)


def publish_table(scope: str, name: str, table: pd.DataFrame, description: str) -> None:
    """An extra table of a stage (e.g. the completeness of the year beside the files collected)."""
    rows = [{k: _plain(v) for k, v in row.items()} for row in table.to_dict("records")]
    create_table_artifact(key=artifact_key(scope, name), table=rows, description=description)


class Progress:
    """A progress bar in the UI, advanced as each piece of work finishes."""

    def __init__(self, scope: str, name: str, total: int, description: str):
        self.total, self.done = max(total, 1), 0
        self.artifact_id = create_progress_artifact(
            progress=0.0, key=artifact_key(scope, name), description=description
        )

    def advance(self) -> None:
        self.done += 1
        update_progress_artifact(self.artifact_id, progress=round(100 * self.done / self.total, 1))


def publish_link(scope: str, name: str, link: str, description: str) -> None:
    """A link in the UI, e.g. to the quality documentation."""
    create_link_artifact(key=artifact_key(scope, name), link=link, description=description)
