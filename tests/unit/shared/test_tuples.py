"""frame_rows gives what pandas' DataFrame.itertuples(index=False) gives: same fields, same values of the same types."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tasks.shared.tuples import frame_rows


def _frames() -> list[pd.DataFrame]:
    varied = pd.DataFrame({
        "text": ["a", "b", "c"], "number": np.arange(3), "real": [1.5, np.nan, 3.0],
        "month": pd.date_range("2022-04-01", periods=3, freq="MS"), "objects": pd.Series(["x", None, 2], dtype=object),
        "nullable": pd.Series([1, None, 3], dtype="Int64"), "category": pd.Categorical(["u", "v", "u"]),
        "flag": [True, False, True], "strings": pd.Series(["p", np.nan, "r"], dtype="str"),
        "two words": [1, 2, 3], "class": [4, 5, 6],  # not identifiers: renamed as itertuples renames them
    })
    duplicated = pd.DataFrame([[1, 2], [3, 4]], columns=["a", "a"])
    return [varied, varied.iloc[:0], duplicated, pd.DataFrame(index=range(2)), pd.DataFrame({7: [1, 2]})]


def _same(a: object, b: object) -> bool:
    if type(a) is not type(b):
        return False
    if a is pd.NA or b is pd.NA:
        return a is b
    return a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize("frame", _frames())
def test_rows_are_itertuples_rows(frame: pd.DataFrame) -> None:
    expected = list(frame.itertuples(index=False))
    rows = frame_rows(frame)
    assert len(rows) == len(expected)
    for row, reference in zip(rows, expected, strict=True):
        assert row._fields == reference._fields
        assert all(_same(a, b) for a, b in zip(row, reference, strict=True)), (row, reference)
