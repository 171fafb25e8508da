"""Comparison with the region, as OHID Fingertips publishes it: the region found by the export's own parent codes,
its verdicts carried as published, and our fallback test calibrated on the real export's published verdicts."""

from __future__ import annotations

import csv
from collections import Counter

import pandas as pd
import pytest

from tasks.collect.sources.common import InputFileError
from tasks.collect.sources.fingertips import parse_export, regions_of, to_observations
from tasks.compute.board_report import key_message
from tasks.compute.comparisons import compare_with_benchmark
from tasks.compute.metric_values import compute_metric_values
from tasks.shared.config import load_partnership_config
from tasks.shared.settings import PROJECT_ROOT

CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")
REAL = PROJECT_ROOT.parent / "shared" / "data" / "fingertips" / "indicators-CountyUA.data.csv"
DEMO = PROJECT_ROOT / "config/partnerships/castle-point-rochford/inputs/fingertips/" \
    "indicator-11201-hospital-admissions-for-violence.csv"
CP, RO, EAST = "E07000069", "E07000075", "E12000006"


@pytest.mark.skipif(not REAL.exists(), reason="the real Fingertips export is not on this machine")
def test_fingertips_test_reproduces_every_published_verdict_of_the_real_export() -> None:
    """Indicator 93356 (campylobacter, lower is better), 760 County & UA rows: each published 'Compared to Region'
    and 'Compared to England' verdict, where Fingertips compared at all, is the benchmark outside the 95% CI."""
    rows = list(csv.DictReader(REAL.open(newline="", encoding="utf-8")))
    value = {(r["Area Code"], r["Time period"], r["Age"]): r["Value"] for r in rows if not r["Category Type"]}
    tally: Counter = Counter()
    for r in rows:
        if r["Area Type"] != "County & UA" or r["Category Type"]:
            continue
        for column, benchmark in (("Compared to Region value or percentiles", r["Parent Code"]),
                                  ("Compared to England value or percentiles", "E92000001")):
            published = r[column]
            if published == "Not compared":
                continue
            ours = compare_with_benchmark(float(r["Lower CI 95.0 limit"]), float(r["Upper CI 95.0 limit"]),
                                          float(value[(benchmark, r["Time period"], r["Age"])]), "low_is_good")
            tally[(column.split()[2], ours == published)] += 1
    # counts from the file: 142 Better + 174 Similar + 134 Worse by region; 283 + 220 + 247 by England
    assert tally == {("Region", True): 450, ("England", True): 750}


@pytest.mark.skipif(not REAL.exists(), reason="the real Fingertips export is not on this machine")
def test_region_is_the_authorities_ancestor_in_the_real_export() -> None:
    frame = parse_export(REAL.read_bytes(), REAL.name)
    assert regions_of(frame, ["E06000001"]) == ["E12000001"]  # Hartlepool: North East
    assert regions_of(frame, ["E10000012", "E06000033"]) == [EAST]  # Essex and Southend: one region
    assert regions_of(frame, ["E07000069"]) == []  # a district is not in a County & UA export


def _demo_observations() -> pd.DataFrame:
    frame = parse_export(DEMO.read_bytes(), DEMO.name)
    return to_observations(frame, CONFIG.partnership.local_authority_codes, [11201], CONFIG.partnership.id, 1, DEMO.name)


def test_demo_region_found_through_the_county_and_carried_with_published_verdicts() -> None:
    observations = _demo_observations()
    region = observations[observations["area_code"] == EAST]
    assert set(region["area_type"]) == {"region"}  # district -> Essex (E10000012) -> East of England
    assert "E10000012" not in set(observations["area_code"])  # the county itself is not the partnership's
    values = compute_metric_values(observations, CONFIG.partnership, CONFIG.metrics, 2022).values
    latest = values[(values["metric_id"] == "hospital_admissions_violence_fingertips")
                    & (values["period"] == "2022/23")].set_index("area_code")
    assert latest.loc[EAST, "value"] == 31.1978474703291  # the region's value exactly as published
    # the file's own columns, word for word (Rochford's England verdict is published at the 99.8% level)
    assert latest.loc[CP, ["compared_with_england", "compared_with_region"]].tolist() == ["Similar", "Similar"]
    assert latest.loc[RO, ["compared_with_england", "compared_with_region"]].tolist() == ["Better 99.8%", "Similar"]


def test_without_a_published_verdict_the_region_is_compared_by_fingertips_test() -> None:
    observations = _demo_observations()
    observations = observations[~observations["measure"].str.contains("compared_with")]
    values = compute_metric_values(observations, CONFIG.partnership, CONFIG.metrics, 2022).values
    latest = values[(values["metric_id"] == "hospital_admissions_violence_fingertips")
                    & (values["period"] == "2022/23")].set_index("area_code")
    # Rochford 27.3 (21.2 to 34.6) against the region's 31.2 and England's 40.1 (lower is better)
    assert latest.loc[RO, ["compared_with_england", "compared_with_region"]].tolist() == ["Better", "Similar"]


def test_an_unknown_published_verdict_is_refused_by_row_and_column() -> None:
    text = DEMO.read_text(encoding="utf-8").replace(",Similar,Similar,", ",Similar,Much better,", 1)
    frame = parse_export(text.encode(), DEMO.name)
    with pytest.raises(InputFileError, match=r"row \d+, column 'Compared to Region value or percentiles'.*"
                                             "Much better"):
        to_observations(frame, CONFIG.partnership.local_authority_codes, [11201], "p", 1, DEMO.name)


def test_key_message_names_england_and_the_region_with_the_published_level() -> None:
    row = {"count": "330", "value": "27.3", "change_on_previous_year_percent": "-2.2",
           "compared_with_england": "Better 99.8%", "compared_with_region": "Similar"}
    sentence = key_message("Violence admissions", "all ages", "2022/23", row, policy=None, is_count=False,
                           england={"value": "40.1"},
                           region={"value": "31.2", "area_name": "East of England region"})
    assert sentence == ("Violence admissions (all ages): 27.3 per 100,000 in 2022/23 (330 recorded), down 2.2% on "
                        "2021/22; better than England (40.1; 99.8% level); similar to East of England region (31.2).")
