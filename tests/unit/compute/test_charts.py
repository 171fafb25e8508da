"""Charts are PNG files, drawn without a display, byte-for-byte the same for the same data."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from tasks.compute.charts import funnel_chart, trend_chart
from tasks.compute.comparisons import funnel_limits_for_rates

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

SERIES = pd.DataFrame({
    "period": ["2019/20", "2020/21", "2021/22", "2022/23", "2023/24"],
    "value": [41.2, 38.0, 44.9, 47.3, 45.1],
    "lower": [35.0, 32.1, 38.6, 40.9, 38.8],
    "upper": [48.1, 44.6, 51.9, 54.4, 52.1],
})
POINTS = pd.DataFrame({
    "area_name": ["Castle Point", "Rochford", "Basildon"],
    "count": [34, 29, 96],
    "denominator": [90_000, 87_000, 188_000],
})
POINTS["value"] = POINTS["count"] / POINTS["denominator"] * 100_000


def _png_text_chunks(data: bytes) -> list[bytes]:
    """Keys of the tEXt/iTXt/zTXt chunks of a PNG (where software names and dates would sit)."""
    keys, position = [], len(PNG_SIGNATURE)
    while position < len(data):
        length = int.from_bytes(data[position:position + 4], "big")
        kind = data[position + 4:position + 8]
        if kind in (b"tEXt", b"iTXt", b"zTXt", b"tIME"):
            keys.append(kind + b":" + data[position + 8:position + 8 + length].split(b"\0")[0])
        position += 12 + length
    return keys


def test_trend_chart_is_a_deterministic_png(tmp_path: Path) -> None:
    first = trend_chart(SERIES, "Violence with injury, rate per 100,000", tmp_path / "a" / "trend.png")
    second = trend_chart(SERIES, "Violence with injury, rate per 100,000", tmp_path / "trend-again.png")
    assert first == tmp_path / "a" / "trend.png"
    data = first.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 5_000
    assert data == second.read_bytes()
    assert not [k for k in _png_text_chunks(data) if k.startswith(b"tIME") or b"Software" in k or b"Date" in k]


def test_funnel_chart_is_a_deterministic_png(tmp_path: Path) -> None:
    limits = funnel_limits_for_rates(POINTS["count"].tolist(), POINTS["value"].tolist(), multiplier=100_000)
    first = funnel_chart(POINTS, limits, "Knife crime by authority", tmp_path / "funnel.png")
    second = funnel_chart(POINTS, limits, "Knife crime by authority", tmp_path / "funnel2.png")
    data = first.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and data == second.read_bytes()
    assert not _png_text_chunks(data)


def test_different_data_draw_a_different_chart(tmp_path: Path) -> None:
    changed = SERIES.assign(value=SERIES["value"] + 5)
    assert trend_chart(SERIES, "t", tmp_path / "a.png").read_bytes() != trend_chart(
        changed, "t", tmp_path / "b.png").read_bytes()


def test_charts_name_missing_columns(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="upper"):
        trend_chart(SERIES.drop(columns=["upper"]), "t", tmp_path / "x.png")
    with pytest.raises(ValueError, match="denominator"):
        funnel_chart(POINTS.drop(columns=["denominator"]), pd.DataFrame(), "t", tmp_path / "y.png")
    with pytest.raises(ValueError, match="no rows"):
        trend_chart(SERIES.iloc[0:0], "t", tmp_path / "z.png")


def _touched(path: Path) -> int:
    """The PNG's modification time after setting it an hour back: a chart drawn again moves it forward."""
    old = path.stat().st_mtime_ns - 3_600 * 10**9
    os.utime(path, ns=(old, old))
    return old


def test_a_chart_drawn_from_the_same_inputs_is_kept(tmp_path: Path) -> None:
    png, record = tmp_path / "charts" / "trend.png", tmp_path / "internal" / "trend.png.json"
    trend_chart(SERIES, "Knife crime", png, record=record)
    drawn = png.read_bytes()
    assert json.loads(record.read_text(encoding="utf-8"))["png_sha256"] == hashlib.sha256(drawn).hexdigest()
    old = _touched(png)
    trend_chart(SERIES.copy(), "Knife crime", png, record=record)  # the same figures, as a re-run reads them
    assert png.stat().st_mtime_ns == old and png.read_bytes() == drawn
    changed = SERIES.assign(value=SERIES["value"].where(SERIES.index != 4, 45.2))
    for args, kwargs in (((changed, "Knife crime"), {}), ((SERIES, "Knife crime, revised"), {}),
                         ((SERIES, "Knife crime"), {"y_label": "Percentage (%)"})):
        old = _touched(png)
        trend_chart(*args, png, record=record, **kwargs)
        assert png.stat().st_mtime_ns > old, f"not drawn again for new inputs: {args[1]}, {kwargs}"
    old = _touched(png)
    trend_chart(SERIES, "Knife crime", png)  # no record: drawn as before
    assert png.stat().st_mtime_ns > old and png.read_bytes() == drawn


@pytest.mark.parametrize("spoil", ["png edited", "record unreadable", "png gone"])
def test_a_chart_that_may_not_match_is_drawn_again(tmp_path: Path, spoil: str) -> None:
    limits = funnel_limits_for_rates(POINTS["count"].tolist(), POINTS["value"].tolist(), 100_000,
                                     denominators=POINTS["denominator"].tolist())
    png, record = tmp_path / "funnel.png", tmp_path / "funnel.png.json"
    funnel_chart(POINTS, limits, "Funnel", png, record=record)
    drawn = png.read_bytes()
    if spoil == "png edited":
        png.write_bytes(drawn[:-100])
    elif spoil == "record unreadable":
        record.write_text("{not json", encoding="utf-8")
    else:
        png.unlink()
    funnel_chart(POINTS, limits, "Funnel", png, record=record)
    assert png.read_bytes() == drawn
    assert json.loads(record.read_text(encoding="utf-8"))["png_sha256"] == hashlib.sha256(drawn).hexdigest()
