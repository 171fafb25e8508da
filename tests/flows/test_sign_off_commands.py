"""`dutycycle approve`, `resubmit` and `audit` run as processes (the installed entry point) on a computed demo year
with a recorded submission: their exit codes and what they print."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from tasks.shared.settings import PROJECT_ROOT, get_settings, reset_settings_cache
from tasks.shared.storage.models import Submission
from tasks.shared.storage.session import dispose_engines, session_scope
from tests.flows.conftest import DEMO, YEAR

pytestmark = pytest.mark.flow
SAM = ["--name", "Sam Taylor", "--role", "Head of Community Safety"]


def _dutycycle(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    dispose_engines()  # the process writes the same SQLite file
    return subprocess.run([str(PROJECT_ROOT / ".venv" / "bin" / "dutycycle"), *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def _submit():
    from flows.submit import submit

    reset_settings_cache()
    state = submit(partnership=DEMO, financial_year=YEAR, return_state=True)
    assert state.is_completed(), state.message


def _submissions() -> list[tuple[int, str, str, int]]:
    with session_scope(get_settings().resolved_database_url) as session:
        return [(s.id, s.status, s.package_sha256, s.measures_rows)
                for s in session.scalars(select(Submission).order_by(Submission.id))]


def test_approve_resubmit_and_audit_as_processes(computed_copy: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = computed_copy
    monkeypatch.setenv("DUTYCYCLE_SIGN_OFF_WAIT", "record")
    _submit()
    [(first, status, sha, rows)] = _submissions()
    assert status == "awaiting approval"

    # a name not on the approvers list: one line, a non-zero exit, nothing recorded or dropped
    refused = _dutycycle("approve", str(first), "--name", "Mallory", "--role", "Intern", "--comment", "ok")
    assert refused.returncode == 2 and refused.stdout == "", refused
    assert refused.stderr.strip() == (
        "refused: Mallory (Intern) may not approve a submission: allowed are Chair of the Community Safety "
        "Partnership Board (board); Sam Taylor (Head of Community Safety)")
    assert _submissions()[0][1] == "awaiting approval" and not (data_dir / "home-office-drop").exists()
    unknown = _dutycycle("approve", "999", *SAM)
    assert unknown.returncode == 2 and unknown.stderr.strip() == "no submission 999 (the submit stage's report names it)"

    # nothing held for resubmission yet: refused in one line
    early = _dutycycle("resubmit", str(first), "--reason", "corrected knife crime return")
    assert early.returncode == 2 and early.stderr.strip().count("\n") == 0, early
    assert f"submission {first} is awaiting approval and its deadline has no newer package held" in early.stderr

    approved = _dutycycle("approve", str(first), *SAM, "--comment", "checked against the pack")
    assert approved.returncode == 0, approved
    assert f"submission {first} approved by Sam Taylor (Head of Community Safety)" in approved.stdout
    assert f"(sha256 {sha[:12]})" in approved.stdout and "delivered by file_drop to " in approved.stdout
    dropped = list((data_dir / "home-office-drop").iterdir())
    assert [p.name for p in dropped] == [f"{DEMO}-annual-review-2022-23-s{first}-{sha[:12]}.zip"]
    assert _submissions()[0][1] == "delivered"
    again = _dutycycle("approve", str(first), *SAM, "--comment", "second thoughts")  # the first decision stands
    assert again.returncode == 0, again
    assert "checked against the pack" in again.stdout and "second thoughts" not in again.stdout
    assert list((data_dir / "home-office-drop").iterdir()) == dropped  # delivered once

    audit_csv = tmp_path / "audit.csv"
    audit = _dutycycle("audit", str(first), "--csv", str(audit_csv))
    assert audit.returncode == 0, audit
    lines = audit.stdout.splitlines()
    assert f"{rows} figures of submission {first} (package sha256 {sha})" in lines
    assert sum(1 for line in lines if line.strip().startswith("approved by Sam Taylor (Head of Community Safety)")) \
        == rows
    with audit_csv.open(encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == rows and all(r["raw_file_count"] != "0" for r in table)
    assert _dutycycle("audit", "999").returncode == 2

    # a corrected package for the delivered deadline is held, and resubmitted explicitly
    summary = data_dir / "outputs" / DEMO / "2022-23" / "summary.html"
    summary.write_text(summary.read_text(encoding="utf-8").replace("</body>", "<p>corrected</p></body>"),
                       encoding="utf-8")
    _submit()
    (_, delivered, _, _), (second, held, _, _) = _submissions()
    assert (delivered, held) == ("delivered", "held for resubmission")
    resubmitted = _dutycycle("resubmit", str(second), "--reason", "corrected knife crime return")
    assert resubmitted.returncode == 0, resubmitted
    assert resubmitted.stdout.startswith(f"submission {second} now awaits approval as the resubmission of {first}: "
                                         f"dutycycle approve {second} ")
    assert [s[1] for s in _submissions()] == ["delivered", "awaiting approval"]
    no_reason = _dutycycle("resubmit", str(second), "--reason", " ")
    assert no_reason.returncode == 2 and "a resubmission needs a reason" in no_reason.stderr
