"""Public-health statistics as UKHSA's PHEindicatormethods computes them (pure functions, no I/O).

Reference implementation: ukhsa-collaboration/PHEindicatormethods (R), files R/utils.R (byars_lower,
byars_upper, wilson_lower, wilson_upper), R/Rates.R (phe_rate), R/DSR.R (phe_dsr / calculate_dsr),
R/Proportions.R (phe_proportion) and R/ISRatio.R (calculate_ISRatio, formerly phe_smr). Every function
takes a ``confidence`` level; Fingertips publishes 0.95 and 0.998. As in the package, a level may be
given as a fraction in [0.9, 1) or as a percentage in [90, 100).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scipy.stats import chi2, norm

from tasks.shared.values import is_missing

FINGERTIPS_LEVELS = (0.95, 0.998)
MIN_DSR_COUNT = 10  # phe_dsr: "When the total count is < 10 DSRs are not reliable and will not be calculated"
EXACT_BELOW = 10  # phe_rate / calculate_ISRatio: exact Poisson limits under 10 events, Byar's from 10

Values = Mapping[str, float | None] | Sequence[float | None]


class StatisticsInputError(ValueError):
    """An input a public-health method refuses: negative counts, non-positive denominators, bad levels."""


@dataclass(frozen=True)
class RateEstimate:
    """A rate with its confidence interval, and the method that produced the interval."""

    count: float
    denominator: float
    value: float
    lower: float
    upper: float
    method: str
    confidence: float
    multiplier: int


@dataclass(frozen=True)
class StandardisedRate:
    """A directly standardised rate; value and limits are None (with the reason) when not computed."""

    total_count: float
    total_population: float
    value: float | None
    lower: float | None
    upper: float | None
    confidence: float
    multiplier: float
    method: str
    reason: str | None = None


@dataclass(frozen=True)
class ProportionEstimate:
    """A proportion (times ``multiplier``) with its Wilson score interval."""

    numerator: float
    denominator: float
    value: float
    lower: float
    upper: float
    confidence: float
    multiplier: float
    method: str = "Wilson"


@dataclass(frozen=True)
class RatioEstimate:
    """An indirectly standardised ratio (observed / expected x multiplier) with its Poisson interval."""

    observed: float
    expected: float
    value: float
    lower: float
    upper: float
    confidence: float
    multiplier: float
    method: str


def _check_count(count: float) -> None:
    if is_missing(count):
        raise StatisticsInputError("count is missing")
    if count < 0:
        raise StatisticsInputError(f"count must not be negative (got {count})")
    if count != int(count):
        raise StatisticsInputError(f"count must be a whole number (got {count})")


def _check_denominator(denominator: float, what: str = "denominator") -> None:
    if is_missing(denominator) or denominator <= 0:
        raise StatisticsInputError(f"{what} must be greater than zero (got {denominator})")


def normalise_confidence(confidence: float) -> float:
    """0.95 or 95 -> 0.95; refuses levels outside [0.9, 1) as PHEindicatormethods does."""
    if is_missing(confidence):
        raise StatisticsInputError("confidence level is missing")
    level = confidence / 100 if confidence >= 90 else confidence
    if not 0.9 <= level < 1:
        raise StatisticsInputError(
            f"confidence level must be between 0.9 and 1 (or 90 and 100), got {confidence}"
        )
    return float(level)


def _check_confidence(confidence: float) -> float:
    """The two-sided tail probability alpha of a confidence level (kept for existing callers)."""
    return 1 - normalise_confidence(confidence)


def z_value(confidence: float) -> float:
    """The normal quantile of a two-sided level: qnorm(confidence + (1 - confidence) / 2) in the package."""
    level = normalise_confidence(confidence)
    return float(norm.ppf(level + (1 - level) / 2))


def exact_poisson_interval(count: float, confidence: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood, chi-squared) interval for a Poisson count: qchisq(a/2, 2x)/2, qchisq(1-a/2, 2x+2)/2."""
    _check_count(count)
    alpha = _check_confidence(confidence)
    lower = 0.0 if count == 0 else chi2.ppf(alpha / 2, 2 * count) / 2
    upper = chi2.ppf(1 - alpha / 2, 2 * (count + 1)) / 2
    return float(lower), float(upper)


def byar_interval(count: float, confidence: float = 0.95) -> tuple[float, float]:
    """Byar's approximation to the exact Poisson interval (R/utils.R byars_lower, byars_upper)."""
    _check_count(count)
    z = z_value(confidence)
    if count == 0:
        lower = 0.0
    else:
        lower = count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3
    upper = (count + 1) * (1 - 1 / (9 * (count + 1)) + z / (3 * math.sqrt(count + 1))) ** 3
    return float(lower), float(upper)


