"""Published outputs never show a count or rate that the disclosure policy protects, nor one that can be
worked back from a total (secondary suppression), checked on fixed cases and on many random tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tasks.compute.metric_values import restate_from_counts
from tasks.shared.config import DisclosurePolicy, load_partnership_config
from tasks.shared.disclosure import (
    PRIMARY,
    SECONDARY,
    SECONDARY_NOTE,
    SUM_OF_ROUNDED,
    count_flag,
    publish_count,
    suppress_below,
    suppression_pattern,
)
from tasks.shared.disclosure import published_table as _published_table
from tasks.shared.settings import PROJECT_ROOT


def published_table(values, partnership, policy):
    """The table as the compute stage publishes it: every statistic restated from the published counts."""
    return _published_table(values, partnership, policy, restate_from_counts)


NHS = DisclosurePolicy(name="NHS", suppress_from=1, suppress_to=7, suppressed_symbol="*", round_to=5,
                       min_count_for_rate=10)
CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")


@pytest.mark.parametrize(
    ("count", "shown"),
    [(0, "0"), (1, ""), (7, ""), (8, "10"), (12, "10"), (13, "15"), (17, "15"), (18, "20"), (102, "100"),
     (None, "")],
)
def test_nhs_style_counts(count, shown: str) -> None:
    # a suppressed count is blank (no text in a numeric column) and flagged in count_flag instead of "*"
    assert publish_count(count, NHS) == shown
    if count is not None:
        assert count_flag(count, NHS) == ("suppressed" if 1 <= count <= 7 else "rounded")


def _value(metric, area, period, count, rate, change=None, method="crude rate, Byar 95.0% CI"):
    return dict(metric_id=metric, title="t", area_code=area, period=period, age_band="all", numerator=count,
                denominator=100_000.0, value=rate, lower_ci_95=rate * 0.8 if rate else None,
                upper_ci_95=rate * 1.2 if rate else None, method=method, change_on_previous_percent=change, note=None,
                multiplier=1 if method == "count" else 100_000)


def test_rates_and_changes_hidden_where_counts_are_small() -> None:
    values = pd.DataFrame([
        _value("m", "E07000069", "2022/23", 9, 9.0, change=50.0),
        _value("m", "E07000069", "2021/22", 6, 6.0),
        _value("m", "E07000075", "2022/23", 40, 40.0, change=-20.0),
        _value("m", "E07000075", "2021/22", 50, 50.0),
    ])
    table = published_table(values, CONFIG.partnership, NHS).set_index(["area_code", "financial_year"])
    small = table.loc[("E07000069", "2022/23")]
    # the rate is that of the PUBLISHED count (10 over 100,000), not of the exact 9: shown, since "10" is not under
    # 10, and hiding it would tell the reader the count was 8 or 9 (the old expectation, a blank rate here, did)
    assert (small["count"], small["count_flag"], small["value"]) == ("10", "rounded", "10.0")
    assert small["change_on_previous_year_percent"] == ""  # the year before is suppressed
    assert (table.loc[("E07000069", "2021/22"), "count"], table.loc[("E07000069", "2021/22"), "count_flag"]) == (
        "", "suppressed")
    large = table.loc[("E07000075", "2022/23")]
    assert (large["count"], large["value"], large["change_on_previous_year_percent"]) == ("40", "40.0", "-20.0")
    low = table.loc[("E07000069", "2021/22")]
    assert low["value"] == "" and low["note"] == SECONDARY_NOTE
    assert large["area_name"] == "Rochford"
    # no exact small count of the internal table survives into the published one
    assert not set(table["count"]) & {"1", "2", "3", "4", "6", "7", "9"}


# --- "suppress below N" and secondary suppression ---------------------------------------------------------

TOTAL = CONFIG.partnership.id
CASTLE_POINT, ROCHFORD = CONFIG.partnership.local_authority_codes


@pytest.mark.parametrize(("count", "shown"), [(0, "0"), (1, ""), (9, ""), (10, "10"), (11, "11"), (137, "137")])
def test_suppress_below_n_style(count: int, shown: str) -> None:
    policy = suppress_below(10)
    assert (policy.suppress_from, policy.suppress_to, policy.round_to, policy.min_count_for_rate) == (1, 9, 1, 10)
    assert publish_count(count, policy) == shown


@pytest.mark.parametrize(
    ("counts", "policy", "expected"),
    [
        ({"A": 3, "B": 50, "C": 12, "T": 65}, NHS, {"A": PRIMARY, "C": SECONDARY}),  # next smallest member
        ({"A": 3, "B": 40, "T": 43}, NHS, {"A": PRIMARY, "B": SECONDARY}),
        ({"A": 3, "B": 0, "C": 50, "T": 53}, NHS, {"A": PRIMARY, "C": SECONDARY}),  # a zero would protect little
        ({"A": 2, "B": 5, "C": 50, "T": 57}, NHS, {"A": PRIMARY, "B": PRIMARY}),  # two hidden: nothing to add
        ({"A": 7, "B": 7, "T": 14}, suppress_below(8), {"A": PRIMARY, "B": PRIMARY, "T": SECONDARY}),  # 14 = 7 + 7
        # was {A, B} only ("15" may be 13 to 17: no single value), but 13-17 minus a count of at most 7 leaves each
        # hidden 7 only 6 or 7: narrowed from seven values to two, so the total is hidden too
        ({"A": 7, "B": 7, "T": 14}, NHS, {"A": PRIMARY, "B": PRIMARY, "T": SECONDARY}),
        ({"A": 2, "B": 3, "T": 5}, NHS, {"A": PRIMARY, "B": PRIMARY, "T": PRIMARY}),
        ({"A": 3, "T": 3}, NHS, {"A": PRIMARY, "T": PRIMARY}),
        ({"A": 20, "B": 30, "T": 50}, NHS, {}),
        ({"A": 3, "B": 40}, NHS, {"A": PRIMARY}),  # no total: nothing to work back from
    ],
)
def test_suppression_pattern(counts, policy, expected) -> None:
    assert suppression_pattern(counts, policy, "T" if "T" in counts else None) == expected


def test_only_the_total_small_hides_a_member_too() -> None:
    policy = DisclosurePolicy(name="3 to 7", suppress_from=3, suppress_to=7, round_to=1, min_count_for_rate=10)
    assert suppression_pattern({"A": 1, "B": 2, "T": 3}, policy, "T") == {"T": PRIMARY, "A": SECONDARY}


def _group_values(metric, period, members: dict, method="crude rate, Byar 95.0% CI", band="all", change=None):
    rows = []
    for area, count in [*members.items(), (TOTAL, sum(members.values()))]:
        rate = count / 100_000 * 100_000 if method != "count" else count
        rows.append(dict(_value(metric, area, period, count, rate, change=change, method=method), age_band=band))
    return rows


def test_secondary_suppression_in_the_published_table() -> None:
    values = pd.DataFrame(
        _group_values("m", "2022/23", {CASTLE_POINT: 3, ROCHFORD: 40}, change=12.0)
        + _group_values("m", "2023/24", {CASTLE_POINT: 30, ROCHFORD: 44}, change=10.0)
    )
    table = published_table(values, CONFIG.partnership, NHS).set_index(["area_code", "financial_year"])
    small, protecting, total = (table.loc[(a, "2022/23")] for a in (CASTLE_POINT, ROCHFORD, TOTAL))
    assert (small["count"], protecting["count"], total["count"]) == ("", "", "45")
    assert small["count_flag"] == protecting["count_flag"] == "suppressed"
    # the same note on both hidden cells, so it does not tell which one is small
    assert small["note"] == protecting["note"] == SECONDARY_NOTE
    assert protecting["value"] == protecting["lower_ci_95"] == protecting["upper_ci_95"] == ""
    # the total's rate is that of its published 45, not of the exact 43 (rate x population gave 43 back before)
    assert total["value"] == "45.0" and total["note"] == ""
    # a change on a hidden year would give its rate back
    assert table.loc[(ROCHFORD, "2023/24"), "change_on_previous_year_percent"] == ""
    # the change between the published rates: 75 (30 + 45, the sum of the rounded parts) on 45
    assert table.loc[(TOTAL, "2023/24"), "change_on_previous_year_percent"] == "66.7"
    assert table.loc[(ROCHFORD, "2023/24"), "count"] == "45"
    assert table.loc[(TOTAL, "2023/24"), "count_flag"] == SUM_OF_ROUNDED


def _feasible_values(shown: dict[str, str], policy: DisclosurePolicy, controlled: bool, cap: int) -> dict[str, set]:
    """Every value a reader could give each hidden cell of a two-member group (members a, b; total a + b),
    knowing the policy and the rounding of the shown cells; every hidden cell carries the same note, which says
    only that some hidden cell of the group is small."""
    a, b = np.meshgrid(np.arange(cap + 1), np.arange(cap + 1), indexing="ij")
    cells = {CASTLE_POINT: a, ROCHFORD: b, TOTAL: a + b}
    ok = np.ones_like(a, dtype=bool)
    hidden = [k for k, s in shown.items() if s == ""]
    for key, text in shown.items():
        if key in hidden or (key == TOTAL and controlled):
            continue  # a controlled total is the sum of the shown parts: no constraint of its own
        value = cells[key]  # the exact values that round to what is shown (found by brute force)
        ok &= np.floor(value / policy.round_to + 0.5) * policy.round_to == int(text)
        ok &= ~((policy.suppress_from <= value) & (value <= policy.suppress_to))
    small = [(policy.suppress_from <= cells[k]) & (cells[k] <= policy.suppress_to) for k in hidden]
    ok &= np.logical_or.reduce(small)  # at least one hidden cell is small
    return {k: set(np.unique(cells[k][ok]).tolist()) for k in hidden}


POLICIES = [
    NHS,
    suppress_below(5),
    suppress_below(10),
    DisclosurePolicy(name="1-9, tens", suppress_from=1, suppress_to=9, round_to=10, min_count_for_rate=10),
    DisclosurePolicy(name="3-7 exact", suppress_from=3, suppress_to=7, round_to=1, min_count_for_rate=10),
]


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_property_no_published_table_gives_a_hidden_count_away(policy: DisclosurePolicy) -> None:
    rng = np.random.default_rng(20240131)
    symbol = ""
    for _ in range(60):
        rows = []
        for metric, method in (("rate_m", "crude rate, Byar 95.0% CI"), ("count_m", "count")):
            for band in ("all", "0-24"):
                for period in ("2021/22", "2022/23"):
                    members = {
                        area: int(rng.integers(0, 12) if rng.random() < 0.5 else rng.integers(0, 70))
                        for area in (CASTLE_POINT, ROCHFORD)
                    }
                    rows += _group_values(metric, period, members, method, band, change=float(rng.normal(0, 20)))
        values = pd.DataFrame(rows)
        table = published_table(values, CONFIG.partnership, policy)
        exact = {(r.metric_id, r.area_code, r.age_band, r.period): r.numerator for r in values.itertuples()}
        hidden_keys = {(r.measure, r.area_code, r.age_band, r.financial_year)
                       for r in table.itertuples() if r.count == symbol}
        for row in table.itertuples():
            if row.count != symbol:
                shown = int(row.count)
                assert shown % policy.round_to == 0, row
                assert not policy.suppress_from <= shown <= policy.suppress_to, row
            else:
                assert row.value == row.lower_ci_95 == row.upper_ci_95 == "", row
            prior = f"{int(row.financial_year[:4]) - 1}/{row.financial_year[2:4]}"
            if (row.measure, row.area_code, row.age_band, prior) in hidden_keys or row.count == symbol:
                assert row.change_on_previous_year_percent == "", row
        for (_, _, _), group in table.groupby(["measure", "age_band", "financial_year"]):
            shown = dict(zip(group["area_code"], group["count"], strict=True))
            hidden = [k for k, s in shown.items() if s == symbol]
            assert len(hidden) != 1, shown  # never a lone hidden cell next to its total
            if not hidden:
                continue
            assert all(note == SECONDARY_NOTE for note, s in zip(group["note"], group["count"], strict=True)
                       if s == symbol)
            controlled = SUM_OF_ROUNDED in set(group["count_flag"])
            key = group.iloc[0]
            cap = 2 * max(exact[(key.measure, a, key.age_band, key.financial_year)] for a in shown) + 20
            for cell, possible in _feasible_values(shown, policy, controlled, cap).items():
                true = exact[(key.measure, cell, key.age_band, key.financial_year)]
                assert true in possible, (shown, cell)
                assert len(possible) >= 2, (shown, cell, possible)


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: p.name)
def test_property_groups_of_any_size_never_keep_a_lone_hidden_cell(policy: DisclosurePolicy) -> None:
    rng = np.random.default_rng(7)
    for _ in range(2000):
        size = int(rng.integers(1, 7))
        counts = {f"A{i}": int(rng.integers(0, 10) if rng.random() < 0.6 else rng.integers(0, 200))
                  for i in range(size)}
        if rng.random() < 0.1:
            counts["A0"] = None  # a member without data
        counts["T"] = sum(c for c in counts.values() if c is not None) + (int(rng.integers(0, 15))
                                                                            if counts["A0"] is None else 0)
        pattern = suppression_pattern(counts, policy, "T")
        # a lone hidden cell only where a member without data leaves the sum open anyway
        assert len(pattern) != 1 or counts["A0"] is None, (counts, pattern)
        assert all(k in pattern for k, c in counts.items() if c is not None
                   and policy.suppress_from <= c <= policy.suppress_to)
        if SECONDARY in pattern.values():
            assert PRIMARY in pattern.values()


@pytest.mark.parametrize(
    ("round_to", "good", "bad"),
    # blank (suppressed, flagged in count_flag) replaces "*": no text in a numeric column
    [(5, ["", "0", "5", "10", "1235"], ["3", "12", "*", "5.0"]),
     (1, ["", "0", "3", "12"], ["*", "1.5"]),
     (10, ["", "0", "10", "120"], ["5", "15", "*"]),
     (50, ["", "0", "50", "150"], ["25", "10"])],
)
def test_published_count_pattern_follows_the_policy(round_to: int, good: list[str], bad: list[str]) -> None:
    import re

    from tasks.shared.disclosure import published_count_pattern

    # suppressing below half the base, as the configuration demands (8 would round to 0 under fifties)
    policy = DisclosurePolicy(name="p", round_to=round_to, suppress_to=max(7, round_to // 2 - 1))
    pattern = re.compile(published_count_pattern(policy))
    assert all(pattern.match(v) for v in good) and not any(pattern.match(v) for v in bad)


def test_each_metric_is_published_under_its_own_policy() -> None:
    from tasks.shared.config import MetricsFile
    from tasks.shared.disclosure import published_table_by_policy

    data = CONFIG.metrics.model_dump()
    data["disclosure_policies"] = {**data["disclosure_policies"], "police-below-5": {"name": "Police (1-4 suppressed)", "suppress_from": 1,
                                                      "suppress_to": 4, "round_to": 1, "min_count_for_rate": 10}}
    for metric in data["metrics"]:
        if metric["id"] == "police_robbery":
            metric["disclosure_policy"] = "police-below-5"
    metrics = MetricsFile.model_validate(data)
    values = pd.DataFrame([
        _value("police_robbery", "E07000069", "2022/23", 6, 6.0),
        _value("police_robbery", "E07000075", "2022/23", 13, 13.0),
        _value("police_robbery", "castle-point-rochford", "2022/23", 19, 19.0),
        _value("police_knife_crime", "E07000069", "2022/23", 6, 6.0),
        _value("police_knife_crime", "E07000075", "2022/23", 13, 13.0),
        _value("police_knife_crime", "castle-point-rochford", "2022/23", 19, 19.0),
    ])
    table = published_table_by_policy(values, CONFIG.partnership, metrics, restate_from_counts).set_index(
        ["measure", "area_code"])
    assert len(table) == 6
    assert table.loc[("police_robbery", "E07000069"), "count"] == "6"  # police policy: exact above 4
    assert table.loc[("police_robbery", "E07000075"), "count"] == "13"
    # police_knife_crime follows its dataset's policy (police_recorded: exact, as the Home Office publishes it)
    assert table.loc[("police_knife_crime", "E07000069"), "count"] == "6"
    assert table.loc[("police_knife_crime", "E07000069"), "disclosure_policy"] == "police_recorded"
    assert metrics.policy_for("police_robbery").name == "Police (1-4 suppressed)"


def test_an_unknown_policy_name_is_a_configuration_error() -> None:
    from pydantic import ValidationError

    from tasks.shared.config import MetricsFile

    data = CONFIG.metrics.model_dump()
    data["metrics"][0]["disclosure_policy"] = "nowhere"
    with pytest.raises(ValidationError, match="disclosure_policy 'nowhere' is not in disclosure_policies"):
        MetricsFile.model_validate(data)


def test_each_source_follows_its_publishers_policy() -> None:
    """The demo's datasets map to the policies of their publishers (config/metrics.yaml: dataset_disclosure)."""
    metrics = CONFIG.metrics
    assert metrics.policy_name("hospital_admissions_sharp_object") == "hospital_episode"
    assert metrics.policy_name("ae_assault_attendances") == "hospital_episode"
    assert metrics.policy_name("police_knife_crime") == "police_recorded"
    assert metrics.policy_name("police_robbery") == "police_recorded"
    assert metrics.policy_name("youth_justice_first_time_entrants") == "youth_justice"
    assert metrics.policy_name("hospital_admissions_violence_fingertips") == "published_as_is"
    assert metrics.policy_for("police_robbery").exact and metrics.policy_for("hospital_admissions_violence_fingertips").exact
    assert not metrics.policy_for("hospital_admissions_sharp_object").exact


