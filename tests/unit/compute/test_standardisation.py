"""ESP2013 and the mapping of our age bands onto it, and a DSR built from single-year populations."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

from tasks.compute.standard_populations import (
    ESP2013,
    ESP2013_BANDS,
    ESP2013_WEIGHTS,
    esp2013_band,
    to_esp2013_bands,
)
from tasks.compute.statistics import StatisticsInputError, directly_standardised_rate

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
    population = {str(age): 1000.0 + 10 * (age % 7) for age in range(90)} | {"90+": 800.0}
    counts = {"15-19": 6, "20-24": 9, "25-29": 4, "40-44": 2, "90+": 1}
    pops = to_esp2013_bands(population)
    result = directly_standardised_rate(to_esp2013_bands(counts), pops, confidence=0.998)
    # written out independently: sum of age-specific rates x ESP weight / 100,000, Dobson limits (Byar at 99.8%)
    rates = {band: counts.get(band, 0) / pops[band] for band in ESP2013_BANDS}
    weights = dict(zip(ESP2013_BANDS, PACKAGE_ESP2013, strict=True))
    dsr = sum(rates[b] * w for b, w in weights.items()) / 100_000
    var = sum(counts.get(b, 0) * (w / pops[b]) ** 2 for b, w in weights.items()) / 100_000**2
    o, z = 22, norm.ppf(0.999)
    o_low = o * (1 - 1 / (9 * o) - z / (3 * math.sqrt(o))) ** 3
    o_high = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * math.sqrt(o + 1))) ** 3
    assert result.value == pytest.approx(dsr * 100_000, rel=1e-9)
    assert result.lower == pytest.approx((dsr + math.sqrt(var / o) * (o_low - o)) * 100_000, rel=1e-6)
    assert result.upper == pytest.approx((dsr + math.sqrt(var / o) * (o_high - o)) * 100_000, rel=1e-6)


def test_dsr_refuses_an_esp_band_without_population() -> None:
    population = {str(age): 1000.0 for age in range(90)}  # no 90+
    with pytest.raises(StatisticsInputError, match="population for age band 90\\+ must be greater than zero"):
        directly_standardised_rate(to_esp2013_bands({"20-24": 12}), to_esp2013_bands(population))
