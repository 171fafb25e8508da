"""Standard populations for direct age standardisation, and mapping our age bands onto them (pure).

The 2013 European Standard Population (ESP2013) is the standard OHID Fingertips uses: 19 five-year bands
0-4 ... 85-89 and 90+, weights summing to 100,000. The weights are those of PHEindicatormethods'
``esp2013`` data set (ukhsa-collaboration/PHEindicatormethods, data-raw/LoadTestdata.R and data/esp2013.rda),
which reproduces Eurostat's "Revision of the European Standard Population" (2013 edition).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from types import MappingProxyType

from tasks.compute.statistics import StatisticsInputError

ESP2013_BANDS: tuple[str, ...] = (
    "0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49",
    "50-54", "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85-89", "90+",
)
ESP2013_WEIGHTS: tuple[int, ...] = (
    5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000,
    7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500, 1000,
)
ESP2013: Mapping[str, int] = MappingProxyType(dict(zip(ESP2013_BANDS, ESP2013_WEIGHTS, strict=True)))
"""ESP2013 as band label -> weight, in age order (read-only)."""

_AGE_LABEL = re.compile(r"^\s*(\d+)\s*(?:(?:-|\u2013|to)\s*(\d+)|(\+))?\s*$")  # 0-4, 0 to 4, or an en dash
_OPEN_ENDED = 200


def _bounds(label: str) -> tuple[int, int] | None:
    """'7' -> (7, 7), '0-4' -> (0, 4), '90+' -> (90, 200); anything else -> None."""
    match = _AGE_LABEL.match(str(label))
    if not match:
        return None
    low = int(match.group(1))
    if match.group(3):
        return low, _OPEN_ENDED
    high = int(match.group(2)) if match.group(2) else low
    return (low, high) if high >= low else None


_ESP_BOUNDS = tuple(_bounds(band) for band in ESP2013_BANDS)


def esp2013_band(age_label: str) -> str:
    """The ESP2013 band holding a single year of age or an age band ('17' -> '15-19', '0-4' -> '0-4')."""
    bounds = _bounds(age_label)
    if bounds is None:
        raise StatisticsInputError(f"age band {age_label!r} is not an age or an age range (like '7', '0-4', '90+')")
    for band, (low, high) in zip(ESP2013_BANDS, _ESP_BOUNDS, strict=True):
        if low <= bounds[0] and bounds[1] <= high:
            return band
    raise StatisticsInputError(
        f"age band {age_label!r} spans more than one ESP2013 band, so it cannot be standardised; "
        "supply single years of age or bands inside the ESP2013 five-year bands"
    )


def to_esp2013_bands(values: Mapping[str, float | None]) -> dict[str, float]:
    """Single years ('0'..'89', '90+') or bands inside ESP2013 bands, summed into the 19 ESP2013 bands.

    Bands with nothing mapped to them are 0 (a missing population band is then refused by the DSR).
    Missing values (None/NaN) count as 0, as PHEindicatormethods' na.zero does for event counts.
    """
    totals = dict.fromkeys(ESP2013_BANDS, 0.0)
    unusable = []
    for label, value in values.items():
        try:
            band = esp2013_band(label)
        except StatisticsInputError:
            unusable.append(str(label))
            continue
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            totals[band] += float(value)
    if unusable:
        raise StatisticsInputError(
            f"age bands {', '.join(sorted(unusable))} cannot be mapped to ESP2013 five-year bands "
            "(unknown ages must be excluded or apportioned before standardising)"
        )
    return totals
