"""When no measure could be computed for the year, no package is built and no metric pack is sent, and both say so."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tasks.compute.summary import summary_html
from tasks.notify.steps import metric_pack
from tasks.shared.published import NOT_COMPUTED_COLUMNS, PublishedOutputs
from tasks.submit.report import submission_report
from tasks.submit.steps import build_submission
from tests.unit.report_helpers import demo_context


def _nothing(tmp_path: Path) -> PublishedOutputs:
    missing = pd.DataFrame([["police_knife_crime", "Knife crime", "yes", "no source supplies dataset police_knife_crime"]],
                           columns=NOT_COMPUTED_COLUMNS)
    return PublishedOutputs(table=pd.DataFrame(columns=["measure", "financial_year", "area_code"]),
                            measures_csv=tmp_path / "m.csv", summary_html=tmp_path / "s.html", charts={},
                            not_computed=missing, not_computed_csv=tmp_path / "n.csv")


def test_no_package_and_no_metric_pack_when_nothing_was_computed(data_dir: Path, tmp_path: Path) -> None:
    ctx = demo_context()
    assert build_submission.fn(ctx, _nothing(tmp_path)) is None
    assert metric_pack(ctx, _nothing(tmp_path)) == []
    report = submission_report(ctx, None, [], [])
    assert report.status == "completed with warnings"
    assert "**No package built**: no measure could be computed for 2022/23" in report.markdown
    assert not (data_dir / "submissions").exists()


def test_the_summary_says_nothing_was_computed_and_why() -> None:
    from tasks.shared.config import load_partnership_config
    from tasks.shared.settings import PROJECT_ROOT

    policy = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford").metrics.disclosure
    html = summary_html(
        pd.DataFrame(columns=["financial_year", "measure", "title"]), title="t", partnership="p",
        financial_year="2022/23", demo=False, policy=policy, headline_ids=set(),
        not_computed=[{"title": "Knife crime", "headline": "yes", "reason": "no source supplies dataset x"}],
    )
    assert "No measure could be computed for 2022/23" in html
    assert "<td>Knife crime <small>(national headline measure)</small></td>" in html
    assert "no source supplies dataset x" in html
