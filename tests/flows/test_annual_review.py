"""The whole yearly cycle on the demo partnership, run twice: it must be complete, traceable and idempotent."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prefect.states import State
from sqlalchemy import select

from tasks.compute.metric_values import esp2013_weights
from tasks.shared.config import load_partnership_config
from tasks.shared.disclosure import NUMERIC_COLUMNS, published_count_pattern
from tasks.shared.settings import PROJECT_ROOT, get_settings, reset_settings_cache
from tasks.shared.storage.models import MetricValue, RawFile, Submission
from tasks.shared.storage.session import dispose_engines, session_scope, table_row_counts
from tests.databases import fresh_database
from tests.unit.shared.disclosure_attack import (
    _shown_range,
    attack,
    denominator_rows,
    dsr_attack,
    leaks,
    read_populations,
)

pytestmark = pytest.mark.flow
DEMO = "castle-point-rochford"


def _artifact_keys() -> set[str]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return {a.key for a in client.read_artifacts(limit=200) if a.key}


@dataclass(frozen=True)
class DemoCycle:
    """The demo's cycle run twice (once per module: it is slow), what it left after each run, and its file server."""

    data_dir: Path
    files_url: str
    runs: tuple[State, State]
    counts: tuple[dict, dict]
    eml: tuple[list[str], list[str]]


@pytest.fixture(scope="module")
def demo_cycle(prefect_server: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoCycle]:
    from flows.annual_review import annual_review
    from tasks.shared.file_server import make_file_server

    data_dir = tmp_path_factory.mktemp("demo-cycle") / "data"
    with pytest.MonkeyPatch.context() as env, fresh_database() as database:
        env.setenv("DUTYCYCLE_DATA_DIR", str(data_dir))
        for name in ("DUTYCYCLE_DATABASE_URL", "DUTYCYCLE_SMTP_HOST", "DUTYCYCLE_CONFIG_DIR"):
            env.delenv(name, raising=False)
        if database:  # PostgreSQL (tests/databases.py); else the SQLite file in the data directory
            env.setenv("DUTYCYCLE_DATABASE_URL", database)
        # bound before the run on a free port, so the links the run publishes name the port it answers on
        env.setenv("DUTYCYCLE_FILES_URL", "http://127.0.0.1:0")
        reset_settings_cache()
        server = make_file_server(get_settings())
        files_url = f"http://127.0.0.1:{server.server_address[1]}"
        env.setenv("DUTYCYCLE_FILES_URL", files_url)
        reset_settings_cache()
        dispose_engines()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            runs, counts, eml = [], [], []
            for _ in range(2):
                runs.append(annual_review(partnership=DEMO, financial_year="2022/23", return_state=True))
                counts.append(table_row_counts(get_settings().resolved_database_url))
                eml.append(sorted(p.name for p in (data_dir / "outbox" / DEMO).glob("*.eml")))
            yield DemoCycle(data_dir, files_url, tuple(runs), tuple(counts), tuple(eml))
        finally:
            server.shutdown()
            server.server_close()
            dispose_engines()
            reset_settings_cache()


