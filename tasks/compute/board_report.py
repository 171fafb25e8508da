"""The annual review report a board reads and a cabinet publishes (report.html, report.pdf): key messages first,
then each measure's five-year table and chart, data quality, definitions and provenance (pure, apart from
write_pdf). Built from the PUBLISHED table only, so it shows nothing the disclosure policy hides.

Self-contained: charts are inline SVG, styles inline, no external URL, so it survives being e-mailed or printed.
"""

from __future__ import annotations

import datetime as dt
import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from tasks.compute.kept_outputs import keep_record, still_kept
from tasks.shared.atomic_file import write_atomically
from tasks.shared.benchmarks import marker_kind
from tasks.shared.config import DisclosurePolicy, MetricDefinition, MetricsFile, Partnership, value_label, value_text
from tasks.shared.geography import ENGLAND, REGIONS
from tasks.shared.raw_store import sha256_of
from tasks.shared.rendering import template_environment

POLARITY_WORDS = {
    "higher_is_worse": "a higher value is worse",
    "higher_is_better": "a higher value is better",
    "no_polarity": "no judgement of higher or lower",
}


# ------------------------------------------------------------------ Fingertips-style markers


@dataclass(frozen=True)
class Marker:
    """A comparison marker: its colour class (as Fingertips colours it) and the words shown inside it."""

    kind: str  # better, similar, worse, higher, lower, none
    label: str


def _judged(higher: bool, polarity: str) -> str:
    if polarity == "no_polarity":
        return "higher" if higher else "lower"
    return "worse" if higher == (polarity == "higher_is_worse") else "better"


def baseline_marker(verdict: str, polarity: str) -> Marker:
    """This year against the three-year baseline (exact test): Better/Similar/Worse by the measure's polarity."""
    if verdict.startswith("Significantly"):
        return Marker(_judged(verdict == "Significantly higher", polarity), verdict)
    if verdict == "No significant change":
        return Marker("similar", "No significant change")
    return Marker("none", verdict or "Not compared")


def trend_marker(verdict: str, polarity: str) -> Marker:
    """The five-year trend (chi-squared test for trend): an arrow, coloured by whether it is getting better."""
    if verdict in ("Increasing", "Decreasing"):
        kind = _judged(verdict == "Increasing", polarity)
        arrow = "\u2191" if verdict == "Increasing" else "\u2193"
        words = {"worse": " and getting worse", "better": " and getting better"}.get(kind, "")
        return Marker(kind, f"{arrow} {verdict}{words}")
    if verdict == "No significant change":
        return Marker("similar", "\u2192 No significant change")
    return Marker("none", verdict or "Cannot be calculated")


def benchmark_marker(verdict: str) -> Marker:
    """Compared with England or the region, in Fingertips' own words as published (e.g. "Better 99.8%"), already
    judged by polarity; coloured by its verdict."""
    return Marker(marker_kind(verdict), verdict or "Not compared")


LEGEND = [
    Marker("better", "Better: significantly better (by the measure's polarity)"),
    Marker("similar", "Similar: no significant difference"),
    Marker("worse", "Worse: significantly worse (by the measure's polarity)"),
    Marker("higher", "Higher: significantly higher (measure without polarity)"),
    Marker("lower", "Lower: significantly lower (measure without polarity)"),
    Marker("none", "Not compared: too few events, no baseline or no benchmark published"),
]


# ------------------------------------------------------------------ key messages


def _number(text: object) -> float | None:
    try:
        return float(str(text))
    except ValueError:
        return None


def previous_year(label: str) -> str:
    start = int(label[:4]) - 1
    return f"{start}/{(start + 1) % 100:02d}"


