"""Messages worth reading, delivered to a real SMTP server on 127.0.0.1 (or as .eml files without one): each data
owner's report covers only their own files of the year, summarised by file and rule, with the full list attached."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
from pathlib import Path

import pandas as pd
import pytest

from tasks.notify.messages import data_quality_messages, data_request_messages, metric_pack_messages
from tasks.notify.steps import quality_pages_of
from tasks.shared.config import load_partnership_config
from tasks.shared.context import open_cycle
from tasks.shared.outbox import deliver_outbox, queue_messages
from tasks.shared.published import quality_page
from tasks.shared.settings import PROJECT_ROOT, reset_settings_cache
from tasks.shared.storage.session import table_row_counts
from tests.servers.mail import Inbox, SmtpServer

CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")
RECEIVED = dt.datetime(2023, 5, 2, 9, 0)


def _file(source: str, name: str, period: str, status: str, rows: int, received: dt.datetime = RECEIVED) -> dict:
    return {"source_id": source, "original_name": name, "period": period, "status": status,
            "reason": "failed critical checks" if status == "quarantined" else None, "rows_read": rows,
            "rows_loaded": 0 if status == "quarantined" else rows, "received_at": received}


def _failure(source: str, name: str, row: int, rule: str, severity: str, value: str = "") -> dict:
    return {"source_id": source, "original_name": name, "source_row": row, "column": "c", "value": value,
            "rule": rule, "severity": severity}


FILES = pd.DataFrame([
    _file("police-knife-crime", "knife.csv", "2022-04", "quarantined", 4),
    _file("ae-assault-attendances", "ae.csv", "2022-04", "loaded", 8),
    _file("police-street-archive", "2018-04.zip", "2018-04", "loaded", 1000),  # four years old
    _file("police-street-archive", "2022-05.zip", "2022-05", "loaded", 200),
])
FAILURES = pd.DataFrame(
    [_failure("police-knife-crime", "knife.csv", 3, "Offences are whole numbers", "critical", "-2")]
    + [_failure("police-street-archive", "2018-04.zip", r, "Every crime has a location", "warning") for r in range(2, 102)]
    + [_failure("police-street-archive", "2022-05.zip", r, "Every crime has a location", "warning") for r in range(2, 52)]
)


def _by_recipient(last_reported: dict | None = None) -> dict:
    return {m.recipient.id: m for m in data_quality_messages(CONFIG, "2022/23", FILES, FAILURES, last_reported)}


def test_each_data_owner_receives_only_their_own_files_of_the_year_summarised_by_file_and_rule() -> None:
    police = _by_recipient()["essex-police-analyst"]
    # blocking and informational are separate sections; counts and shares are per file and rule
    blocking, informational = police.body.split("FOR INFORMATION")
    assert "knife.csv: Offences are whole numbers - 1 row(s), 25.0% of the file" in blocking
    assert "2022-05.zip: Every crime has a location - 50 row(s), 25.0% of the file" in informational
    assert "2018-04.zip" not in police.body  # an older year's file, unchanged since: not in this year's report
    assert "ae.csv" not in police.body  # the health board's file
    assert "1 file(s) blocked" in police.subject
    # the full list is attached as CSV: every failing row of the reported files, none of another owner's
    [(name, data)] = police.files.items()
    listing = pd.read_csv(pd.io.common.BytesIO(data))
    assert name == "data-quality-essex-police-analyst-2022-23.csv"
    assert len(listing) == 51 and set(listing["file"]) == {"knife.csv", "2022-05.zip"}
    # a corrected file is asked for only where the owner can send one (a partner return), not of the public archive
    assert "Please send a corrected file for Essex Police knife and sharp-instrument offences (knife.csv)" in police.body
    assert "data.police.uk street-level crime (monthly archive) comes from a public source" in police.body
    assert "corrected file for data.police.uk" not in police.body

    health = _by_recipient()["mse-icb-intelligence"]
    assert "ae.csv" in health.body and "knife.csv" not in health.body and "all clear" in health.subject
    assert health.files == {} and "corrected" not in health.body
    assert "csp-board" not in _by_recipient()  # the board gets the metric pack, not row-level reports


def test_an_older_file_appears_only_when_it_arrived_since_the_last_report() -> None:
    before_it_arrived = {"essex-police-analyst": RECEIVED - dt.timedelta(days=1)}
    assert "2018-04.zip: Every crime has a location - 100 row(s), 10.0% of the file" in (
        _by_recipient(before_it_arrived)["essex-police-analyst"].body
    )
    after_it_arrived = {"essex-police-analyst": RECEIVED + dt.timedelta(days=1)}
    assert "2018-04.zip" not in _by_recipient(after_it_arrived)["essex-police-analyst"].body


def test_partner_values_are_escaped_in_the_html_part() -> None:
    files = pd.DataFrame([_file("police-knife-crime", "<script>x</script>.csv", "2022-04", "quarantined", 2)])
    failures = pd.DataFrame([_failure("police-knife-crime", "<script>x</script>.csv", 2, "Rule <b>", "critical")])
    [police] = [m for m in data_quality_messages(CONFIG, "2022/23", files, failures)
                if m.recipient.id == "essex-police-analyst"]
    assert "<script>" not in police.html and "&lt;script&gt;x&lt;/script&gt;.csv" in police.html
    assert "Rule &lt;b&gt;" in police.html


def test_a_data_request_says_what_which_period_how_and_by_when() -> None:
    chase = pd.DataFrame([
        {"source": "police-knife-crime", "owner": "essex-police-analyst", "period": "2022/23 Q3",
         "due": dt.date(2023, 1, 30), "status": "overdue", "files": 0},
    ])
    [request] = data_request_messages(CONFIG, "2022/23", chase)
    assert request.recipient.id == "essex-police-analyst" and request.subject.endswith("Overdue: data needed for 2022/23, 1 period(s)")
    body = request.body
    assert "Essex Police knife and sharp-instrument offences" in body
    assert "- 2022/23 Q3: due by Monday 30 January 2023 (overdue)" in body
    assert "inputs/partner-returns/essex-police" in body
    assert "dutycycle upload FILE --source police-knife-crime --partnership castle-point-rochford" in body
    assert "Columns expected: Month, Local Authority Code, Victim Age Group, Knife or Sharp Instrument Offences" in body


def test_the_metric_pack_shows_only_published_figures() -> None:
    published = pd.DataFrame([
        {"financial_year": "2022/23", "area_code": CONFIG.partnership.id, "title": "Knife crime", "age_band": "all",
         "count": "35", "value": "19.2", "value_unit": "per 100,000", "lower_ci_95": "13.4", "upper_ci_95": "26.7",
         "change_on_previous_year_percent": "-12.5"},
        {"financial_year": "2022/23", "area_code": CONFIG.partnership.id, "title": "Homicide", "age_band": "all",
         "count": "*", "value": "", "value_unit": "per 100,000", "lower_ci_95": "", "upper_ci_95": "",
         "change_on_previous_year_percent": ""},
        {"financial_year": "2022/23", "area_code": CONFIG.partnership.id, "title": "Knife share under 25",
         "age_band": "under_25", "count": "81", "value": "30.8", "value_unit": "%", "lower_ci_95": "25.5",
         "upper_ci_95": "36.6", "change_on_previous_year_percent": ""},
    ])
    [board, analyst] = metric_pack_messages(CONFIG, "2022/23", published, ["/x/measures-published.csv", "/x/summary.html"])
    assert "- Knife crime (all): count 35, rate 19.2 per 100,000 (95% CI 13.4 to 26.7), -12.5% on the previous year" in board.body
    assert "- Homicide (all): count *" in board.body and "<td class=\"num\">*</td>" in board.html
    # a percentage is printed as one, never as a rate per 100,000
    assert "- Knife share under 25 (under_25): count 81, 30.8% (95% CI 25.5 to 36.6)" in board.body
    assert "<td class=\"num\">30.8%</td>" in board.html and "<td class=\"num\">19.2 per 100,000</td>" in board.html
    assert "Attached: measures-published.csv, summary.html" in board.body


@pytest.fixture
def smtp(data_dir: Path, monkeypatch):
    inbox = Inbox()
    with SmtpServer(inbox) as server:
        monkeypatch.setenv("DUTYCYCLE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("DUTYCYCLE_SMTP_PORT", str(server.port))
        monkeypatch.setenv("DUTYCYCLE_MAIL_FROM", "svd@castlepoint.example.org")
        reset_settings_cache()
        yield inbox


def test_reports_arrive_once_over_smtp_rendered_in_both_parts_with_real_headers(smtp: Inbox) -> None:
    ctx = open_cycle("castle-point-rochford", "2022/23")
    messages = data_quality_messages(CONFIG, "2022/23", FILES, FAILURES)
    assert queue_messages.fn(ctx, messages) == len(messages)
    report = deliver_outbox.fn(ctx)
    assert [r["status"] for r in report] == ["sent"] * len(messages)
    assert sorted(str(m["To"]) for m in smtp.messages) == sorted(m.recipient.email for m in messages)

    police = next(m for m in smtp.messages if m["To"] == "analyst@essex-police.example.org")
    assert police["From"] == "Castle Point and Rochford Community Safety Partnership <svd@castlepoint.example.org>"
    assert police["Reply-To"] == "community.safety@example.org"
    assert email.utils.parsedate_to_datetime(str(police["Date"])).tzinfo is not None
    assert str(police["Message-ID"]).endswith("@castlepoint.example.org>")
    text = police.get_body(("plain",)).get_content()
    html = police.get_body(("html",)).get_content()
    assert "knife.csv: Offences are whole numbers - 1 row(s), 25.0% of the file" in text
    assert "<td>knife.csv</td><td>Offences are whole numbers</td>" in html
    assert "2018-04.zip" not in text + html and "ae.csv" not in text + html
    [attachment] = list(police.iter_attachments())
    assert attachment.get_filename() == "data-quality-essex-police-analyst-2022-23.csv"
    assert attachment.get_content().count("\n") == 52  # header + 51 rows
    assert "reply to this e-mail or write to Castle Point and Rochford Community Safety Partnership" in text

    assert queue_messages.fn(ctx, messages) == 0  # same content again: nothing new
    assert deliver_outbox.fn(ctx) == []
    assert len(smtp.messages) == len(messages)
    assert table_row_counts(ctx.database_url)["outbox"] == len(messages)


def test_without_smtp_messages_become_eml_files(data_dir: Path) -> None:
    ctx = open_cycle("castle-point-rochford", "2022/23")
    queue_messages.fn(ctx, data_quality_messages(CONFIG, "2022/23", FILES, FAILURES))
    report = deliver_outbox.fn(ctx)
    files = sorted((data_dir / "outbox" / "castle-point-rochford").glob("*.eml"))
    assert len(files) == len(report) > 0
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["Subject"].startswith("[Castle Point and Rochford")
    assert parsed.get_body(("html",)) is not None and parsed["Reply-To"] == "community.safety@example.org"


def test_each_owner_receives_their_own_quality_page_attached_over_smtp(smtp: Inbox) -> None:
    """The page validate wrote under outputs/<p>/<year>/quality/ travels with the e-mail, byte for byte: a data
    owner's own page to them, the partnership's page to the analyst (who receives every source's report)."""
    ctx = open_cycle("castle-point-rochford", "2022/23")
    written = {}
    for owner in ("essex-police-analyst", None):
        path = quality_page(ctx, owner)
        path.parent.mkdir(parents=True, exist_ok=True)
        written[owner] = f"<!DOCTYPE html><title>quality {owner}</title><p>knife.csv \u2717 Failed</p>".encode()
        path.write_bytes(written[owner])
    messages = data_quality_messages(CONFIG, "2022/23", FILES, FAILURES, quality_pages=quality_pages_of(ctx))
    queue_messages.fn(ctx, messages)
    deliver_outbox.fn(ctx)
    police = next(m for m in smtp.messages if m["To"] == "analyst@essex-police.example.org")
    pages = {a.get_filename(): a for a in police.iter_attachments() if a.get_filename().endswith(".html")}
    assert list(pages) == ["data-quality-essex-police-analyst-2022-23.html"]
    assert pages["data-quality-essex-police-analyst-2022-23.html"].get_content().encode() == written[
        "essex-police-analyst"]
    assert ("The attached data-quality-essex-police-analyst-2022-23.html is your own page of the year's quality "
            "report") in police.get_body(("plain",)).get_content()
    analyst = next(m for m in smtp.messages if m["To"] == CONFIG.stakeholder("csp-analyst").email)
    [page] = [a for a in analyst.iter_attachments() if a.get_filename().endswith(".html")]
    assert page.get_content().encode() == written[None]  # the partnership's page (index.html)
    # an owner whose page validate has not written gets no page and no words about one
    health = next(m for m in smtp.messages if m["To"] == CONFIG.stakeholder("mse-icb-intelligence").email)
    assert not [a for a in health.iter_attachments() if a.get_filename().endswith(".html")]
    assert "quality report:" not in health.get_body(("plain",)).get_content()
