"""Cross-source plausibility that no single file can fail: sources whose year-on-year changes tell different stories."""

from __future__ import annotations

import math

import pandas as pd

DIVERGENCE_COLUMNS = ["rule", "measure", "this_year", "last_year", "ratio", "finding"]


def divergences(values: pd.DataFrame, rules: list, area: str, year: str, previous: str) -> pd.DataFrame:
    """For each rule, compare the year-on-year change of its measures' counts: when one measure's change is more
    than ``max_factor`` times another's (e.g. police knife crime flat while sharp-object admissions treble),
    at least one source is probably incomplete or miscoded."""
    counts = values[(values["area_code"] == area) & (values["age_band"] == "all")]
    lookup = {(r.metric_id, r.period): r.numerator for r in counts.itertuples(index=False)}
    rows = []
    for rule in rules:
        ratios = {}
        for metric in rule.metrics:
            now, before = lookup.get((metric, year)), lookup.get((metric, previous))
            ratio = None
            if now is not None and before is not None and before > 0 and not math.isnan(now):
                # +1 on both sides keeps a tiny count from turning a change of one into an infinite ratio
                ratio = (now + 1) / (before + 1)
            ratios[metric] = ratio
            rows.append({"rule": rule.id, "measure": metric, "this_year": now, "last_year": before,
                         "ratio": None if ratio is None else round(ratio, 3), "finding": ""})
        known = [r for r in ratios.values() if r is not None]
        if len(known) >= 2 and max(known) / min(known) > rule.max_factor:
            for row in rows[-len(rule.metrics):]:
                row["finding"] = (
                    f"year-on-year changes differ by a factor of {max(known) / min(known):.1f} "
                    f"(more than {rule.max_factor:g}): {rule.description}"
                )
    return pd.DataFrame(rows, columns=DIVERGENCE_COLUMNS)
