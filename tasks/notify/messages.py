"""Which stakeholder gets which message, with what text (pure: no I/O, no sending)."""

from __future__ import annotations

import pandas as pd

from tasks.shared.config import PartnershipConfig
from tasks.shared.markdown import markdown_table
from tasks.shared.outbox import Message


def data_quality_messages(
    config: PartnershipConfig, financial_year: str, file_status: pd.DataFrame, failures: pd.DataFrame
) -> list[Message]:
    """Each data owner receives the report of their own sources only.

    ``file_status``: source_id, original_name, period, status, reason, rows_read, rows_loaded.
    ``failures``: source_id, original_name, source_row, column, value, rule, severity.
    """
    messages = []
    owners: dict[str, list[str]] = {}
    for source in config.sources:
        owners.setdefault(source.owner, []).append(source.id)
    for person in config.stakeholders:
        if "data_quality_report" not in person.receives:
            continue
        owned = owners.get(person.id, []) if person.role == "data_owner" else [s.id for s in config.sources]
        if not owned:
            continue
        files = file_status[file_status["source_id"].isin(owned)]
        problems = failures[failures["source_id"].isin(owned)]
        blocked = files[files["status"] == "quarantined"]
        verdict = (
            f"{len(blocked)} file(s) could not be used and are held in quarantine."
            if len(blocked)
            else "All files passed the checks that block loading."
        )
        lines = [
            f"Dear {person.name},",
            "",
            f"This is the data-quality report for the data you supply to {config.partnership.name}, "
            f"financial year {financial_year}.",
            "",
            f"Files received: {len(files)}. {verdict}",
            f"Problems found: {len(problems)} (each names the file, the row as a spreadsheet shows it, the column, "
            "the value and the rule it broke).",
            "",
        ]
        if len(blocked):
            lines += ["Files held in quarantine:", markdown_table(blocked[["original_name", "reason"]]), ""]
        if len(problems):
            shown = problems[["original_name", "source_row", "column", "value", "rule", "severity"]].rename(
                columns={"original_name": "file", "source_row": "row"}
            )
            lines += ["Problems:", markdown_table(shown, max_rows=100), ""]
        lines += ["Please send a corrected file to the partnership's inbox; it replaces the earlier one.", ""]
        messages.append(
            Message(
                kind="data_quality_report",
                recipient=person,
                subject=f"[{config.partnership.name}] Data-quality report {financial_year}: "
                + ("action needed" if len(blocked) or len(problems) else "all clear"),
                body="\n".join(lines),
            )
        )
    return messages


def metric_pack_messages(
    config: PartnershipConfig, financial_year: str, published: pd.DataFrame, attachments: list[str]
) -> list[Message]:
    """The board and partner leads receive the year's published measures (never exact small counts)."""
    headline = published[
        (published["financial_year"] == financial_year)
        & (published["area_code"] == config.partnership.id)
    ][["title", "age_band", "count", "rate_per_100000", "lower_ci_95", "upper_ci_95", "change_on_previous_year_percent"]]
    body = "\n".join(
        [
            f"Serious Violence Duty measures for {config.partnership.name}, financial year {financial_year}.",
            "Partnership totals below; the attached summary has each member authority.",
            "" if not config.partnership.demo else "DEMO: these figures are built on synthetic data.",
            "",
            markdown_table(headline, max_rows=100),
            "",
            "Counts are protected by the partnership's disclosure policy; rates are per 100,000 with 95% CIs.",
        ]
    )
    return [
        Message(
            kind="metric_pack",
            recipient=person,
            subject=f"[{config.partnership.name}] Serious violence measures {financial_year}",
            body=body,
            attachments=attachments,
        )
        for person in config.stakeholders
        if "metric_pack" in person.receives
    ]


def data_request_messages(config: PartnershipConfig, financial_year: str, to_chase: pd.DataFrame) -> list[Message]:
    """Each data owner is asked, once per distinct list, for their overdue, partial or unusable returns."""
    messages = []
    for person in config.stakeholders:
        if "data_request" not in person.receives:
            continue
        owed = to_chase[to_chase["owner"] == person.id]
        if owed.empty:
            continue
        titles = {s.id: s.title for s in config.sources}
        table = owed.assign(source=owed["source"].map(titles))[["source", "period", "due", "status", "files"]]
        body = "\n".join(
            [
                f"Dear {person.name},",
                "",
                f"{config.partnership.name} has not yet received usable data for these periods of {financial_year}:",
                "",
                markdown_table(table, max_rows=100),
                "",
                "'overdue' means nothing has arrived although the period's due date has passed; 'partial' that some "
                "months are missing; 'received but quarantined' that a file arrived but failed its checks (see your "
                "data-quality report). Please send the data to the partnership's inbox.",
            ]
        )
        messages.append(
            Message(
                kind="data_request",
                recipient=person,
                subject=f"[{config.partnership.name}] Data needed for {financial_year}: {len(owed)} period(s)",
                body=body,
            )
        )
    return messages
