"""Completeness: which months, quarters and returns a year needs from each source, which arrived, which are late."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd

from tasks.shared.config import PartnershipConfig, Source
from tasks.shared.tuples import frame_rows

COMPLETENESS_COLUMNS = ["source", "owner", "period", "due", "status", "files"]
SPAN = re.compile(r"^(\d{4}-\d{2})/(\d{4}-\d{2})$")
MONTH = re.compile(r"^\d{4}-\d{2}$")
MID_YEAR = re.compile(r"^mid-(\d{4})$")

# status words, in the order an analyst acts on them
OVERDUE, QUARANTINED, PARTIAL, NOT_YET_DUE, ARRIVED = "overdue", "received but quarantined", "partial", "not yet due", "arrived"


@dataclass(frozen=True)
class ExpectedPeriod:
    """One return a source owes for the year: its label, the months it covers and when it is due."""

    source: Source
    label: str
    months: frozenset[str]
    due: dt.date


def _month_start(year_start: dt.date, offset: int) -> dt.date:
    month = year_start.month - 1 + offset
    return dt.date(year_start.year + month // 12, month % 12 + 1, 1)


def _months(first: dt.date, count: int) -> frozenset[str]:
    return frozenset(_month_start(first, i).strftime("%Y-%m") for i in range(count))


def expected_periods(source: Source, year_start: dt.date) -> list[ExpectedPeriod]:
    """Every period a source with a cadence owes in the financial year starting ``year_start``."""
    if source.cadence is None:
        return []
    label = f"{year_start.year}/{(year_start.year + 1) % 100:02d}"
    step = {"month": 1, "quarter": 3, "financial_year": 12}[source.cadence]
    periods = []
    for index in range(12 // step):
        first = _month_start(year_start, index * step)
        end = _month_start(first, step) - dt.timedelta(days=1)
        name = {"month": first.strftime("%Y-%m"), "quarter": f"{label} Q{index + 1}", "financial_year": label}[
            source.cadence
        ]
        periods.append(
            ExpectedPeriod(source, name, _months(first, step), end + dt.timedelta(days=source.due_days_after_period))
        )
    return periods


def months_of_file(period: str | None, year_start: dt.date) -> frozenset[str] | None:
    """The months a stored file covers, from its period label (None: it covers every period, e.g. an export)."""
    if not isinstance(period, str):  # None, or the NaN pandas 3 makes of None in a column of period labels
        return None
    if MONTH.match(period):
        return frozenset({period})
    if span := SPAN.match(period):
        first = dt.date.fromisoformat(span.group(1) + "-01")
        last = dt.date.fromisoformat(span.group(2) + "-01")
        count = (last.year - first.year) * 12 + last.month - first.month + 1
        return _months(first, count)
    if mid := MID_YEAR.match(period):
        # a mid-year estimate is the denominator of the financial year starting that spring
        return _months(dt.date(int(mid.group(1)), year_start.month, 1), 12)
    return frozenset()


def covers(period: str | None, other: str | None, year_start: dt.date) -> bool:
    """Whether a file's period covers every month of another file's (two exports without a period cover the same
    thing): a correction replaces the files it covers, and a refused correction that a loaded file covers is moot."""
    if not isinstance(period, str) or not isinstance(other, str):  # None (or NaN in a frame): no period
        return not isinstance(period, str) and not isinstance(other, str)
    return months_of_file(other, year_start) <= months_of_file(period, year_start)


def completeness_table(
    config: PartnershipConfig, year_start: dt.date, files: pd.DataFrame, today: dt.date
) -> pd.DataFrame:
    """One row per expected period of every source: arrived, partial, quarantined, not yet due or overdue.

    ``files`` holds the partnership's stored files: source_id, original_name, period, status (and ``checked_in``,
    the financial year whose collection checked it, where known). A held file whose period could not be read could
    hold any period: it counts for the periods of the year that received it only, never for every later year's.
    """
    label = f"{year_start.year}/{(year_start.year + 1) % 100:02d}"
    if "checked_in" in files:
        files = files[~((files["status"] == "quarantined") & files["period"].map(lambda p: not isinstance(p, str))
                        & files["checked_in"].map(lambda y: isinstance(y, str) and y != label))]
    rows = []
    for source in config.sources:
        own = frame_rows(files[files["source_id"] == source.id])  # read once, not once per expected period
        for expected in expected_periods(source, year_start):
            loaded: set[str] = set()
            names: list[str] = []
            quarantined = False
            for file in own:
                covered = months_of_file(file.period, year_start)
                overlap = expected.months if covered is None else expected.months & covered
                if not overlap or file.status in ("superseded", "expanded"):
                    continue
                names.append(file.original_name)
                if file.status == "loaded":
                    loaded |= overlap
                elif file.status == "quarantined":
                    quarantined = True
            if loaded >= expected.months:
                status = ARRIVED
            elif loaded:
                status = PARTIAL
            elif quarantined:
                status = QUARANTINED
            else:
                status = OVERDUE if today > expected.due else NOT_YET_DUE
            rows.append(
                {
                    "source": source.id,
                    "owner": source.owner,
                    "period": expected.label,
                    "due": expected.due.isoformat(),
                    "status": status,
                    "files": ", ".join(sorted(set(names))),
                }
            )
    return pd.DataFrame(rows, columns=COMPLETENESS_COLUMNS)


def needs_chasing(table: pd.DataFrame) -> pd.DataFrame:
    """The periods a data owner must act on: overdue, partial, or received but unusable."""
    return table[table["status"].isin([OVERDUE, PARTIAL, QUARANTINED])]


def summary_by_source(table: pd.DataFrame) -> pd.DataFrame:
    """Counts of each status per source, for the artifact."""
    if table.empty:
        return pd.DataFrame(columns=["source", "owner", "expected", ARRIVED, "missing or late"])
    grouped = table.groupby(["source", "owner"], sort=False)
    return pd.DataFrame(
        {
            "expected": grouped.size(),
            ARRIVED: grouped["status"].apply(lambda s: int((s == ARRIVED).sum())),
            "missing or late": grouped["status"].apply(lambda s: ", ".join(
                f"{p} ({st})" for p, st in zip(table.loc[s.index, "period"], s, strict=True) if st != ARRIVED
            )),
        }
    ).reset_index()
