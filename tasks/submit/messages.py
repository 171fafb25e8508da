"""The submission receipt: who hears that a package was built and recorded (pure)."""

from __future__ import annotations

from pathlib import Path

from tasks.shared.config import PartnershipConfig
from tasks.shared.outbox import Message
from tasks.shared.rendering import render_parts


def submission_receipt_messages(
    config: PartnershipConfig, financial_year: str, deadline_title: str, due: str, package_sha256: str, path: str
) -> list[Message]:
    """Tell the board and analyst that a package was built, validated and recorded against its deadline."""
    messages = []
    for person in config.stakeholders:
        if "submission_receipt" not in person.receives:
            continue
        text, html = render_parts(
            "tasks.submit", "submission_receipt", config.partnership, person=person, financial_year=financial_year,
            deadline_title=deadline_title, due=due, package_sha256=package_sha256, package_name=Path(path).name,
        )
        messages.append(
            Message(
                kind="submission_receipt",
                recipient=person,
                subject=f"[{config.partnership.name}] Submission package ready {financial_year}",
                body=text,
                html=html,
                summary=f"The {financial_year} submission package was built and awaits sign-off (due {due}).",
                attachments=[path],
            )
        )
    return messages