def poisson_interval(count: float, confidence: float = 0.95) -> tuple[float, float, str]:
    """Exact interval for counts under 10, Byar's method otherwise, as phe_rate (R/Rates.R) does."""
    if count < EXACT_BELOW:
        lower, upper = exact_poisson_interval(count, confidence)
        return lower, upper, "exact Poisson"
    lower, upper = byar_interval(count, confidence)
    return lower, upper, "Byar"


def crude_rate(count: float, denominator: float, multiplier: int = 100_000, confidence: float = 0.95) -> RateEstimate:
    """A crude rate per ``multiplier`` population with its Poisson confidence interval (R/Rates.R phe_rate)."""
    _check_count(count)
    _check_denominator(denominator)
    level = normalise_confidence(confidence)
    lower, upper, method = poisson_interval(count, level)
    scale = multiplier / denominator
    return RateEstimate(
        count=count,
        denominator=denominator,
        value=count * scale,
        lower=lower * scale,
        upper=upper * scale,
        method=f"crude rate, {method} {level:.1%} CI",
        confidence=level,
        multiplier=multiplier,
    )


def change_on_previous(current: float | None, previous: float | None) -> tuple[float | None, float | None]:
    """Absolute and percentage change from the previous period; percent is None when previous is 0 or missing."""
    if current is None or previous is None or math.isnan(current) or math.isnan(previous):
        return None, None
    difference = current - previous
    percent = None if previous == 0 else 100 * difference / previous
    return difference, percent


def _labelled(name: str, values: Values) -> tuple[tuple[str, ...] | None, list[float | None]]:
    if isinstance(values, Mapping):
        return tuple(str(k) for k in values), list(values.values())
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise StatisticsInputError(f"{name} must be a sequence or a mapping of age band -> value")
    return None, list(values)


def align_bands(**named: Values) -> tuple[tuple[str, ...] | None, dict[str, list[float | None]]]:
    """Line up per-band inputs by label (mappings) or by position (sequences); refuse any mismatch.

    Band order is that of the first input given as a mapping; sequences are read in that order.
    """
    labels: tuple[str, ...] | None = None
    labelled_from = ""
    unpacked = {name: _labelled(name, values) for name, values in named.items()}
    for name, (keys, _) in unpacked.items():
        if keys is None:
            continue
        if labels is None:
            labels, labelled_from = keys, name
        elif set(keys) != set(labels):
            missing = sorted(set(labels) - set(keys))
            extra = sorted(set(keys) - set(labels))
            raise StatisticsInputError(
                f"age bands of {name} do not match those of {labelled_from}: "
                f"missing {missing or 'none'}, unexpected {extra or 'none'}"
            )
    lengths = {name: len(vals) for name, (_, vals) in unpacked.items()}
    if len(set(lengths.values())) != 1:
        raise StatisticsInputError(
            "inputs must have one value per age band: lengths "
            + ", ".join(f"{name}={n}" for name, n in lengths.items())
        )
    aligned = {}
    for name, (keys, vals) in unpacked.items():
        if keys is not None and labels is not None:
            lookup = dict(zip(keys, vals, strict=True))
            vals = [lookup[label] for label in labels]
        aligned[name] = vals
    return labels, aligned


def directly_standardised_rate(
    counts: Values,
    populations: Values,
    standard: Values | None = None,
    multiplier: float = 100_000,
    confidence: float = 0.95,
) -> StandardisedRate:
    """A directly age-standardised rate with Dobson limits (R/DSR.R phe_dsr / calculate_dsr).

    ``standard`` defaults to ESP2013 (tasks/compute/standard_populations.py). Inputs are per age band,
    matched by label when given as mappings, or by position (in the standard's band order) when given as
    sequences; differing band labels or lengths are refused. Missing counts
    count as 0 (the package's na.zero); populations must all be > 0. DSR = sum(x_i w_i / n_i) / sum(w_i);
    var = sum(x_i (w_i / n_i)^2) / sum(w_i)^2; limits = DSR + sqrt(var / O) (Byar(O) - O), O = sum(x_i).
    Not computed when O < 10: value and limits are None, with the reason (as the package returns NA).
    """
    if standard is None:
        from tasks.compute.standard_populations import (
            ESP2013,  # here, not at the top: avoids an import cycle
        )

        standard = ESP2013
    level = normalise_confidence(confidence)
    _check_denominator(multiplier, "multiplier")
    labels, aligned = align_bands(standard=standard, counts=counts, populations=populations)
    bands = labels or [str(i) for i in range(len(aligned["counts"]))]
    xs = [0.0 if is_missing(x) else float(x) for x in aligned["counts"]]
    for band, x in zip(bands, xs, strict=True):
        if x < 0:
            raise StatisticsInputError(f"count for age band {band} must not be negative (got {x})")
    for band, n in zip(bands, aligned["populations"], strict=True):
        _check_denominator(n, f"population for age band {band}")
    weights = [float(w) if not is_missing(w) else math.nan for w in aligned["standard"]]
    for band, w in zip(bands, weights, strict=True):
        if math.isnan(w) or w < 0:
            raise StatisticsInputError(f"standard population for age band {band} must be 0 or more (got {w})")
    total_weight = sum(weights)
    _check_denominator(total_weight, "total of the standard population")
    ns = [float(n) for n in aligned["populations"]]
    observed = sum(xs)
    result = dict(total_count=observed, total_population=sum(ns), confidence=level, multiplier=multiplier,
                  method="Dobson")
    if observed < MIN_DSR_COUNT:
        return StandardisedRate(**result, value=None, lower=None, upper=None,
                                reason=f"dsr not calculated: total count {observed:g} is under {MIN_DSR_COUNT}")
    value = sum(x * w / n for x, w, n in zip(xs, weights, ns, strict=True)) / total_weight
    variance = sum(x * (w / n) ** 2 for x, w, n in zip(xs, weights, ns, strict=True)) / total_weight**2
    low_count, high_count = byar_interval(observed, level)
    spread = math.sqrt(variance / observed)
    return StandardisedRate(
        **result,
        value=value * multiplier,
        lower=(value + spread * (low_count - observed)) * multiplier,
        upper=(value + spread * (high_count - observed)) * multiplier,
    )


