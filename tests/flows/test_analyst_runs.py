"""Runs as an analyst meets them in the Prefect UI: mistakes refused at once in one sentence however the run was
created, runs named by partnership, year and stages, failed stages shown as Failed, and one run per partnership and
year at a time."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest
import yaml
from sqlalchemy import select

from tasks.shared.settings import PROJECT_ROOT, get_settings, reset_settings_cache
from tasks.shared.storage.models import OutboxMessage
from tasks.shared.storage.session import session_scope, table_row_counts
from tests.databases import written_in
from tests.prefect_logs import read_logs, wait_for_log
from tests.prefect_runs import wait_for_flow_run
from tests.servers.fingertips import FingertipsFake

pytestmark = pytest.mark.flow
DEMO = "castle-point-rochford"


def _client():
    from prefect.client.orchestration import get_client

    return get_client(sync_client=True)


def _as_serve_runs_it(run_id: str, entrypoint: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Execute a deployment's flow run the way `serve` (Prefect's Runner) does: `python -m prefect.engine <id>` in
    its own process, told the flow's entrypoint, so the code is loaded from the project where it is. (`prefect
    flow-run execute` would first copy the deployment's whole folder, the project with .venv and var/, into a
    temporary one: 26 s here, 80 s and more on a busy machine; neither serve nor a worker of
    deployments/prefect.yaml, whose pull step sets the working directory, ever does that.)"""
    return subprocess.run([sys.executable, "-m", "prefect.engine", run_id], cwd=PROJECT_ROOT,
                          env={**env, "PREFECT__FLOW_ENTRYPOINT": entrypoint}, capture_output=True, text=True,
                          timeout=600)


def _logs(flow_run_id: UUID | str) -> list[str]:
    return [message for _, message in read_logs(flow_run_id)]


def _children(parent: UUID | str) -> list:
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    with _client() as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[UUID(str(parent))])))
    return sorted(runs, key=lambda run: run.start_time)


def _spurious(messages: list[str]) -> list[str]:
    return [m for m in messages if "Traceback" in m or "TypeError" in m or "cannot be resolved" in m]


def test_a_misspelt_partnership_is_refused_at_once_in_one_sentence(prefect_server: None, data_dir: Path) -> None:
    from flows.annual_review import annual_review

    state = annual_review(partnership="castle-point-rochfrod", financial_year="2022/23", return_state=True)
    assert state.is_failed()
    assert state.message == ("refused: unknown partnership 'castle-point-rochfrod': the configured partnerships are "
                             "castle-point-rochford; did you mean castle-point-rochford?")
    assert not written_in(data_dir), "nothing may be written for a refused run"
    assert not (data_dir / "outbox").exists(), "nothing may be sent for a refused run"
    assert not _spurious(_logs(state.state_details.flow_run_id))


def test_a_typo_of_the_year_is_refused_at_once(prefect_server: None, data_dir: Path) -> None:
    from flows.annual_review import annual_review

    state = annual_review(partnership=DEMO, financial_year="2031/32", return_state=True)
    assert state.is_failed()
    assert state.message.startswith("refused: nothing run: financial year 2031/32 starts on 01 April 2031, after today")
    # nothing but the failure alert to the partnership's analyst (the board and data owners hear nothing)
    with session_scope(get_settings().resolved_database_url) as session:
        sent = session.execute(select(OutboxMessage.kind, OutboxMessage.recipient_id)).all()
    assert sent == [("run_failed", "csp-analyst")]


