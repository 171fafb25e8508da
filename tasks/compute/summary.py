"""The HTML summary of the year's published measures (pure)."""

from __future__ import annotations

import pandas as pd
from jinja2 import Environment, select_autoescape

from tasks.shared.config import COUNT_UNIT, value_label

_environment = Environment(autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True)

SUMMARY_TEMPLATE = _environment.from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse}
td,th{border:1px solid #999;padding:.25em .5em;text-align:right}td:first-child,th:first-child{text-align:left}
.note{color:#555;font-size:.9em}</style></head>
<body>
<h1>{{ title }}</h1>
<p>{{ partnership }} &middot; financial year {{ financial_year }}{% if demo %} &middot; <strong>DEMO: built on synthetic data</strong>{% endif %}</p>
{% if part_year %}<p><strong>Part year.</strong> These figures cover only part of {{ financial_year }}; they are counts of
the months covered, not annual rates:</p>
<ul>{% for line in part_year %}<li>{{ line }}</li>{% endfor %}</ul>{% endif %}
{% if not sections %}<p><strong>No measure could be computed for {{ financial_year }}.</strong></p>{% endif %}
<p>Disclosure control: {{ policy }}. Counts of {{ suppress_from }} to {{ suppress_to }} are shown as
&ldquo;{{ symbol }}&rdquo;, other counts are rounded to the nearest {{ round_to }}, and no rate is shown where the
count is under {{ min_count }}. Each value is in the unit its column header gives (a rate per 100,000 population, a
percentage or a ratio to a reference of 100), with 95% confidence intervals.</p>
{% for section in sections %}
<h2>{{ section.title }}{% if section.headline %} <small>(national headline measure)</small>{% endif %}</h2>
{% if section.policy %}<p class="note">Published under its own disclosure policy: {{ section.policy }}.</p>{% endif %}
{% for chart in section.charts %}<p><img src="{{ chart }}" alt="{{ section.title }}: chart" width="640"></p>{% endfor %}
<table><thead><tr><th>Area</th><th>Age</th><th>Count</th><th>{{ section.value_label }}</th><th>95% CI</th><th>Change on previous year (%)</th>
<th>Against 3-year baseline</th><th>5-year trend</th><th>Against England</th><th>Against region</th></tr></thead>
<tbody>
{% for row in section.rows %}
<tr><td>{{ row.area_name }}</td><td>{{ row.age_band }}</td><td>{{ row.count }}</td><td>{{ row.value }}</td>
<td>{% if row.lower_ci_95 %}{{ row.lower_ci_95 }} &ndash; {{ row.upper_ci_95 }}{% endif %}</td>
<td>{{ row.change_on_previous_year_percent }}</td><td>{{ row.compared_with_baseline }}</td><td>{{ row.trend }}</td>
<td>{{ row.compared_with_england }}</td><td>{{ row.compared_with_region }}</td></tr>
{% if row.note %}<tr><td colspan="10" class="note">{{ row.note }}</td></tr>{% endif %}
{% endfor %}
</tbody></table>
{% endfor %}
{% if not_computed %}
<h2>Measures not computed</h2>
<table><thead><tr><th>Measure</th><th>Why</th></tr></thead><tbody>
{% for row in not_computed %}<tr><td>{{ row.title }}{% if row.headline == "yes" %} <small>(national headline measure)</small>{% endif %}</td><td style="text-align:left">{{ row.reason }}</td></tr>
{% endfor %}</tbody></table>
{% endif %}
<p class="note">Against the baseline: this year's rate against the mean of the previous three years (exact
test for two Poisson rates, 95%). Trend: chi-squared test for linear trend over the last five years, as OHID
Fingertips marks trends. Against England and the region: Fingertips' own verdict as published (whether the
benchmark's value lies outside the area's 95% interval).</p>
<h2>Provenance</h2>
<p>Every figure is computed from the raw files listed in manifest.json (with their sha256 checksums), under the
metric definition versions listed there.</p>
</body></html>
"""
)


def _value_label(rows: pd.DataFrame) -> str:
    """The header of a measure's value column, from the unit its values are published in."""
    units = [u for u in rows.get("value_unit", pd.Series(dtype=object)).fillna("") if u and u != COUNT_UNIT]
    return value_label(units[0]) if units else "Value"


def summary_html(
    published: pd.DataFrame, *, title: str, partnership: str, financial_year: str, demo: bool, policy: object,
    headline_ids: set[str], charts: dict[str, list[str]] | None = None, policies: dict[str, str] | None = None,
    not_computed: list[dict] | None = None, part_year: list[str] | None = None,
) -> str:
    """The year's measures as a self-contained HTML page (published values only), with the measures that could not
    be computed and why, and a warning when the figures cover part of the year."""
    year = published[published["financial_year"] == financial_year]
    sections = []
    for measure, rows in year.groupby("measure", sort=False):
        sections.append(
            {
                "title": rows["title"].iloc[0],
                "headline": measure in headline_ids,
                "rows": rows.to_dict("records"),
                "charts": (charts or {}).get(measure, []),
                "policy": (policies or {}).get(measure),
                "value_label": _value_label(rows),
            }
        )
    sections.sort(key=lambda s: (not s["headline"], s["title"]))
    return SUMMARY_TEMPLATE.render(
        title=title,
        partnership=partnership,
        financial_year=financial_year,
        demo=demo,
        sections=sections,
        not_computed=not_computed or [],
        part_year=part_year or [],
        policy=policy.name,
        suppress_from=policy.suppress_from,
        suppress_to=policy.suppress_to,
        symbol=policy.suppressed_symbol,
        round_to=policy.round_to,
        min_count=policy.min_count_for_rate,
    )
