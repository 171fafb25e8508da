"""Partner returns: CSV files from police, health and youth justice, mapped through each partner's template."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from tasks.collect.sources.common import (
    InputFileError,
    read_csv_strings,
    read_excel_strings,
)
from tasks.shared.config import PartnerTemplate

FINANCIAL_QUARTER = re.compile(r"^(\d{4})/(\d{2}) Q([1-4])$")


def template_columns(template: PartnerTemplate) -> list[str]:
    """Every column the template reads: the partner's file must have them all."""
    columns = [template.period.column, template.area.column, *template.where]
    if template.age_band:
        columns.append(template.age_band.column)
    columns += [value.column for value in template.values]
    return list(dict.fromkeys(columns))


EXCEL_SUFFIXES = (".xlsx", ".xlsm")


def parse_return(data: bytes, name: str, template: PartnerTemplate) -> pd.DataFrame:
    """Read a partner's CSV or Excel return as text, insisting on the columns its template names."""
    if name.lower().endswith(EXCEL_SUFFIXES):
        period_format = "%Y-%m" if template.period.format == "financial_quarter" else template.period.format
        frame = read_excel_strings(data, name, template_columns(template), {template.period.column: period_format})
    else:
        frame = read_csv_strings(data, name, template_columns(template))
    if frame.empty:
        # a return with no rows would read as "nothing happened": a zero must be sent as a row with 0
        raise InputFileError(name, "the file has a header but no data rows; send a row with 0 for a period with none")
    return frame


def parse_period(text: str, period_format: str) -> tuple[dt.date, str]:
    """A partner's period label -> (first day, period type)."""
    text = text.strip()
    if period_format == "financial_quarter":
        match = FINANCIAL_QUARTER.match(text)
        if not match:
            raise ValueError(f"{text!r} is not a financial quarter like '2022/23 Q1'")
        year, quarter = int(match.group(1)), int(match.group(3))
        month = 4 + 3 * (quarter - 1)
        return dt.date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1), "quarter"
    return dt.datetime.strptime(text, period_format).date().replace(day=1), "month"