def test_a_run_created_without_parameter_validation_is_still_refused(prefect_server: None, data_dir: Path) -> None:
    """The UI's "Validate parameters" untick (and an API call) skips the server's schema check: the flow refuses."""
    import requests
    from prefect.settings import PREFECT_API_URL

    from deployments.declaration import deployment_specs
    from deployments.serve import build_deployment

    spec = next(s for s in deployment_specs(DEMO) if s.name.endswith("-annual-review"))
    deployment_id = build_deployment(spec).apply()
    bad = {"partnership": "castle-point-rochfrod", "financial_year": "2022/23", "stages": ["collect"]}
    # the very request the UI's custom-run form sends
    create = f"{PREFECT_API_URL.value()}/deployments/{deployment_id}/create_flow_run"
    enforced = requests.post(create, json={"parameters": bad}, timeout=60)
    assert enforced.status_code == 409, "with the schema enforced the server refuses at once: no run is created"
    assert "castle-point-rochfrod" in enforced.text
    unchecked = requests.post(create, json={"parameters": bad, "enforce_parameter_schema": False}, timeout=60)
    unchecked.raise_for_status()
    run_id = unchecked.json()["id"]
    # executed as `serve` executes it: by the engine, in its own process, from the project
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "DUTYCYCLE_DATA_DIR": str(data_dir)}
    done = _as_serve_runs_it(run_id, spec.entrypoint, env)
    with _client() as client:
        final = client.read_flow_run(UUID(run_id))
    assert final.state.is_failed(), done.stderr[-2000:]
    assert final.state.message.startswith("refused: unknown partnership 'castle-point-rochfrod'")
    assert not _spurious(_logs(run_id))
    assert not written_in(data_dir)


@pytest.fixture
def collect_held_at_fingertips(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FingertipsFake]:
    """The demo with one more source, a Fingertips export its collect fetches from a local Fingertips that holds
    its answer until the test releases it: a collect then holds its partnership-year for as long as the test needs,
    however fast or slow the machine (timing alone failed this test twice on CI)."""
    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config)
    sources_file = config / "partnerships" / DEMO / "sources.yaml"
    sources = yaml.safe_load(sources_file.read_text())
    sources["sources"].append(
        {"id": "fingertips-api", "kind": "fingertips", "dataset": "fingertips", "title": "Fingertips API",
         "owner": "ons", "location": "inputs/fingertips-api", "pattern": "*.csv", "indicator_ids": [93356],
         "api_area_type_id": 102})
    sources_file.write_text(yaml.safe_dump(sources, sort_keys=False))
    with FingertipsFake() as fingertips:
        fingertips.hold()
        monkeypatch.setenv("DUTYCYCLE_CONFIG_DIR", str(config))
        monkeypatch.setenv("DUTYCYCLE_FINGERTIPS_API_URL", fingertips.base_url)
        monkeypatch.setenv("DUTYCYCLE_HTTP_TIMEOUT_SECONDS", "900")  # the held call must not time out
        reset_settings_cache()
        yield fingertips
    reset_settings_cache()


def test_two_runs_of_one_partnership_and_year_never_overlap(
    prefect_server: None, collect_held_at_fingertips: FingertipsFake
) -> None:
    from flows.collect import collect
    from flows.validate import validate

    fingertips = collect_held_at_fingertips
    states: dict[str, object] = {}

    def run(label: str, stage, year: str) -> None:
        states[label] = stage(partnership=DEMO, financial_year=year, return_state=True)

    first = threading.Thread(target=run, args=("first", collect, "2022/23"))
    second = threading.Thread(target=run, args=("second", validate, "2022/23"))
    first.start()
    try:
        assert fingertips.held.wait(600), "the first run never asked Fingertips"  # it holds the partnership-year now
        second.start()  # a validate of the same partnership-year
        second_run = wait_for_flow_run("second run", name=f"{DEMO} 2022/23 validate")
        waiting = wait_for_log(second_run.id, lambda message: message.startswith("waiting: "))
    finally:
        fingertips.release()  # the first goes on; the second starts when it ends
        first.join(900)
        if second.ident is not None:
            second.join(900)
    ids = {label: state.state_details.flow_run_id for label, state in states.items()}
    assert all(state.is_completed() for state in states.values()), {k: v.message for k, v in states.items()}
    with _client() as client:
        first_name = client.read_flow_run(ids["first"]).name
    assert f"'{first_name}' ({ids['first']}) is already working on {DEMO} 2022/23" in waiting
    logs = {label: read_logs(run_id) for label, run_id in ids.items()}
    # the first's last word inside the lock (its stage result) comes before the second says it starts, and the
    # second's checks come after that
    first_done = _logged_once(logs["first"], "collect: ")
    second_starts = _logged_once(logs["second"], "the other run of")
    second_checked = _logged_once(logs["second"], "validate: ")  # in its own log, though the first ended first
    assert first_done <= second_starts <= second_checked
    assert not _spurious([m for _, m in logs["first"] + logs["second"]])