def test_a_fingertips_figure_is_never_re_rounded() -> None:
    policy = CONFIG.metrics.disclosure_policies["published_as_is"]
    assert publish_count(123, policy) == "123" and publish_count(3, policy) == "3"
    assert count_flag(3, policy) == "as published"


def test_an_unknown_dataset_policy_is_a_configuration_error() -> None:
    from pydantic import ValidationError

    from tasks.shared.config import MetricsFile

    data = CONFIG.metrics.model_dump()
    data["dataset_disclosure"]["police_street"] = "nowhere"
    with pytest.raises(ValidationError, match=r"dataset_disclosure\[police_street\]: policy 'nowhere'"):
        MetricsFile.model_validate(data)


def test_a_policy_that_would_publish_a_shown_count_as_zero_is_refused_in_one_line() -> None:
    import pydantic

    # 1-7 suppressed, fifties: 8 rounds half up to 0 (8/50 + 0.5 < 1), published as if nothing happened
    with pytest.raises(pydantic.ValidationError) as refused:
        DisclosurePolicy(name="fifties", suppress_from=1, suppress_to=7, round_to=50)
    assert ("round_to 50 would publish 8, the smallest count shown, as 0 (a count is shown as 0 below half the base): "
            "suppress up to at least 24 or round to at most 16") in str(refused.value)
    # at the boundary the smallest shown count rounds up to the base: 25 -> 50 (fifties), 8 -> 16 (sixteens)
    assert DisclosurePolicy(name="ok", suppress_from=1, suppress_to=24, round_to=50).round_to == 50
    assert DisclosurePolicy(name="ok", suppress_from=1, suppress_to=7, round_to=16).round_to == 16
    # no suppression at all (rounding only), or figures carried as their producer published them: not this rule
    assert DisclosurePolicy(name="round", suppress_from=1, suppress_to=0, round_to=50).round_to == 50
    assert DisclosurePolicy(name="as published", suppress_to=7, round_to=50, as_published=True).as_published