def wilson_proportion(
    numerator: float, denominator: float, confidence: float = 0.95, multiplier: float = 1
) -> ProportionEstimate:
    """A proportion with its Wilson score interval (R/Proportions.R phe_proportion, R/utils.R wilson_*)."""
    _check_count(numerator)
    _check_denominator(denominator)
    if numerator > denominator:
        raise StatisticsInputError(
            f"numerator ({numerator}) must be less than or equal to the denominator ({denominator}) for a proportion"
        )
    level = normalise_confidence(confidence)
    z = z_value(level)
    root = z * math.sqrt(z**2 + 4 * numerator * (1 - numerator / denominator))
    lower = (2 * numerator + z**2 - root) / 2 / (denominator + z**2)
    upper = (2 * numerator + z**2 + root) / 2 / (denominator + z**2)
    return ProportionEstimate(
        numerator=numerator,
        denominator=denominator,
        value=numerator / denominator * multiplier,
        lower=lower * multiplier,
        upper=upper * multiplier,
        confidence=level,
        multiplier=multiplier,
    )


def reference_rates_from_counts(
    reference_counts: Values, reference_populations: Values
) -> list[float] | dict[str, float]:
    """Age-specific reference rates x_ref / n_ref (per person), as calculate_ISRatio derives them."""
    labels, aligned = align_bands(reference_counts=reference_counts, reference_populations=reference_populations)
    rates = []
    for i, (x, n) in enumerate(zip(aligned["reference_counts"], aligned["reference_populations"], strict=True)):
        band = labels[i] if labels else str(i)
        x = 0.0 if is_missing(x) else float(x)
        if x < 0:
            raise StatisticsInputError(f"reference count for age band {band} must not be negative (got {x})")
        _check_denominator(n, f"reference population for age band {band}")
        rates.append(x / float(n))
    return dict(zip(labels, rates, strict=True)) if labels else rates


def indirectly_standardised_ratio(
    observed_total: float,
    local_populations: Values,
    reference_rates: Values,
    confidence: float = 0.95,
    multiplier: float = 100,
) -> RatioEstimate:
    """An indirectly standardised ratio (SMR-style) with exact/Byar's limits on the observed count.

    As R/ISRatio.R calculate_ISRatio (observed totals variant): expected = sum(n_i x r_i) with reference
    rates r_i per person; value = O / E x multiplier (100 for an SMR); limits are the Poisson limits of
    O (exact under 10, Byar's from 10) divided by E, times the multiplier.
    """
    _check_count(observed_total)
    level = normalise_confidence(confidence)
    labels, aligned = align_bands(local_populations=local_populations, reference_rates=reference_rates)
    expected = 0.0
    for i, (n, r) in enumerate(zip(aligned["local_populations"], aligned["reference_rates"], strict=True)):
        band = labels[i] if labels else str(i)
        if is_missing(n) or n < 0:
            raise StatisticsInputError(f"population for age band {band} must be 0 or more (got {n})")
        if is_missing(r) or r < 0:
            raise StatisticsInputError(f"reference rate for age band {band} must be 0 or more (got {r})")
        expected += float(n) * float(r)
    _check_denominator(expected, "expected count (sum of population x reference rate)")
    lower, upper, method = poisson_interval(observed_total, level)
    return RatioEstimate(
        observed=observed_total,
        expected=expected,
        value=observed_total / expected * multiplier,
        lower=lower / expected * multiplier,
        upper=upper / expected * multiplier,
        confidence=level,
        multiplier=multiplier,
        method=f"indirectly standardised ratio, {method} {level:.1%} CI",
    )
