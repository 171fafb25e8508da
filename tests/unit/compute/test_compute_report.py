"""The measures' report: what was not computed, checks that warned and diverging sources make it warn."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.compute.metric_values import ComputeResult
from tasks.compute.report import measures_report
from tasks.shared.published import PublishedOutputs
from tests.unit.report_helpers import demo_context, rule, suite

PLAUSIBLE = pd.DataFrame([{"rule": "knife", "measure": "m", "this_year": 5, "last_year": 4, "ratio": 1.2, "finding": ""}])


def outputs(tmp_path: Path) -> PublishedOutputs:
    table = pd.DataFrame([
        {"measure": "m", "area_code": "castle-point-rochford", "financial_year": "2022/23", "count": "15"},
        {"measure": "m", "area_code": "E07000069", "financial_year": "2022/23", "count": "10"},
    ])
    return PublishedOutputs(table=table, measures_csv=tmp_path / "m.csv", summary_html=tmp_path / "s.html",
                            charts={"m": tmp_path / "charts" / "m.png"}, not_computed=pd.DataFrame(),
                            not_computed_csv=tmp_path / "n.csv")


def test_a_skipped_measure_warns_and_says_why(data_dir: Path, tmp_path: Path) -> None:
    skipped = [{"metric_id": "homicides", "title": "Homicides", "headline": True, "reason": "dataset blocked"}]
    result = ComputeResult(values=pd.DataFrame(), skipped=skipped)
    report = measures_report(demo_context(), result, suite(), PLAUSIBLE, 42, outputs(tmp_path))
    assert report.status == "completed with warnings"
    assert report.summary == {"metric_values": 42, "published_rows": 2,
                              "skipped": skipped}
    assert "- Not computed: Homicides (homicides): dataset blocked" in report.markdown
    assert f"- [m]({(tmp_path / 'charts' / 'm.png').as_uri()})" in report.markdown
    assert "| m | 15 |" in report.markdown  # the partnership's own rows, without area code and year
    assert "| m | 10 |" not in report.markdown


def test_a_warning_rule_or_a_divergence_warns_and_a_clean_run_completes(data_dir: Path, tmp_path: Path) -> None:
    clean = ComputeResult(values=pd.DataFrame())
    warned = measures_report(demo_context(), clean, suite(rule("ci ok", severity="warning")), PLAUSIBLE, 1, outputs(tmp_path))
    assert warned.status == "completed with warnings"
    diverging = PLAUSIBLE.assign(finding="changes differ")
    assert measures_report(demo_context(), clean, suite(), diverging, 1, outputs(tmp_path)).status == "completed with warnings"
    assert measures_report(demo_context(), clean, suite(), PLAUSIBLE, 1, outputs(tmp_path)).status == "completed"
