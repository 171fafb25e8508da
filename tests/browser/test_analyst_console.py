"""The analyst's console in a real browser: Debian's Chromium, driven by Playwright, starts the annual review of the
demo partnership from the Prefect UI's custom-run form and finds the compute stage's headline table in its artifacts.

Against a real `prefect server start` and `dutycycle serve` (subprocesses started here); every step leaves a
screenshot in test-output/browser/, beside the two processes' logs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from tasks.shared.artifacts import artifact_key
from tasks.shared.settings import PROJECT_ROOT
from tests.databases import fresh_database

CHROMIUM = Path("/usr/bin/chromium")
DEMO = "castle-point-rochford"
OUTPUT = PROJECT_ROOT / "test-output" / "browser"
FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
# the machine is shared by several engineers running tests: margins are wide on purpose
SERVER_START_S = 240
DEPLOYMENTS_S = 240
RUN_FINISH_S = 15 * 60
UI_TIMEOUT_MS = 60_000

# slow: the form's run collects, validates and computes the demo year under `serve` (about three minutes on a
# busy 2-core machine), after a server start both tests share; `./run tests -m slow` runs them (.ci/run does)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"no {CHROMIUM}: run scripts/install-browser (Debian's chromium package)"
    ),
]

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    """A subprocess in its own process group, so that it and its children can be stopped together."""
    with log.open("w") as out:
        return subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def _wait_for(condition, timeout_s: float, what: str, process: subprocess.Popen, log: Path):
    """Poll `condition` until it returns something truthy; fail with the process's log if it exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            result = condition()
        except httpx.HTTPError:
            result = None
        if result:
            return result
        if process.poll() is not None:
            pytest.fail(f"{what}: the process exited ({process.returncode}); log {log}:\n{log.read_text()[-3000:]}")
        time.sleep(1)
    pytest.fail(f"{what}: not within {timeout_s} s; log {log}:\n{log.read_text()[-3000:]}")


@dataclass(frozen=True)
class Console:
    ui: str  # http://127.0.0.1:<port>
    api: str  # <ui>/api
    deployments: dict[str, str]  # name -> id
    database: str  # the database `dutycycle serve`'s runs write to: the SQLite file, or its own on PostgreSQL

    def get(self, path: str) -> dict | list:
        response = httpx.get(f"{self.api}{path}", timeout=30)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict) -> dict | list:
        response = httpx.post(f"{self.api}{path}", json=body, timeout=30)
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """A real Prefect server (UI and API) and `dutycycle serve` registering the demo's deployments with it; on
    PostgreSQL (DUTYCYCLE_TEST_DATABASE_URL) the served runs write to a database of their own on that server."""
    with fresh_database() as server_database:
        yield from _console(tmp_path_factory.mktemp("console"), server_database)


