"""The board's report travels in the submission package, and the same figures rendered again (another day, after the
first package was checked) make the same report bytes, so the package keeps its identity and its one submission row;
changed figures make a new package."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select

from tasks.compute.report_step import write_report
from tasks.shared.published import NOT_COMPUTED_COLUMNS, NOT_COMPUTED_CSV, PublishedOutputs, outputs_folder
from tasks.shared.storage.models import MetricValue, RawFile, Submission
from tasks.shared.storage.session import session_scope
from tasks.submit.steps import build_submission, record_deadlines
from tests.report_sample import sample_published
from tests.unit.report_helpers import demo_context

DEMO = "castle-point-rochford"
RECEIVED = dt.datetime(2023, 5, 2, 23, 30)  # UTC: 3 May 2023 in London (summer time)


def _figures() -> pd.DataFrame:
    """The sample report's table as the package check accepts it (a suppressed count is blank, never '*')."""
    table = sample_published()
    return table.assign(count=table["count"].replace("*", ""))


def _store_inputs(ctx) -> set[int]:
    with session_scope(ctx.database_url) as session:
        row = RawFile(partnership=DEMO, source_id="police-knife-crime", dataset="police_knife_crime",
                      original_name="knife-crime-FY2022-23-Q4.csv", sha256="b" * 64, size_bytes=1,
                      stored_path="/x/knife.csv", synthetic=True, status="loaded", period="2022/23 Q4",
                      received_at=RECEIVED)
        session.add(row)
        session.flush()
        session.add(MetricValue(partnership=DEMO, metric_id="police_knife_crime", metric_version=1, area_type="csp",
                                area_code=DEMO, period="2022/23", age_band="all", numerator=190, denominator=180_000,
                                value=105.6, method="crude rate", multiplier=100_000, raw_file_ids=[row.id]))
        return {row.id}


def _publish(ctx, table: pd.DataFrame, used: set[int], today: dt.date) -> PublishedOutputs:
    """What compute leaves for submit, the report written as compute writes it, on the given day."""
    folder = outputs_folder(ctx)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.html").write_text("<html><body>summary</body></html>", encoding="utf-8")
    table.to_csv(folder / "measures-published.csv", index=False)
    missing = pd.DataFrame(columns=NOT_COMPUTED_COLUMNS)
    missing.to_csv(folder / NOT_COMPUTED_CSV, index=False)
    html, pdf, _ = write_report(ctx, table, [], folder, used, today=today)
    return PublishedOutputs(table=table, measures_csv=folder / "measures-published.csv",
                            summary_html=folder / "summary.html", charts={}, not_computed=missing,
                            not_computed_csv=folder / NOT_COMPUTED_CSV, report_html=html, report_pdf=pdf)


def _report_bytes(outputs: PublishedOutputs) -> tuple[bytes, bytes | None]:
    pdf = outputs.report_pdf.read_bytes() if outputs.report_pdf else None
    return outputs.report_html.read_bytes(), pdf


def _submissions(ctx) -> list[tuple[str, str]]:
    with session_scope(ctx.database_url) as session:
        return [(s.package_sha256, s.status) for s in session.scalars(select(Submission).order_by(Submission.id))]


def test_the_same_figures_another_day_make_one_package_and_changed_figures_a_new_one(data_dir: Path) -> None:
    ctx = demo_context()
    used = _store_inputs(ctx)
    record_deadlines.fn(ctx)
    first_outputs = _publish(ctx, _figures(), used, today=dt.date(2023, 12, 1))
    first_report = _report_bytes(first_outputs)
    html = first_report[0].decode()
    # the report's date is the data's (the latest file behind the figures, London time), not the day it was built
    assert "Figures as at 3 May 2023" in html and "2023-12-01" not in html
    first = build_submission.fn(ctx, first_outputs)  # also records the package's own checks (stage submit)
    with zipfile.ZipFile(io.BytesIO(Path(first.package_path).read_bytes())) as package:
        assert package.read("report.html") == first_report[0]
        if first_report[1] is not None:
            assert package.read("report.pdf") == first_report[1]
            assert first_report[1].startswith(b"%PDF")
        assert "report.html" in package.read("cover-note.html").decode()

    # the draft run in December, the final run in January: the same figures, rendered again
    again_outputs = _publish(ctx, _figures(), used, today=dt.date(2024, 1, 15))
    assert _report_bytes(again_outputs) == first_report
    again = build_submission.fn(ctx, again_outputs)
    assert (again.package_sha256, again.created, again.submission_id) == (first.package_sha256, False,
                                                                          first.submission_id)
    assert _submissions(ctx) == [(first.package_sha256, "awaiting approval")]

    # a changed figure: a new report, a new package that supersedes the one awaiting approval
    changed = _figures()
    changed.loc[changed.index[0], ["count", "value"]] = ["151", "83.6"]
    changed_outputs = _publish(ctx, changed, used, today=dt.date(2024, 1, 15))
    assert _report_bytes(changed_outputs)[0] != first_report[0]
    new = build_submission.fn(ctx, changed_outputs)
    assert new.created and new.package_sha256 != first.package_sha256
    assert _submissions(ctx) == [(first.package_sha256, "superseded"), (new.package_sha256, "awaiting approval")]
    with session_scope(ctx.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 2
