"""Serve the declared deployments (deployments/declaration.py) with their schedules in this process.

`dutycycle serve` (or `python -m deployments.serve`) registers them with the Prefect server in PREFECT_API_URL and
runs their flows here. For workers instead, see deployments/prefect.yaml (written from the same declaration).
"""

from __future__ import annotations

import importlib

from prefect import serve
from prefect.schedules import Cron, RRule, Schedule

from deployments.declaration import DeploymentSpec, all_deployment_specs
from tasks.shared.parameters import FORM_TITLES
from tasks.shared.schedules import ScheduleSpec


def prefect_schedule(spec: ScheduleSpec) -> Schedule:
    if spec.cron:
        return Cron(spec.cron, timezone=spec.timezone, slug=spec.slug, parameters=spec.parameters)
    return RRule(spec.rrule, timezone=spec.timezone, slug=spec.slug, parameters=spec.parameters)


def flow_of(entrypoint: str):
    """The flow object behind an entrypoint such as flows/collect.py:collect."""
    path, name = entrypoint.split(":")
    return getattr(importlib.import_module(path.removesuffix(".py").replace("/", ".")), name)


def build_deployment(spec: DeploymentSpec):
    deployment = flow_of(spec.entrypoint).to_deployment(
        name=spec.name,
        description=spec.description,
        tags=spec.tags,
        parameters=spec.parameters,
        schedules=[prefect_schedule(s) for s in spec.schedules],
        enforce_parameter_schema=True,
    )
    # Prefect titles each form field with the parameter's name; the analyst reads "Financial year", not
    # "financial_year" (the choices and help come from the parameter types: tasks/shared/parameters.py)
    for name, field in deployment._parameter_openapi_schema.properties.items():
        field["title"] = FORM_TITLES.get(name, field.get("title", name))
    return deployment


def all_deployments() -> list:
    return [build_deployment(spec) for spec in all_deployment_specs()]


def serve_all() -> None:
    serve(*all_deployments())


if __name__ == "__main__":
    serve_all()