def test_annual_review_twice_is_complete_and_idempotent(demo_cycle: DemoCycle) -> None:
    data_dir = demo_cycle.data_dir
    first, second = demo_cycle.runs
    assert first.is_completed(), first.message
    # the demo's police files repeat some Crime IDs (a warning): the badge says so, not a plain "Completed"
    assert (first.name, first.message) == ("Completed with warnings",
                                           "castle-point-rochford 2022/23: completed with warnings in: collect")
    url = get_settings().resolved_database_url
    counts_after_first = demo_cycle.counts[0]
    assert second.is_completed(), second.message
    assert demo_cycle.counts[1] == counts_after_first
    assert demo_cycle.eml[1] == demo_cycle.eml[0]

    # every stage left something in every table it owns
    for table in ("raw_files", "observations", "validation_results", "metric_values", "outbox", "deadlines",
                  "submissions", "runs"):
        assert counts_after_first[table] > 0, table
    assert counts_after_first["runs"] == 5
    assert counts_after_first["submissions"] == 1

    with session_scope(url) as session:
        files = session.scalars(select(RawFile)).all()
        # every input file is kept byte-for-byte under its checksum
        demo_inputs = [p for p in (Path(__file__).parents[2] / "config/partnerships" / DEMO / "inputs").rglob("*")
                       if p.is_file() and p.suffix in (".zip", ".csv")]
        assert len(files) == len(demo_inputs)
        for row in files:
            assert Path(row.stored_path).name.startswith(row.sha256)
            assert Path(row.stored_path).stat().st_size == row.size_bytes
        assert all(row.status == "loaded" for row in files)
        checksums = {row.sha256 for row in files}

        headline = session.scalars(
            select(MetricValue).where(MetricValue.period == "2022/23", MetricValue.area_code == DEMO)
        ).all()
        ids = {(v.metric_id, v.age_band) for v in headline}
        for metric in ("hospital_admissions_sharp_object", "police_knife_crime", "homicide_non_domestic"):
            assert (metric, "all") in ids and (metric, "under_25") in ids
        for value in headline:
            assert value.metric_version >= 1 and value.raw_file_ids
            if value.method.startswith("crude rate"):
                assert value.lower_ci_95 <= value.value <= value.upper_ci_95
        submission = session.scalars(select(Submission)).one()

    # the package a reviewer opens: cover note, report with charts, measures as CSV and Excel, definitions,
    # data-quality statement and a manifest, offered under a readable, versioned name
    assert Path(submission.package_path).name == f"{DEMO}_annual-review_2022-23_v1.zip"
    with zipfile.ZipFile(submission.package_path) as package:
        names = sorted(package.namelist())
        assert [n for n in names if not n.startswith("charts/")] == [
            "cover-note.html", "data-quality.md", "definitions.md", "manifest.json", "measures-not-computed.csv",
            "measures.csv", "measures.xlsx", "report.html", "report.pdf", "summary.html",
        ]
        # the board's report as compute wrote it: the second run rendered the same bytes (one submission row)
        year_folder = data_dir / "outputs" / DEMO / "2022-23"
        assert package.read("report.html") == (year_folder / "report.html").read_bytes()
        assert package.read("report.pdf") == (year_folder / "report.pdf").read_bytes()
        manifest = json.loads(package.read("manifest.json"))
        assert manifest["identity"]["sha256"] == submission.package_sha256
        assert "DEMONSTRATION ONLY: SYNTHETIC DATA." in package.read("cover-note.html").decode()
        # the figures rest on five years: the manifest lists the files of every year of the series, not only one
        years = {year for f in manifest["raw_files"] for year in f["used_for_years"]}
        assert years == {"2018/19", "2019/20", "2020/21", "2021/22", "2022/23"}
        assert {f["sha256"] for f in manifest["raw_files"]} <= checksums
        assert manifest["software"]["version"] and manifest["build_time"].endswith("Z")
        # every measure of the demo is computed: the list of measures not computed is packaged, and empty
        assert package.read("measures-not-computed.csv").decode() == "measure,title,headline,reason\n"
        charts = [n for n in names if n.startswith("charts/")]
        assert "charts/police_knife_crime.png" in charts
        assert all(f'src="{n}"' in package.read("summary.html").decode() for n in charts)
        rows = list(csv.DictReader(io.StringIO(package.read("measures.csv").decode())))
    # every count follows its own source's policy (was: one NHS rule for all, "*" or a multiple of 5): hospital
    # counts blank or rounded to 5, police counts exact, Fingertips figures as published; no text in a number
    metrics = load_partnership_config(PROJECT_ROOT / "config", DEMO).metrics
    assert rows
    for r in rows:
        policy = metrics.policy_for(r["measure"])
        assert re.match(published_count_pattern(policy), r["count"]), r
        assert (r["count"] == "") == (r["count_flag"] == "suppressed") or policy.as_published, r
        if r["count"] and not policy.as_published and policy.round_to > 1:
            assert int(r["count"]) % policy.round_to == 0, r
        for column in NUMERIC_COLUMNS:
            assert r[column] == "" or re.fullmatch(r"-?\d+(\.\d+)?", r[column]), (column, r)
    assert {metrics.policy_name(r["measure"]) for r in rows} >= {"hospital_episode", "police_recorded",
                                                                  "published_as_is"}
    # a reader with the table, the public populations and the sum of the areas recovers no protected count
    populations = read_populations(PROJECT_ROOT / "config/partnerships" / DEMO / "inputs/population")
    statistic = {m.id: m for m in metrics.metrics}
    dsr_rows = [dict(r) for r in rows if statistic[r["measure"]].statistic == "dsr"]
    for r in rows:
        if statistic[r["measure"]].statistic in ("published_rate", "dsr"):
            r["value"] = ""  # a DSR: not count / population (its own reader below)
    config = load_partnership_config(PROJECT_ROOT / "config", DEMO)
    members = config.partnership.local_authority_codes
    # a percentage's denominator is a protected count too: its cells are attacked as counts of their own
    shares = denominator_rows(rows)
    assert shares and {statistic[r["measure"].split(":")[0]].statistic for r in shares} == {"proportion"}
    found = attack(rows + shares, populations, lambda m: metrics.policy_for(m.split(":")[0]), members, DEMO,
                   rate_band=lambda m, band: (statistic[m].denominator.age_band if statistic[m].denominator
                                              and statistic[m].denominator.age_band else band))
    with session_scope(url) as session:
        stored = session.scalars(select(MetricValue)).all()
        exact = {(v.metric_id, v.area_code, v.age_band, v.period): v.numerator for v in stored
                 if v.numerator is not None}
        exact |= {(f"{v.metric_id}:denominator", v.area_code, v.age_band, v.period): v.denominator for v in stored
                  if v.method.startswith("proportion") and v.denominator is not None}
        assert {v.value_unit for v in stored if v.metric_id == "police_knife_crime_under_25_share"} >= {"%"}
    found = {cell: possible for cell, possible in found.items() if cell in exact}
    assert found and leaks(found, exact, rows + shares, lambda m: metrics.policy_for(m.split(":")[0]), members) == []
    assert all(int(round(exact[cell])) in possible for cell, possible in found.items())
    # the DSR's reader (public ESP2013 weights and ONS populations by age, the crude measure's published counts)
    # learns no band count or total beyond what those counts already say
    crude = {(r["measure"], r["area_code"], r["age_band"], r["financial_year"]): r["count"] for r in rows}
    weights = esp2013_weights(["0-24", "25+"])
    attacked = 0
    for r in dsr_rows:
        if r["area_code"] not in members or not r["value"]:
            continue
        year = int(r["financial_year"][:4])
        # the DSR row prints its population (the sum of the single years of age, as compute sums them)
        under, everyone = populations[(r["area_code"], year, "under_25")], float(r["denominator"])
        policy = metrics.policy_for(r["measure"])
        bands = {"0-24": _shown_range(int(crude[("ae_assault_attendances", r["area_code"], "under_25",
                                                 r["financial_year"])]), policy), "25+": set(range(0, 400))}
        total = _shown_range(int(r["count"]), policy)
        totals, by_band = dsr_attack(r, {"0-24": under, "25+": everyone - under}, weights, bands, total, policy)
        true = exact[(r["measure"], r["area_code"], "all", r["financial_year"])]
        assert totals == total and int(true) in totals, r
        assert by_band["0-24"] == bands["0-24"], r
        attacked += 1
    assert attacked >= 8  # both districts, every year of the series
    # published: the five-year series for the authorities, the partnership, England and (Fingertips') East of
    # England region; LSOA and monthly figures stay internal (exact values, never packaged)
    assert {r["financial_year"] for r in rows} == {"2018/19", "2019/20", "2020/21", "2021/22", "2022/23"}
    assert {r["area_code"] for r in rows} <= {"E07000069", "E07000075", DEMO, "E92000001", "E12000006"}
    region = [r for r in rows if r["area_code"] == "E12000006"]
    assert region and {r["measure"] for r in region} == {"hospital_admissions_violence_fingertips"}
    assert {r["compared_with_region"] for r in rows if r["area_code"] == "E07000075"
            and r["measure"] == "hospital_admissions_violence_fingertips"} == {"Similar"}  # as the export says
    assert "charts/police_violence_and_sexual_offences-lsoa-funnel.png" in charts
    assert not [n for n in names if "internal" in n or "breakdown" in n]
    internal = data_dir / "outputs" / DEMO / "2022-23" / "internal" / "breakdowns-exact-values.csv"
    assert "2022/23 Q4" in internal.read_text()

    keys = _artifact_keys()
    for stage in ("collect", "validate", "compute", "notify", "submit"):
        assert f"{DEMO}-2022-23-{stage}-summary" in keys and f"{DEMO}-2022-23-{stage}-table" in keys
    assert f"{DEMO}-2022-23-cycle-summary" in keys


