"""The cycle SIGKILLed from outside (the `dutycycle` process and the Prefect API it started, as a crash takes both)
at observable points: in the middle of loading observations, at the boundary collect -> validate, in the middle of
computing, in the middle of delivering a message (the SMTP server holds DATA). Each stage is then run again; the
database's tables, the outputs, outbox and raw store must equal those of a clean run of the same small cycle, every
message must have arrived once, and nothing may be left RUNNING, `running` or half-written. The runs' database is
the SQLite file in their data directory, or, with DUTYCYCLE_TEST_DATABASE_URL naming a PostgreSQL server, a fresh
database of their own there (the clean run's and the killed run's each); either is read through SQLAlchemy.

The same clean run carries canary secrets (SMTP password, webhook URL token, Prefect API auth string) and every file
it wrote is searched for them. A submission killed in the middle of its upload is tests/flows/
test_sign_off_and_delivery.py's (approved, killed mid-body, delivered once)."""

from __future__ import annotations

import shutil
import sqlite3
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult

from tasks.shared.atomic_file import TEMPORARY_PREFIX
from tests.databases import fresh_database
from tests.faults.cycle import (
    comparable_files,
    comparable_tables,
    count,
    database_url,
    differing,
    environment,
    kill_when,
    rows,
    rows_containing,
    run,
    small_config,
)
from tests.servers.mail import Inbox, SmtpServer, StallInData
from tests.writers import killed_in_the_middle_of_writing

pytestmark = pytest.mark.faults

CANARIES = {name: f"canary-{name.lower()}-{uuid.uuid4().hex}" for name in ("SMTP", "WEBHOOK", "PREFECT")}


@pytest.fixture(scope="module")
def smtp():
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=True)

    inbox = Inbox()
    with SmtpServer(inbox, authenticator=authenticator, auth_required=True, auth_require_tls=False) as server:
        server.logins = logins
        yield server


def _database_env(server_url: str | None) -> dict[str, str]:
    """The children's database: on PostgreSQL the test's own database on the server; on SQLite none named (the
    settings' file in the data directory)."""
    return {"DUTYCYCLE_DATABASE_URL": server_url} if server_url else {}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer) -> Iterator[dict]:
    """One clean run of the small cycle, with the canary secrets set; what it left is the reference."""
    base = tmp_path_factory.mktemp("clean")
    config = small_config(base / "config")
    with fresh_database() as server_url:
        env = environment(
            base / "data", config, base / "prefect-home", DUTYCYCLE_SMTP_HOST="127.0.0.1",
            DUTYCYCLE_SMTP_PORT=str(smtp.port), DUTYCYCLE_SMTP_USERNAME="dutycycle",
            DUTYCYCLE_SMTP_PASSWORD=CANARIES["SMTP"],
            DUTYCYCLE_WEBHOOK_CSP_BOARD=f"https://hooks.example.invalid/services/{CANARIES['WEBHOOK']}",
            PREFECT_API_AUTH_STRING=f"admin:{CANARIES['PREFECT']}", **_database_env(server_url),
        )
        result = run(env, "review")
        (base / "run.log").write_text(result.stdout + result.stderr, encoding="utf-8")
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        received = _arrived(smtp)
        smtp.inbox.messages.clear()
        yield {"base": base, "config": config, "env": env, "received": received,
               "database": database_url(base / "data", server_url)}


def test_no_secret_is_written_anywhere(clean: dict, smtp: SmtpServer, reliability) -> None:
    reliability.fault("secrets in what a run writes",
                      injected="canary SMTP password, webhook URL token and Prefect API auth string set for a whole cycle",
                      where="every file of the data directory and Prefect home (prefect.db included) and every row of "
                            "our database (dutycycle.db, or its own on PostgreSQL)")
    reliability.check("SMTP logins with the canary password", int((b"dutycycle", CANARIES["SMTP"].encode()) in smtp.logins), 1)
    written = [p for p in clean["base"].rglob("*") if p.is_file() and "config" not in p.relative_to(clean["base"]).parts]
    # the data directory, the run's output, and the Prefect home: its SQLite database (and WAL) holds the run logs,
    # states, parameters and artifacts the API serves
    assert any(p.name == "prefect.db" for p in written)
    on_file = clean["database"].startswith("sqlite:///")
    assert any(p.name == "dutycycle.db" for p in written) == on_file  # on PostgreSQL: no database file at all
    leaks = [(p.name, name) for p in written for name, canary in CANARIES.items() if canary.encode() in p.read_bytes()]
    # our database, searched row by row too (on PostgreSQL it is no file under the folder)
    leaks += [(row, name) for name, canary in CANARIES.items() for row in rows_containing(clean["database"], canary)]
    reliability.check("files or rows holding a canary secret", len(leaks), 0, detail=leaks)


def _arrived(smtp: SmtpServer) -> Counter:
    """Messages the SMTP server accepted, by recipient and subject (a message's Message-ID and text name its own
    run's package checksum), after checking that no Message-ID arrived twice."""
    assert max(Counter(smtp.inbox.message_ids()).values(), default=1) == 1
    return Counter((str(m["To"]), str(m["Subject"])) for m in smtp.inbox.messages)


@pytest.fixture
def server_database() -> Iterator[str | None]:
    """On PostgreSQL, a fresh database for this test's runs (dropped after it); None on SQLite."""
    with fresh_database() as url:
        yield url


