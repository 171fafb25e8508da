"""Charts for the annual review: a trend with its confidence band, and a funnel plot of areas (PNG files).

Drawn with matplotlib's object API on the Agg canvas (no display, no pyplot global state). Output is
deterministic: the PNG carries no "Software" or date metadata, so the same data give the same bytes. So a chart
whose record (``record=``: a small JSON file of the sha256 of what it was drawn from and of the PNG) still matches
is kept, not drawn again, as the report's PDF is kept while its HTML is unchanged.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import matplotlib
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from tasks.compute.kept_outputs import keep_record, still_kept

PNG_METADATA = {"Software": None}  # matplotlib writes no dates into PNGs; this drops its version too
_LIMIT_STYLES = (
    ("2s", "95% limits (2 sigma)", "--", "#3d6fb6"),
    ("3s", "99.8% limits (3 sigma)", ":", "#b63d3d"),
)


def _check_columns(frame: pd.DataFrame, required: tuple[str, ...], what: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {', '.join(missing)}")


@lru_cache(maxsize=1)  # neither changes under a running process
def _drawer() -> str:
    """What draws the pixels besides the data: matplotlib's version and this module's code (a chart drawn by other
    code is drawn again; the system's fonts are not in it, as for the PDF)."""
    return f"matplotlib {matplotlib.__version__}, charts.py {hashlib.sha256(Path(__file__).read_bytes()).hexdigest()}"


def _inputs_sha256(kind: str, *parts: object) -> str:
    digest = hashlib.sha256(f"{kind}\0{_drawer()}".encode())
    for part in parts:  # frames by their column names and pandas' stable hash of each row's values, in order
        if isinstance(part, pd.DataFrame):
            digest.update(b"\0" + repr(list(part.columns)).encode("utf-8"))
            digest.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
        else:
            digest.update(b"\0" + repr(part).encode("utf-8"))
    return digest.hexdigest()


def _save(figure: Figure, path: Path, record: Path | None = None, inputs: str = "") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if record is not None:
        record.unlink(missing_ok=True)  # no record outlives a PNG it does not describe, even if drawing fails
    FigureCanvasAgg(figure)
    figure.savefig(path, format="png", dpi=100, metadata=PNG_METADATA)
    if record is not None:
        keep_record(record, {"inputs_sha256": inputs}, "png_sha256", path.read_bytes())
    return path


def trend_chart(
    series: pd.DataFrame, title: str, path: Path | str, y_label: str = "Rate per 100,000", band_label: str = "95% CI",
    record: Path | None = None,
) -> Path:
    """A line of values over periods with its confidence band (columns period, value, lower, upper)."""
    _check_columns(series, ("period", "value", "lower", "upper"), "the trend series")
    if series.empty:
        raise ValueError("the trend series has no rows")
    inputs = _inputs_sha256("trend", series[["period", "value", "lower", "upper"]], title, y_label, band_label)
    if still_kept(Path(path), record, {"inputs_sha256": inputs}, "png_sha256"):
        return Path(path)
    data = series.reset_index(drop=True)
    positions = list(range(len(data)))
    figure = Figure(figsize=(8, 4.5))
    axes = figure.add_subplot()
    axes.fill_between(positions, data["lower"].astype(float), data["upper"].astype(float), color="#9ecae1",
                      alpha=0.6, label=band_label, linewidth=0)
    values, lower, upper = (data[c].astype(float) for c in ("value", "lower", "upper"))
    # whiskers too: a year between two unpublished years has no band, but must still show its interval
    axes.errorbar(positions, values, yerr=[values - lower, upper - values], fmt="none", ecolor="#6baed6", capsize=3)
    axes.plot(positions, values, marker="o", color="#08519c", label="rate")
    axes.set_xticks(positions, [str(p) for p in data["period"]])
    axes.set_title(title)
    axes.set_ylabel(y_label)
    axes.set_ylim(bottom=0)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(loc="best")
    figure.tight_layout()
    return _save(figure, Path(path), record, inputs)


def funnel_chart(
    points: pd.DataFrame, limits: pd.DataFrame, title: str, path: Path | str, y_label: str = "Rate per 100,000",
    record: Path | None = None,
) -> Path:
    """Areas' rates against their populations inside Poisson control limits (comparisons.funnel_limits_for_rates).

    ``points``: area_name, count, denominator (population per year), value (the rate).
    """
    _check_columns(points, ("area_name", "count", "denominator", "value"), "the funnel points")
    limit_columns = [f"{b}_{n}_{k}" for n in ("2s", "3s") for b in ("lower", "upper")
                     for k in ("population_1_year", "limit")]
    _check_columns(limits, ("baseline", *limit_columns), "the funnel limits")
    inputs = _inputs_sha256("funnel", points[["area_name", "count", "denominator", "value"]],
                            limits[["baseline", *limit_columns]], title, y_label)
    if still_kept(Path(path), record, {"inputs_sha256": inputs}, "png_sha256"):
        return Path(path)
    figure = Figure(figsize=(8, 5.5))
    axes = figure.add_subplot()
    for name, label, style, colour in _LIMIT_STYLES:
        for bound in ("lower", "upper"):
            axes.plot(limits[f"{bound}_{name}_population_1_year"], limits[f"{bound}_{name}_limit"], style,
                      color=colour, label=label if bound == "lower" else None)
    axes.axhline(float(limits["baseline"].iloc[0]), color="black", linewidth=1, label="average")
    axes.scatter(points["denominator"].astype(float), points["value"].astype(float), color="#08519c", zorder=3,
                 label="areas")
    for row in points.itertuples(index=False):
        axes.annotate(str(row.area_name), (float(row.denominator), float(row.value)), textcoords="offset points",
                      xytext=(4, 4), fontsize=8)
    if not points.empty:
        axes.set_xlim(0, float(points["denominator"].astype(float).max()) * 1.15)
    highest = max([float(limits["baseline"].iloc[0]) * 2, *points["value"].astype(float)])
    axes.set_ylim(0, highest * 1.2)
    axes.set_xlabel("Population (per year)")
    axes.set_ylabel(y_label)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    return _save(figure, Path(path), record, inputs)