CONTENT_TYPES = {".html": "text/html", ".png": "image/png", ".csv": "text/csv", ".zip": "application/zip",
                 ".json": "application/json", ".svg": "image/svg+xml", ".pdf": "application/pdf",
                 ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")  # link artifacts are stored as markdown too: [text](url)


def _artifacts_of(runs: tuple[State, State]) -> list:
    """Every artifact the two cycles left, their stage subflows' included, read back through the Prefect API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
    )

    parents = [run.state_details.flow_run_id for run in runs]
    with get_client(sync_client=True) as client:
        stages = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=parents))
        )
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=parents + [s.id for s in stages]))
        )


def test_every_link_in_the_artifacts_opens_over_http(demo_cycle: DemoCycle) -> None:
    artifacts = _artifacts_of(demo_cycle.runs)
    # link artifacts are stored as markdown "[link](url)"; each stage that links publishes its own
    for name in ("validate-quality-report", "compute-published-summary", "compute-published-measures", "submit-package"):
        assert [a for a in artifacts if a.key and a.key.endswith(name) and a.type == "markdown"], name
    assert not [a.key for a in artifacts if "file://" in str(a.data)]  # a browser refuses file:// from the UI
    every = {link for a in artifacts if a.type in ("markdown", "link") for link in MARKDOWN_LINK.findall(str(a.data))}
    # the cycle's summary links its stage runs and their summary artifacts in the Prefect UI: each names a real one
    from prefect.settings import get_current_settings

    ui = str(get_current_settings().ui_url).rstrip("/")
    in_ui = {link for link in every if link.startswith(ui + "/")}
    keys = {a.key for a in artifacts if a.key}
    runs = {str(run_id) for run_id in {a.flow_run_id for a in artifacts}}
    for link in in_ui:
        kind, _, ident = link.removeprefix(ui + "/").rpartition("/")
        assert (kind, ident in (keys if kind == "artifacts/key" else runs)) in {
            ("artifacts/key", True), ("runs/flow-run", True)}, link
    # two cycles of five stages: ten stage runs, and five summary keys (the same keys in both cycles)
    assert len(in_ui) == 10 + 5, sorted(in_ui)
    links = every - in_ui
    assert links and all(link.startswith(demo_cycle.files_url + "/") for link in links), sorted(links)
    # the published summary, measures, charts, quality report (the partnership's and each data owner's) and package
    # are each linked; Great Expectations' Data Docs are not built (their CDN styles and scripts leave them blank offline)
    owners = {source.owner for source in load_partnership_config(PROJECT_ROOT / "config", DEMO).sources}
    for expected in (f"/outputs/{DEMO}/2022-23/summary.html", f"/outputs/{DEMO}/2022-23/measures-published.csv",
                     f"/outputs/{DEMO}/2022-23/charts/police_knife_crime.png",
                     f"/outputs/{DEMO}/2022-23/quality/index.html",
                     *(f"/outputs/{DEMO}/2022-23/quality/{owner}.html" for owner in owners)):
        assert demo_cycle.files_url + expected in links, expected
    assert not [link for link in links if "/data-docs/" in link]
    assert not (demo_cycle.data_dir / "data-docs").exists()  # nor are they written anywhere
    assert [link for link in links if link.startswith(f"{demo_cycle.files_url}/submissions/{DEMO}/")]
    for link in sorted(links):
        with urllib.request.urlopen(link, timeout=60) as response:
            assert response.status == 200, link
            assert response.headers.get_content_type() == CONTENT_TYPES[Path(link).suffix], link
            assert response.read(), link


def test_the_quality_report_names_every_check_of_the_demo(demo_cycle: DemoCycle) -> None:
    from tasks.shared.context import open_cycle
    from tests.unit.validate.quality_html import (
        assert_every_check_shown,
        assert_offline_and_accessible,
        check_rows,
        read_page,
        stored,
    )

    ctx = open_cycle(DEMO, "2022/23")
    folder = demo_cycle.data_dir / "outputs" / DEMO / "2022-23" / "quality"
    page = read_page((folder / "index.html").read_text(encoding="utf-8"))
    assert_offline_and_accessible(page, folder)
    checks = stored(ctx)
    sources_of = {s.dataset: [t.id for t in ctx.config.sources if t.dataset == s.dataset] for s in ctx.config.sources}
    assert_every_check_shown(page, checks, sources_of)
    # the demo's twelve police months each warn of crimes without a location: twelve warnings, no failure
    warned = checks[~checks["success"].astype(bool) & (checks["severity"] == "warning")]
    assert len(warned) >= 12 and not (~checks["success"].astype(bool) & (checks["severity"] == "critical")).any()
    rows = [r for t in page.tables for r in check_rows(t)]
    assert len([r for r in rows if "warning" in r.classes]) == len(warned)
    assert not [r for r in rows if "failed" in r.classes]
    for owner in {s.owner for s in ctx.config.sources}:
        own = read_page((folder / f"{owner}.html").read_text(encoding="utf-8"))
        assert_offline_and_accessible(own, folder)
        mine = {s.id for s in ctx.config.sources if s.owner == owner}
        assert mine and all(any(f"({source_id})" in t.caption for t in own.tables) for source_id in mine)
        others = {s.id for s in ctx.config.sources} - mine
        assert not [t.caption for t in own.tables if any(f"({source_id})" in t.caption for source_id in others)]
    # each owner's data-quality e-mails (the first run's, and the second's where its words differ) carry their own
    # page as that run's validate wrote it
    import email
    import email.policy

    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             for p in (demo_cycle.data_dir / "outbox" / DEMO).glob("*.eml")]
    for owner in {s.owner for s in ctx.config.sources}:
        person = ctx.config.stakeholder(owner)  # two stakeholders may share an address: told apart by name
        reports = [m for m in mails if m["To"].addresses[0].addr_spec == person.email
                   and "Data-quality" in m["Subject"] and f"Dear {person.name}," in m.get_body(("plain",)).get_content()]
        assert reports, owner
        for report in reports:
            [page] = [a for a in report.iter_attachments() if a.get_filename() == f"data-quality-{owner}-2022-23.html"]
            attached = read_page(page.get_content())
            assert_offline_and_accessible(attached, folder)
            mine = {s.id for s in ctx.config.sources if s.owner == owner}
            assert all(any(f"({source_id})" in t.caption for t in attached.tables) for source_id in mine)


def test_a_blocked_dataset_ends_the_cycle_as_failed_with_the_reason(
    prefect_server: None, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from flows.annual_review import annual_review
    from tasks.shared.settings import PROJECT_ROOT, reset_settings_cache

    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config, ignore=shutil.ignore_patterns("inputs"))
    inbox = config / "partnerships" / DEMO / "inputs" / "partner-returns" / "essex-police"
    inbox.mkdir(parents=True)
    (inbox / "knife-crime-FY2022-23-Q1.csv").write_text(
        "Month,Local Authority Code,Local Authority Name,Victim Age Group,Knife or Sharp Instrument Offences\r\n"
        "2022-04,E07000069,Castle Point,Under 25,=HYPERLINK(\"http://x\")\r\n",
        newline="",
    )
    monkeypatch.setenv("DUTYCYCLE_CONFIG_DIR", str(config))
    reset_settings_cache()

    state = annual_review(partnership=DEMO, financial_year="2022/23", stages=["collect", "validate"],
                          return_state=True)
    assert state.is_failed()
    assert state.message.startswith(
        "castle-point-rochford 2022/23: these stages failed: collect, validate (collect: collect failed its checks: "
        "1 file(s) held in quarantine, of police-knife-crime; first: knife-crime-FY2022-23-Q1.csv, row 2, column "
        "'Knife or Sharp Instrument Offences': '=HYPERLINK(\"http://x\")' looks like a spreadsheet formula")
    assert "; validate: validate failed its checks: blocked for the year (a critical check failed): " \
           "police_knife_crime)" in state.message
    # what the analyst sees in the UI: runs named by partnership, year and stages; each failed stage Failed; the
    # cycle's summary on the parent run; no traceback in any log
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
        LogFilter,
        LogFilterFlowRunId,
    )

    from tests.prefect_logs import send_pending_logs

    parent = state.state_details.flow_run_id
    send_pending_logs()
    with get_client(sync_client=True) as client:
        assert client.read_flow_run(parent).name == "castle-point-rochford 2022/23 collect+validate"
        children = sorted(client.read_flow_runs(flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[parent]))), key=lambda run: run.start_time)
        logs = client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[parent, *(c.id for c in children)])))
        summary = client.read_latest_artifacts(limit=200)
    assert [(c.name, c.state.type.value) for c in children] == [
        ("castle-point-rochford 2022/23 collect", "FAILED"), ("castle-point-rochford 2022/23 validate", "FAILED")]
    assert not [log.message for log in logs if "Traceback" in log.message or "TypeError" in log.message]
    [cycle] = [a for a in summary if a.key == "castle-point-rochford-2022-23-cycle-summary"]
    assert cycle.flow_run_id == parent
    assert "castle-point-rochford-2022-23-collect-summary" in cycle.data and "**Failed:** collect, validate" in cycle.data
    with session_scope(get_settings().resolved_database_url) as session:
        [raw] = session.scalars(select(RawFile)).all()
    assert raw.status == "quarantined"
    assert raw.status_reason.startswith(
        "knife-crime-FY2022-23-Q1.csv, row 2, column 'Knife or Sharp Instrument Offences': "
        "'=HYPERLINK(\"http://x\")' looks like a spreadsheet formula"
    )
    # the data owner's page says it failed and why, the partner's formula shown as text, never made a link
    page = (get_settings().outputs_dir / DEMO / "2022-23" / "quality" / "essex-police-analyst.html").read_text("utf-8")
    assert "knife-crime-FY2022-23-Q1.csv" in page and "\u2717 Failed" in page
    assert "=HYPERLINK(&#34;http://x&#34;)" in page and 'href="http://x"' not in page
