"""Contract tests: every deployment matches its flow, and the Prefect API accepts and lists them."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest
import yaml

from deployments.serve import all_deployments
from tasks.shared.settings import PROJECT_ROOT

PREFECT_YAML = PROJECT_ROOT / "deployments" / "prefect.yaml"


def _flow_of(entrypoint: str):
    path, name = entrypoint.split(":")
    module = importlib.import_module(Path(path).with_suffix("").as_posix().replace("/", "."))
    return getattr(module, name)


def test_prefect_yaml_entrypoints_and_parameters_match_the_flows() -> None:
    spec = yaml.safe_load(PREFECT_YAML.read_text())
    served = {d.name: d for d in all_deployments()}
    assert {d["name"] for d in spec["deployments"]} == set(served)
    for deployment in spec["deployments"]:
        flow = _flow_of(deployment["entrypoint"])
        accepted = set(inspect.signature(flow.fn).parameters)
        assert set(deployment["parameters"]) <= accepted, deployment["name"]
        for schedule in deployment.get("schedules", []):
            assert set(schedule["parameters"]) <= accepted
            assert schedule["timezone"] == "Europe/London"
            assert sum(key in schedule for key in ("cron", "interval", "rrule")) == 1
        assert served[deployment["name"]].entrypoint.endswith(deployment["entrypoint"].split("/")[-1])


def test_schedule_parameters_are_valid_years_and_stages() -> None:
    from flows.annual_review import Stage
    from tasks.shared.periods import parse_financial_year

    review = next(d for d in all_deployments() if d.name.endswith("-annual-review"))
    assert {s.slug for s in review.schedules} == {"annual-review-draft", "annual-review-final", "monthly-collection"}
    for schedule in review.schedules:
        parse_financial_year(schedule.parameters["financial_year"])
        for stage in schedule.parameters.get("stages", []):
            Stage(stage)


@pytest.mark.flow
def test_deployments_register_and_list_on_a_real_server(prefect_server: None) -> None:
    from prefect.client.orchestration import get_client

    for deployment in all_deployments():
        deployment.apply()
    with get_client(sync_client=True) as client:
        listed = {d.name: d for d in client.read_deployments()}  # the call FastAPI >= 0.151 breaks
    review = listed["castle-point-rochford-annual-review"]
    assert review.enforce_parameter_schema
    properties = review.parameter_openapi_schema["properties"]
    assert set(properties) == {"partnership", "financial_year", "stages"}
    assert "latest" in properties["financial_year"]["pattern"]
    assert {s.schedule.timezone for s in review.schedules} == {"Europe/London"}
    assert len([name for name in listed if name.startswith("castle-point-rochford-")]) == 6