def _console(work: Path, server_database: str | None) -> Iterator[Console]:
    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir(parents=True)
    database = server_database or f"sqlite:///{work / 'data' / 'dutycycle.db'}"
    port = _free_port()
    ui, api = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/api"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "DUTYCYCLE_"))}
    server_env = {
        **base,
        "PREFECT_HOME": str(work / "server-home"),
        # the UI asks /ui-settings where its API is: without this it looks on port 4200
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    serve_env = {
        **base,
        "PREFECT_HOME": str(work / "serve-home"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # the runner looks for the form's run every second instead of every 10 s: the test waits for it
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "DUTYCYCLE_DATA_DIR": str(work / "data"),
        **({"DUTYCYCLE_DATABASE_URL": server_database} if server_database else {}),
    }
    server_log, serve_log = OUTPUT / "prefect-server.log", OUTPUT / "dutycycle-serve.log"
    bin_dir = Path(sys.executable).parent
    server = _start([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                    server_env, server_log)
    processes = [server]
    try:
        _wait_for(lambda: httpx.get(f"{api}/health", timeout=5).status_code == 200, SERVER_START_S,
                  "prefect server's /api/health", server, server_log)
        serve = _start([str(bin_dir / "dutycycle"), "serve"], serve_env, serve_log)
        processes.append(serve)
        expected = {f"{DEMO}-{name}" for name in
                    ("annual-review", "deadlines", "collect", "validate", "compute", "notify", "submit")}

        def registered() -> dict[str, str] | None:
            found = {d["name"]: d["id"] for d in httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()}
            return found if expected <= set(found) else None

        deployments = _wait_for(registered, DEPLOYMENTS_S, "dutycycle serve's deployments", serve, serve_log)
        yield Console(ui=ui, api=api, deployments=deployments, database=database)
    finally:
        for process in reversed(processes):
            _stop(process)


@pytest.fixture(scope="module")
def browser(console: Console):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, request: pytest.FixtureRequest):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(UI_TIMEOUT_MS)
    page = context.new_page()
    page.shots = Screenshots(page, request.node.name)
    try:
        yield page
    finally:
        page.shots("last")  # where the test stopped, also when it failed
        context.close()


class Screenshots:
    """A numbered screenshot per step, test-output/browser/<test>/NN-<step>.png."""

    def __init__(self, page, test_name: str):
        self.page, self.folder, self.count = page, OUTPUT / test_name, 0
        self.folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, step: str, full_page: bool = True) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{step}.png"
        self.page.screenshot(path=path, full_page=full_page)
        return path


# The custom-run form. The helpers handle a free-text field and a dropdown (JSON-schema enum) alike, because the
# parameters are becoming dropdowns: partnership an enum of partnership ids, financial_year an enum of years with
# data plus latest/current, stages a multi-select of the five stages.

def form_field(page, parameter: str):
    """The form's block for one parameter, found by its label ('financial_year (Optional)', 'Partnership', ...)."""
    label = re.compile(rf"^\s*{re.escape(parameter).replace('_', '[_ ]')}\b", re.IGNORECASE)
    return page.locator(".schema-form-property").filter(
        has=page.locator(".schema-form-property__label", has_text=label)
    )


def _type_or_choose(page, parameter: str, value: str) -> None:
    field = form_field(page, parameter)
    field.wait_for()
    text = field.locator("textarea, input[type=text]")
    if text.count():
        text.first.fill(value)
    else:
        choose_options(page, field, {value}, single=True)


def choose_options(page, field, wanted: set[str], single: bool = False) -> None:
    """Make a Prefect UI select (single, or multiple with a tag per value) hold exactly `wanted`."""
    if not single:
        tags = field.locator(".p-tag")
        for _ in range(20):
            labels = [label.strip() for label in tags.all_inner_texts()]
            extra = [i for i, label in enumerate(labels) if label not in wanted]
            if not extra:
                break
            tags.nth(extra[0]).locator(".p-tag__dismiss").click()
            expect(tags).to_have_count(len(labels) - 1)  # the form redraws its tags after each one
        chosen = {tag.inner_text().strip() for tag in field.locator(".p-tag").all()}
        if wanted <= chosen:
            return
    options = _open_dropdown(page, field)
    labels = [option.inner_text().strip() for option in options.all()]
    missing = wanted - set(labels)
    assert not missing, f"the dropdown offers {labels}, not {sorted(missing)}"
    for option in options.all():
        label = option.inner_text().strip()
        if label in wanted and (single or label not in chosen):
            option.click()
            if single:
                return  # a single choice closes its list: the other options are gone
    if options.first.is_visible():
        page.keyboard.press("Escape")


def _open_dropdown(page, field):
    control = field.locator(".p-select-button__control")
    options = page.get_by_role("option")
    control.click()
    try:
        options.first.wait_for(timeout=3_000)
    except PlaywrightTimeoutError:
        # a click that landed while the control was already open (a tag's dismiss opens it) closed it again
        control.press("ArrowDown")
        options.first.wait_for()
    return options


def fill_partnership(page, partnership: str) -> None:
    _type_or_choose(page, "partnership", partnership)


def choose_year(page, year: str) -> None:
    _type_or_choose(page, "financial_year", year)


def choose_stages(page, stages: list[str]) -> None:
    field = form_field(page, "stages")
    field.wait_for()
    choose_options(page, field, set(stages))


def selected_stages(page) -> list[str]:
    return [tag.inner_text().strip() for tag in form_field(page, "stages").locator(".p-tag").all()]


def _final_run(console: Console, run_id: str) -> dict:
    run = console.get(f"/flow_runs/{run_id}")
    return run if run["state_type"] in FINAL_STATES else None


def _subflow_runs(console: Console, parent_id: str) -> dict[str, dict]:
    """The stage flows run inside a run, by flow name."""
    flows = {f["id"]: f["name"] for f in console.post("/flows/filter", {})}
    runs = console.post("/flow_runs/filter", {"flow_runs": {"parent_flow_run_id": {"any_": [parent_id]}}})
    return {flows[run["flow_id"]]: run for run in runs}


def test_the_deployments_page_lists_every_deployment(console: Console, page) -> None:
    page.goto(f"{console.ui}/deployments")
    links = page.locator("tbody a[href*='/deployments/deployment/']")
    links.first.wait_for()
    page.shots("deployments")
    for name, deployment_id in console.deployments.items():
        link = page.get_by_role("link", name=name, exact=True)
        assert link.count() == 1, f"{name} is registered with the API but not on the deployments page"
        assert link.get_attribute("href").endswith(deployment_id)
    listed = {link.inner_text().strip() for link in page.get_by_role("link").all()} & set(console.deployments)
    assert len(listed) == len(console.deployments)
    assert page.get_by_text(f"{len(console.deployments)} Deployments", exact=True).count() == 1


def test_an_analyst_runs_the_review_from_the_form_and_reads_the_headline_table(console: Console, page) -> None:
    name = f"{DEMO}-annual-review"
    stages = ["collect", "validate", "compute"]
    page.goto(f"{console.ui}/deployments")
    page.get_by_role("link", name=name, exact=True).click()
    page.wait_for_url(re.compile(r"/deployments/deployment/"))
    page.get_by_role("button", name="Run", exact=True).wait_for()
    page.shots("deployment")
    page.get_by_role("button", name="Run", exact=True).click()
    page.get_by_text("Custom run").click()
    page.wait_for_url(re.compile(r"/run(\?|$)"))
    form_field(page, "stages").wait_for()
    page.shots("custom-run-form")

    fill_partnership(page, DEMO)
    choose_year(page, "2022/23")
    choose_stages(page, stages)
    assert selected_stages(page) == stages

    # the partnership and the year are choices, not free text: nothing to misspell
    for parameter in ("partnership", "financial_year"):
        assert not form_field(page, parameter).locator("textarea, input[type=text]").count(), parameter
    page.shots("form-filled")
    before = {run["id"] for run in console.post("/flow_runs/filter", {})}

    # Submit leads back to the deployment's page; the new run is the deployment's run that was not there before
    page.get_by_role("button", name="Submit", exact=True).click()
    page.wait_for_url(re.compile(r"/deployments/deployment/[0-9a-f-]{36}(\?|$)"))
    page.shots("run-submitted")
    deadline = time.monotonic() + 60
    while not (new := [r for r in console.post("/flow_runs/filter", {}) if r["id"] not in before]):
        assert time.monotonic() < deadline, "Submit created no run"
        time.sleep(1)
    run_id = new[0]["id"]
    page.goto(f"{console.ui}/runs/flow-run/{run_id}")
    page.shots("run-page")
    run = console.get(f"/flow_runs/{run_id}")
    assert run["deployment_id"] == console.deployments[name]
    assert run["parameters"] == {"partnership": DEMO, "financial_year": "2022/23", "stages": stages}
    print(f"run {run['name']} ({run_id}) started from the form; waiting up to {RUN_FINISH_S} s")

    deadline = time.monotonic() + RUN_FINISH_S
    while not (run := _final_run(console, run_id)):
        assert time.monotonic() < deadline, f"run {run_id} not finished within {RUN_FINISH_S} s"
        time.sleep(1)
    # runs named by partnership, year and stages: the Runs list says what each one is
    assert run["name"] == f"{DEMO} 2022/23 collect+validate+compute", run["name"]
    children = _subflow_runs(console, run_id)
    assert set(children) == set(stages), f"stage runs {sorted(children)}"
    assert children["compute"]["name"] == f"{DEMO} 2022/23 compute"
    assert children["compute"]["state_type"] == "COMPLETED", children["compute"]["state"]

    # the headline table as the API holds it: the partnership's own row of the first measure with a rate
    key = artifact_key(DEMO, "2022-23", "compute", "table")
    artifacts = console.post("/artifacts/filter", {
        "artifacts": {"key": {"any_": [key]}, "flow_run_id": {"any_": [children["compute"]["id"]]}},
    })
    assert len(artifacts) == 1, f"{len(artifacts)} artifacts {key} on the compute run"
    rows = json.loads(artifacts[0]["data"])
    headline = next((row for row in rows if row["area_code"] == DEMO and row["value"] not in ("", None)),
                    None)
    assert headline, f"no rate for {DEMO} in the headline table: {rows[:3]}"
    # the run wrote to the console's database (on PostgreSQL: the server's, not a SQLite file in the data directory)
    engine = create_engine(console.database, poolclass=NullPool)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM metric_values WHERE partnership = :p"),
                                    {"p": DEMO}).scalar_one()
    engine.dispose()
    assert stored >= len([row for row in rows if row["area_code"] == DEMO]), f"{stored} metric values stored"

    # the analyst's way there: the run, its stage runs, compute, its artifacts, the table
    page.goto(f"{console.ui}/runs/flow-run/{run_id}")
    page.get_by_text(run["state_name"], exact=True).first.wait_for()
    page.shots("run-finished")
    # the cycle's own run shows its summary, linking each stage's summary
    open_tab(page, "Artifacts")
    summary = page.locator(".artifact-card").filter(has_text=f"{DEMO}-2022-23-cycle-summary")
    summary.first.wait_for()
    page.shots("cycle-artifacts")
    page.goto(f"{console.ui}/runs/flow-run/{run_id}")
    page.get_by_text(run["state_name"], exact=True).first.wait_for()
    open_tab(page, "Subflow Runs")
    page.get_by_role("link", name=children["compute"]["name"], exact=True).click()
    page.wait_for_url(re.compile(children["compute"]["id"]))
    page.shots("compute-run")
    open_tab(page, "Artifacts")
    card = page.locator(".artifact-card").filter(has_text=key)
    card.first.wait_for()
    page.shots("compute-artifacts")
    card.first.click()
    page.wait_for_url(re.compile(r"/artifacts/artifact/"))
    page.locator("table td").first.wait_for()
    page.shots("headline-table")
    shown = table_rows(page)
    assert len(shown) == len(rows), f"the page shows {len(shown)} rows of the table's {len(rows)}"
    same = [row for row in shown if (row["measure"], row["area_code"], row["age_band"]) ==
            (headline["measure"], DEMO, headline["age_band"])]
    assert same, f"the page has no row of {headline['measure']} for {DEMO}"
    for column in ("title", "area_name", "count", "value", "lower_ci_95", "upper_ci_95"):
        assert same[0][column] == str(headline[column]), (
            f"{column}: the page shows {same[0][column]!r}, the API holds {headline[column]!r}"
        )
    # the figures sit far right in a 17-column table: bring the partnership's rate into view for the record
    row = page.locator("tr").filter(has_text=headline["area_name"]).first
    row.locator("td").nth(list(headline).index("value")).scroll_into_view_if_needed()
    page.shots("headline-figures", full_page=False)


def open_tab(page, name: str) -> None:
    """A tab of a run's page (Logs, Subflow Runs, Artifacts, ...)."""
    page.locator(".p-tab").filter(has_text=re.compile(rf"^\s*{re.escape(name)}\b")).first.click()


def table_rows(page) -> list[dict[str, str]]:
    """The rows of the first table on the page, as the browser renders them, keyed by the column headers."""
    return page.locator("table").first.evaluate("""table => {
        const headers = [...table.querySelectorAll('thead th')].map(th => th.innerText.trim());
        return [...table.querySelectorAll('tbody tr')].map(tr => Object.fromEntries(
            [...tr.querySelectorAll('td')].map((td, i) => [headers[i], td.innerText.trim()])));
    }""")