def key_message(
    title: str, band: str, year: str, row: Mapping[str, str] | None, *, polarity: str = "higher_is_worse",
    policy: DisclosurePolicy | None = None, england: Mapping[str, str] | None = None,
    region: Mapping[str, str] | None = None, reason: str | None = None, is_count: bool = False,
) -> str:
    """One sentence for a board: the year's figure, its direction on last year, significance against the
    three-year baseline, the five-year trend and England (and the region) where published. ``row`` is the
    partnership's published row of the year (text, as published)."""
    lead = f"{title} ({band})"
    if reason:
        return f"{lead}: not computed for {year}: {reason}."
    if row is None:
        return f"{lead}: no figure is published for {year}."
    symbol = policy.suppressed_symbol if policy else "*"
    count = row.get("count", "")
    if count == symbol:
        return (f"{lead}: the {year} count is suppressed to protect individuals (shown as {symbol}), so no rate "
                "or comparison is published.")
    rate = row.get("value", "")
    note = row.get("note", "")
    if not is_count and not rate:
        why = note or "too few for a reliable rate"
        return f"{lead}: {count} in {year} ({why}); no rate or comparison is published."
    if is_count:
        figure = f"{count} in {year}"
    else:
        noun = f"{count} recorded" if count else "count not published"
        figure = f"{value_text(rate, row.get('value_unit', ''))} in {year} ({noun})"
    clauses = [figure]
    change = _number(row.get("change_on_previous_year_percent", ""))
    before = previous_year(year)
    if change is None:
        clauses.append(f"no change on {before} is published")
    elif abs(change) < 0.05:
        clauses.append(f"unchanged on {before}")
    elif row.get("value_unit", "") == "%" and _number(rate) is not None and change > -100:
        # a percentage moves in points: "up 25%" of a 20% share would read as 45%; the relative change follows
        points = _number(rate) - _number(rate) / (1 + change / 100)
        clauses.append(f"{'up' if change > 0 else 'down'} {abs(points):.1f} percentage points "
                       f"({change:+.1f}%) on {before}")
    else:
        clauses.append(f"{'up' if change > 0 else 'down'} {abs(change):.1f}% on {before}")
    baseline = row.get("compared_with_baseline", "")
    if baseline.startswith("Significantly"):
        judged = baseline_marker(baseline, polarity).kind
        worded = f" ({judged})" if judged in ("better", "worse") else ""
        clauses.append(f"{baseline.lower()} than the three-year baseline{worded}")
    elif baseline == "No significant change":
        clauses.append("not significantly different from the three-year baseline")
    trend = row.get("trend", "")
    if trend in ("Increasing", "Decreasing"):
        marker = trend_marker(trend, polarity)
        worded = f", getting {marker.kind}" if marker.kind in ("better", "worse") else ""
        clauses.append(f"a significant {trend.lower()} five-year trend{worded}")
    elif trend == "No significant change":
        clauses.append("no significant five-year trend")
    for name, benchmark, verdict in (
        ("England", england, row.get("compared_with_england", "")),
        ((region or {}).get("area_name") or "the region", region, row.get("compared_with_region", "")),
    ):
        value = (benchmark or {}).get("value", "")
        kind = marker_kind(verdict)
        level = verdict.split(" ", 1)[1] if " " in verdict else ""  # "Better 99.8%": judged at that level
        shown = f" ({value}{'; ' + level + ' level' if level else ''})" if value else ""
        if kind in ("better", "worse", "higher", "lower"):
            clauses.append(f"{kind} than {name}{shown}")
        elif kind == "similar":
            clauses.append(f"similar to {name}{shown}")
        elif value:
            clauses.append(f"{name} {value} (not compared)")
        elif name == "England":
            clauses.append("no England figure is published")
    return f"{lead}: " + "; ".join([", ".join(clauses[:2]), *clauses[2:]]) + "."


# ------------------------------------------------------------------ charts


SERIES_STYLES = [  # partnership, then authorities, then England: told apart by dash as well as colour
    ("#08519c", 3, ""), ("#e6550d", 2, "6 3"), ("#31a354", 2, "2 3"), ("#756bb1", 2, "8 3 2 3"),
    ("#636363", 2, "1 2"),
]
ENGLAND_STYLE = ("#000000", 2, "10 4")
REGION_STYLE = ("#7f7f7f", 2, "4 2 1 2")


@dataclass(frozen=True)
class Series:
    """One line of a chart: an area's published values by year (None where not published)."""

    name: str
    values: list[float | None]
    suppressed: list[bool] = field(default_factory=list)
    england: bool = False
    region: bool = False


def _fmt(value: float) -> str:
    return f"{value:,.1f}"


