"""Plain-value helpers that statistics and disclosure share."""

from __future__ import annotations

import math


def is_missing(value: object) -> bool:
    """None or NaN: a value that is not there (pandas gives NaN where a record gave None)."""
    return value is None or (isinstance(value, float) and math.isnan(value))
