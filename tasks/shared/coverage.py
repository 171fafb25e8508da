"""Which months of a financial year the data covers, and whether a year can be reviewed at all.

A month is covered by a dataset when a file of that dataset covering it was loaded, or when observations of the
dataset fall in it: a month with zero events is covered (its file was loaded), not missing.

A year is refused before anything runs (the rule the CLI and the annual-review flow apply):
- when it starts after today (entirely in the future: nothing can have happened yet), or
- when no source that feeds a measure could hold data for it: no stored file or loaded observation of the year,
  no file waiting in an inbox that could be of the year (a name with YYYY-MM says its month, as data.police.uk
  names its files; FY2022-23 or 2022-23 its financial year; any other name might hold any year), and no API
  source that could fetch it
  (data.police.uk's API serves about the last 36 months; Fingertips serves every year it publishes).
Population estimates are not data for a year on their own: they are only the denominators of its rates.
"""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from tasks.shared.completeness import months_of_file
from tasks.shared.config import PartnershipConfig
from tasks.shared.context import CycleContext
from tasks.shared.inboxes import inbox_files
from tasks.shared.periods import financial_year_of
from tasks.shared.storage import repository
from tasks.shared.storage.session import database_created, session_scope

MONTHS_IN_YEAR = 12
PERIOD_MONTHS = {"month": 1, "quarter": 3, "financial_year": 12}
POLICE_API_MONTHS = 36
FY_IN_NAME = re.compile(r"FY(\d{4})[-_/]?(\d{2})(?!\d)", re.IGNORECASE)
MONTH_IN_NAME = re.compile(r"(?<!\d)(\d{4})-(0[1-9]|1[0-2])(?!\d)")
YEAR_PAIR_IN_NAME = re.compile(r"(?<!\d)(\d{4})[-_](\d{2})(?!\d)")


def months_in_name(name: str, start_month: int = 4) -> frozenset[str] | None:
    """The months a file's name says it holds: 'FY2022-23' (a financial year), '2022-05' (a month, as
    data.police.uk and monthly returns name their files), '2022-23' (a financial year); None when the name says
    nothing of its period (it might hold any year, e.g. an export of every year)."""
    if fy := FY_IN_NAME.search(name):
        start = int(fy.group(1))
        if int(fy.group(2)) == (start + 1) % 100:
            return frozenset(_months_from(dt.date(start, start_month, 1), MONTHS_IN_YEAR))
    if month := MONTH_IN_NAME.search(name):
        return frozenset({f"{month.group(1)}-{month.group(2)}"})
    if pair := YEAR_PAIR_IN_NAME.search(name):
        start = int(pair.group(1))
        if int(pair.group(2)) == (start + 1) % 100:
            return frozenset(_months_from(dt.date(start, start_month, 1), MONTHS_IN_YEAR))
    return None


def _months_from(start: dt.date, count: int) -> set[str]:
    return {f"{start.year + (start.month - 1 + i) // 12}-{(start.month - 1 + i) % 12 + 1:02d}" for i in range(count)}


def months_covered(
    observations: pd.DataFrame, files: pd.DataFrame, start_month: int = 4
) -> dict[tuple[str, int], frozenset[str]]:
    """(dataset, financial year) -> the months ('YYYY-MM') its loaded data covers, for datasets recorded by month,
    quarter or year. ``files``: dataset, period, status of the stored files (loaded ones count)."""
    covered: dict[tuple[str, int], set[str]] = {}
    rows = observations[observations["period_type"].isin(list(PERIOD_MONTHS))]
    for (dataset, start, kind), _ in rows.groupby(["dataset", "period_start", "period_type"]):
        for month in _months_from(start, PERIOD_MONTHS[kind]):
            day = dt.date.fromisoformat(month + "-01")
            covered.setdefault((dataset, financial_year_of(day, start_month)), set()).add(month)
    for file in files[files["status"] == "loaded"].itertuples(index=False):
        if not isinstance(file.period, str):
            continue  # a file with no period of its own (an export of every year) says nothing of months
        months = months_of_file(file.period, dt.date(2000, start_month, 1))
        for month in months or ():
            day = dt.date.fromisoformat(month + "-01")
            covered.setdefault((file.dataset, financial_year_of(day, start_month)), set()).add(month)
    return {key: frozenset(months) for key, months in covered.items()}


def part_year_note(months: int) -> str:
    """How a figure of an incomplete year is marked wherever it appears."""
    return f"{months} of {MONTHS_IN_YEAR} months: part-year count, not an annual rate"


PART_YEAR = re.compile(r"(\d+) of 12 months: part-year")


