"""The notification report: a failed delivery warns (it is retried next run)."""

from __future__ import annotations

from pathlib import Path

from tasks.notify.report import notification_report
from tasks.notify.steps import PackOutcome
from tests.unit.report_helpers import demo_context


def test_a_failed_delivery_warns_and_counts(data_dir: Path) -> None:
    delivered = [{"to": "a", "status": "sent"}, {"to": "b", "status": "failed"}]
    released = PackOutcome(1, "released", "board pack 1 was approved by X (board); its 2 message(s) are in the outbox", 2)
    report = notification_report(demo_context(), prepared=3, queued=2, delivered=delivered, measures_published=True,
                                 pack=released)
    assert report.status == "completed with warnings"
    assert report.summary == {"prepared": 3, "queued": 2, "delivered": 1, "failed": 1,
                              "metric_pack": "board pack 1: released"}
    assert "3 messages prepared, 2 new in the outbox" in report.markdown and "1 failed" in report.markdown


def test_nothing_to_deliver_and_no_measures_yet_are_said(data_dir: Path) -> None:
    report = notification_report(demo_context(), prepared=0, queued=0, delivered=[], measures_published=False)
    assert report.status == "completed"
    assert "Nothing new to deliver." in report.markdown
    assert "No published measures yet: run compute first" in report.markdown


def test_no_metric_pack_when_nothing_was_computed_warns_and_says_so(data_dir) -> None:
    report = notification_report(demo_context(), prepared=1, queued=1, delivered=[{"to": "a", "status": "sent"}],
                                 measures_published=True, measures_computed=False)
    assert report.status == "completed with warnings"
    assert report.summary["metric_pack"] == "not sent: no measure computed"
    assert "No metric pack sent: no measure could be computed for the year" in report.markdown


def test_a_pack_awaiting_sign_off_is_said_and_a_rejected_one_ends_the_stage_rejected(data_dir: Path) -> None:
    waiting = PackOutcome(4, "awaiting approval", "board pack 4 awaits approval by Chair (board); nothing of it was "
                          "sent: `dutycycle approve 4 --kind board-pack ...`")
    report = notification_report(demo_context(), prepared=5, queued=3, delivered=[], measures_published=True,
                                 pack=waiting)
    assert report.status == "completed"
    assert report.summary["metric_pack"] == "board pack 4: awaiting approval"
    assert "**Board pack:** board pack 4 awaits approval by Chair (board); nothing of it was sent" in report.markdown
    rejected = PackOutcome(4, "rejected", "board pack 4 was rejected by Chair (board) on 2026-12-04 10:00 UTC: "
                           "wrong year; nothing of it was sent", 1)
    report = notification_report(demo_context(), prepared=5, queued=1, delivered=[], measures_published=True,
                                 pack=rejected)
    assert (report.status, report.failure) == ("rejected", rejected.sentence)
