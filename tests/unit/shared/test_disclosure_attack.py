"""A reader with the published table, the public ONS populations and the sum of the areas recovers no suppressed or
rounded count (tests/unit/shared/disclosure_attack.py is the reader)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tasks.compute.metric_values import restate_from_counts
from tasks.compute.statistics import crude_rate
from tasks.shared.config import DisclosurePolicy, load_partnership_config
from tasks.shared.disclosure import published_table, suppress_below
from tasks.shared.settings import PROJECT_ROOT
from tests.unit.shared.disclosure_attack import attack, leaks, read_populations

CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")
PARTNERSHIP = CONFIG.partnership
MEMBERS = PARTNERSHIP.local_authority_codes
POPULATIONS = read_populations(PROJECT_ROOT / "config/partnerships/castle-point-rochford/inputs/population")
HES = CONFIG.metrics.disclosure_policies["hospital_episode"]
YEARS = {"2020/21": 2020, "2021/22": 2021, "2022/23": 2022}


def _values(counts: dict[tuple[str, str], dict[str, int]], band: str = "all",
            populations=POPULATIONS) -> pd.DataFrame:
    """Metric values as the compute stage stores them: exact counts, crude rates with their intervals (the real
    statistics), per authority and the partnership, for each (period, band)."""
    rows = []
    for (period, band_id), members in counts.items():
        mid_year = YEARS[period]
        for area, count in [*members.items(), (PARTNERSHIP.id, sum(members.values()))]:
            codes = MEMBERS if area == PARTNERSHIP.id else [area]
            population = sum(populations[(c, mid_year, band_id)] for c in codes)
            rate = crude_rate(count, population, 100_000, 0.95)
            wide = crude_rate(count, population, 100_000, 0.998)
            rows.append(dict(metric_id="m", title="t", area_code=area, area_type="lad", period=period,
                             age_band=band_id, numerator=float(count), denominator=population, value=rate.value,
                             lower_ci_95=rate.lower, upper_ci_95=rate.upper, lower_ci_998=wide.lower,
                             upper_ci_998=wide.upper, method=rate.method, multiplier=100_000, note=None))
    from tasks.compute.metric_values import _add_changes

    return _add_changes(pd.DataFrame(rows))


def _attack(values: pd.DataFrame, policy: DisclosurePolicy, restate, populations=POPULATIONS, rates_rest_on="published"):
    table = published_table(values, PARTNERSHIP, policy, restate)
    rows = table.to_dict("records")
    # the reader works from the published values alone: the denominator column is dropped so the attack uses
    # the public population files, as it must for a table that does not print one
    for row in rows:
        row["denominator"] = ""
    found = attack(rows, populations, lambda _: policy, MEMBERS, PARTNERSHIP.id, rates_rest_on=rates_rest_on)
    exact = {(r.metric_id, r.area_code, r.age_band, r.period): r.numerator for r in values.itertuples()}
    return table, found, leaks(found, exact, rows, lambda _: policy, MEMBERS), exact


DEMO_LIKE = {("2020/21", "all"): {MEMBERS[0]: 7, MEMBERS[1]: 7}, ("2021/22", "all"): {MEMBERS[0]: 3, MEMBERS[1]: 40},
             ("2022/23", "all"): {MEMBERS[0]: 12, MEMBERS[1]: 39}}


def test_the_reader_recovers_counts_when_rates_rest_on_exact_counts() -> None:
    """The attack is real: published the way the project did before issue 14 (every statistic from the exact
    count), rate x population gives every count with a rate back exactly, rounded or not."""
    values = _values(DEMO_LIKE)
    _, found, leaked, exact = _attack(values, HES, restate=lambda v: values, rates_rest_on="exact")
    pinned = {cell for cell, possible in found.items() if len(possible) == 1}
    assert (("m", PARTNERSHIP.id, "all", "2021/22") in pinned) and found[("m", PARTNERSHIP.id, "all", "2021/22")] == {43}
    assert found[("m", MEMBERS[0], "all", "2022/23")] == {12}  # published as "10"
    assert found[("m", MEMBERS[1], "all", "2022/23")] == {39}  # published as "40"
    assert len(leaked) >= 4


def test_the_reader_recovers_nothing_from_the_table_as_published() -> None:
    values = _values(DEMO_LIKE)
    table, found, leaked, exact = _attack(values, HES, restate=restate_from_counts)
    assert leaked == []
    assert all(int(exact[cell]) in possible for cell, possible in found.items())
    total = table.set_index(["area_code", "financial_year"]).loc[(PARTNERSHIP.id, "2021/22")]
    # the partnership's rate is still published, from its rounded count (45 over its population)
    assert total["count"] == "45" and total["count_flag"] == "rounded"  # a hidden member: rounded on its own
    population = sum(POPULATIONS[(c, 2021, "all")] for c in MEMBERS)
    assert total["value"] == f"{45 / population * 100_000:.1f}"


def test_a_rate_beside_a_rounded_count_is_the_rate_of_the_rounded_count() -> None:
    """Reference: Rochford's mid-2022 population (ONS MYE2: 88,267) and 13 events published as "15": the rate
    printed is 15 / 88,267 x 100,000 = 17.0 (13 would print 14.7)."""
    values = _values({("2022/23", "all"): {MEMBERS[0]: 40, MEMBERS[1]: 13}})
    table = published_table(values, PARTNERSHIP, HES, restate_from_counts).set_index("area_code")
    assert table.loc[MEMBERS[1], "count"] == "15"
    assert table.loc[MEMBERS[1], "value"] == "17.0"
    # the partnership adds up: 40 + 15 (controlled total, not an independently rounded 55 = round(53))
    assert table.loc[PARTNERSHIP.id, "count"] == "55"
    assert table.loc[PARTNERSHIP.id, "count_flag"] == "sum of rounded parts"


POLICIES = [
    HES,
    CONFIG.metrics.disclosure_policies["youth_justice"],
    suppress_below(10),
    DisclosurePolicy(name="1-9, tens", suppress_from=1, suppress_to=9, round_to=10, min_count_for_rate=10),
    DisclosurePolicy(name="3-7, fives", suppress_from=3, suppress_to=7, round_to=5, min_count_for_rate=0),
]
small_count = st.one_of(st.integers(0, 12), st.integers(0, 60))


# no shrinking: each example runs the whole attack, and the failing table is printed as found
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(
    policy=st.sampled_from(POLICIES),
    counts=st.lists(st.tuples(small_count, small_count), min_size=3, max_size=3),
    scale=st.sampled_from([0.02, 0.1, 1.0]),
)
def test_property_the_reader_never_narrows_a_protected_count(policy, counts, scale) -> None:
    """Random small-count tables over three years and random (scaled-down) populations: the reader never narrows
    a suppressed or rounded count below the policy's range, and what they keep always holds the truth."""
    populations = {key: max(50.0, round(value * scale)) for key, value in POPULATIONS.items()}
    table_counts = {(period, "all"): dict(zip(MEMBERS, pair, strict=True))
                    for period, pair in zip(YEARS, counts, strict=True)}
    values = _values(table_counts, populations=populations)
    _, found, leaked, exact = _attack(values, policy, restate_from_counts, populations)
    assert leaked == [], leaked
    for cell, possible in found.items():
        assert int(exact[cell]) in possible, (cell, possible)


@pytest.mark.parametrize("policy_id", ["police_recorded", "published_as_is"])
def test_open_sources_are_published_exactly(policy_id: str) -> None:
    policy = CONFIG.metrics.disclosure_policies[policy_id]
    values = _values({("2022/23", "all"): {MEMBERS[0]: 3, MEMBERS[1]: 13}})
    table = published_table(values, PARTNERSHIP, policy, restate_from_counts).set_index("area_code")
    assert list(table["count"]) == ["3", "13", "16"]
    assert set(table["count_flag"]) == {"exact" if policy_id == "police_recorded" else "as published"}
