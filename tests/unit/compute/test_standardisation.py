"""ESP2013 and the mapping of our age bands onto it, and a DSR built from single-year populations."""

from __future__ import annotations

import json
import math

import pytest

from tasks.compute.standard_populations import (
    ESP2013,
    ESP2013_BANDS,
    ESP2013_WEIGHTS,
    esp2013_band,
    to_esp2013_bands,
)
from tasks.compute.statistics import StatisticsInputError, directly_standardised_rate
from tasks.shared.settings import PROJECT_ROOT

# PHEindicatormethods' esp2013 vector (ukhsa-collaboration/PHEindicatormethods, data-raw/LoadTestdata.R)
PACKAGE_ESP2013 = [5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500, 5000, 4000,
                   2500, 1500, 1000]


def test_esp2013_is_the_package_vector() -> None:
    assert list(ESP2013_WEIGHTS) == PACKAGE_ESP2013
    assert sum(ESP2013.values()) == 100_000
    assert len(ESP2013) == 19
    assert list(ESP2013) == list(ESP2013_BANDS)
    assert ESP2013_BANDS[0] == "0-4" and ESP2013_BANDS[-2] == "85-89" and ESP2013_BANDS[-1] == "90+"
    with pytest.raises(TypeError):
        ESP2013["0-4"] = 1  # read-only


@pytest.mark.parametrize(
    ("label", "band"),
    [("0", "0-4"), ("4", "0-4"), ("5", "5-9"), ("17", "15-19"), ("89", "85-89"), ("90+", "90+"), ("95", "90+"),
     ("0-4", "0-4"), ("20-24", "20-24"), ("10-12", "10-14"), ("90-94", "90+")],
)
def test_band_of_an_age_or_range(label: str, band: str) -> None:
    assert esp2013_band(label) == band


@pytest.mark.parametrize("label", ["85+", "18-24", "0-9", "unknown", "all", "", "9-5"])
def test_labels_that_cannot_be_placed_in_one_band(label: str) -> None:
    with pytest.raises(StatisticsInputError):
        esp2013_band(label)


def test_single_year_population_to_esp_bands() -> None:
    population = {str(age): 100.0 + age for age in range(90)} | {"90+": 500.0}
    banded = to_esp2013_bands(population)
    assert list(banded) == list(ESP2013_BANDS)
    assert banded["0-4"] == sum(100.0 + a for a in range(5))
    assert banded["85-89"] == sum(100.0 + a for a in range(85, 90))
    assert banded["90+"] == 500.0
    assert sum(banded.values()) == pytest.approx(sum(population.values()))


def test_banded_counts_to_esp_bands_fill_zero_and_skip_missing() -> None:
    banded = to_esp2013_bands({"15-19": 4, "20-24": 7, "25-29": None, "30": 1, "31": math.nan})
    assert banded["15-19"] == 4 and banded["20-24"] == 7 and banded["30-34"] == 1
    assert banded["0-4"] == 0 and banded["25-29"] == 0


def test_unmappable_labels_are_named_in_the_error() -> None:
    with pytest.raises(StatisticsInputError, match="18-24, unknown"):
        to_esp2013_bands({"0-4": 1, "18-24": 3, "unknown": 2})


def test_dsr_from_single_year_population_and_banded_counts() -> None:
    # PHE's testdata_big (PHEindicatormethods testdata_DSR_ISR.xlsx; tests/fixtures/statistics-reference.json) with
    # each band's population spread over its single years of age and the counts keyed by our band labels: the
    # banding must give back PHE's Excel result, 10,430.25 (9,323.29 to 11,620.60 at 99.8%) per 100,000
    data = json.loads((PROJECT_ROOT / "tests/fixtures/statistics-reference.json").read_text())["dsr"]
    big = data["inputs"]["testdata_big"]
    [result] = [r for r in data["results"] if r["area"] == "testdata_big" and r["multiplier"] == 100_000]
    population: dict[str, float] = {"90+": big["populations"][-1]}
    for first, band_population in zip(range(0, 90, 5), big["populations"][:-1], strict=True):
        shares = [band_population // 5] * 4 + [band_population - 4 * (band_population // 5)]
        population |= {str(first + i): float(share) for i, share in enumerate(shares)}
    counts = dict(zip(ESP2013_BANDS, big["counts"], strict=True))
    got = directly_standardised_rate(to_esp2013_bands(counts), to_esp2013_bands(population), confidence=0.998)
    assert got.total_population == result["total_population"]
    assert got.value == pytest.approx(result["value"], rel=1e-6)
    assert got.lower == pytest.approx(result["lower998"], rel=1e-6)
    assert got.upper == pytest.approx(result["upper998"], rel=1e-6)


def test_dsr_refuses_an_esp_band_without_population() -> None:
    population = {str(age): 1000.0 for age in range(90)}  # no 90+
    with pytest.raises(StatisticsInputError, match="population for age band 90\\+ must be greater than zero"):
        directly_standardised_rate(to_esp2013_bands({"20-24": 12}), to_esp2013_bands(population))