def alt_text(what: str, years: Sequence[str], series: Sequence[Series]) -> str:
    """Words for a screen reader (and the printed caption) describing every line of a chart."""
    parts = []
    for line in series:
        shown = [(y, v) for y, v in zip(years, line.values, strict=True) if v is not None]
        hidden = [y for y, s in zip(years, line.suppressed or [False] * len(years), strict=True) if s]
        if not shown:
            text = f"{line.name}: no value published"
        elif line.england and len(shown) >= 1 and len(shown) < 2:
            text = f"England {_fmt(shown[-1][1])} in {shown[-1][0]}"
        elif len(shown) == 1:
            text = f"{line.name}: {_fmt(shown[0][1])} in {shown[0][0]} only"
        else:
            (y0, v0), (y1, v1) = shown[0], shown[-1]
            verb = "rose" if v1 > v0 else "fell" if v1 < v0 else "was unchanged"
            text = f"{line.name}: {what.lower()} {verb} from {_fmt(v0)} in {y0} to {_fmt(v1)} in {y1}"
            if len(shown) > 2:
                top = max(shown, key=lambda p: p[1])
                text += f" (highest {_fmt(top[1])} in {top[0]})"
        if hidden:
            text += f"; suppressed in {', '.join(hidden)}"
        parts.append(text)
    return f"{what} by financial year. " + ". ".join(parts) + "."


def chart_svg(chart_id: str, what: str, years: Sequence[str], series: Sequence[Series], description: str) -> str:
    """A line chart as inline SVG (no script, no external file): each area's published values, gaps where a
    year is not published, suppressed years marked with '*' on the axis."""
    width, height, left, right, top, bottom = 640, 300, 60, 180, 20, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for s in series for v in s.values if v is not None]
    high = max(values) * 1.15 if values and max(values) > 0 else 1.0
    step = plot_w / max(len(years) - 1, 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return top + plot_h - v / high * plot_h

    e = html.escape
    out = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" class="chart">',
        f'<title id="{chart_id}-title">{e(what)}</title><desc id="{chart_id}-desc">{e(description)}</desc>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#ffffff" stroke="#bbbbbb"/>',
    ]
    ticks = [high * k / 4 for k in range(5)]
    # one path for the grid and one per line's points, not an element each: the PDF printer styles and draws
    # every element of the page on its own, and the report has a dozen charts
    out.append('<path d="' + " ".join(f"M{left},{y(tick):.1f}H{left + plot_w}" for tick in ticks)
               + '" stroke="#e5e5e5"/>')
    for tick in ticks:
        out.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11">{tick:,.{0 if high >= 8 else 1}f}</text>')
    for i, year in enumerate(years):
        out.append(f'<text x="{x(i):.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11">'
                   f'{e(year)}</text>')
    styles = iter(SERIES_STYLES)
    for n, line in enumerate(series):
        colour, stroke, dash = (ENGLAND_STYLE if line.england else REGION_STYLE if line.region
                                else next(styles, SERIES_STYLES[-1]))
        segments: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(line.values):
            if v is None:
                segments.append([])  # a year not published is a gap, never bridged
            else:
                segments[-1].append((x(i), y(v)))
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        for points in segments:
            if len(points) > 1:
                path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
                out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="{stroke}"'
                           f'{dash_attr}/>')
        dots = [(px, py) for points in segments for px, py in points]
        if dots:  # a dot of radius 3 at each published value: two half-circle arcs
            out.append('<path d="' + " ".join(f"M{px - 3:.1f},{py:.1f}a3,3 0 1,0 6,0a3,3 0 1,0 -6,0"
                                              for px, py in dots) + f'" fill="{colour}"/>')
        for i, hidden in enumerate(line.suppressed):
            if hidden:
                out.append(f'<text x="{x(i):.1f}" y="{top + plot_h - 4}" text-anchor="middle" font-size="12" '
                           f'fill="{colour}">*</text>')
        ly = top + 14 + n * 18
        out.append(f'<line x1="{width - right + 10}" x2="{width - right + 34}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{colour}" stroke-width="{stroke}"{dash_attr}/>')
        out.append(f'<text x="{width - right + 38}" y="{ly}" font-size="11">{e(line.name[:28])}</text>')
    if any(any(s.suppressed) for s in series):
        out.append(f'<text x="{width - right + 10}" y="{top + 14 + len(series) * 18}" font-size="11">'
                   '* suppressed</text>')
    out.append("</svg>")
    return "".join(out)


