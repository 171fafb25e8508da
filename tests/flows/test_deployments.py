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


def test_the_committed_prefect_yaml_is_what_the_declaration_writes() -> None:
    from deployments.declaration import all_deployment_specs, prefect_yaml

    assert PREFECT_YAML.read_text() == prefect_yaml(all_deployment_specs()), "run `dutycycle deployments-yaml`"


def test_serve_and_prefect_yaml_declare_the_same_schedules() -> None:
    spec = yaml.safe_load(PREFECT_YAML.read_text())
    served = {d.name: d for d in all_deployments()}
    for deployment in spec["deployments"]:
        ours = sorted((s.slug, getattr(s.schedule, "cron", None), getattr(s.schedule, "rrule", None),
                       s.schedule.timezone, s.parameters) for s in served[deployment["name"]].schedules)
        theirs = sorted((s["slug"], s.get("cron"), s.get("rrule"), s["timezone"], s["parameters"])
                        for s in deployment.get("schedules", []))
        assert ours == theirs, deployment["name"]


def test_each_schedule_has_its_cron_timezone_and_parameters() -> None:
    served = {d.name: d for d in all_deployments()}
    review = {s.slug: s for s in served["castle-point-rochford-annual-review"].schedules}
    # worked out from config/deadlines.yaml by hand: 61 and 16 days before 31 January; 14 days before each
    # quarter's end (16 June and September, 17 December and March); the 8th of each month
    expected = {
        "monthly-collection": ("0 6 8 * *", {"financial_year": "current", "stages": ["collect", "validate", "notify"]}),
        "annual-review-draft": ("0 7 1 12 *", {"financial_year": "latest"}),
        "annual-review-final": ("0 7 15 1 *", {"financial_year": "latest"}),
        "s17a-quarterly": ("0 6 16 6,9 *", {"financial_year": "current", "stages": ["collect", "validate", "notify"]}),
        "s17a-quarterly-2": ("0 6 17 3,12 *", {"financial_year": "current", "stages": ["collect", "validate", "notify"]}),
    }
    for slug, (cron, parameters) in expected.items():
        assert review[slug].schedule.cron == cron, slug
        assert review[slug].schedule.timezone == "Europe/London"
        assert review[slug].parameters == {"partnership": "castle-point-rochford", **parameters}
    # the board pack: 3 days before the pack (5 working days before the meeting), on a working day, once
    board = {slug: s for slug, s in review.items() if slug.startswith("board-pack-")}
    assert board["board-pack-2024-01-04"].schedule.rrule == "DTSTART:20231222T070000\nRRULE:FREQ=DAILY;COUNT=1"
    assert board["board-pack-2023-05-11"].schedule.rrule == "DTSTART:20230428T070000\nRRULE:FREQ=DAILY;COUNT=1"
    assert len(board) == 6
    watch = served["castle-point-rochford-deadlines"].schedules
    assert [(s.slug, s.schedule.cron, s.schedule.timezone, s.parameters) for s in watch] == [
        ("daily-deadline-watch", "0 6 * * *", "Europe/London", {"partnership": "castle-point-rochford"})
    ]


def test_schedule_parameters_are_valid_years_and_stages() -> None:
    from tasks.shared.parameters import STAGES
    from tasks.shared.periods import parse_financial_year

    review = next(d for d in all_deployments() if d.name.endswith("-annual-review"))
    for schedule in review.schedules:
        parse_financial_year(schedule.parameters["financial_year"])
        for stage in schedule.parameters.get("stages", []):
            assert stage in STAGES


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
    # the form offers choices: 'latest' (the default), 'current' and the years with data
    assert properties["financial_year"]["enum"][:2] == ["latest", "current"]
    assert properties["financial_year"]["default"] == "latest"
    assert properties["partnership"]["enum"] == ["castle-point-rochford"]
    assert {s.schedule.timezone for s in review.schedules} == {"Europe/London"}
    assert len([name for name in listed if name.startswith("castle-point-rochford-")]) == 7
