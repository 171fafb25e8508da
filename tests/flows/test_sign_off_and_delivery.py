"""Issue 13's check: a submission approved through the API the Prefect UI uses (pause -> resume with run_input),
its upload killed mid-body, the stage run again: exactly one delivery and a complete audit; a rejection sends
nothing and says why."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from tasks.shared.settings import PROJECT_ROOT, get_settings, reset_settings_cache
from tasks.shared.storage.models import DeadlineRow, Delivery, OutboxMessage, SignOff, Submission
from tasks.shared.storage.session import dispose_engines, session_scope
from tests.prefect_runs import wait_for_flow_run
from tests.servers.upload import UploadReceiver

pytestmark = pytest.mark.flow
DEMO = "castle-point-rochford"
YEAR = "2022/23"
ALLOWED = {"approver_name": "Sam Taylor", "approver_role": "Head of Community Safety"}
WAIT = 600  # seconds: generous, the machine is shared


def _setup(data_dir: Path, tmp_path: Path, upload_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The copy of the computed year (``computed_copy``) with a copy of the configuration, delivering by HTTPS
    upload to the local receiver."""
    config_dir = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config_dir)
    path = config_dir / "partnerships" / DEMO / "partnership.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("submission: {delivery: file_drop, folder: home-office-drop}",
                                 f"submission: {{delivery: https_upload, url: '{upload_url}'}}"), encoding="utf-8")
    monkeypatch.setenv("DUTYCYCLE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DUTYCYCLE_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("DUTYCYCLE_SIGN_OFF_POLL_SECONDS", "1")
    reset_settings_cache()
    dispose_engines()
    return data_dir, config_dir


def _paused_run(previous_key: str | None = None, timeout: float = WAIT):
    """The submit run paused for sign-off (with a pause key other than ``previous_key``), as the UI lists it."""
    return wait_for_flow_run(
        "submit run paused for sign-off", paused=True, timeout=timeout, every=0.5,
        accept=lambda run: run.name.endswith(" submit") and run.state.state_details.pause_key != previous_key)


def _state_of(flow_run_id) -> object:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id).state