def part_year_lines(published: pd.DataFrame, financial_year: str) -> list[str]:
    """One line per measure of the year whose figures cover part of it, for the top of the summary and message."""
    lines = []
    if published.empty or "note" not in published.columns:
        return lines
    year = published[published["financial_year"] == financial_year]
    for title, notes in year.groupby("title", sort=True)["note"]:
        found = sorted({int(m.group(1)) for note in notes if isinstance(note, str) and (m := PART_YEAR.search(note))})
        if found:
            lines.append(f"{title}: {'/'.join(map(str, found))} of 12 months of {financial_year} "
                         "(part-year counts, not annual rates)")
    return lines


def _year_months(ctx: CycleContext) -> set[str]:
    return _months_from(ctx.year_start.replace(day=1), MONTHS_IN_YEAR)


def measure_datasets(config: PartnershipConfig) -> set[str]:
    """The datasets some metric counts (population only divides)."""
    return {metric.numerator.dataset for metric in config.metrics.metrics}


def _could_fetch(ctx: CycleContext, today: dt.date) -> list[str]:
    """API sources feeding a measure that could fetch data of the year."""
    reach = dt.date(today.year - POLICE_API_MONTHS // 12, today.month, 1)
    found = []
    for source in ctx.config.sources:
        if source.dataset not in measure_datasets(ctx.config):
            continue
        if source.kind == "police_api" and ctx.year_end >= reach:
            found.append(source.id)
        elif source.kind == "fingertips" and source.api_area_type_id is not None:
            found.append(source.id)
    return found


def year_refusal(ctx: CycleContext, today: dt.date | None = None) -> str | None:
    """Why the year cannot be reviewed (one plain sentence), or None when it can."""
    today = today or dt.date.today()
    year = ctx.year_label
    if ctx.year_start > today:
        return (f"financial year {year} starts on {ctx.year_start:%d %B %Y}, after today ({today:%d %B %Y}): there is "
                "nothing to review yet; choose a year that has started (or 'latest' / 'current')")
    if _could_fetch(ctx, today):
        return None
    wanted = measure_datasets(ctx.config)
    months = _year_months(ctx)
    sources = [s for s in ctx.config.sources if s.dataset in wanted]
    with session_scope(ctx.database_url) as session:
        stored = repository.stored_files(session, ctx.partnership_id)
        if repository.has_observations(session, ctx.partnership_id, sorted(wanted), ctx.year_start, ctx.year_end):
            return None
    for file in stored[stored["dataset"].isin(wanted)].itertuples(index=False):
        # a stored export of every year (no period of its own) holds the years its loaded observations say; a
        # file held in quarantine still says its year by its period or name (validation then reports it)
        period = file.period if isinstance(file.period, str) else None
        covered = months_of_file(period, ctx.year_start) or months_in_name(file.original_name, ctx.year_start.month)
        if covered and covered & months:
            return None
    known = set(zip(stored["original_name"], stored["size_bytes"], strict=True))
    for source in sources:
        for path in inbox_files(ctx.config.source_folder(source), source.patterns):
            if (path.name, path.lstat().st_size) in known:
                continue  # already stored: its period is known above
            named = months_in_name(path.name, ctx.year_start.month)
            if named is None or named & months:
                return None
    names = ", ".join(s.id for s in sources) or "none configured"
    return (f"financial year {year} has no data: no file of the sources that feed a measure ({names}) covers it, "
            "none is waiting in their inboxes, and no API source can fetch it; add its files (or choose another year)")


def years_with_data(config: PartnershipConfig, database_url: str, today: dt.date | None = None) -> list[int]:
    """The financial years (newest first, none in the future) that some measure's data is known to cover: loaded
    observations, stored files with a period, and inbox files named by month as data.police.uk names them. These are
    the years the run form offers; API sources that could fetch any year do not make a year 'have data'."""
    today = today or dt.date.today()
    start_month = config.partnership.financial_year_start.month
    wanted = sorted(measure_datasets(config))
    months: set[str] = set()
    if database_created(database_url):  # the form is made at import: never create the database there
        with session_scope(database_url) as session:
            days = repository.observation_period_starts(session, config.partnership.id, wanted)
            stored = repository.stored_files(session, config.partnership.id)
        months |= {f"{day:%Y-%m}" for day in days}
        for file in stored[stored["dataset"].isin(wanted)].itertuples(index=False):
            if isinstance(file.period, str):
                months |= months_of_file(file.period, dt.date(2000, start_month, 1)) or set()
    for source in config.sources:
        if source.dataset in wanted:
            for path in inbox_files(config.source_folder(source), source.patterns):
                months |= months_in_name(path.name, start_month) or set()
    years = {financial_year_of(dt.date.fromisoformat(month + "-01"), start_month) for month in months}
    return sorted((year for year in years if dt.date(year, start_month, 1) <= today), reverse=True)
