"""The board's metric pack leaves only with a named approver's sign-off: off a server the notify stage records it as
awaiting approval and `dutycycle approve --kind board-pack` (run as a process) sends it once; on a server the run
pauses with the form; a rejection sends nothing and tells the analyst once; a pack changed after approval is not
sent."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from tasks.shared.settings import PROJECT_ROOT, get_settings, reset_settings_cache
from tasks.shared.storage.models import BoardPack, OutboxMessage, SignOff
from tasks.shared.storage.session import dispose_engines, session_scope
from tests.flows.conftest import DEMO, YEAR
from tests.prefect_runs import wait_for_flow_run

pytestmark = pytest.mark.flow
CHAIR = ["--name", "Chair of the Community Safety Partnership Board", "--role", "board"]
CHAIR_INPUT = {"approver_name": "Chair of the Community Safety Partnership Board", "approver_role": "board"}
WAIT = 600  # seconds: generous, the machine is shared
PACK_SUBJECT = "Serious violence measures 2022/23"


def _dutycycle(*args: str) -> subprocess.CompletedProcess:
    """The installed `dutycycle` command as a process, on this test's data directory (no Prefect server)."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    dispose_engines()  # the process writes the same SQLite file: no connection of ours holds it meanwhile
    return subprocess.run([str(PROJECT_ROOT / ".venv" / "bin" / "dutycycle"), *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=WAIT)


def _outbox() -> list[OutboxMessage]:
    with session_scope(get_settings().resolved_database_url) as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        session.expunge_all()
        return rows


def _packs() -> list[BoardPack]:
    with session_scope(get_settings().resolved_database_url) as session:
        rows = session.scalars(select(BoardPack).order_by(BoardPack.id)).all()
        session.expunge_all()
        return rows


def _eml_with_figures(data_dir: Path) -> list[str]:
    """Every message written out (.eml) whose subject is the board's metric pack."""
    from email import policy
    from email.parser import BytesParser

    return [p.name for p in (data_dir / "outbox" / DEMO).glob("*.eml")
            if PACK_SUBJECT in str(BytesParser(policy=policy.default).parsebytes(p.read_bytes())["Subject"])]


def _notify():
    from flows.notify import notify

    reset_settings_cache()
    return notify(partnership=DEMO, financial_year=YEAR, return_state=True)


def test_off_a_server_the_pack_waits_and_the_approve_command_sends_it_exactly_once(
    computed_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = computed_copy
    monkeypatch.setenv("DUTYCYCLE_SIGN_OFF_WAIT", "record")
    state = _notify()
    assert state.is_completed(), state.message
    # the messages without figures went; the pack did not leave, not even queued
    kinds = {m.kind for m in _outbox()}
    assert "data_quality_report" in kinds and "metric_pack" not in kinds
    assert _eml_with_figures(data_dir) == []
    [pack] = _packs()
    assert pack.status == "awaiting approval" and len(pack.pack_sha256) == 64
    assert {m["to"] for m in pack.contents["messages"]} == {"csp-board", "csp-analyst"}
    # the approver (the board's chair) is asked, and the analyst told, once: where to read it and how to decide
    asked = [m for m in _outbox() if m.kind == "board_pack_sign_off_request"]
    assert sorted(m.recipient_id for m in asked) == ["csp-analyst", "csp-board"]
    for message in asked:
        assert message.status == "sent"
        assert f"dutycycle approve {pack.id} --kind board-pack" in message.body_text
        assert "Chair of the Community Safety Partnership Board (board)" in message.body_text
        assert "/outputs/" in message.body_text and "report.html" in message.body_text

    # someone not on approvers.board_pack: refused in one line, nothing recorded or sent
    refused = _dutycycle("approve", str(pack.id), "--kind", "board-pack", "--name", "Sam Taylor",
                         "--role", "Head of Community Safety")
    assert refused.returncode == 2, refused
    assert refused.stderr.strip().count("\n") == 0
    assert "refused: Sam Taylor (Head of Community Safety) may not approve a board_pack: allowed are Chair of the " \
           "Community Safety Partnership Board (board)" in refused.stderr
    assert "metric_pack" not in {m.kind for m in _outbox()}

    approved = _dutycycle("approve", str(pack.id), "--kind", "board-pack", *CHAIR, "--comment", "fine")
    assert approved.returncode == 0, approved
    assert f"board pack {pack.id} approved by Chair of the Community Safety Partnership Board (board)" in \
        approved.stdout
    sent = [m for m in _outbox() if m.kind == "metric_pack"]
    assert sorted(m.recipient_id for m in sent) == ["csp-analyst", "csp-board"]
    assert all(m.status == "sent" for m in sent) and len(_eml_with_figures(data_dir)) == 2
    [decision] = _all_sign_offs()
    assert (decision.kind, decision.subject_id, decision.package_sha256, decision.via) == (
        "board_pack", pack.id, pack.pack_sha256, "terminal")
    assert _packs()[0].status == "released"

    # a later run finds the decision: nothing sent twice, the same pack row
    state = _notify()
    assert state.is_completed(), state.message
    assert [m.id for m in _outbox() if m.kind == "metric_pack"] == [m.id for m in sent]
    assert len(_packs()) == 1 and len(_eml_with_figures(data_dir)) == 2
    assert [m.id for m in _outbox() if m.kind == "board_pack_sign_off_request"] == [m.id for m in asked]


def _all_sign_offs() -> list[SignOff]:
    with session_scope(get_settings().resolved_database_url) as session:
        rows = session.scalars(select(SignOff).order_by(SignOff.id)).all()
        session.expunge_all()
        return rows


def test_a_pack_that_changed_after_it_was_recorded_is_not_sent_and_needs_a_new_approval(
    computed_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = computed_copy
    monkeypatch.setenv("DUTYCYCLE_SIGN_OFF_WAIT", "record")
    assert _notify().is_completed()
    [pack] = _packs()
    summary = data_dir / "outputs" / DEMO / "2022-23" / "summary.html"  # attached to the pack
    summary.write_text(summary.read_text(encoding="utf-8").replace("</body>", "<p>edited</p></body>"),
                       encoding="utf-8")
    approved = _dutycycle("approve", str(pack.id), "--kind", "board-pack", *CHAIR)
    assert approved.returncode == 1, approved
    assert f"board pack {pack.id} changed after approval" in approved.stdout
    assert "nothing was sent; run notify again and approve the new version" in approved.stdout
    assert "metric_pack" not in {m.kind for m in _outbox()}
    # the next run records the changed pack as a new version awaiting approval; the approved old one is superseded
    assert _notify().is_completed()
    old, new = _packs()
    assert (old.status, old.superseded_by, new.status) == ("superseded", new.id, "awaiting approval")
    assert new.pack_sha256 != old.pack_sha256 and "metric_pack" not in {m.kind for m in _outbox()}


def _paused_notify(timeout: float = WAIT):
    return wait_for_flow_run("notify run paused for sign-off", paused=True, timeout=timeout, every=0.5,
                             accept=lambda run: run.name.endswith(" notify"))


def _decide_in_the_ui(answer: dict) -> threading.Thread:
    """An approver filling in the paused run's form (the API the UI's Resume form calls)."""
    from prefect.flow_runs import resume_flow_run

    def decide() -> None:
        run = _paused_notify()
        resume_flow_run(run.id, run_input=answer)

    thread = threading.Thread(target=decide, daemon=True)
    thread.start()
    return thread


def test_on_a_server_notify_pauses_and_a_rejection_sends_nothing_and_tells_the_analyst_once(
    computed_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = computed_copy
    monkeypatch.setenv("DUTYCYCLE_SIGN_OFF_WAIT", "pause")
    monkeypatch.setenv("DUTYCYCLE_SIGN_OFF_POLL_SECONDS", "1")
    approver = _decide_in_the_ui({**CHAIR_INPUT, "decision": "reject",
                                  "comment": "the under-25 knife crime rate needs a footnote"})
    state = _notify()
    approver.join(60)
    assert state.is_failed() and state.name == "Rejected", (state.name, state.message)
    assert "rejected by Chair of the Community Safety Partnership Board (board)" in state.message
    assert "the under-25 knife crime rate needs a footnote; nothing of it was sent" in state.message
    rows = _outbox()
    assert "metric_pack" not in {m.kind for m in rows} and _eml_with_figures(data_dir) == []
    # the analyst heard that the pack awaited sign-off (before the run waited), then exactly one message tells of
    # the rejection with its reason; no failure alert besides it
    told = [m for m in rows if m.recipient_id == "csp-analyst" and m.kind != "data_quality_report"]
    assert [(m.kind, m.status) for m in told] == [("board_pack_sign_off_request", "sent"),
                                                   ("board_pack_rejected", "sent")]
    told = told[1:]
    assert "needs a footnote" in told[0].body_text and "Nothing of it was sent" in told[0].body_text
    assert not [m for m in rows if m.kind == "run_failed"]
    assert [p.status for p in _packs()] == ["rejected"]


def test_on_a_server_an_approval_in_the_form_sends_the_pack(
    computed_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = computed_copy
    monkeypatch.setenv("DUTYCYCLE_SIGN_OFF_WAIT", "pause")
    monkeypatch.setenv("DUTYCYCLE_SIGN_OFF_POLL_SECONDS", "1")
    approver = _decide_in_the_ui({**CHAIR_INPUT, "decision": "approve", "comment": ""})
    state = _notify()
    approver.join(60)
    assert state.is_completed(), state.message
    sent = [m for m in _outbox() if m.kind == "metric_pack"]
    assert sorted((m.recipient_id, m.status) for m in sent) == [("csp-analyst", "sent"), ("csp-board", "sent")]
    assert len(_eml_with_figures(data_dir)) == 2
    [decision] = _all_sign_offs()
    assert (decision.kind, decision.via, decision.decision) == ("board_pack", "prefect-ui", "approve")
    assert decision.package_sha256 == _packs()[0].pack_sha256
