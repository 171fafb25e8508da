"""Metric definitions x observations x population -> metric values with confidence intervals (pure)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import pandas as pd

from tasks.compute.comparisons import (
    baseline_comparison,
    compare_with_benchmark,
    trend_marker,
    trend_marker_for_rates,
)
from tasks.compute.standard_populations import ESP2013
from tasks.compute.statistics import (
    change_on_previous,
    crude_rate,
    directly_standardised_rate,
    indirectly_standardised_ratio,
    wilson_proportion,
)
from tasks.shared.benchmarks import COMPARISON_SUFFIXES, comparison_text
from tasks.shared.config import (
    COUNT_UNIT,
    AgeBand,
    DisclosurePolicy,
    MetricDefinition,
    MetricsFile,
    Partnership,
    age_bounds,
)
from tasks.shared.coverage import MONTHS_IN_YEAR, part_year_note
from tasks.shared.disclosure import published_count_value
from tasks.shared.geography import ENGLAND, REGIONS
from tasks.shared.periods import (
    financial_year_end,
    financial_year_label,
    financial_year_of,
    is_financial_year_label,
)
from tasks.shared.tuples import frame_rows
from tasks.shared.values import is_missing

METRIC_VALUE_COLUMNS = [
    "metric_id",
    "metric_version",
    "title",
    "headline",
    "area_type",
    "area_code",
    "period",
    "age_band",
    "numerator",
    "denominator",
    "value",
    "lower_ci_95",
    "upper_ci_95",
    "lower_ci_998",
    "upper_ci_998",
    "method",
    "multiplier",
    "value_unit",
    "change_on_previous",
    "change_on_previous_percent",
    "baseline_value",
    "compared_with_baseline",
    "trend",
    "compared_with_england",
    "compared_with_region",
    "note",
    "raw_file_ids",
]
BASELINE_YEARS = 3
AGE_RANGE = re.compile(r"^(\d+)(?:-(\d+)|(\+))?$")
TREND_POINTS = 5  # Fingertips shows a trend marker from five annual points


@dataclass
class ComputeResult:
    """Metric values plus what could not be computed and why (shown to the analyst)."""

    values: pd.DataFrame
    skipped: list[dict] = field(default_factory=list)


def age_range(band: str) -> tuple[int, int] | None:
    """'18-24' -> (18, 24), '25+' -> (25, 200), '7' -> (7, 7); 'all' and 'unknown' -> None."""
    match = AGE_RANGE.match(band)
    if not match:
        return None
    low = int(match.group(1))
    if match.group(3):
        return low, 200
    return low, int(match.group(2)) if match.group(2) else low


def rows_in_band(frame: pd.DataFrame, band: AgeBand) -> pd.DataFrame:
    """Rows whose age band lies wholly inside ``band`` (every row for an all-ages band)."""
    if band.min_age is None and band.max_age is None:
        return frame
    low, high = band.min_age or 0, band.max_age if band.max_age is not None else 200
    bounds = frame["age_band"].map(age_range)
    inside = bounds.map(lambda b: b is not None and b[0] >= low and b[1] <= high).astype(bool)
    return frame.loc[inside]


def _with_lad(frame: pd.DataFrame, partnership: Partnership) -> pd.DataFrame:
    """Attach the member authority of every row (LSOA rows map through the partnership's LSOA list)."""
    lsoa_to_lad = {lsoa.code: lsoa.local_authority for lsoa in partnership.lsoas}
    lad = frame["area_code"].where(frame["area_type"] != "lsoa", frame["area_code"].map(lsoa_to_lad))
    return frame.assign(lad=lad)


def _population(observations: pd.DataFrame, partnership: Partnership) -> pd.DataFrame:
    population = observations[(observations["dataset"] == "population") & (observations["measure"] == "population")]
    return population[population["area_code"].isin(partnership.local_authority_codes)]


def _denominators(
    population: pd.DataFrame, band: AgeBand, years: list[int], partnership: Partnership
) -> dict[tuple[str, int], tuple[float, str | None, list[int]]]:
    """Population per (area, financial year): the mid-year estimate of the year the FY starts in,
    or the latest earlier one (with a note) when that estimate is not yet published."""
    result: dict[tuple[str, int], tuple[float, str | None, list[int]]] = {}
    if population.empty:
        return result
    in_band = rows_in_band(population, band)
    in_band = in_band.assign(mid_year=[d.year for d in in_band["period_start"]])
    available = sorted(in_band["mid_year"].unique())
    for year in years:
        usable = [y for y in available if y <= year]
        if not usable:
            continue
        chosen = usable[-1]
        note = None if chosen == year else f"population: mid-{year} not available, mid-{chosen} used"
        rows = in_band[in_band["mid_year"] == chosen]
        ids = sorted({int(i) for i in rows["raw_file_id"]})
        for lad, total in rows.groupby("area_code")["value"].sum().items():
            result[(lad, year)] = (float(total), note, ids)
        result[(partnership.id, year)] = (float(rows["value"].sum()), note, ids)
    return result


def compute_metric_values(
    observations: pd.DataFrame,
    partnership: Partnership,
    metrics: MetricsFile,
    financial_year: int,
    history_years: int = 4,
    blocked_datasets: frozenset[str] = frozenset(),
    months: dict[tuple[str, int], frozenset[str]] | None = None,
    supplied_datasets: set[str] | None = None,
) -> ComputeResult:
    """Every metric in force for the year, for each member authority and the partnership, for the
    reviewed year and ``history_years`` before it (one definition for the whole series): five years give the
    trend marker and the three-year baseline of the reviewed year.

    ``months``: the months each (dataset, financial year) covers; a year with fewer than twelve gets counts marked
    "N of 12 months", never an annual rate. ``supplied_datasets``: the datasets the partnership has a source for,
    so a measure nobody supplies says so. Every measure not computed for the reviewed year is listed with why."""
    months = months or {}
    label = financial_year_label(financial_year)
    start_month = partnership.financial_year_start.month
    definitions = metrics.in_force(financial_year_end(financial_year, start_month))
    years = list(range(financial_year - history_years, financial_year + 1))
    obs = observations.copy()
    obs["fy"] = [financial_year_of(d, start_month) for d in obs["period_start"]]
    population = _population(obs, partnership)
    records: list[dict] = []
    skipped: list[dict] = []
    for definition in definitions:
        dataset = definition.numerator.dataset
        if dataset in blocked_datasets:
            skipped.append(_not_computed(definition, f"dataset {dataset} failed a critical check in {label}: its "
                                         "figures (this year's and earlier years') are left out until it is corrected"))
            continue
        if supplied_datasets is not None and dataset not in supplied_datasets:
            skipped.append(_not_computed(definition, f"no source supplies dataset {dataset} (a partner return: "
                                         "add it with `dutycycle source add`)"))
            continue
        numerator = obs[
            (obs["dataset"] == dataset)
            & obs["measure"].isin(definition.numerator.measures)
            & obs["fy"].isin(years)
        ]
        if obs[(obs["dataset"] == dataset) & (obs["fy"] == financial_year)].empty and not any(
            key == (dataset, financial_year) for key in months
        ):
            skipped.append(_not_computed(definition, f"no data of dataset {dataset} for {label}"))
            continue
        if definition.statistic == "published_rate":
            published = _published_rates(definition, obs, partnership, years)
            if not any(r["period"] == label for r in published):
                skipped.append(_not_computed(definition, f"no published value for {label}"))
                continue
            records += published
            continue
        numerator = _with_lad(numerator, partnership)
        numerator = numerator[numerator["lad"].isin(partnership.local_authority_codes)]
        covered = {year: len(months[(dataset, year)]) for year in years if (dataset, year) in months}
        for band_id in definition.age_bands:
            band = metrics.age_bands[band_id]
            if definition.statistic == "dsr":
                records += _dsr_records(definition, band_id, band, numerator, population, partnership, years,
                                        metrics.policy_for(definition.id), covered)
                continue
            if definition.statistic == "isr":
                records += _isr_records(definition, band_id, band, numerator, population, partnership, years, covered)
                continue
            if definition.statistic == "proportion":
                whole = _with_lad(obs[(obs["dataset"] == dataset) & obs["measure"].isin(definition.denominator.measures)
                                      & obs["fy"].isin(years)], partnership)
                whole = whole[whole["lad"].isin(partnership.local_authority_codes)]
                whole_band = metrics.age_bands[definition.denominator.age_band or "all"]
                records += _proportion_records(definition, band_id, band, numerator, rows_in_band(whole, whole_band),
                                               partnership, years, covered)
                continue
            annual = _counts_and_rates(
                definition, band_id, band, numerator, population, partnership, years, metrics, covered
            )
            records += _pooled(definition, annual) if definition.pool_years > 1 else annual
        in_year = numerator[numerator["fy"] == financial_year]
        if "lsoa" in definition.breakdowns:
            records += _lsoa_rates(definition, in_year, obs, partnership, financial_year)
        for kind in ("month", "quarter"):
            if kind in definition.breakdowns:
                records += _period_counts(definition, in_year, partnership, financial_year, kind)
    values = pd.DataFrame(records, columns=METRIC_VALUE_COLUMNS)
    units = {d.id: d.value_unit for d in definitions}
    values["value_unit"] = [COUNT_UNIT if method == "count" else units[metric_id]
                            for metric_id, method in zip(values["metric_id"], values["method"], strict=True)]
    skipped_ids = {s["metric_id"] for s in skipped}
    for definition in definitions:
        if definition.id not in skipped_ids and not ((values["metric_id"] == definition.id)
                                                     & (values["period"].str.split("-").str[-1] == label)).any():
            skipped.append(_not_computed(definition, f"no figure of {label} for the partnership's areas"))
    polarities = {d.id: BENCHMARK_POLARITY[d.polarity] for d in definitions}
    return ComputeResult(values=_add_comparisons(_add_changes(values), polarities), skipped=skipped)


def _not_computed(definition: MetricDefinition, reason: str) -> dict:
    return {"metric_id": definition.id, "title": definition.title, "headline": definition.headline, "reason": reason}


def _counts_and_rates(
    definition: MetricDefinition,
    band_id: str,
    band: AgeBand,
    numerator: pd.DataFrame,
    population: pd.DataFrame,
    partnership: Partnership,
    years: list[int],
    metrics: MetricsFile,
    months_covered: dict[int, int],
) -> list[dict]:
    selected = rows_in_band(numerator, band)
    if band.min_age is not None and selected.empty and not numerator.empty:
        return []  # the source has no ages: no breakdown rather than a misleading zero
    denominator_band = metrics.age_bands[definition.denominator.age_band] if (
        definition.denominator and definition.denominator.age_band
    ) else band
    denominators = _denominators(population, denominator_band, years, partnership) if definition.denominator else {}
    records = []
    areas = [(la.code, "lad") for la in partnership.local_authorities] + [(partnership.id, "csp")]
    for year in years:
        in_year = selected[selected["fy"] == year]
        months = months_covered.get(year, MONTHS_IN_YEAR)
        if numerator[numerator["fy"] == year].empty and year not in months_covered:
            continue  # no data at all for that year: nothing to report rather than a false zero
        for area_code, area_type in areas:
            rows = in_year if area_type == "csp" else in_year[in_year["lad"] == area_code]
            count = float(rows["value"].sum())
            ids = sorted({int(i) for i in rows["raw_file_id"]})
            notes = []
            record = _base_record(definition, area_code, area_type, financial_year_label(year))
            record.update(age_band=band_id, numerator=count, value=count)
            if months < MONTHS_IN_YEAR:
                notes.append(part_year_note(months))  # a count of the months covered, no annual rate
            elif definition.statistic == "crude_rate":
                denominator = denominators.get((area_code, year))
                if denominator is None or denominator[0] <= 0:
                    notes.append("no population estimate: rate not computed")
                    record["value"] = None
                else:
                    record.update(_rate_fields(definition, count, denominator[0]))
                    ids = sorted(set(ids) | set(denominator[2]))
                    if denominator[1]:
                        notes.append(denominator[1])
            record["note"] = "; ".join(notes) or None
            record["raw_file_ids"] = ids
            records.append(record)
    return records


DSR_METHOD = "DSR (ESP2013), Dobson {level:.1%} CI"
DSR_SUPPRESSED_NOTE = "dsr not shown: an age band's count is suppressed under the disclosure policy"


def esp2013_weights(bands: list[str]) -> dict[str, float]:
    """ESP2013's weights summed into broader bands (each a whole number of its five-year bands)."""
    weights = dict.fromkeys(bands, 0.0)
    for esp_band, weight in ESP2013.items():
        low, high = age_bounds(esp_band)
        owner = next(b for b in bands if age_bounds(b)[0] <= low and high <= age_bounds(b)[1])
        weights[owner] += weight
    return weights


def published_bands(counts: dict[str, float], total: float, policy: DisclosurePolicy) -> dict[str, float | None]:
    """The band counts a DSR may rest on, made only of counts the policy lets a reader know: each band but the last
    as it would be published (rounded; None when suppressed), the last one the published total less those. A reader
    who recovers them from the DSR learns the rounded counts of the first bands, as an age breakdown would show
    them, and the published total, nothing narrower: a last band rounded on its own would, beside the rounded
    total, narrow both (13 + 8 = 21 publishes 15 and 10 beside a total of 20: the 13 is then 13 or 14)."""
    labels = list(counts)
    shown = {b: published_count_value(counts[b], policy) for b in labels[:-1]}
    shown_total = published_count_value(total, policy)
    if shown_total is None or any(v is None for v in shown.values()):
        return dict.fromkeys(labels)
    last = shown_total - sum(shown.values())
    if last < 0:  # rounding left nothing for the last band: no DSR rather than a negative count
        return dict.fromkeys(labels)
    return {**shown, labels[-1]: last}


def _dsr_records(
    definition: MetricDefinition,
    band_id: str,
    band: AgeBand,
    numerator: pd.DataFrame,
    population: pd.DataFrame,
    partnership: Partnership,
    years: list[int],
    policy: DisclosurePolicy,
    months_covered: dict[int, int],
) -> list[dict]:
    """Directly standardised rates (ESP2013, Dobson) per member authority and the partnership, per year.

    Disclosure (tasks/shared/disclosure.py): with the weights and ONS populations public, a DSR and its total give
    back the age-band counts it was computed from. So it is computed from band counts made of published counts only
    (published_bands; the partnership's bands the sums of its members'), and it is not shown when a band's count is
    suppressed or a member's is. A reader then learns each band
    only to its rounding range, as a published count would tell them (published_bands)."""
    low, high = band.min_age or 0, band.max_age if band.max_age is not None else 200
    bands = [b for b in definition.dsr_bands if low <= age_bounds(b)[0] and age_bounds(b)[1] <= high]
    weights = esp2013_weights(definition.dsr_bands)
    selected = rows_in_band(numerator, band)
    bounds = selected["age_band"].map(age_range)
    placed = {b: bounds.map(lambda r, b=b: r is not None and age_bounds(b)[0] <= r[0] and r[1] <= age_bounds(b)[1])
                 .astype(bool) for b in bands}
    denominators = {b: _denominators(population, AgeBand(label=b, min_age=age_bounds(b)[0],
                                                         max_age=None if age_bounds(b)[1] == 200 else age_bounds(b)[1]),
                                     years, partnership) for b in bands}
    members = [la.code for la in partnership.local_authorities]
    records = []
    for year in years:
        in_year = selected["fy"] == year
        if numerator[numerator["fy"] == year].empty and year not in months_covered:
            continue
        published: dict[str, dict[str, float | None]] = {}
        exact_total: dict[str, float] = {}
        unplaced: dict[str, float] = {}
        for code in members:
            at = in_year & (selected["lad"] == code)
            exact_total[code] = float(selected.loc[at, "value"].sum())
            counts = {b: float(selected.loc[at & placed[b], "value"].sum()) for b in bands}
            unplaced[code] = exact_total[code] - sum(counts.values())
            published[code] = published_bands(counts, exact_total[code], policy)
        # the partnership's bands: the sums of its members' (its count is the sum of theirs, a controlled total)
        published[partnership.id] = {
            b: None if any(published[c][b] is None for c in members) else sum(published[c][b] for c in members)
            for b in bands}
        exact_total[partnership.id] = sum(exact_total[c] for c in members)
        unplaced[partnership.id] = sum(unplaced[c] for c in members)
        for code, area_type in [(c, "lad") for c in members] + [(partnership.id, "csp")]:
            rows = selected[in_year & ((selected["lad"] == code) if area_type == "lad" else True)]
            ids = sorted({int(i) for i in rows["raw_file_id"]})
            record = _base_record(definition, code, area_type, financial_year_label(year))
            bands_shown = published[code]
            shown_total = None if any(v is None for v in bands_shown.values()) else sum(bands_shown.values())
            record.update(age_band=band_id, numerator=exact_total[code], value=None,
                          method=DSR_METHOD.format(level=definition.confidence_level),
                          multiplier=definition.multiplier)
            notes = []
            pops = {b: denominators[b].get((code, year)) for b in bands}
            if months_covered.get(year, MONTHS_IN_YEAR) < MONTHS_IN_YEAR:
                notes.append(part_year_note(months_covered[year]))
                record.update(numerator=exact_total[code], value=exact_total[code], method="count")
            elif unplaced[code] > 0:
                notes.append(f"dsr not computed: {unplaced[code]:g} record(s) of unknown age or in an age band that "
                             f"does not fit the standard bands {', '.join(bands)}")
            elif any(p is None or p[0] <= 0 for p in pops.values()):
                notes.append("no population estimate by age: dsr not computed")
            elif shown_total is None:
                notes.append(DSR_SUPPRESSED_NOTE)
            else:
                record.update(_dsr_fields(definition, bands_shown, {b: p[0] for b, p in pops.items()},
                                          {b: weights[b] for b in bands}))
                if record["value"] is None:
                    notes.append(record.pop("reason"))
                record.pop("reason", None)
                ids = sorted(set(ids) | {i for p in pops.values() for i in p[2]})
                notes += sorted({p[1] for p in pops.values() if p[1]})
            record["note"] = "; ".join(notes) or None
            record["raw_file_ids"] = ids
            records.append(record)
    return records


PROPORTION_METHOD = "proportion, Wilson {level:.1%} CI"


def _proportion_records(
    definition: MetricDefinition,
    band_id: str,
    band: AgeBand,
    numerator: pd.DataFrame,
    whole: pd.DataFrame,
    partnership: Partnership,
    years: list[int],
    months_covered: dict[int, int],
) -> list[dict]:
    """The percentage of the denominator's records (``whole``) that are in the numerator's age band and measures, per
    member authority and the partnership, per year. The published percentage is restated from the published counts
    (restate_from_counts), so it gives back no more than they do."""
    selected = rows_in_band(numerator, band)
    records = []
    areas = [(la.code, "lad") for la in partnership.local_authorities] + [(partnership.id, "csp")]
    for year in years:
        if whole[whole["fy"] == year].empty and year not in months_covered:
            continue
        for area_code, area_type in areas:
            part = selected[selected["fy"] == year]
            of = whole[whole["fy"] == year]
            if area_type == "lad":
                part, of = part[part["lad"] == area_code], of[of["lad"] == area_code]
            count, total = float(part["value"].sum()), float(of["value"].sum())
            record = _base_record(definition, area_code, area_type, financial_year_label(year))
            record.update(age_band=band_id, numerator=count, denominator=total, value=count, note=None,
                          raw_file_ids=sorted({int(i) for i in of["raw_file_id"]} | {int(i) for i in part["raw_file_id"]}))
            if months_covered.get(year, MONTHS_IN_YEAR) < MONTHS_IN_YEAR:
                record["note"] = part_year_note(months_covered[year])
            elif total <= 0:
                record.update(value=None, note="no records in the denominator: percentage not computed")
            else:
                record.update(_proportion_fields(definition.confidence_level, count, total))
            records.append(record)
    return records


def _proportion_fields(level: float, count: float, total: float) -> dict:
    """A percentage with its Wilson intervals (the definition's level and 99.8%), as metric value fields."""
    estimate = wilson_proportion(count, total, level, multiplier=100)
    wide = wilson_proportion(count, total, 0.998, multiplier=100)
    return {"denominator": total, "value": estimate.value, "lower_ci_95": estimate.lower,
            "upper_ci_95": estimate.upper, "lower_ci_998": wide.lower, "upper_ci_998": wide.upper,
            "method": PROPORTION_METHOD.format(level=estimate.confidence), "multiplier": 100}


def _isr_records(
    definition: MetricDefinition,
    band_id: str,
    band: AgeBand,
    numerator: pd.DataFrame,
    population: pd.DataFrame,
    partnership: Partnership,
    years: list[int],
    months_covered: dict[int, int],
) -> list[dict]:
    """Indirectly standardised ratios (observed / expected x 100) per member authority and the partnership, per year:
    expected = the population of each reference age band x the reference rate. The expected count is kept in the
    denominator column: it is public (public populations x published reference rates), so the ratio is restated
    from the published observed count (restate_from_counts) and gives back no more than it."""
    low, high = band.min_age or 0, band.max_age if band.max_age is not None else 200
    rates = {b: r for b, r in definition.reference.per_person.items()
             if low <= age_bounds(b)[0] and age_bounds(b)[1] <= high}
    populations = {b: _denominators(population, AgeBand(label=b, min_age=age_bounds(b)[0],
                                                        max_age=None if age_bounds(b)[1] == 200 else age_bounds(b)[1]),
                                    years, partnership) for b in rates}
    selected = rows_in_band(numerator, band)
    records = []
    areas = [(la.code, "lad") for la in partnership.local_authorities] + [(partnership.id, "csp")]
    for year in years:
        if numerator[numerator["fy"] == year].empty and year not in months_covered:
            continue
        for area_code, area_type in areas:
            rows = selected[selected["fy"] == year]
            rows = rows if area_type == "csp" else rows[rows["lad"] == area_code]
            count = float(rows["value"].sum())
            record = _base_record(definition, area_code, area_type, financial_year_label(year))
            record.update(age_band=band_id, numerator=count, value=count)
            ids = {int(i) for i in rows["raw_file_id"]}
            pops = {b: populations[b].get((area_code, year)) for b in rates}
            notes = []
            if months_covered.get(year, MONTHS_IN_YEAR) < MONTHS_IN_YEAR:
                notes.append(part_year_note(months_covered[year]))
            elif any(p is None for p in pops.values()):
                record["value"] = None
                notes.append("no population estimate by age: isr not computed")
            else:
                expected = sum(pops[b][0] * rates[b] for b in rates)
                record.update(_isr_fields(definition.confidence_level, count, expected))
                ids |= {i for p in pops.values() for i in p[2]}
                notes += sorted({p[1] for p in pops.values() if p[1]})
            record["note"] = "; ".join(notes) or None
            record["raw_file_ids"] = sorted(ids)
            records.append(record)
    return records


def _isr_fields(level: float, observed: float, expected: float) -> dict:
    """An indirectly standardised ratio (reference = 100) with its intervals, as metric value fields (the expected
    count in the denominator column)."""
    if expected <= 0:
        return {"value": None, "denominator": None}
    estimate = indirectly_standardised_ratio(observed, [expected], [1.0], level, multiplier=100)
    wide = indirectly_standardised_ratio(observed, [expected], [1.0], 0.998, multiplier=100)
    return {"denominator": expected, "value": estimate.value, "lower_ci_95": estimate.lower,
            "upper_ci_95": estimate.upper, "lower_ci_998": wide.lower, "upper_ci_998": wide.upper,
            "method": "ISR, " + estimate.method.split(", ", 1)[1], "multiplier": 100}


def _dsr_fields(definition: MetricDefinition, counts: dict[str, float], populations: dict[str, float],
                weights: dict[str, float]) -> dict:
    """A DSR with its 95% (or the definition's level) and 99.8% Dobson intervals, as metric value fields."""
    estimate = directly_standardised_rate(counts, populations, weights, definition.multiplier,
                                          definition.confidence_level)
    wide = directly_standardised_rate(counts, populations, weights, definition.multiplier, 0.998)
    return {
        "denominator": estimate.total_population,
        "value": estimate.value,
        "lower_ci_95": estimate.lower,
        "upper_ci_95": estimate.upper,
        "lower_ci_998": wide.lower,
        "upper_ci_998": wide.upper,
        "reason": estimate.reason,
    }


def pooled_label(first: str, last: str) -> str:
    """The period of a pooled figure, as Fingertips writes it: 2020/21-2022/23."""
    return f"{first}-{last}"


def _pooled(definition: MetricDefinition, annual: list[dict]) -> list[dict]:
    """Figures pooled over ``pool_years`` consecutive full years (as Fingertips pools its violence indicator): the
    sum of the counts over the sum of the populations, so small under-25 numbers become publishable. A window
    with a missing, part-year or population-less year is left out rather than pooled short."""
    by_area: dict[str, dict[int, dict]] = {}
    for record in annual:
        by_area.setdefault(record["area_code"], {})[int(record["period"][:4])] = record
    pooled = []
    for area, years in by_area.items():
        for last in sorted(years):
            window = [years.get(last - k) for k in range(definition.pool_years - 1, -1, -1)]
            if any(r is None or is_missing(r.get("denominator")) or r.get("value") is None for r in window):
                continue
            count = sum(r["numerator"] for r in window)
            denominator = sum(r["denominator"] for r in window)
            record = {**window[-1], "period": pooled_label(window[0]["period"], window[-1]["period"]),
                      "numerator": count, "note": f"{definition.pool_years}-year pooled",
                      "raw_file_ids": sorted({i for r in window for i in r["raw_file_ids"]})}
            record.update(_rate_fields(definition, count, denominator))
            pooled.append(record)
    return pooled


def _published_rates(
    definition: MetricDefinition, obs: pd.DataFrame, partnership: Partnership, years: list[int]
) -> list[dict]:
    """Carry a published indicator (value, CI, count, denominator, and its comparisons with England and the region)
    through unchanged, per area and period: the member authorities, England and the authorities' region."""
    records = []
    regions = sorted(set(obs.loc[(obs["dataset"] == definition.numerator.dataset) & obs["area_code"].isin(REGIONS),
                                 "area_code"]))
    for measure in definition.numerator.measures:
        rows = obs[
            (obs["dataset"] == definition.numerator.dataset)
            & obs["fy"].isin(years)
            & (obs["age_band"] == "all")
            & (obs["sex"] == "persons")
        ]
        areas = ([(la.code, "lad") for la in partnership.local_authorities] + [(ENGLAND, "country")]
                 + [(code, "region") for code in regions])
        for year in years:
            for area_code, area_type in areas:
                at = rows[(rows["area_code"] == area_code) & (rows["fy"] == year)]
                fields = {m: float(v) for m, v in zip(at["measure"], at["value"], strict=True)}
                if measure not in fields:
                    continue
                records.append(
                    _base_record(definition, area_code, area_type, financial_year_label(year))
                    | {
                        "numerator": fields.get(f"{measure}_count"),
                        "denominator": fields.get(f"{measure}_denominator"),
                        "value": fields[measure],
                        "lower_ci_95": fields.get(f"{measure}_lower_ci_95"),
                        "upper_ci_95": fields.get(f"{measure}_upper_ci_95"),
                        "lower_ci_998": fields.get(f"{measure}_lower_ci_998"),
                        "upper_ci_998": fields.get(f"{measure}_upper_ci_998"),
                        "method": "published by OHID Fingertips (DSR, 3-year pooled)",
                        "multiplier": 100_000,
                        "note": "3-year pooled period ending in this year",
                        "raw_file_ids": sorted({int(i) for i in at["raw_file_id"]}),
                    }
                    | {  # Fingertips' own verdicts, exactly as published (recomputed only where it published none)
                        f"compared_with_{benchmark}": comparison_text(fields[f"{measure}{suffix}"])
                        for suffix, benchmark in COMPARISON_SUFFIXES.items() if f"{measure}{suffix}" in fields
                    }
                )
    return records


def _rate_fields(definition: MetricDefinition, count: float, denominator: float) -> dict:
    """A crude rate with its 95% (or the definition's level) and 99.8% intervals, as metric value fields."""
    estimate = crude_rate(count, denominator, definition.multiplier, definition.confidence_level)
    wide = crude_rate(count, denominator, definition.multiplier, 0.998)
    return {
        "denominator": denominator,
        "value": estimate.value,
        "lower_ci_95": estimate.lower,
        "upper_ci_95": estimate.upper,
        "lower_ci_998": wide.lower,
        "upper_ci_998": wide.upper,
        "method": estimate.method,
        "multiplier": definition.multiplier,
    }


def _base_record(definition: MetricDefinition, area_code: str, area_type: str, period: str) -> dict:
    return {
        "metric_id": definition.id,
        "metric_version": definition.version,
        "title": definition.title,
        "headline": definition.headline,
        "area_type": area_type,
        "area_code": area_code,
        "period": period,
        "age_band": "all",
        "method": "count",
        "multiplier": 1,
    }


def _lsoa_rates(
    definition: MetricDefinition, in_year: pd.DataFrame, obs: pd.DataFrame, partnership: Partnership, year: int
) -> list[dict]:
    """Rates of the reviewed year for every LSOA of the partnership (an LSOA with no record counts 0), over the
    latest LSOA population estimate: the areas of a funnel plot."""
    population = obs[(obs["dataset"] == "population") & (obs["area_type"] == "lsoa")]
    if population.empty or not (in_year["area_type"] == "lsoa").any():
        return []  # only a source recorded by LSOA can be broken down by LSOA
    latest = population[population["period_start"] == population["period_start"].max()]
    mid_year = latest["period_start"].iloc[0].year
    denominators = dict(zip(latest["area_code"], latest["value"], strict=True))
    counts = in_year[in_year["area_type"] == "lsoa"].groupby("area_code")["value"].sum()
    file_ids = sorted({int(i) for i in in_year["raw_file_id"]} | {int(i) for i in latest["raw_file_id"]})
    records = []
    for lsoa in partnership.lsoas:
        denominator = denominators.get(lsoa.code)
        count = float(counts.get(lsoa.code, 0.0))
        record = _base_record(definition, lsoa.code, "lsoa", financial_year_label(year))
        record.update(numerator=count, value=count, raw_file_ids=file_ids)
        if denominator:
            record.update(_rate_fields(definition, count, denominator))
            record["note"] = None if mid_year == year else f"population: mid-{mid_year}, the latest LSOA estimate loaded"
        else:
            record["note"] = "no LSOA population: rate not computed"
        records.append(record)
    return records


def _period_counts(
    definition: MetricDefinition, in_year: pd.DataFrame, partnership: Partnership, year: int, kind: str
) -> list[dict]:
    """Counts of the reviewed year by month or quarter, per member authority and for the partnership."""
    if in_year.empty:
        return []
    start_month = partnership.financial_year_start.month

    def label(day: dt.date) -> str:
        if kind == "month":
            return day.strftime("%Y-%m")
        offset = (day.year - year) * 12 + day.month - start_month
        return f"{financial_year_label(year)} Q{offset // 3 + 1}"

    labelled = in_year.assign(label=in_year["period_start"].map(label))
    records = []
    areas = [(la.code, "lad") for la in partnership.local_authorities] + [(partnership.id, "csp")]
    for period, rows in labelled.groupby("label"):
        for area_code, area_type in areas:
            at = rows if area_type == "csp" else rows[rows["lad"] == area_code]
            record = _base_record(definition, area_code, area_type, period)
            count = float(at["value"].sum())
            record.update(numerator=count, value=count, raw_file_ids=sorted({int(i) for i in at["raw_file_id"]}))
            records.append(record)
    return records


def _add_changes(values: pd.DataFrame) -> pd.DataFrame:
    """Year-on-year change of each value against the same metric, area and age band a year earlier."""
    values = values.copy()
    if values.empty:
        return values
    previous_value, prior_method = {}, {}
    rows = frame_rows(values)
    for row in rows:
        previous_value[(row.metric_id, row.area_code, row.age_band, row.period)] = row.value
        prior_method[(row.metric_id, row.area_code, row.age_band, row.period)] = row.method
    changes, percents = [], []
    for row in rows:
        if not is_financial_year_label(row.period):
            changes.append(None)
            percents.append(None)
            continue
        start = int(row.period[:4])
        prior = previous_value.get((row.metric_id, row.area_code, row.age_band, financial_year_label(start - 1)))
        current = row.value
        prior_is_count = prior_method.get((row.metric_id, row.area_code, row.age_band,
                                           financial_year_label(start - 1))) == "count"
        if is_missing(current) or prior is None or (row.method == "count") != prior_is_count:
            # a part-year count against a full year's rate (or the reverse) is no change
            changes.append(None)
            percents.append(None)
            continue
        difference, percent = change_on_previous(float(current), float(prior))
        changes.append(difference)
        percents.append(percent)
    values["change_on_previous"] = changes
    values["change_on_previous_percent"] = percents
    return values


# metrics.yaml's polarity in the words of comparisons.compare_with_benchmark
BENCHMARK_POLARITY = {"higher_is_worse": "low_is_good", "higher_is_better": "high_is_good", "no_polarity": "no_polarity"}


def _add_comparisons(values: pd.DataFrame, polarities: dict[str, str] | None = None) -> pd.DataFrame:
    """Each year's rate against its three-year baseline (exact Poisson test) and its five-year trend marker
    (chi-squared test for trend, as Fingertips), and published rates against England's value (Better/Worse by
    the metric's polarity, Higher/Lower when it has none)."""
    values = values.copy()
    if values.empty:
        return values
    values = values.astype({c: object for c in ("baseline_value", "compared_with_baseline", "trend",
                                                 "compared_with_england", "compared_with_region")})
    rows = frame_rows(values)
    benchmarks = {"compared_with_england": {
        (r.metric_id, r.period): r.value for r in rows if r.area_code == ENGLAND
    }, "compared_with_region": {  # a partnership lies in one region: its authorities' (fingertips.regions_of)
        (r.metric_id, r.period): r.value for r in rows if r.area_code in REGIONS
    }}
    yearly = values[values["period"].map(is_financial_year_label)]
    for _, group in yearly.groupby(["metric_id", "area_code", "age_band"], sort=False):
        by_year = {int(r.period[:4]): (index, r) for index, r in zip(group.index, frame_rows(group),
                                                                      strict=True)}
        for year, (index, row) in by_year.items():
            if row.method.startswith("crude rate"):
                if is_missing(row.numerator) or is_missing(row.denominator):
                    continue  # a count not published (restate_from_counts): nothing to compare
                previous = [by_year.get(year - k) for k in range(BASELINE_YEARS, 0, -1)]
                if all(p is not None and not is_missing(p[1].denominator) for p in previous):
                    baseline = baseline_comparison(
                        row.numerator, row.denominator, [p[1].numerator for p in previous],
                        [p[1].denominator for p in previous], int(row.multiplier),
                    )
                    values.at[index, "baseline_value"] = baseline.baseline_rate
                    values.at[index, "compared_with_baseline"] = baseline.verdict
                window = [by_year.get(year - k) for k in range(TREND_POINTS - 1, -1, -1)]
                if all(w is not None and not is_missing(w[1].denominator) for w in window):
                    trend = trend_marker_for_rates(
                        [w[1].period for w in window], [w[1].numerator for w in window],
                        [w[1].denominator for w in window], int(row.multiplier),
                    )
                    values.at[index, "trend"] = trend.marker
            elif row.method.startswith(("published", "DSR", "ISR", "proportion")):
                # a DSR, an ISR, a proportion or a published rate is judged by its intervals (Fingertips' method)
                window = [by_year.get(year - k) for k in range(TREND_POINTS - 1, -1, -1)]
                if all(w is not None for w in window):
                    trend = trend_marker(
                        [w[1].period for w in window], [w[1].value for w in window],
                        [w[1].lower_ci_95 for w in window], [w[1].upper_ci_95 for w in window],
                    )
                    values.at[index, "trend"] = trend.marker
                if row.area_code not in (ENGLAND, *REGIONS) and row.method.startswith("published"):
                    for column, benchmark in benchmarks.items():
                        if isinstance(getattr(row, column), str) and getattr(row, column):
                            continue  # Fingertips published its verdict: carried as published
                        # the same test as Fingertips' (benchmark outside the 95% interval; tests/unit/compute/
                        # test_region_comparison.py reproduces the real export's 1,200 published verdicts)
                        values.at[index, column] = compare_with_benchmark(
                            row.lower_ci_95, row.upper_ci_95, benchmark.get((row.metric_id, row.period)),
                            (polarities or {}).get(row.metric_id, "low_is_good"),
                        )
    return values


def restate_from_counts(values: pd.DataFrame) -> pd.DataFrame:
    """The statistics of every row recomputed from its ``numerator`` as published (rounded; NaN where suppressed),
    so no published rate, interval, change or comparison carries more than the published count (disclosure)."""
    values = values.copy().astype({c: object for c in ("value", "lower_ci_95", "upper_ci_95", "lower_ci_998",
                                                         "upper_ci_998", "baseline_value", "compared_with_baseline",
                                                         "trend", "compared_with_england", "compared_with_region")
                                                         if c in values})
    for column in ("baseline_value", "compared_with_baseline", "trend"):
        values[column] = None  # recomputed below from the published counts only
    for column in ("compared_with_england", "compared_with_region"):
        if column not in values:
            values[column] = None  # only a published rate carries these (kept: its CI is as published)
    for index, row in zip(values.index, frame_rows(values), strict=True):
        if row.method == "count":
            values.at[index, "value"] = row.numerator
        elif row.method.startswith("DSR"):
            # computed from the published band counts already (_dsr_records); hidden with its count
            if is_missing(row.numerator):
                for column in ("value", "lower_ci_95", "upper_ci_95", "lower_ci_998", "upper_ci_998"):
                    values.at[index, column] = None
        elif row.method.startswith(("proportion", "ISR")):
            # a percentage from the published count over the published denominator count; a ratio from the published
            # observed count over the (public) expected count
            if is_missing(row.numerator) or is_missing(row.denominator) or row.denominator <= 0:
                for column in ("value", "lower_ci_95", "upper_ci_95", "lower_ci_998", "upper_ci_998"):
                    values.at[index, column] = None
                continue
            level = 0.95 if is_missing(getattr(row, "confidence_level", None)) else row.confidence_level
            fields = (_proportion_fields if row.method.startswith("proportion") else _isr_fields)(
                level, row.numerator, row.denominator)
            for column in ("value", "lower_ci_95", "upper_ci_95", "lower_ci_998", "upper_ci_998"):
                values.at[index, column] = fields[column]
        elif row.method.startswith("crude rate"):
            if is_missing(row.numerator) or is_missing(row.denominator) or row.denominator <= 0:
                for column in ("value", "lower_ci_95", "upper_ci_95", "lower_ci_998", "upper_ci_998"):
                    values.at[index, column] = None
                values.at[index, "denominator"] = None  # a suppressed year takes no part in baseline or trend
                continue
            level = 0.95 if is_missing(getattr(row, "confidence_level", None)) else row.confidence_level
            estimate = crude_rate(row.numerator, row.denominator, int(row.multiplier), level)
            wide = crude_rate(row.numerator, row.denominator, int(row.multiplier), 0.998)
            values.at[index, "value"] = estimate.value
            values.at[index, "lower_ci_95"], values.at[index, "upper_ci_95"] = estimate.lower, estimate.upper
            values.at[index, "lower_ci_998"], values.at[index, "upper_ci_998"] = wide.lower, wide.upper
    return _add_comparisons(_add_changes(values))