# ------------------------------------------------------------------ the report's content


@dataclass(frozen=True)
class ReportFacts:
    """What the report states besides the measures: quality, extracts, provenance, sign-off."""

    produced: dt.date
    software_version: str
    extracts: list[dict] = field(default_factory=list)  # source, title, owner, latest_period, received
    quality: list[dict] = field(default_factory=list)  # dataset, checks, passed, warnings, failures, quarantined
    completeness: list[dict] = field(default_factory=list)  # source, owner, expected, arrived, missing
    commentary: str | None = None
    # the report is written before anyone decides on it and its bytes must not change with the decision (the
    # package's identity): it says where the decision is recorded instead of claiming one either way
    signed_off: str = ("a draft for sign-off when produced; the approver's decision is recorded with each release "
                       "(the board pack's sign-off, the submission package's approval.json; `dutycycle audit`)")
    sources_of: dict[str, list[str]] = field(default_factory=dict)  # dataset -> source titles


def _area_order(partnership: Partnership, published: pd.DataFrame) -> list[tuple[str, str]]:
    """The partnership, its authorities, England, then the region where a published measure names it."""
    regions = sorted(set(published["area_code"]) & set(REGIONS))
    return ([(partnership.id, partnership.name)]
            + [(la.code, partnership.area_name(la.code)) for la in partnership.local_authorities]
            + [(ENGLAND, "England")] + [(code, REGIONS[code]) for code in regions])


def _band_label(metrics: MetricsFile, band: str) -> str:
    return metrics.age_bands[band].label if band in metrics.age_bands else band


def measure_sections(
    published: pd.DataFrame, partnership: Partnership, metrics: MetricsFile, definitions: Sequence[MetricDefinition],
    year: str, years: Sequence[str],
) -> list[dict]:
    """Per measure and age band: the five-year table (areas by year), the chart and this year's markers."""
    sections = []
    for definition in definitions:
        rows = published[published["measure"] == definition.id]
        if rows.empty:
            continue
        policy = metrics.policy_for(definition.id)
        is_count = definition.statistic == "count"
        what = "Count" if is_count else value_label(definition.value_unit)
        bands = []
        for band in [b for b in ["all", *definition.age_bands] if b in set(rows["age_band"])]:
            if band in [b["id"] for b in bands]:
                continue
            in_band = rows[rows["age_band"] == band]
            table, series, markers = [], [], []
            for code, name in _area_order(partnership, published):
                area = in_band[in_band["area_code"] == code]
                if area.empty:
                    continue
                by_year = {r["financial_year"]: r for r in area.to_dict("records")}
                cells, values, hidden = [], [], []
                for y in years:
                    r = by_year.get(y)
                    count = r["count"] if r else ""
                    rate = r["value"] if r else ""
                    suppressed = count == policy.suppressed_symbol
                    cells.append({"count": count, "rate": rate, "suppressed": suppressed, "note": (r or {}).get(
                        "note", "")})
                    value = _number(count) if is_count else _number(rate)
                    values.append(None if suppressed else value)
                    hidden.append(suppressed)
                table.append({"name": name, "cells": cells, "england": code == ENGLAND})
                series.append(Series(name, values, hidden, england=code == ENGLAND, region=code in REGIONS))
                current = by_year.get(year)
                if current is not None and code != ENGLAND and code not in REGIONS:
                    shown = bool(current["value"])  # no rate published: nothing was compared
                    unpublished = Marker("none", "Not published")
                    markers.append({
                        "name": name,
                        "rate": current["value"],
                        "ci": (f"{current['lower_ci_95']} to {current['upper_ci_95']}"
                               if current.get("lower_ci_95") else ""),
                        "change": current["change_on_previous_year_percent"],
                        "baseline": baseline_marker(current["compared_with_baseline"], definition.polarity)
                        if shown else unpublished,
                        "trend": trend_marker(current["trend"], definition.polarity) if shown else unpublished,
                        "england": benchmark_marker(current["compared_with_england"]) if shown else unpublished,
                        "region": benchmark_marker(current.get("compared_with_region", "")) if shown else unpublished,
                    })
            chart_id = f"chart-{definition.id}-{band}".replace("_", "-")
            description = alt_text(what, years, series)
            bands.append({
                "id": band, "label": _band_label(metrics, band), "table": table, "markers": markers,
                "chart": chart_svg(chart_id, f"{definition.title}, {_band_label(metrics, band)}: {what.lower()}",
                                   years, series, description) if any(
                    v is not None for s in series for v in s.values) else "",
                "alt": description,
            })
        sections.append({
            "id": definition.id, "title": definition.title, "headline": definition.headline, "what": what,
            "is_count": is_count, "polarity": POLARITY_WORDS[definition.polarity], "bands": bands,
            "policy": policy,
        })
    return sections


