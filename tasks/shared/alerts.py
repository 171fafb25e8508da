"""Failure alerts: a run that fails or crashes tells the partnership's analysts why, with a link to the run.

Who is alerted (``run_failed`` is a message kind like the others in ``stakeholders.yaml``):

- **every analyst** (role ``analyst``): on the channels they list under ``receives: {run_failed: [...]}``, by
  e-mail when they do not list it. An analyst runs the cycle and is the one who can fix it, so a failure never
  depends on someone having remembered to subscribe;
- anyone else (board, partner lead, data owner, PCC) **only if they list** ``run_failed``: a failed run is the
  analyst's business, not the board's or a partner's, unless they ask for it;
- nobody of the partnership when its configuration cannot be loaded (unknown or misspelt partnership, broken YAML),
  it has no analyst and nobody lists ``run_failed``, or its database cannot be reached: then the address in
  ``DUTYCYCLE_ALERT_EMAIL`` is mailed directly (SMTP when configured, else an ``.eml`` file in
  ``<data_dir>/outbox/_alerts/``); without it, one log line says nobody could be alerted.

Alerts to the partnership go through the outbox, keyed by flow run and state, so a hook that runs twice for the same
failure sends one message; they are delivered at once. The hooks never raise: a failure inside is logged in one line.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from email.utils import formataddr
from typing import Any

from tasks.shared.config import PartnershipConfig, Stakeholder, load_partnership_config
from tasks.shared.context import CycleContext
from tasks.shared.delivery import Envelope, build_email, message_id_for, send_smtp, smtp_password, write_eml
from tasks.shared.outbox import SENT, Message, deliver_pending, queue_messages
from tasks.shared.periods import parse_financial_year
from tasks.shared.runs import REJECTED_STATE
from tasks.shared.settings import Settings, get_settings

ALERT_KIND = "run_failed"
ANALYST = "analyst"
FALLBACK_FOLDER = "_alerts"
REASON_LIMIT = 600
LOGGER = logging.getLogger("dutycycle.alerts")


def one_line(text: object, limit: int = REASON_LIMIT) -> str:
    """Any text as a single line (whitespace collapsed), cut at ``limit`` characters: a reason, never a traceback."""
    flat = re.sub(r"\s+", " ", str(text or "")).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# ---------------------------------------------------------------- what failed


@dataclass(frozen=True)
class RunFailure:
    """What an alert says about one failed or crashed flow run."""

    run_id: str
    run_name: str
    flow_name: str
    state_name: str  # Failed, Crashed
    state_type: str  # FAILED, CRASHED
    state_id: str
    reason: str
    partnership: str | None = None
    financial_year: str | None = None
    as_of: str | None = None
    link: str | None = None
    failed_stages: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        """One failure = one run in one final state: the dedupe key of its alerts."""
        return f"{self.run_id}:{self.state_type.lower()}:{self.state_id}"


def exception_of(state: Any) -> BaseException | None:
    """The exception a failed state holds, if any (a returned ``Failed(message=...)`` holds none)."""
    if isinstance(state.data, BaseException):
        return state.data
    try:
        result = state.result(raise_on_failure=False)
    except Exception:  # noqa: BLE001 - no stored result: the message is all there is
        return None
    return result if isinstance(result, BaseException) else None


def failure_reason(state: Any) -> str:
    """Why the run ended, in one line: the state's message, and its exception when the message does not say it."""
    message = one_line(state.message)
    exc = exception_of(state)
    if exc is None:
        return message or f"the run ended {state.name} without a message"
    detail = one_line(f"{type(exc).__name__}: {exc}")
    if not message:
        return detail
    return message if one_line(exc) in message else one_line(f"{message} ({detail})")


def run_link(run_id: str) -> str | None:
    """The run's page in the Prefect UI: PREFECT_UI_URL, else the UI beside PREFECT_API_URL; None with no server."""
    from prefect.settings import get_current_settings

    base = get_current_settings().ui_url  # Prefect derives it from the API URL when PREFECT_UI_URL is unset
    return f"{base.rstrip('/')}/runs/flow-run/{run_id}" if base else None


def failed_children(run_id: str) -> list[str]:
    """The subflows (stages) of a run that failed or crashed, as 'stage (State: reason)'."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    wanted = FlowRunFilter(
        parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run_id]),
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.FAILED, StateType.CRASHED])),
    )
    found = []
    with get_client(sync_client=True) as client:
        for child in client.read_flow_runs(flow_run_filter=wanted):
            name = client.read_flow(child.flow_id).name
            state = child.state
            found.append(f"{name} ({state.name}: {one_line(state.message, 200)})" if state else name)
    return found


def describe_failure(flow: Any, flow_run: Any, state: Any) -> RunFailure:
    """Everything an alert says, read from the hook's flow, flow run and final state."""
    parameters = dict(flow_run.parameters or {})
    try:
        stages = failed_children(str(flow_run.id))
    except Exception as exc:  # noqa: BLE001 - the alert matters more than the stage list
        stages = [f"(the failed stages could not be listed: {type(exc).__name__})"]
    try:
        link = run_link(str(flow_run.id))
    except Exception:  # noqa: BLE001 - no link: the alert says how to find the run instead
        link = None

    def text(name: str) -> str | None:
        value = parameters.get(name)
        return None if value is None else one_line(value, 100)

    return RunFailure(
        run_id=str(flow_run.id),
        run_name=str(flow_run.name),
        flow_name=str(getattr(flow, "name", None) or flow_run.flow_id),
        state_name=str(state.name),
        state_type=str(getattr(state.type, "value", state.type)),
        state_id=str(getattr(state, "id", None) or ""),
        reason=failure_reason(state),
        partnership=text("partnership"),
        financial_year=text("financial_year"),
        as_of=text("as_of"),
        link=link,
        failed_stages=stages,
    )