def period_label(frame: pd.DataFrame, template: PartnerTemplate) -> str | None:
    """The span of months a return covers, e.g. '2020-04/2020-06', for the raw_files register
    (a quarterly row covers its quarter's three months)."""
    first: dt.date | None = None
    last: dt.date | None = None
    for text in frame[template.period.column]:
        try:
            start, kind = parse_period(text, template.period.format)
        except ValueError:
            continue
        months = 3 if kind == "quarter" else 1
        end = dt.date(start.year + (start.month - 1 + months - 1) // 12, (start.month - 1 + months - 1) % 12 + 1, 1)
        first = start if first is None or start < first else first
        last = end if last is None or end > last else last
    if first is None:
        return None
    return first.strftime("%Y-%m") if first == last else f"{first:%Y-%m}/{last:%Y-%m}"


def to_observations(
    frame: pd.DataFrame, template: PartnerTemplate, dataset: str, partnership: str, raw_file_id: int, file: str
) -> pd.DataFrame:
    """Apply the template: filter, map periods, areas and age bands, melt value columns, sum duplicates."""
    kept = frame
    for column, wanted in template.where.items():
        kept = kept[kept[column].str.strip() == wanted]
    pieces = []
    for value_column in template.values:
        piece = pd.DataFrame({"source_row": kept["source_row"]})
        periods = []
        for row, text in zip(kept["source_row"], kept[template.period.column], strict=True):
            try:
                periods.append(parse_period(text, template.period.format))
            except ValueError as exc:
                raise InputFileError(file, str(exc), row=row, column=template.period.column) from exc
        piece["period_start"] = [start for start, _ in periods]
        piece["period_type"] = [kind for _, kind in periods]
        areas = kept[template.area.column].str.strip()
        piece["area_code"] = areas.map(template.area.map) if template.area.map else areas
        if value_column.age_band is not None:
            piece["age_band"] = value_column.age_band
        elif template.age_band is not None:
            ages = kept[template.age_band.column].str.strip()
            piece["age_band"] = ages.map(template.age_band.map) if template.age_band.map else ages
        else:
            piece["age_band"] = "all"
        numbers = pd.to_numeric(kept[value_column.column].str.strip(), errors="coerce")
        bad = numbers.isna() | (numbers < 0)
        if bad.any():
            row = int(kept.loc[bad, "source_row"].iloc[0])
            value = kept.loc[bad, value_column.column].iloc[0]
            raise InputFileError(file, f"{value!r} is not a non-negative count", row=row, column=value_column.column)
        piece["value"] = numbers.astype(float)
        piece["measure"] = value_column.measure
        unmapped = piece["area_code"].isna() | piece["age_band"].isna()
        if unmapped.any():
            row = int(piece.loc[unmapped, "source_row"].iloc[0])
            column = template.area.column if piece.loc[unmapped, "area_code"].isna().any() else template.age_band.column
            raise InputFileError(file, "value has no mapping in the partner's template", row=row, column=column)
        pieces.append(piece)
    combined = pd.concat(pieces, ignore_index=True)
    summed = combined.groupby(["measure", "area_code", "period_start", "period_type", "age_band"], as_index=False)[
        "value"
    ].sum()
    summed.insert(0, "dataset", dataset)
    summed.insert(0, "partnership", partnership)
    summed.insert(3, "area_type", "lad")
    summed["sex"] = "all"
    summed["raw_file_id"] = raw_file_id
    return summed


REFUSAL_COLUMNS = ["source_row", "column", "value", "rule", "severity"]
BEFORE_FIRST_MONTH = "the period is before the source's first possible month"
NOT_YET_OVER = "the period is in the future or not yet over"
OUTSIDE_PARTNERSHIP = "the area is not one of the partnership's member authorities"
BEYOND_CEILING = "the count is beyond the plausible ceiling"
REFUSAL_RULES = [BEFORE_FIRST_MONTH, NOT_YET_OVER, OUTSIDE_PARTNERSHIP, BEYOND_CEILING]  # each refusal starts so


def _last_month_of(start: dt.date, kind: str) -> dt.date:
    months = 3 if kind == "quarter" else 1
    index = start.month - 1 + months - 1
    return dt.date(start.year + index // 12, index % 12 + 1, 1)


def row_refusals(
    frame: pd.DataFrame,
    template: PartnerTemplate,
    *,
    first_month: dt.date | None,
    today: dt.date,
    member_codes: set[str],
    max_count: float,
) -> pd.DataFrame:
    """Rows a partner return must never load, whatever its own suite says: a period before the source's first
    possible month, in the future or not yet over (the current month, or a quarter still running), an area outside
    the partnership, or a count beyond the source's plausible ceiling. One entry per failing cell, critical."""
    refusals = []
    current_month = today.replace(day=1)
    kept = frame
    for column, wanted in template.where.items():
        kept = kept[kept[column].str.strip() == wanted]

    def refuse(row: int, column: str, value: str, rule: str) -> None:
        refusals.append({"source_row": row, "column": column, "value": value, "rule": rule, "severity": "critical"})

    for record in kept.to_dict("records"):
        row, text = int(record["source_row"]), record[template.period.column]
        try:
            start, kind = parse_period(text, template.period.format)
        except ValueError:
            pass  # an unreadable period is the suite's and the template's to report
        else:
            if first_month is not None and start < first_month:
                refuse(row, template.period.column, text,
                       f"{BEFORE_FIRST_MONTH}, {first_month:%Y-%m}")
            elif _last_month_of(start, kind) >= current_month:
                refuse(row, template.period.column, text,
                       f"{NOT_YET_OVER}: only complete periods can be sent")
        area = record[template.area.column].strip()
        code = template.area.map.get(area, area) if template.area.map else area
        if code not in member_codes:
            refuse(row, template.area.column, area, OUTSIDE_PARTNERSHIP)
        for value in template.values:
            number = pd.to_numeric(record[value.column].strip(), errors="coerce")
            if pd.notna(number) and number > max_count:
                refuse(row, value.column, record[value.column],
                       f"{BEYOND_CEILING} of {max_count:,.0f} for one row of this source "
                       "(max_count in sources.yaml)")
    return pd.DataFrame(refusals, columns=REFUSAL_COLUMNS)
