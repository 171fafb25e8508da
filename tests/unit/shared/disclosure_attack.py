"""The reader who tries to recover protected counts from a published measures table (a test helper, not our code).

What the reader has: the published table, the public ONS mid-year populations (the demo's inputs), the policy of
each measure (config/metrics.yaml is public), that a partnership's count is the sum of its authorities' and the
published method of every statistic (crude rate per 100,000 with exact Poisson or Byar intervals, as
PHEindicatormethods). For every cell they narrow the count down to the whole numbers consistent with all of it:
  1. the count column: a shown count to the values that round to it, a hidden one to anything (the small range
     when no cell of its group was hidden to protect another);
  2. the rate: rate x population / 100,000, every count whose rate prints the same to one decimal; a percentage
     (value_unit "%"): percentage x the published denominator (its rounding range), with its Wilson interval;
  3. the interval: exact Poisson and Byar limits are monotone in the count, so a printed interval pins it too;
  4. the sum: the authorities add up to the partnership (every combination is tried);
  5. the change on the previous year: only counts whose rate gives the printed change with some count of the
     year before.
"""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Callable, Mapping
from pathlib import Path

from tasks.compute.statistics import crude_rate
from tasks.shared.config import DisclosurePolicy

CAP = 200  # counts above this are not what small-number protection is about
Cell = tuple[str, str, str, str]  # measure, area code, age band, period