# ---------------------------------------------------------------- who hears of it, and what they read


def alert_recipients(config: PartnershipConfig) -> list[Stakeholder]:
    """Every analyst, and anyone else who lists ``run_failed`` (board, partners and data owners only if they do)."""
    return [p for p in config.stakeholders if p.role == ANALYST or p.channels_for(ALERT_KIND)]


def alert_text(failure: RunFailure, partnership_name: str | None = None, why_you: str | None = None) -> tuple[str, str]:
    """Subject and body of an alert: what ran, for whom, how it ended, why, and where to look."""
    who = failure.partnership or "no partnership given"
    year = failure.financial_year or (f"as of {failure.as_of}" if failure.as_of else "")
    subject = one_line(f"[dutycycle] {failure.state_name}: {failure.flow_name} for {who}"
                       + (f" {year}" if year else "") + f" (run {failure.run_name})", 200)
    partnership = f"{partnership_name} ({failure.partnership})" if partnership_name else who
    if failure.link:
        where = f"Run in the Prefect UI: {failure.link}"
    else:
        where = (f"This run had no Prefect server with a UI (it ran on a temporary local API). Find it by its id:\n"
                 f"    prefect flow-run inspect {failure.run_id}\n"
                 f"    prefect flow-run logs {failure.run_id}")
    lines = [
        f"A dutycycle run did not finish: it ended {failure.state_name}.",
        "",
        f"Partnership:    {partnership}",
        f"Financial year: {failure.financial_year or '-'}" + (f" (as of {failure.as_of})" if failure.as_of else ""),
        f"Flow:           {failure.flow_name}",
        f"Run:            {failure.run_name} (id {failure.run_id})",
        f"Final state:    {failure.state_name}",
        f"Reason:         {failure.reason}",
    ]
    if failure.failed_stages:
        lines.append("Failed stages:  " + "; ".join(failure.failed_stages))
    lines += ["", where, ""]
    if failure.state_type == "CRASHED":
        lines.append("Crashed means the process stopped (killed, out of memory, lost its infrastructure), not that "
                     "a check failed. Re-running is safe: every stage can be run again.")
    else:
        lines.append("Read the reason and the run's logs and reports; fix the input or configuration; run it again "
                     "(every stage can be run again safely).")
    if why_you:
        lines += ["", f"You receive this as DUTYCYCLE_ALERT_EMAIL because {why_you}."]
    return subject, "\n".join(lines) + "\n"


@dataclass(frozen=True)
class AlertMessage(Message):
    """An alert: one per failure, person and channel, whatever the text says (a retried hook sends nothing)."""

    failure_key: str = ""

    def dedupe_key(self, partnership: str, financial_year: str, channel: str = "email") -> str:
        suffix = "" if channel == "email" else f":{channel}"
        return f"{partnership}:{ALERT_KIND}:{self.failure_key}:{self.recipient.id}{suffix}"


def alert_messages(config: PartnershipConfig, failure: RunFailure) -> list[AlertMessage]:
    """The alert to each person who receives it (their channels for run_failed, else e-mail)."""
    subject, body = alert_text(failure, config.partnership.name)
    summary = one_line(f"{failure.reason} " + (failure.link or f"(run id {failure.run_id})"), 1000)
    return [
        AlertMessage(kind=ALERT_KIND, recipient=person, subject=subject, body=body, summary=summary,
                     failure_key=failure.key)
        for person in alert_recipients(config)
    ]


def _cycle_of(config: PartnershipConfig, settings: Settings, failure: RunFailure) -> CycleContext:
    # the outbox files messages by partnership and year; a year the run could not parse ('current' instead)
    start_month = config.partnership.financial_year_start.month
    try:
        year = parse_financial_year(failure.financial_year or "current", start_month=start_month)
    except ValueError:  # the bad year may be the very reason the run failed
        year = parse_financial_year("current", start_month=start_month)
    return CycleContext(config=config, settings=settings, financial_year=year, flow_run_id=failure.run_id)


# ---------------------------------------------------------------- sending


