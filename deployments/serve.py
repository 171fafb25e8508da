"""Deployments of the cycle: on-demand review runs from the UI, and schedules ahead of each deadline.

`dutycycle serve` (or `python -m deployments.serve`) registers them with the Prefect server in
PREFECT_API_URL and runs their flows in this process. For workers instead, see deployments/prefect.yaml.
"""

from __future__ import annotations

from prefect import serve
from prefect.schedules import Cron

from flows.annual_review import annual_review
from flows.collect import collect
from flows.compute import compute
from flows.notify import notify
from flows.submit import submit
from flows.validate import validate
from tasks.shared.config import partnership_ids
from tasks.shared.settings import get_settings

TIMEZONE = "Europe/London"


def build_deployments(partnership: str) -> list:
    """The deployments of one partnership: the cycle on demand and on its statutory calendar, and each stage."""
    tags = ["dutycycle", partnership]
    review_schedules = [
        # Early December: draft annual review of the last complete year, eight weeks ahead of the 31 January deadline
        Cron(
            "0 7 1 12 *",
            timezone=TIMEZONE,
            slug="annual-review-draft",
            parameters={"partnership": partnership, "financial_year": "latest"},
        ),
        # Mid January: final run before the 31 January deadline, with submission
        Cron(
            "0 7 15 1 *",
            timezone=TIMEZONE,
            slug="annual-review-final",
            parameters={"partnership": partnership, "financial_year": "latest"},
        ),
        # Monthly: collect and check the year in progress, so late partner returns are chased in time
        Cron(
            "0 6 8 * *",
            timezone=TIMEZONE,
            slug="monthly-collection",
            parameters={
                "partnership": partnership,
                "financial_year": "current",
                "stages": ["collect", "validate", "notify"],
            },
        ),
    ]
    deployments = [
        annual_review.to_deployment(
            name=f"{partnership}-annual-review",
            description="The yearly cycle: collect, validate, compute, notify, submit. Trigger a review run here.",
            tags=tags,
            parameters={"partnership": partnership},
            schedules=review_schedules,
            enforce_parameter_schema=True,
        )
    ]
    for stage_flow in (collect, validate, compute, notify, submit):
        deployments.append(
            stage_flow.to_deployment(
                name=f"{partnership}-{stage_flow.name}",
                description=f"Run only the {stage_flow.name} stage for a partnership and year.",
                tags=tags,
                parameters={"partnership": partnership},
                enforce_parameter_schema=True,
            )
        )
    return deployments


def all_deployments() -> list:
    return [d for pid in partnership_ids(get_settings().config_dir) for d in build_deployments(pid)]


def serve_all() -> None:
    serve(*all_deployments())


if __name__ == "__main__":
    serve_all()