def test_killed_at_every_point_and_run_again_loses_and_doubles_nothing(clean: dict, smtp: SmtpServer,
                                                                       server_database: str | None,
                                                                       tmp_path: Path, reliability) -> None:
    reliability.fault(
        "SIGKILL in the middle of loading, at collect -> validate, in the middle of computing, in the middle of a "
        "message's DATA; each stage run again",
        injected="the process group (dutycycle and its Prefect API) SIGKILLed when observations has a row, when "
                 "validate is `running`, when metric_values has a row, while the SMTP server holds the 2nd DATA",
        where="review --stage collect / validate / compute / notify; then status; then notify + submit after a 1 s lease")
    env = {**clean["env"], "DUTYCYCLE_DATA_DIR": str(tmp_path / "data"), "PREFECT_HOME": str(tmp_path / "prefect-home"),
           **_database_env(server_database)}
    shutil.copytree(clean["base"] / "prefect-home", tmp_path / "prefect-home")  # migrated already: faster start
    db = database_url(tmp_path / "data", server_database)
    logs = tmp_path / "logs"
    logs.mkdir()
    steps = [
        ("collect", ("review", "--stage", "collect"), lambda: count(db, "observations") > 0),  # mid-loading
        ("boundary", ("review", "--stage", "collect", "--stage", "validate"),
         lambda: count(db, "runs", "stage='validate' AND status='running'") > 0),
        ("compute", ("review", "--stage", "validate", "--stage", "compute"), lambda: count(db, "metric_values") > 0),
    ]
    killed = 0
    for name, args, event in steps:
        assert kill_when(env, args, event, log=logs / f"{name}.log"), f"{name}: the run ended before its kill point"
        killed += 1
    staller = StallInData(smtp, nth=2)  # the second message: one delivered, one in the middle of DATA
    try:
        assert kill_when(env, ("review", "--stage", "compute", "--stage", "notify"), staller.in_data.is_set,
                         log=logs / "notify.log"), "notify: the run ended before its kill point"
        killed += 1
    finally:
        staller.release.set()
        smtp.controller.factory = type(smtp.controller).factory.__get__(smtp.controller)
    reliability.check("runs killed at their point", killed, 4)
    # where a kill lands is up to the machine's timing; one more writer, surely killed in the middle of a file of
    # the raw store that no later stage writes again, makes the sweep of the next run's data directory a sure test
    stored = next(p for p in (tmp_path / "data" / "raw").rglob("*") if p.is_file())
    half_written = killed_in_the_middle_of_writing(stored.parent / "killed-in-the-middle.csv")
    status = run(env, "status")
    assert "running" not in status.stdout and "interrupted" in status.stdout, status.stdout + status.stderr
    # the message caught in DATA stays `sending` for the lease (15 min: the killed sender might have delivered it);
    # a run after the lease re-sends it with the same Message-ID. The final run comes after a shortened lease.
    final = run({**env, "DUTYCYCLE_OUTBOX_LEASE_SECONDS": "1"}, "review", "--stage", "notify", "--stage", "submit")
    (logs / "final.log").write_text(final.stdout + final.stderr, encoding="utf-8")
    assert final.returncode == 0, final.stdout[-3000:] + final.stderr[-3000:]
    said = "".join(p.read_text(errors="replace") for p in logs.glob("*.log"))
    assert "marked Crashed (their process was killed)" in said  # the next run closed the killed runs and said so
    assert "that a killed process left half-written" in said and not half_written.exists()
    reliability.outcome("retried")

    # nothing lost, nothing doubled: the same messages, rows and files as the clean run
    ids = Counter(smtp.inbox.message_ids())
    reliability.kept("messages at the SMTP server", len(smtp.inbox.messages), sum(clean["received"].values()))
    reliability.check("Message-IDs that arrived twice", sum(n > 1 for n in ids.values()), 0)
    assert _arrived(smtp) == clean["received"]
    reliability.kept("submissions", count(db, "submissions"), count(clean["database"], "submissions"))
    found, reference = comparable_tables(db), comparable_tables(clean["database"])
    reliability.kept("rows", rows(found), rows(reference))
    reliability.check("rows not as in the clean run", differing(found, reference), 0)
    assert found == reference
    found_files, reference_files = comparable_files(tmp_path / "data"), comparable_files(clean["base"] / "data")
    reliability.kept("files", len(found_files), len(reference_files))
    reliability.check("files not as in the clean run", differing(found_files, reference_files), 0)
    assert found_files == reference_files
    # nothing left behind: no run RUNNING in Prefect, no stage `running`, no temporary file, receipt or holder
    with sqlite3.connect(tmp_path / "prefect-home" / "prefect.db") as prefect:
        running = prefect.execute("SELECT count(*) FROM flow_run WHERE state_type='RUNNING'").fetchone()[0]
    reliability.check("Prefect flow runs left RUNNING", running, 0)
    reliability.check("stages left `running`", count(db, "runs", "status='running'"), 0)
    leftovers = [p.name for p in (tmp_path / "data").rglob("*")
                 if p.name.startswith(TEMPORARY_PREFIX) or p.suffix in (".tmp", ".partial")]
    reliability.check("temporary files left", len(leftovers), 0, detail=leftovers)
    reliability.check("lock holder files left", len(list((tmp_path / "data" / "locks").glob("*"))), 0)
    reliability.outcome("kept")
