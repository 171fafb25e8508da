"""The parameters every flow takes, typed so that the Prefect UI's form says what each one means."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

DEMO_PARTNERSHIP = "castle-point-rochford"
FINANCIAL_YEAR_PATTERN = r"^(\d{4}/\d{2}|latest|current)$"

PartnershipId = Annotated[
    str, Field(title="Partnership", description="Partnership id (a folder under config/partnerships).")
]
FinancialYear = Annotated[
    str,
    Field(
        title="Financial year",
        description="Financial year under review (April to March), e.g. 2022/23; 'latest' is the last complete "
        "year and 'current' the year in progress (used by schedules).",
        pattern=FINANCIAL_YEAR_PATTERN,
    ),
]
