"""The submission receipt: what happened to the year's package, said truthfully (built and awaiting the named
approvers, held for resubmission, approved and delivered, or rejected and why) (pure)."""

from __future__ import annotations

from pathlib import Path

from tasks.shared.config import PartnershipConfig
from tasks.shared.outbox import Message
from tasks.shared.rendering import render_parts

ATTACH_WHILE = ("awaiting approval", "held for resubmission")  # the approvers need the package; afterwards it is known


def submission_receipt_messages(
    config: PartnershipConfig, financial_year: str, deadline_title: str, due: str, package_sha256: str, path: str,
    *, status: str, outcome: str,
) -> list[Message]:
    """Tell the board and analysts (and, for a rejection, every analyst) what happened to the package."""
    messages = []
    for person in config.stakeholders:
        if "submission_receipt" not in person.receives and not (status == "rejected" and person.role == "analyst"):
            continue
        text, html = render_parts(
            "tasks.submit", "submission_receipt", config.partnership, person=person, financial_year=financial_year,
            deadline_title=deadline_title, due=due, package_sha256=package_sha256, package_name=Path(path).name,
            status=status, outcome=outcome,
        )
        messages.append(
            Message(
                kind="submission_receipt",
                recipient=person,
                subject=f"[{config.partnership.name}] Submission {financial_year}: {status}",
                body=text,
                html=html,
                summary=f"The {financial_year} submission package ({deadline_title}, due {due}): {outcome}",
                attachments=[path] if status in ATTACH_WHILE else [],
            )
        )
    return messages
