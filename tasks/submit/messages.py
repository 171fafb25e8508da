"""The submission receipt: who hears that a package was built and recorded (pure)."""

from __future__ import annotations

from tasks.shared.config import PartnershipConfig
from tasks.shared.outbox import Message


def submission_receipt_messages(
    config: PartnershipConfig, financial_year: str, deadline_title: str, due: str, package_sha256: str, path: str
) -> list[Message]:
    """Tell the board and analyst that a package was built, validated and recorded against its deadline."""
    body = "\n".join(
        [
            f"The {financial_year} submission package for {config.partnership.name} was built and validated.",
            f"Deadline: {deadline_title}, due {due}.",
            f"Package: {path}",
            f"sha256: {package_sha256}",
            "It awaits sign-off before it is sent.",
        ]
    )
    return [
        Message(
            kind="submission_receipt",
            recipient=person,
            subject=f"[{config.partnership.name}] Submission package ready {financial_year}",
            body=body,
            attachments=[path],
        )
        for person in config.stakeholders
        if "submission_receipt" in person.receives
    ]