def key_messages(
    published: pd.DataFrame, partnership: Partnership, metrics: MetricsFile, definitions: Sequence[MetricDefinition],
    year: str, not_computed: Mapping[str, str],
) -> list[str]:
    """A sentence per headline measure and age band (all ages, under 25)."""
    messages = []
    this_year = published[published["financial_year"] == year]
    for definition in [d for d in definitions if d.headline]:
        for band in definition.age_bands:
            if band not in ("all", "under_25"):
                continue
            rows = this_year[(this_year["measure"] == definition.id) & (this_year["age_band"] == band)]
            own = rows[rows["area_code"] == partnership.id].to_dict("records")
            england = rows[rows["area_code"] == ENGLAND].to_dict("records")
            region = rows[rows["area_code"].isin(REGIONS)].to_dict("records")
            messages.append(key_message(
                definition.title, _band_label(metrics, band).lower(), year, own[0] if own else None,
                polarity=definition.polarity, policy=metrics.policy_for(definition.id),
                england=england[0] if england else None, region=region[0] if region else None,
                reason=not_computed.get(definition.id),
                is_count=definition.statistic == "count",
            ))
    return messages


def definitions_table(definitions: Sequence[MetricDefinition], metrics: MetricsFile, facts: ReportFacts) -> list[dict]:
    """Each measure's definition and method as metrics.yaml states it, in words."""
    rows = []
    for d in definitions:
        denominator = "None"
        if d.denominator is not None:
            band = _band_label(metrics, d.denominator.age_band) if d.denominator.age_band else "the measure's age band"
            denominator = (f"ONS mid-year population estimate ({band}) of the year the financial year starts in; "
                           "the latest earlier estimate (noted) when that one is not yet published")
            if d.statistic == "dsr":
                denominator += f"; by age, in the standard bands {', '.join(d.dsr_bands)}"
            denominator = d.counted_denominator_words or denominator
        policy = metrics.policy_for(d.id)
        rows.append({
            "id": d.id, "version": d.version, "valid_from": d.valid_from.isoformat(), "title": d.title,
            "description": d.description,
            "source": "; ".join(facts.sources_of.get(d.numerator.dataset, [])) or d.numerator.dataset,
            "numerator": f"{', '.join(d.numerator.measures)} of dataset {d.numerator.dataset}",
            "denominator": denominator,
            "statistic": d.statistic_words[0].upper() + d.statistic_words[1:] + ".",
            "interval": d.interval_words[0].upper() + d.interval_words[1:] + ".",
            "age_bands": ", ".join(_band_label(metrics, b) for b in d.age_bands),
            "polarity": POLARITY_WORDS[d.polarity],
            "policy": policy,
        })
    return rows


def report_html(
    published: pd.DataFrame, *, partnership: Partnership, metrics: MetricsFile, year: str,
    not_computed: Sequence[Mapping[str, str]], facts: ReportFacts, series_years: int = 5,
) -> str:
    """The whole report as one self-contained HTML page (published values only)."""
    start = int(year[:4])
    years = [f"{y}/{(y + 1) % 100:02d}" for y in range(start - series_years + 1, start + 1)]
    end = dt.date(start + 1, 3, 31)
    definitions = sorted(metrics.in_force(end), key=lambda d: (not d.headline, [m.id for m in metrics.metrics]
                                                                .index(d.id)))
    reasons = {m["measure"]: m["reason"] for m in not_computed}
    policies = {p.name: p for p in (metrics.policy_for(d.id) for d in definitions)}
    return template_environment("tasks.compute").get_template("report.html").render(
        partnership=partnership,
        year=year,
        years=years,
        messages=key_messages(published, partnership, metrics, definitions, year, reasons),
        sections=measure_sections(published, partnership, metrics, definitions, year, years),
        not_computed=list(not_computed),
        legend=LEGEND,
        definitions=definitions_table(definitions, metrics, facts),
        policies=list(policies.values()),
        facts=facts,
        commentary_paragraphs=[p.strip() for p in (facts.commentary or "").split("\n\n") if p.strip()],
    )


