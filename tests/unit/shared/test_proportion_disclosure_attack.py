"""A reader with a published percentage and its published denominator recovers no suppressed or rounded count, of the
numerator or of the denominator (tests/unit/shared/disclosure_attack.py is the reader: percentage x denominator)."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tasks.compute.metric_values import _proportion_fields, restate_from_counts
from tasks.shared.config import PERCENT, load_partnership_config
from tasks.shared.disclosure import published_table
from tasks.shared.settings import PROJECT_ROOT
from tests.unit.shared.disclosure_attack import attack, denominator_rows, leaks

CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")
PARTNERSHIP = CONFIG.partnership
MEMBERS = PARTNERSHIP.local_authority_codes
HES = CONFIG.metrics.disclosure_policies["hospital_episode"]  # 1-7 hidden, others rounded to 5, no figure under 10


def _values(counts: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Percentages as compute stores them (exact counts): (numerator, denominator) per member, the partnership the
    sum of both."""
    total = (sum(n for n, _ in counts.values()), sum(d for _, d in counts.values()))
    rows = []
    for area, (n, d) in [*counts.items(), (PARTNERSHIP.id, total)]:
        rows.append(dict(metric_id="share", title="t", area_code=area, area_type="lad", period="2022/23",
                         age_band="under_25", numerator=float(n), note=None, value_unit=PERCENT,
                         change_on_previous=None, change_on_previous_percent=None, **_proportion_fields(0.95, n, d)))
    return pd.DataFrame(rows)


def _attack(values: pd.DataFrame, restate, rests_on: str = "published"):
    rows = published_table(values, PARTNERSHIP, HES, restate).to_dict("records")
    cells = rows + denominator_rows(rows)
    found = attack(cells, {}, lambda _: HES, MEMBERS, PARTNERSHIP.id, rates_rest_on=rests_on)
    exact = {("share", r.area_code, r.age_band, r.period): r.numerator for r in values.itertuples()}
    exact |= {("share:denominator", r.area_code, r.age_band, r.period): r.denominator for r in values.itertuples()}
    return rows, found, leaks(found, exact, cells, lambda _: HES, MEMBERS)


# Castle Point 13 of 21 (published "15" of "20"), Rochford 23 of 87
EXAMPLE = {MEMBERS[0]: (13, 21), MEMBERS[1]: (23, 87)}


def test_the_reader_recovers_counts_from_a_percentage_of_exact_counts() -> None:
    """The attack is real: a percentage computed from the exact counts, beside the rounded denominator, gives the
    exact numerator back (61.9% of 18-22 can only be 13 of 21)."""
    values = _values(EXAMPLE)
    rows, found, leaked = _attack(values, restate=lambda v: values, rests_on="exact")
    cp = next(r for r in rows if r["area_code"] == MEMBERS[0])
    assert (cp["count"], cp["denominator"], cp["value"], cp["value_unit"]) == ("15", "20", "61.9", "%")
    assert found[("share", MEMBERS[0], "under_25", "2022/23")] == {13}
    assert any(cell[:2] == ("share", MEMBERS[0]) for cell, *_ in leaked)


def test_the_reader_recovers_nothing_from_the_percentage_as_published() -> None:
    values = _values(EXAMPLE)
    rows, found, leaked = _attack(values, restate=restate_from_counts)
    assert leaked == []
    cp = next(r for r in rows if r["area_code"] == MEMBERS[0])
    # 15 of 20 as published: the percentage says what the two published counts say, nothing more
    assert (cp["count"], cp["denominator"], cp["value"]) == ("15", "20", "75.0")
    assert found[("share", MEMBERS[0], "under_25", "2022/23")] == {13, 14, 15, 16, 17}


def test_a_percentage_is_hidden_with_its_denominator() -> None:
    """A small denominator is suppressed like any count, and takes the percentage with it (percentage x denominator
    would otherwise give it back); a second denominator (Rochford's, the smallest other member) is hidden too, or
    the total would give the small one back."""
    values = _values({MEMBERS[0]: (0, 6), MEMBERS[1]: (30, 80)})
    rows, _, leaked = _attack(values, restate=restate_from_counts)
    cp = next(r for r in rows if r["area_code"] == MEMBERS[0])
    ro = next(r for r in rows if r["area_code"] == MEMBERS[1])
    assert (cp["denominator"], cp["value"]) == ("", "") and "denominator suppressed" in cp["note"]
    assert (ro["denominator"], ro["value"]) == ("", "") and ro["count"] == "30"
    assert leaked == []


@settings(max_examples=60, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=2, max_size=2))
def test_no_count_of_any_percentage_is_recovered(pairs: list[tuple[int, int]]) -> None:
    counts = {area: (n, n + extra) for area, (n, extra) in zip(MEMBERS, pairs, strict=True)}
    values = _values(counts) if all(d > 0 for _, d in counts.values()) else None
    if values is None:
        return  # no percentage of nothing
    _, found, leaked = _attack(values, restate=restate_from_counts)
    assert leaked == [], (counts, leaked)
    for cell, possible in found.items():
        exact = dict(counts)[cell[1]] if cell[1] in counts else (sum(n for n, _ in counts.values()),
                                                                 sum(d for _, d in counts.values()))
        assert exact[1 if cell[0].endswith(":denominator") else 0] in possible
