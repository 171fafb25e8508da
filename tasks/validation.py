"""Validate: check each dataset of the year as loaded, its completeness, and that every row is accounted for."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import func, select

from tasks.config import Source
from tasks.context import CycleContext
from tasks.quality import SuiteOutcome, validate_frame
from tasks.sources.fingertips import ENGLAND
from tasks.storage import repository
from tasks.storage.models import Observation, RawFile, ValidationResult
from tasks.storage.session import session_scope

OBSERVATION_SUITE = "observations.normalised"


def expected_periods(source: Source, year_start: dt.date) -> list[str]:
    """The periods a source should cover in a financial year, as labels ('2022-04', '2022/23 Q1', '2022/23')."""
    label = f"{year_start.year}/{(year_start.year + 1) % 100:02d}"
    if source.cadence == "month":
        return [(pd.Timestamp(year_start) + pd.DateOffset(months=i)).strftime("%Y-%m") for i in range(12)]
    if source.cadence == "quarter":
        return [f"{label} Q{q}" for q in range(1, 5)]
    return [label]


def present_periods(source: Source, observations: pd.DataFrame, year_start: dt.date) -> set[str]:
    """Which of the expected period labels the loaded observations of a source's dataset cover."""
    rows = observations[observations["dataset"] == source.dataset]
    year_end = (pd.Timestamp(year_start) + pd.DateOffset(years=1)).date()
    label = f"{year_start.year}/{(year_start.year + 1) % 100:02d}"
    present: set[str] = set()
    for start in rows["period_start"]:
        if source.kind == "ons_mye2":
            if start.year == year_start.year:
                present.add(label)
            continue
        if not year_start <= start < year_end:
            continue
        if source.cadence == "month":
            present.add(start.strftime("%Y-%m"))
        elif source.cadence == "quarter":
            months = (start.year - year_start.year) * 12 + start.month - year_start.month
            present.add(f"{label} Q{months // 3 + 1}")
        else:
            present.add(label)
    return present


def completeness(ctx: CycleContext, observations: pd.DataFrame) -> pd.DataFrame:
    """For each source with a cadence: the periods expected in the year, those present and those missing."""
    rows = []
    for source in ctx.config.sources:
        if source.cadence is None:
            continue
        expected = expected_periods(source, ctx.year_start)
        present = present_periods(source, observations, ctx.year_start)
        missing = [p for p in expected if p not in present]
        rows.append(
            {
                "source": source.id,
                "owner": source.owner,
                "expected": len(expected),
                "present": len(expected) - len(missing),
                "missing": ", ".join(missing),
                "status": "complete" if not missing else "incomplete",
            }
        )
    return pd.DataFrame(rows, columns=["source", "owner", "expected", "present", "missing", "status"])


def observation_parameters(ctx: CycleContext) -> dict:
    partnership = ctx.config.partnership
    return {
        "area_codes": [*partnership.lsoa_codes, *partnership.local_authority_codes, partnership.id, ENGLAND],
        "latest_period_start": dt.date.today().isoformat(),
    }


def observations_for_suite(frame: pd.DataFrame) -> pd.DataFrame:
    """The suite reads dates as ISO text, as they are stored."""
    return frame.assign(period_start=frame["period_start"].map(lambda d: d.isoformat()))


def check_and_record(
    ctx: CycleContext,
    frame: pd.DataFrame,
    suite: str,
    *,
    stage: str,
    dataset: str,
    subject: str,
    parameters: dict | None = None,
) -> SuiteOutcome:
    """Run a suite on a frame and store the outcome of every rule against the year and stage."""
    outcome = validate_frame(frame, suite, expectations_dir=ctx.settings.expectations_dir, parameters=parameters)
    with session_scope(ctx.database_url) as session:
        repository.save_validation_results(
            session,
            partnership=ctx.partnership_id,
            financial_year=ctx.year_label,
            stage=stage,
            dataset=dataset,
            suite=suite,
            subject=subject,
            raw_file_id=None,
            records=outcome.as_records(),
            flow_run_id=ctx.flow_run_id,
        )
    return outcome


@task(name="validate-dataset", cache_policy=NO_CACHE)
def validate_dataset(ctx: CycleContext, dataset: str, observations: pd.DataFrame) -> SuiteOutcome:
    """Run the canonical observations suite on one dataset's rows for the year and store the results."""
    frame = observations_for_suite(observations[observations["dataset"] == dataset].reset_index(drop=True))
    return check_and_record(
        ctx,
        frame,
        OBSERVATION_SUITE,
        stage="validate",
        dataset=dataset,
        subject=f"dataset {dataset} {ctx.year_label}",
        parameters=observation_parameters(ctx),
    )


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


def blocked_datasets(ctx: CycleContext) -> frozenset[str]:
    """Datasets with a failed critical check in the reviewed year: compute leaves them out."""
    with session_scope(ctx.database_url) as session:
        names = session.scalars(
            select(ValidationResult.dataset)
            .where(
                ValidationResult.partnership == ctx.partnership_id,
                ValidationResult.financial_year == ctx.year_label,
                ValidationResult.severity == "critical",
                ValidationResult.success.is_(False),
            )
            .distinct()
        ).all()
    return frozenset(names)
