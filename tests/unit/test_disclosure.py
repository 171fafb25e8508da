"""Published outputs never show a count or rate that the disclosure policy protects."""

from __future__ import annotations

import pandas as pd
import pytest

from tasks.config import DisclosurePolicy, load_partnership_config
from tasks.metrics.disclosure import publish_count, published_table
from tasks.settings import PROJECT_ROOT

NHS = DisclosurePolicy(name="NHS", suppress_from=1, suppress_to=7, suppressed_symbol="*", round_to=5,
                       min_count_for_rate=10)
CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")


@pytest.mark.parametrize(
    ("count", "shown"),
    [(0, "0"), (1, "*"), (7, "*"), (8, "10"), (12, "10"), (13, "15"), (17, "15"), (18, "20"), (102, "100"),
     (None, "")],
)
def test_nhs_style_counts(count, shown: str) -> None:
    assert publish_count(count, NHS) == shown


def _value(metric, area, period, count, rate, change=None, method="crude rate, Byar 95.0% CI"):
    return dict(metric_id=metric, title="t", area_code=area, period=period, age_band="all", numerator=count,
                denominator=100_000.0, value=rate, lower_ci_95=rate * 0.8 if rate else None,
                upper_ci_95=rate * 1.2 if rate else None, method=method, change_on_previous_percent=change, note=None)


def test_rates_and_changes_hidden_where_counts_are_small() -> None:
    values = pd.DataFrame([
        _value("m", "E07000069", "2022/23", 9, 9.0, change=50.0),
        _value("m", "E07000069", "2021/22", 6, 6.0),
        _value("m", "E07000075", "2022/23", 40, 40.0, change=-20.0),
        _value("m", "E07000075", "2021/22", 50, 50.0),
    ])
    table = published_table(values, CONFIG.partnership, NHS).set_index(["area_code", "financial_year"])
    small = table.loc[("E07000069", "2022/23")]
    assert (small["count"], small["rate_per_100000"], small["lower_ci_95"]) == ("10", "", "")
    assert small["change_on_previous_year_percent"] == ""
    assert small["note"] == "rate not shown: count too small for a reliable rate"
    assert table.loc[("E07000069", "2021/22"), "count"] == "*"
    large = table.loc[("E07000075", "2022/23")]
    assert (large["count"], large["rate_per_100000"], large["change_on_previous_year_percent"]) == ("40", "40.0", "-20.0")
    assert large["area_name"] == "Rochford"
    # no exact small count of the internal table survives into the published one
    assert not set(table["count"]) & {"1", "2", "3", "4", "6", "7", "9"}