def read_populations(folder: Path) -> dict[tuple[str, int, str], float]:
    """(area code, mid-year, band) -> population from ONS MYE2 'persons' files (all ages, under 25, aged 10-17)."""
    result: dict[tuple[str, int, str], float] = {}
    for path in sorted(folder.glob("mid-*-MYE2-persons.csv")):
        year = int(path.name.split("-")[1])
        with path.open(encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                if not row.get("Code") or not (row.get("All ages") or "").strip():
                    continue  # notes and blank lines of the ONS file

                def age(a: int) -> float:
                    return float(row[str(a)].replace(",", ""))
                result[(row["Code"], year, "all")] = float(row["All ages"].replace(",", ""))
                result[(row["Code"], year, "under_25")] = sum(age(a) for a in range(25))
                result[(row["Code"], year, "aged_10_17")] = sum(age(a) for a in range(10, 18))
    return result


def _populations_of(row: Mapping[str, str], populations: Mapping, members: list[str], partnership: str,
                    band: str) -> list[float]:
    """Every population the row's rate could rest on (the published denominator if there is one)."""
    if row.get("denominator"):
        return [float(row["denominator"])]
    codes = members if row["area_code"] == partnership else [row["area_code"]]
    years = sorted({y for (_, y, _) in populations})
    found = []
    for year in years:
        parts = [populations.get((code, year, band)) for code in codes]
        if all(p is not None for p in parts):
            found.append(sum(parts))
    return found


def _shown_range(shown: int, policy: DisclosurePolicy) -> set[int]:
    values = set()
    for v in range(max(0, shown - policy.round_to), shown + policy.round_to + 1):
        if policy.suppress_from <= v <= policy.suppress_to and not policy.as_published:
            continue
        if policy.as_published or math.floor(v / policy.round_to + 0.5) * policy.round_to == shown:
            values.add(v)
    return values


def _by_share(row: Mapping[str, str], policy: DisclosurePolicy, rests_on: str) -> set[int]:
    """The reader of a percentage: every numerator n that, over a denominator the published one allows (its rounding
    range), prints the same percentage and Wilson interval; as documented, the percentage rests on the "exact"
    counts or on the "published" ones (then n is a published count, and the reader learns its rounding range)."""
    from tasks.compute.statistics import wilson_proportion

    text = row["denominator"]
    denominators = sorted(_shown_range(int(float(text)), policy)) if text else range(1, CAP + 1)
    found: set[int] = set()
    for d in denominators:
        for n in range(0, d + 1) if d > 0 else ():
            if f"{100 * n / d:.1f}" != row["value"]:
                continue
            if row["lower_ci_95"]:
                estimate = wilson_proportion(n, d, 0.95, multiplier=100)
                if (f"{estimate.lower:.1f}", f"{estimate.upper:.1f}") != (row["lower_ci_95"], row["upper_ci_95"]):
                    continue
            found |= {n} if rests_on == "exact" else _shown_range(n, policy)
    return found


def denominator_rows(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """A percentage's published denominators as count cells of their own (measure "<id>:denominator"), so the same
    reader attacks them through the sum of the areas."""
    return [{**row, "measure": f"{row['measure']}:denominator", "count": row["denominator"],
             "count_flag": ("sum of rounded parts" if "sum of the authorities' rounded" in row["note"] else "")
             if row["denominator"] else "suppressed", "value": "", "value_unit": ""}
            for row in rows if row.get("value_unit") == "%"]


def _is_hidden(text: str, flag: str) -> bool:
    return text in ("*", "") and flag != "as published"


def attack(
    rows: list[dict[str, str]],
    populations: Mapping[tuple[str, int, str], float],
    policy_for: Callable[[str], DisclosurePolicy],
    members: list[str],
    partnership: str,
    rate_band: Callable[[str, str], str] = lambda measure, band: band,
    rates_rest_on: str = "published",
) -> dict[Cell, set[int]]:
    """Every count each cell of the table could hold, given everything the reader knows. ``rates_rest_on`` is
    what the publisher documents its rates are computed from: "exact" counts (before issue 14) or the
    "published" ones (a rate then gives back the published count, i.e. its rounding range)."""
    candidates: dict[Cell, set[int]] = {}
    by_cell: dict[Cell, dict[str, str]] = {}
    # a hidden cell or a controlled total can hold anything up to what its group's shown counts allow
    largest: dict[tuple[str, str, str], int] = {}
    for row in rows:
        group = (row["measure"], row["age_band"], row.get("period") or row["financial_year"])
        shown = int(float(row["count"])) if row["count"] not in ("", "*") else 0
        largest[group] = max(largest.get(group, 0), shown)
    for row in rows:
        if row["area_code"] not in [*members, partnership]:
            continue
        cell = (row["measure"], row["area_code"], row["age_band"], row.get("period") or row["financial_year"])
        by_cell[cell] = row
        policy = policy_for(row["measure"])
        text, flag = row["count"], row.get("count_flag", "")
        if _is_hidden(text, flag) or flag == "sum of rounded parts":
            # a controlled total says only what its parts say; its rate gives back that sum, nothing more
            candidates[cell] = set(range(0, max(CAP, 2 * largest[(cell[0], cell[2], cell[3])] + 50) + 1))
            continue
        elif text == "":
            continue
        else:
            possible = _shown_range(int(float(text)), policy)
        if row["value"] and row.get("value_unit") == "%":
            possible &= _by_share(row, policy, rates_rest_on)
        elif row["value"]:
            band = rate_band(row["measure"], row["age_band"])
            pops = _populations_of(row, populations, members, partnership, band)
            by_rate = set()
            for pop in pops:
                rate = float(row["value"])
                low = max(0, math.floor((rate - 0.06) * pop / 100_000))
                high = math.ceil((rate + 0.06) * pop / 100_000)
                for count in range(low, high + 1):
                    if f"{count / pop * 100_000:.1f}" != row["value"]:
                        continue
                    if row["lower_ci_95"] and count > 0:
                        estimate = crude_rate(count, pop, 100_000, 0.95)
                        if (f"{estimate.lower:.1f}", f"{estimate.upper:.1f}") != (row["lower_ci_95"],
                                                                                   row["upper_ci_95"]):
                            continue
                    if rates_rest_on == "exact":
                        by_rate.add(count)
                    else:
                        by_rate |= _shown_range(count, policy)
            possible &= by_rate
        candidates[cell] = possible
    # the sum: members add up to the partnership, per measure, band and period
    groups: dict[tuple[str, str, str], list[Cell]] = {}
    for cell in candidates:
        groups.setdefault((cell[0], cell[2], cell[3]), []).append(cell)
    for (measure, band, period), cells in groups.items():
        total = (measure, partnership, band, period)
        parts = [(measure, m, band, period) for m in members]
        if total not in candidates or not all(p in candidates for p in parts):
            continue
        policy = policy_for(measure)
        hidden = [c for c in [*parts, total] if _is_hidden(by_cell[c]["count"], by_cell[c].get("count_flag", ""))]
        # before issue 14 only groups with a protecting cell said so; now every hidden cell carries one note
        noted = any("protect" in by_cell[c]["note"] for c in hidden)
        small = set(range(policy.suppress_from, policy.suppress_to + 1))
        if hidden and not noted:  # nothing hidden to protect another: every hidden cell is small
            for c in hidden:
                candidates[c] &= small
        kept: dict[Cell, set[int]] = {c: set() for c in [*parts, total]}
        # every combination of the first members, the last one being what the total leaves
        *first, last = parts
        for combo in itertools.product(*(sorted(candidates[p]) for p in first)):
            for total_value in candidates[total]:
                rest = total_value - sum(combo)
                if rest not in candidates[last]:
                    continue
                values = (*combo, rest)
                if noted and not any(v in small for c, v in zip(parts, values, strict=True) if c in hidden) and not (
                    total in hidden and total_value in small
                ):
                    continue  # a group with a protecting cell has at least one small one
                for c, v in zip(parts, values, strict=True):
                    kept[c].add(v)
                kept[total].add(total_value)
        candidates.update(kept)
    return candidates


def leaks(
    candidates: Mapping[Cell, set[int]], exact: Mapping[Cell, float], rows: list[dict[str, str]],
    policy_for: Callable[[str], DisclosurePolicy], members: list[str],
) -> list[tuple[Cell, int, set[int], int]]:
    """The cells the reader narrowed below what their policy promises: (cell, true count, what the reader
    knows, the promise). A small count promises its whole suppressed range, a cell hidden to protect it two values
    or a rounding range, a rounded count the values that round to it."""
    found = []
    shown_text = {(r["measure"], r["area_code"], r["age_band"], r.get("period") or r["financial_year"]):
                  (r["count"], r.get("count_flag", "")) for r in rows}
    for cell, possible in candidates.items():
        policy = policy_for(cell[0])
        if policy.as_published or cell not in exact:
            continue
        true = int(round(exact[cell]))
        text, flag = shown_text[cell]
        if _is_hidden(text, flag):
            small = policy.suppress_from <= true <= policy.suppress_to
            promise = policy.suppress_to - policy.suppress_from + 1 if small else max(2, policy.round_to)
        elif flag == "sum of rounded parts":  # as wide as its rounded parts allow together
            parts = [shown_text[(cell[0], m, cell[2], cell[3])][0] for m in members]
            widths = [len(_shown_range(int(float(t)), policy)) for t in parts]
            promise = sum(widths) - len(widths) + 1
        else:
            promise = len(_shown_range(int(float(text)), policy))
        if len(possible) < promise:
            found.append((cell, true, possible, promise))
    return found


def dsr_attack(
    dsr_row: Mapping[str, str], band_populations: Mapping[str, float], weights: Mapping[str, float],
    band_ranges: Mapping[str, set[int]], total_range: set[int], policy: DisclosurePolicy, rests_on: str = "published",
) -> tuple[set[int], dict[str, set[int]]]:
    """The reader of a directly standardised rate (two or more age bands, public ESP2013 weights and ONS
    populations): every exact band count consistent with what else is published (``band_ranges``: e.g. the
    under-25 count of the crude measure, as its rounding range; ``total_range``: the all-ages count) and with the
    printed DSR and its interval, computed as the publisher documents: from the "exact" band counts, or from the
    "published" ones (each band but the last as published, the last the published total less those). Returns the
    possible totals and the possible counts of each band."""
    from tasks.compute.statistics import directly_standardised_rate
    from tasks.shared.disclosure import published_count_value

    labels = list(band_populations)
    totals: set[int] = set()
    by_band: dict[str, set[int]] = {b: set() for b in labels}
    for combo in itertools.product(*(sorted(band_ranges[b]) for b in labels[:-1])):
        for total in sorted(total_range):
            last = total - sum(combo)
            if last < 0:
                continue
            exact = dict(zip(labels, (*combo, last), strict=True))
            if rests_on == "exact":
                used = exact
            else:
                shown = [published_count_value(c, policy) for c in combo]
                shown_total = published_count_value(total, policy)
                if shown_total is None or any(v is None for v in shown):
                    continue
                used = dict(zip(labels, (*shown, shown_total - sum(shown)), strict=True))
            dsr = directly_standardised_rate(used, band_populations, weights)
            if dsr.value is None or f"{dsr.value:.1f}" != dsr_row["value"]:
                continue
            if (f"{dsr.lower:.1f}", f"{dsr.upper:.1f}") != (dsr_row["lower_ci_95"], dsr_row["upper_ci_95"]):
                continue
            totals.add(total)
            for band, count in exact.items():
                by_band[band].add(count)
    return totals, by_band
