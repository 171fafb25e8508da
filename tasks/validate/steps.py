"""Validate: check each dataset of the year as loaded, its completeness, and that every row is accounted for."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import func, select

from tasks.shared.checks import record_check, record_outcome
from tasks.shared.context import CycleContext
from tasks.shared.geography import BENCHMARKS
from tasks.shared.published import QUALITY_FOLDER, outputs_folder
from tasks.shared.storage import repository
from tasks.shared.storage.models import Observation, QuarantineEntry, RawFile, ValidationResult
from tasks.shared.storage.session import session_scope
from tasks.shared.suites import SuiteOutcome, validate_frames
from tasks.validate.plausibility import (
    COLLAPSE_COLUMNS,
    month_collapses,
    monthly_totals,
)
from tasks.validate.quality import (
    CHECK_COLUMNS,
    FILE_COLUMNS,
    INDEX_PAGE,
    PROBLEM_COLUMNS,
    QualityReport,
    quality_pages,
)

OBSERVATION_SUITE = "observations.normalised"


def observation_parameters(ctx: CycleContext) -> dict:
    partnership = ctx.config.partnership
    return {
        "area_codes": [*partnership.lsoa_codes, *partnership.local_authority_codes, partnership.id, *BENCHMARKS],
        "latest_period_start": dt.date.today().isoformat(),
    }


def observations_for_suite(frame: pd.DataFrame) -> pd.DataFrame:
    """The suite reads dates as ISO text, as they are stored."""
    return frame.assign(period_start=frame["period_start"].map(lambda d: d.isoformat()))


def observations_of_year(ctx: CycleContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every stored observation of the partnership (collapses compare with last year), and those of the year."""
    with session_scope(ctx.database_url) as session:
        observations = repository.read_observations(session, ctx.partnership_id)
    in_year = observations.loc[observations["period_start"].map(ctx.financial_year_of) == ctx.financial_year]
    return observations, in_year


def validate_every_dataset(ctx: CycleContext, in_year: pd.DataFrame) -> dict[str, SuiteOutcome]:
    """The observations suite run on each dataset the partnership's sources feed, in name order."""
    datasets = sorted({source.dataset for source in ctx.config.sources})
    return validate_datasets(ctx, datasets, in_year)


@task(name="validate-datasets", cache_policy=NO_CACHE)
def validate_datasets(ctx: CycleContext, datasets: list[str], observations: pd.DataFrame) -> dict[str, SuiteOutcome]:
    """Run the canonical observations suite on each dataset's rows for the year and store each one's results.

    The datasets are checked together (one Great Expectations run instead of one per dataset: GX costs about the
    same per rule whatever the rows), each keeping the outcome it has when checked alone (``validate_frames``)."""
    frames = [observations_for_suite(observations[observations["dataset"] == d].reset_index(drop=True))
              for d in datasets]
    parameters = observation_parameters(ctx)
    outcomes = validate_frames([(frame, parameters) for frame in frames], OBSERVATION_SUITE,
                               expectations_dir=ctx.settings.expectations_dir)
    return {
        dataset: record_outcome(ctx, outcome, OBSERVATION_SUITE, stage="validate", dataset=dataset,
                                subject=f"dataset {dataset} {ctx.year_label}")
        for dataset, outcome in zip(datasets, outcomes, strict=True)
    }


def reconciliation(ctx: CycleContext) -> pd.DataFrame:
    """Rows read = rows loaded = rows counted, per loaded file: a street file's crimes in the area must
    equal the sum of the observations built from it."""
    with session_scope(ctx.database_url) as session:
        files = session.execute(
            select(RawFile.id, RawFile.source_id, RawFile.original_name, RawFile.rows_read, RawFile.rows_loaded).where(
                RawFile.partnership == ctx.partnership_id, RawFile.status == "loaded"
            )
        ).all()
        counted = dict(
            session.execute(
                select(Observation.raw_file_id, func.sum(Observation.value))
                .where(Observation.partnership == ctx.partnership_id, Observation.dataset == "police_street")
                .group_by(Observation.raw_file_id)
            ).all()
        )
    police = {s.id for s in ctx.config.sources if s.kind == "police_archive"}
    rows = []
    for file in files:
        if file.source_id not in police:
            continue
        in_observations = int(counted.get(file.id, 0))
        rows.append(
            {
                "file": file.original_name,
                "rows read": file.rows_read,
                "crimes in area loaded": file.rows_loaded,
                "crimes counted in observations": in_observations,
                "reconciled": file.rows_loaded == in_observations,
            }
        )
    return pd.DataFrame(rows, columns=["file", "rows read", "crimes in area loaded", "crimes counted in observations", "reconciled"])