# What prints the PDF, besides the HTML: a PDF printed by other versions of these is printed again. The system's
# pango, harfbuzz and fonts are not in it: after an OS upgrade the same figures keep the PDF they had (and so their
# package's identity) until the report's text changes.
PDF_RENDERER_PACKAGES = ("weasyprint", "pydyf", "tinyhtml5", "tinycss2", "cssselect2", "fonttools")


@lru_cache(maxsize=1)  # the installed packages do not change under a running process
def pdf_renderer() -> str:
    """The versions of the packages that print the PDF, e.g. 'weasyprint 70.0, pydyf 0.13.0, ...'."""
    from importlib.metadata import PackageNotFoundError, version

    def one(name: str) -> str:
        try:
            return f"{name} {version(name)}"
        except PackageNotFoundError:
            return f"{name} absent"

    return ", ".join(one(name) for name in PDF_RENDERER_PACKAGES)


# The time fontTools writes into a font it saves when SOURCE_DATE_EPOCH says none (2020-01-01 UTC): any fixed
# instant makes the bytes repeatable; this one is plainly not a print time.
FONT_TIMESTAMP_EPOCH = "1577836800"


@lru_cache(maxsize=1)  # once per process: the environment is changed at most once, before the first print
def pin_font_timestamps() -> bool:
    """Make WeasyPrint's fallback font subsetting repeatable; True when it had to be pinned.

    WeasyPrint subsets the report's fonts with HarfBuzz (Debian's libharfbuzz-subset0, which chromium brings and
    `scripts/install-browser` installs) and otherwise with fontTools, whose saved fonts carry the time of saving:
    the same HTML then prints other bytes every second, and the submission package that carries the PDF would
    change with the day it was rebuilt. fontTools reads that time from SOURCE_DATE_EPOCH (the reproducible-builds
    convention) when it is set, so a fixed one is set where the environment sets none."""
    from weasyprint.text.ffi import harfbuzz_subset

    if harfbuzz_subset is not None or "SOURCE_DATE_EPOCH" in os.environ:
        return False
    os.environ["SOURCE_DATE_EPOCH"] = FONT_TIMESTAMP_EPOCH
    return True


def write_pdf(html_text: str, path: Path, record: Path | None = None) -> str | None:
    """Print the report to PDF with WeasyPrint; None when written, else the one-line reason it was skipped
    (WeasyPrint missing or Debian's pango libraries not loadable): the HTML report stands on its own.

    With ``record`` (a small JSON file: the HTML's and the PDF's sha256 and the renderer's versions), a PDF already
    printed from byte-identical HTML by the same renderer is kept as it is, not printed again: printing is
    deterministic (same HTML, same bytes), so a re-run of the same figures (the draft and the final run, a stage
    run again) gets the bytes a new print would give, without WeasyPrint's seconds of layout."""
    source = {"html_sha256": sha256_of(html_text.encode("utf-8")), "renderer": pdf_renderer()}
    if record is not None and still_kept(path, record, source, "pdf_sha256"):
        return None
    try:
        from weasyprint import HTML  # imported here: loading pango costs seconds and may fail on a bare machine
    except (ImportError, OSError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        return f"report.pdf not written: WeasyPrint cannot load ({first}); run scripts/install-browser"
    if record is not None:
        record.unlink(missing_ok=True)  # a record outlives no PDF it does not describe, even if printing fails
    pin_font_timestamps()
    printed = HTML(string=html_text, base_url=None).write_pdf()
    # whole or not at all: a print cut short never leaves half a PDF under the report's name (its temporary
    # dot-file, which the file server never shows, goes with the next run if this process is killed)
    write_atomically(path, printed)
    if record is not None:
        keep_record(record, source, "pdf_sha256", printed)
    return None
