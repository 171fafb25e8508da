"""Fingertips' published comparisons with England and the region, kept as published through the numeric
observations table: each text is stored as its position in a fixed vocabulary (append only, never reorder)."""

from __future__ import annotations

# the words Fingertips exports in "Compared to England/Region value or percentiles" for a benchmark comparison
PUBLISHED_COMPARISONS = (
    "Not compared", "Better", "Similar", "Worse", "Higher", "Lower",
    "Better 95%", "Better 99.8%", "Worse 95%", "Worse 99.8%",
    "Higher 95%", "Higher 99.8%", "Lower 95%", "Lower 99.8%",
)
# measure suffix of each published comparison (indicator_11201_compared_with_region) and the benchmark it names
COMPARISON_SUFFIXES = {"_compared_with_england": "england", "_compared_with_region": "region"}


def comparison_code(text: str) -> int | None:
    """The stored code of a published comparison ('' -> None: nothing published); ValueError for an unknown text."""
    words = text.strip()
    if not words:
        return None
    if words not in PUBLISHED_COMPARISONS:
        raise ValueError(f"unrecognised Fingertips comparison {text!r} (known: {', '.join(PUBLISHED_COMPARISONS)})")
    return PUBLISHED_COMPARISONS.index(words)


def comparison_text(code: float) -> str:
    """The published words back from a stored code."""
    return PUBLISHED_COMPARISONS[int(code)]


def marker_kind(verdict: str) -> str:
    """The colour of a comparison (Better 99.8% -> better): Fingertips colours by the verdict, not the level."""
    first = (verdict or "").split(" ")[0].lower()
    return first if first in ("better", "similar", "worse", "higher", "lower") else "none"