def check_month_collapses(ctx: CycleContext, observations: pd.DataFrame) -> pd.DataFrame:
    """Flag months of monthly sources with no records, or a collapse against the same month last year."""
    months = [(pd.Timestamp(ctx.year_start) + pd.DateOffset(months=i)).date() for i in range(-12, 12)]
    found = []
    for source in ctx.config.sources:
        if source.cadence != "month":
            continue
        totals = monthly_totals(observations, source.dataset, months)
        collapses = month_collapses(totals, source.collapse_threshold)
        collapses = collapses[collapses["month"] >= ctx.year_start.strftime("%Y-%m")]
        record_check(
            ctx, stage="validate", dataset=source.dataset, suite="plausibility", subject=f"{source.id} months",
            record={
                "expectation_type": "no_month_collapses",
                "column": None,
                "severity": "warning",
                "success": collapses.empty,
                "unexpected_count": len(collapses),
                "description": f"Every month of {source.title} has records, and none fell by more than "
                f"{source.collapse_threshold:.0%} against the same month last year",
                "observed": ", ".join(f"{r.month}: {r.finding}" for r in collapses.itertuples()) or None,
            },
        )
        found.append(collapses.assign(source=source.id))
    return pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=["source", *COLLAPSE_COLUMNS])


QUALITY_STAGES = ("collect", "validate")  # the checks on what data owners sent; compute's are the analyst's


def stored_checks(ctx: CycleContext) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The collect and validate stages' stored checks of the year, the files they were run on and those files'
    quarantine entries. A file without a period (none could be read, or an export of every year) is the year's whose
    collection received and checked it (its checks are stored under that year), and no other year's: listed in
    every year's page, one held file would read as a new problem each year."""
    with session_scope(ctx.database_url) as session:
        rows = session.execute(
            select(*[getattr(ValidationResult, c) for c in CHECK_COLUMNS])
            .where(
                ValidationResult.partnership == ctx.partnership_id,
                ValidationResult.stage.in_(QUALITY_STAGES),
                ValidationResult.financial_year == ctx.year_label,
            )
        ).all()
        checks = pd.DataFrame(rows, columns=CHECK_COLUMNS)
        ids = sorted({int(i) for i in checks["raw_file_id"].dropna()})
        files = pd.DataFrame(session.execute(
            select(*[getattr(RawFile, c) for c in FILE_COLUMNS]).where(RawFile.id.in_(ids))).all(), columns=FILE_COLUMNS)
        problems = pd.DataFrame(session.execute(
            select(*[getattr(QuarantineEntry, c) for c in PROBLEM_COLUMNS])
            .where(QuarantineEntry.raw_file_id.in_(ids))).all(), columns=PROBLEM_COLUMNS)
    return checks, files, problems


def write_quality_report(ctx: CycleContext, coverage: pd.DataFrame) -> QualityReport:
    """Write the year's quality pages for the partnership and each data owner under outputs/, replacing the last
    run's (a page of an owner no longer configured is removed, so nothing stale is served)."""
    checks, files, problems = stored_checks(ctx)
    pages = quality_pages(ctx.config, ctx.year_label, files, checks, problems, coverage, dt.datetime.now(dt.UTC))
    folder = outputs_folder(ctx) / QUALITY_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.html"):
        if stale.name not in pages.pages:
            stale.unlink()
    for name, html in pages.pages.items():
        (folder / name).write_text(html, encoding="utf-8")
    return QualityReport(index=folder / INDEX_PAGE, owners={o: folder / name for o, name in pages.owners.items()})
