"""Stage deadlines (daily): the statutory calendar watched, reminders and escalations sent once, calendar published."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from prefect import flow
from pydantic import Field

from tasks.deadlines.report import deadlines_report
from tasks.deadlines.steps import (
    calendar_of,
    inputs_at_risk,
    record_calendar,
    reminders_and_escalations,
    statuses_on,
    year_on,
)
from tasks.shared.alerts import alert_on_crash, alert_on_failure
from tasks.shared.calendar import london_today
from tasks.shared.outbox import deliver_outbox, queue_messages
from tasks.shared.parameters import DEMO_PARTNERSHIP, PartnershipId
from tasks.shared.runs import finish_stage, plain_failures, start_stage

AsOf = Annotated[
    dt.date | None,
    Field(title="As of", description="The day to watch the calendar on; empty = today in Europe/London."),
]


@flow(name="deadlines", flow_run_name="{partnership} deadline watch", log_prints=True,
      on_failure=[alert_on_failure], on_crashed=[alert_on_crash])
@plain_failures
def deadlines(partnership: PartnershipId = DEMO_PARTNERSHIP, as_of: AsOf = None):
    """Work out what is upcoming, due, at risk and overdue; send each reminder and escalation once; publish the
    calendar of the coming twelve months."""
    day = as_of or london_today()
    ctx = start_stage("deadlines", partnership, year_on(partnership, day), require_data=False)
    occurrences = calendar_of(ctx, day)
    met = record_calendar(ctx, occurrences)
    statuses = statuses_on(occurrences, day, met, inputs_at_risk(ctx, occurrences, day))
    messages = reminders_and_escalations(ctx, statuses, day)
    queued = queue_messages(ctx, messages)
    delivered = deliver_outbox(ctx)
    report = deadlines_report(ctx, day, statuses, len(messages), queued, delivered)
    return finish_stage(ctx, "deadlines", report)
