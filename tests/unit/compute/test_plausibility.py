"""Sources whose year-on-year changes disagree."""

from __future__ import annotations

import pandas as pd

from tasks.compute.plausibility import divergences
from tasks.shared.config import PlausibilityRule


def _values(rows) -> pd.DataFrame:
    return pd.DataFrame([{"metric_id": m, "period": p, "numerator": n, "area_code": "csp", "age_band": "all"}
                         for m, p, n in rows])


RULE = PlausibilityRule(id="knife", metrics=["police", "hospital"], max_factor=3, description="should agree")


def test_diverging_sources_are_flagged_and_agreeing_ones_pass() -> None:
    agree = _values([("police", "2022/23", 110), ("police", "2021/22", 100),
                     ("hospital", "2022/23", 14), ("hospital", "2021/22", 12)])
    assert set(divergences(agree, [RULE], "csp", "2022/23", "2021/22")["finding"]) == {""}
    differ = _values([("police", "2022/23", 100), ("police", "2021/22", 100),
                      ("hospital", "2022/23", 60), ("hospital", "2021/22", 12)])
    table = divergences(differ, [RULE], "csp", "2022/23", "2021/22")
    assert all("differ by a factor of 4.7" in f for f in table["finding"])


def test_a_measure_without_last_year_is_not_compared() -> None:
    partial = _values([("police", "2022/23", 100), ("hospital", "2022/23", 60), ("hospital", "2021/22", 12)])
    assert set(divergences(partial, [RULE], "csp", "2022/23", "2021/22")["finding"]) == {""}