def test_approved_in_the_ui_killed_mid_upload_and_run_again_is_delivered_exactly_once(
    computed_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reliability
) -> None:
    reliability.fault("submission upload interrupted",
                      injected="SIGKILL of the submit flow's process after 4 KiB of the upload body reached the receiver",
                      where="submit stage, HTTPS upload to a local Home Office receiver; run again twice")
    from prefect.client.orchestration import get_client
    from prefect.flow_runs import resume_flow_run
    from prefect.settings import PREFECT_API_URL
    from prefect.states import Crashed

    from flows.submit import submit
    from tasks.shared.exclusive import lock_name
    from tasks.submit.audit import audit_table

    with UploadReceiver(tmp_path / "home-office", stall_after_bytes=4096) as receiver:
        data_dir, config_dir = _setup(computed_copy, tmp_path, receiver.url, monkeypatch)
        # the stage runs against the Prefect server in its own process, which is killed mid-upload
        env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
        process = subprocess.Popen(
            [sys.executable, "-c", f"from flows.submit import submit; submit(partnership={DEMO!r}, "
                                   f"financial_year={YEAR!r})"],
            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            paused = _paused_run()
            # someone not on the list: refused, and the run keeps waiting (paused again under a new key)
            resume_flow_run(paused.id, run_input={"approver_name": "Mallory", "approver_role": "Intern",
                                                  "decision": "approve", "comment": ""})
            again = _paused_run(previous_key=paused.state.state_details.pause_key)
            assert again.id == paused.id
            with session_scope(get_settings().resolved_database_url) as session:
                assert session.scalars(select(SignOff)).all() == []
            # an allowed approver, through the same API the UI's form uses
            resume_flow_run(paused.id, run_input={**ALLOWED, "decision": "approve", "comment": "checked"})
            assert receiver.partial.wait(WAIT), "the upload never started"
            process.kill()  # SIGKILL in the middle of the body
            process.wait(60)
        finally:
            if process.poll() is None:
                process.kill()
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
        # the receiver got part of a body: nothing stored
        reliability.check("packages stored after the kill", len(receiver.stored), 0, detail=output)
        url = get_settings().resolved_database_url
        with session_scope(url) as session:
            [claim] = session.scalars(select(Delivery)).all()
            reliability.check("delivery row after the kill", claim.status, "sending")
        # what an operator does after a killed run: mark it crashed and free the partnership-year's slot
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(paused.id, Crashed(message="killed by the test"), force=True)
            client.delete_global_concurrency_limit_by_name(lock_name(DEMO, YEAR))
        receiver.stall_after_bytes = None
        receiver.release.set()

        state = submit(partnership=DEMO, financial_year=YEAR, return_state=True)
        assert state.is_completed(), state.message
        posts_after_rerun = list(receiver.posts)
        state = submit(partnership=DEMO, financial_year=YEAR, return_state=True)  # and once more: nothing new
        assert state.is_completed(), state.message

    reliability.check("uploads by the second re-run", len(receiver.posts) - len(posts_after_rerun), 0)
    assert receiver.posts == posts_after_rerun
    reliability.kept("packages stored by the receiver", len(receiver.stored), 1)
    reliability.kept("files at the receiver", len(receiver.files()), 1)
    with session_scope(url) as session:
        submissions = session.scalars(select(Submission)).all()
        deliveries = session.scalars(select(Delivery)).all()
        reliability.kept("submission rows", len(submissions), 1)
        reliability.kept("delivery rows", len(deliveries), 1)
        [submission], [delivery] = submissions, deliveries
        [decision] = session.scalars(select(SignOff)).all()
        deadline = session.get(DeadlineRow, submission.deadline_row_id)
        assert submission.status == "delivered"
        reliability.check("delivery", delivery.status, "delivered")
        reliability.check("delivery attempts", delivery.attempts, 2)
        assert delivery.receipt["id"] == "HO-00001" and delivery.receipt["status"] == 201
        assert {p["key"] for p in receiver.posts} == {delivery.idempotency_key}
        assert (decision.approver_name, decision.decision, decision.via) == ("Sam Taylor", "approve", "prefect-ui")
        assert decision.package_sha256 == submission.package_sha256
        assert deadline.met_on is not None and f"submission {submission.id}" in deadline.met_note
        sha = submission.package_sha256
    import json
    import zipfile

    from tasks.submit.package import identity_of

    # what arrived is the approved package (same identity) with who approved it, and when
    uploaded = receiver.files()[0].read_bytes()
    assert identity_of(uploaded) == sha
    with zipfile.ZipFile(io.BytesIO(uploaded)) as received:
        approval = json.loads(received.read("approval.json"))
    assert (approval["approver_name"], approval["decision"], approval["approved_identity_sha256"]) == (
        "Sam Taylor", "approve", sha)
    reliability.outcome("retried")
    reliability.outcome("kept")
    audit = audit_table(url, submission.id)
    assert len(audit) == submission.measures_rows > 0
    assert not audit["definition"].str.contains("not found").any()
    assert (audit["raw_file_count"] > 0).all() and audit["raw_files"].str.contains("sha256 ").all()
    assert audit["checks"].str.contains("passed").all() and (audit["compute_run"] != "").all()
    assert audit["approval"].str.startswith("approved by Sam Taylor (Head of Community Safety)").all()


def test_a_rejection_sends_nothing_and_tells_the_analysts_why(
    computed_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.flow_runs import resume_flow_run

    from flows.submit import submit

    with UploadReceiver(tmp_path / "home-office") as receiver:
        _setup(computed_copy, tmp_path, receiver.url, monkeypatch)
        monkeypatch.setenv("DUTYCYCLE_SIGN_OFF_WAIT", "pause")
        reset_settings_cache()

        def reject() -> None:
            run = _paused_run()
            resume_flow_run(run.id, run_input={**ALLOWED, "decision": "reject",
                                               "comment": "the knife crime figure for Rochford looks wrong"})

        approver = threading.Thread(target=reject, daemon=True)
        approver.start()
        state = submit(partnership=DEMO, financial_year=YEAR, return_state=True)
        approver.join(60)
    assert state.is_failed()
    assert "rejected by Sam Taylor (Head of Community Safety)" in state.message
    assert "the knife crime figure for Rochford looks wrong; nothing was sent" in state.message
    assert receiver.posts == []
    with session_scope(get_settings().resolved_database_url) as session:
        assert session.scalars(select(Delivery)).all() == []
        assert session.scalars(select(Submission)).one().status == "rejected"
        told = session.scalars(select(OutboxMessage).where(OutboxMessage.recipient_id == "csp-analyst")).all()
        # one message tells the analyst of the rejection and why: the receipt, and no failure alert besides it
        assert [m.kind for m in told if "looks wrong" in m.body_text or m.kind == "run_failed"] == [
            "submission_receipt"]
        assert any("rejected" in m.subject and "looks wrong" in m.body_text for m in told)