def alert_partnership(failure: RunFailure, settings: Settings) -> str:
    """Alert the partnership's analysts through the outbox, delivered at once; else the global address. One line
    saying what happened."""
    if not failure.partnership:
        return alert_fallback(failure, settings, "the run had no partnership parameter")
    try:
        config = load_partnership_config(settings.config_dir, failure.partnership)
    except Exception as exc:  # noqa: BLE001 - unknown partnership, broken YAML: exactly when someone must hear
        return alert_fallback(failure, settings, f"the partnership's configuration could not be loaded "
                                                 f"({one_line(exc, 300)})")
    messages = alert_messages(config, failure)
    if not messages:
        return alert_fallback(failure, settings, f"partnership '{failure.partnership}' has no analyst and nobody "
                                                 f"in its stakeholders.yaml receives run_failed")
    ctx = _cycle_of(config, settings, failure)
    try:
        queued = queue_messages.fn(ctx, messages)
        report = deliver_pending(ctx.database_url, settings, ctx.partnership_id)
    except Exception as exc:  # noqa: BLE001 - a database that cannot be reached must not silence the alert
        return alert_fallback(failure, settings, f"the partnership's database could not be reached "
                                                 f"({type(exc).__name__}: {one_line(exc, 300)})")
    alerts = [r for r in report if r["kind"] == ALERT_KIND]
    sent = [f"{r['to']} by {r['channel']}" for r in alerts if r["status"] == SENT]
    unsent = [f"{r['to']} by {r['channel']}: {one_line(r['reference'], 200)}" for r in alerts if r["status"] != SENT]
    if not queued and not alerts:
        return f"alert for run {failure.run_id} already queued for this failure: nothing sent again"
    return one_line(f"alert for run {failure.run_id}: sent to {', '.join(sent) or 'nobody yet'}"
                    + (f"; not delivered (the outbox retries): {'; '.join(unsent)}" if unsent else ""), 1000)


def alert_fallback(failure: RunFailure, settings: Settings, why: str) -> str:
    """Mail DUTYCYCLE_ALERT_EMAIL directly (SMTP, else an .eml file), once per failure; or say nobody could be told."""
    if not settings.alert_email:
        return one_line(f"nobody could be alerted of run {failure.run_id} ({failure.flow_name}, {failure.state_name}: "
                        f"{failure.reason}): {why}, and DUTYCYCLE_ALERT_EMAIL is not set", 1200)
    folder = settings.outbox_dir / FALLBACK_FOLDER
    key = f"{FALLBACK_FOLDER}:{failure.key}:{settings.alert_email}"
    name = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    marker = folder / ".sent" / name
    if marker.is_file():  # this failure was already mailed: a retried hook sends nothing
        return f"alert for run {failure.run_id} already sent to {settings.alert_email}"
    subject, body = alert_text(failure, why_you=why)
    email = build_email(Envelope(
        message_id=message_id_for(key, settings.mail_from), sender=formataddr(("dutycycle", settings.mail_from)),
        reply_to=None, recipient=settings.alert_email, subject=subject, text=body, html=None, attachments=[],
    ))
    if settings.smtp_host:
        send_smtp(email, settings, smtp_password(settings))
        how = "by SMTP"
    else:
        how = "as " + write_eml(email, folder, name)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(f"{failure.run_id} {failure.state_type}\n", encoding="utf-8")
    return one_line(f"alert for run {failure.run_id} sent to {settings.alert_email} {how} ({why})", 1000)


# ---------------------------------------------------------------- the hooks


def _logger(flow: Any, flow_run: Any) -> Any:
    try:
        from prefect.logging.loggers import flow_run_logger

        return flow_run_logger(flow_run, flow)  # into the run's own logs, visible in the UI
    except Exception:  # noqa: BLE001
        return LOGGER


def _alert(flow: Any, flow_run: Any, state: Any) -> None:
    logger = _logger(flow, flow_run)
    try:
        if getattr(flow_run, "parent_task_run_id", None) is not None:
            # a stage run by the cycle: the cycle's own alert names it, so the analyst hears once
            logger.info("failure alert left to the parent run, which names this stage")
            return
        if getattr(state, "name", None) == REJECTED_STATE:
            # a sign-off rejection is a decision, not a fault: the analysts already have one message with the
            # approver's reason (the receipt or the board pack's rejection note); an alert would be a second
            logger.info("no failure alert: the rejection and its reason were sent to the analysts as its own message")
            return
        outcome = alert_partnership(describe_failure(flow, flow_run, state), get_settings())
        (logger.warning if outcome.startswith("nobody") else logger.info)(outcome)
    except Exception as exc:  # noqa: BLE001 - a hook that raises would hide the run's own failure
        logger.error(f"failure alert for run {getattr(flow_run, 'id', '?')} could not be sent: "
                     f"{type(exc).__name__}: {one_line(exc, 300)}")


def alert_on_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Flow hook (on_failure): tell the partnership's analysts that the run failed, why, and where to look."""
    _alert(flow, flow_run, state)


def alert_on_crash(flow: Any, flow_run: Any, state: Any) -> None:
    """Flow hook (on_crashed): tell the partnership's analysts that the run's process stopped, and where to look."""
    _alert(flow, flow_run, state)
