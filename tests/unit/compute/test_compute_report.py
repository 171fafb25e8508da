"""The measures' report: what was not computed, checks that warned and diverging sources make it warn."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.compute.metric_values import ComputeResult
from tasks.compute.report import measures_report
from tasks.shared.published import PublishedOutputs
from tests.unit.report_helpers import demo_context, rule, suite

PLAUSIBLE = pd.DataFrame([{"rule": "knife", "measure": "m", "this_year": 5, "last_year": 4, "ratio": 1.2, "finding": ""}])


def outputs(data_dir: Path) -> PublishedOutputs:
    folder = data_dir / "outputs" / "castle-point-rochford" / "2022-23"
    table = pd.DataFrame([
        {"measure": "m", "area_code": "castle-point-rochford", "financial_year": "2022/23", "count": "15"},
        {"measure": "m", "area_code": "E07000069", "financial_year": "2022/23", "count": "10"},
    ])
    return PublishedOutputs(table=table, measures_csv=folder / "m.csv", summary_html=folder / "s.html",
                            charts={"m": folder / "charts" / "m.png"}, not_computed=pd.DataFrame(),
                            not_computed_csv=folder / "n.csv")


def test_a_skipped_measure_warns_and_says_why(data_dir: Path) -> None:
    skipped = [{"metric_id": "homicides", "title": "Homicides", "headline": True, "reason": "dataset blocked"}]
    result = ComputeResult(values=pd.DataFrame(), skipped=skipped)
    report = measures_report(demo_context(), result, suite(), PLAUSIBLE, 42, outputs(data_dir))
    assert report.status == "completed with warnings"
    assert report.summary == {"metric_values": 42, "published_rows": 2,
                              "skipped": skipped}
    assert "- Not computed: Homicides (homicides): dataset blocked" in report.markdown
    # links go to the file server (a browser refuses file:// from the Prefect UI)
    base = "http://127.0.0.1:4280/outputs/castle-point-rochford/2022-23"
    assert f"- [m]({base}/charts/m.png)" in report.markdown
    assert f"[s.html]({base}/s.html)" in report.markdown and f"[m.csv]({base}/m.csv)" in report.markdown
    assert [link for _, link, _ in report.links] == [f"{base}/s.html", f"{base}/m.csv"]
    assert "| m | 15 |" in report.markdown  # the partnership's own rows, without area code and year
    assert "| m | 10 |" not in report.markdown


def test_a_warning_rule_or_a_divergence_warns_and_a_clean_run_completes(data_dir: Path) -> None:
    clean = ComputeResult(values=pd.DataFrame())
    warned = measures_report(demo_context(), clean, suite(rule("ci ok", severity="warning")), PLAUSIBLE, 1, outputs(data_dir))
    assert warned.status == "completed with warnings"
    diverging = PLAUSIBLE.assign(finding="changes differ")
    assert measures_report(demo_context(), clean, suite(), diverging, 1, outputs(data_dir)).status == "completed with warnings"
    assert measures_report(demo_context(), clean, suite(), PLAUSIBLE, 1, outputs(data_dir)).status == "completed"