def _logged_once(logs: list[tuple[object, str]], prefix: str) -> object:
    """When the one log line starting with prefix was logged."""
    found = [when for when, message in logs if message.startswith(prefix)]
    assert len(found) == 1, f"{len(found)} lines start {prefix!r} in {[message for _, message in logs]}"
    return found[0]


def test_a_stage_inside_the_cycle_does_not_take_the_cycles_lock_again(
    prefect_server: None, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cycle holds the partnership-year: its stage (a subflow) must not wait for it, which would be for ever."""
    from flows.annual_review import annual_review
    from tasks.shared.settings import reset_settings_cache

    monkeypatch.setenv("DUTYCYCLE_CYCLE_WAIT_SECONDS", "5")  # a stage that waited for its own cycle gives up soon
    reset_settings_cache()
    state = annual_review(partnership=DEMO, financial_year="2022/23", stages=["validate"], return_state=True)
    [stage] = _children(state.state_details.flow_run_id)
    messages = _logs(stage.id)
    assert not [m for m in messages if m.startswith("waiting: ") or "another run of" in m], messages
    assert [m for m in messages if m.startswith("validate: ")], "the stage ran its checks"
    assert "another run of" not in (state.message or "")


def test_a_stage_deployment_run_on_its_own_takes_the_lock(
    prefect_server: None, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stage's deployment run (executed as `serve` executes it, in its own process) is a top-level
    run: it takes the partnership-year's lock, so it waits while another run holds it."""
    from prefect.settings import PREFECT_API_URL

    from deployments.declaration import deployment_specs
    from deployments.serve import build_deployment
    from tasks.shared.exclusive import one_run_at_a_time
    from tasks.shared.parameters import check_run

    spec = next(s for s in deployment_specs(DEMO) if s.name == f"{DEMO}-validate")
    deployment_id = build_deployment(spec).apply()
    with _client() as client:
        run_id = str(client.create_flow_run_from_deployment(
            deployment_id, parameters={"partnership": DEMO, "financial_year": "2022/23"}).id)
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "DUTYCYCLE_CYCLE_WAIT_SECONDS": "3"}
    with one_run_at_a_time(check_run(DEMO, "2022/23", require_data=False)):  # another run holds the year
        done = _as_serve_runs_it(run_id, spec.entrypoint, env)
    with _client() as client:
        final = client.read_flow_run(UUID(run_id))
    assert final.state.is_failed(), done.stderr[-2000:]
    assert final.state.message == (f"refused: another run of {DEMO} 2022/23 was still running after 3 s of waiting; "
                                   "start this one again when it has finished"), final.state.message


def test_runs_of_other_years_do_not_wait(prefect_server: None, data_dir: Path) -> None:
    from tasks.shared.exclusive import lock_name

    assert lock_name(DEMO, "2022/23") == "dutycycle-castle-point-rochford-2022-23"
    assert lock_name(DEMO, "2021/22") != lock_name(DEMO, "2022/23")
    assert lock_name("knowsley", "2022/23") != lock_name(DEMO, "2022/23")


def test_a_year_without_data_stops_after_collection_and_sends_nothing(prefect_server: None, data_dir: Path) -> None:
    """'latest' on 1 December 2026 is 2025/26; before collection the Fingertips export (named without a year)
    might have held it, so the cycle starts, collects, finds no 2025/26 data and stops: nothing computed or sent."""
    from flows.annual_review import annual_review
    from tasks.shared.periods import financial_year_label, parse_financial_year

    latest = financial_year_label(parse_financial_year("latest"))
    if latest in {"2018/19", "2019/20", "2020/21", "2021/22", "2022/23"}:
        pytest.skip("the machine's clock is set to a year the demo has data for")
    state = annual_review(partnership=DEMO, financial_year="latest", return_state=True)
    assert state.is_failed()
    assert f"year check: stopped after collection: financial year {latest} has no data" in state.message
    counts = table_row_counts(get_settings().resolved_database_url)
    assert counts["raw_files"] > 0 and counts["metric_values"] == 0
    with session_scope(get_settings().resolved_database_url) as session:
        assert session.execute(select(OutboxMessage.kind)).scalars().all() == ["run_failed"]
    assert counts["submissions"] == 0
    assert [run.name.split()[-1] for run in _children(state.state_details.flow_run_id)] == ["collect"]
