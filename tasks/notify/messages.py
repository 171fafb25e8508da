"""Which stakeholder gets which message, with what text (pure: no I/O, no sending).

The words live in ``tasks/notify/templates/`` (a plain-text and an HTML template per message); this module decides
who receives what and computes the figures the templates show.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from tasks.shared.completeness import months_of_file
from tasks.shared.config import PartnershipConfig, Source, Stakeholder, value_text
from tasks.shared.exports import csv_text
from tasks.shared.outbox import Message
from tasks.shared.periods import parse_financial_year
from tasks.shared.rendering import render_parts

STAGE = "tasks.notify"
PARTNER_RETURN = "partner_return"
BLOCKING = "critical"  # a critical rule holds the whole file in quarantine; warnings and info still load
CSV_COLUMNS = {"original_name": "file", "source_row": "row", "column": "column", "value": "value", "rule": "rule",
               "severity": "severity"}


def _year_months(config: PartnershipConfig, financial_year: str) -> tuple[dt.date, frozenset[str]]:
    start = config.partnership.financial_year_start
    year = parse_financial_year(financial_year, start_month=start.month)
    year_start = dt.date(year, start.month, start.day)
    return year_start, frozenset(
        dt.date(year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1).strftime("%Y-%m")
        for i in range(12)
    )


def file_in_year(period: object, financial_year: str, year_start: dt.date, months: frozenset[str]) -> bool:
    """Whether a file's period falls in the year under review (a file with no period covers every year)."""
    if period is None or (isinstance(period, float) and pd.isna(period)) or period == "":
        return True
    label = str(period)
    if label.startswith(financial_year):  # "2022/23" or "2022/23 Q1"
        return True
    covered = months_of_file(label, year_start)
    return bool(covered and covered & months)


def _utc(value: Any) -> dt.datetime | None:
    if value is None or (not isinstance(value, dt.datetime) and pd.isna(value)):
        return None
    value = pd.Timestamp(value).to_pydatetime()
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def files_to_report(
    files: pd.DataFrame, financial_year: str, year_start: dt.date, months: frozenset[str], since: dt.datetime | None
) -> pd.DataFrame:
    """The year's current files, plus older-period files that arrived (or were replaced) since the last report."""
    current = files[files["status"] != "superseded"]
    in_year = [file_in_year(p, financial_year, year_start, months) for p in current["period"]]
    if since is not None:
        changed = [(_utc(r) or dt.datetime.min.replace(tzinfo=dt.UTC)) > since for r in current["received_at"]]
        in_year = [a or b for a, b in zip(in_year, changed, strict=True)]
    return current.loc[pd.Series(in_year, index=current.index, dtype=bool)]


def rule_summary(files: pd.DataFrame, problems: pd.DataFrame) -> pd.DataFrame:
    """One line per file and rule: rows failing it and their share of the file's rows."""
    if problems.empty:
        return pd.DataFrame(columns=["file", "rule", "severity", "rows", "percent", "whole_file"])
    rows_read = files.drop_duplicates("original_name").set_index("original_name")["rows_read"]
    grouped = (
        problems.groupby(["original_name", "rule", "severity"], sort=False)
        .agg(rows=("source_row", lambda s: int((s > 0).sum())), whole_file=("source_row", lambda s: bool((s == 0).any())))
        .reset_index()
    )
    totals = grouped["original_name"].map(rows_read).astype("Float64")
    grouped["percent"] = (100 * grouped["rows"] / totals).where(totals > 0)
    return grouped.rename(columns={"original_name": "file"})[["file", "rule", "severity", "rows", "percent", "whole_file"]]


def _lines(summary: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {"file": r.file, "rule": r.rule, "rows": int(r.rows), "whole_file": bool(r.whole_file),
         "percent": None if pd.isna(r.percent) else float(r.percent)}
        for r in summary.itertuples(index=False)
    ]


def data_quality_messages(
    config: PartnershipConfig,
    financial_year: str,
    file_status: pd.DataFrame,
    failures: pd.DataFrame,
    last_reported: dict[str, Any] | None = None,
    quality_pages: dict[str, bytes] | None = None,
) -> list[Message]:
    """Each data owner receives the report of their own sources only, for the year under review, with their own
    page of the year's quality report attached (every check of every file, offline HTML).

    ``file_status``: source_id, original_name, period, status, reason, rows_read, rows_loaded, received_at.
    ``failures``: source_id, original_name, source_row, column, value, rule, severity.
    ``last_reported``: stakeholder id -> when their last report was sent (older files are shown only if they
    arrived since).
    ``quality_pages``: stakeholder id -> the quality page validate wrote for them (a data owner's own page, the
    partnership's for anyone who receives every source's report), attached as it is.
    """
    last_reported = last_reported or {}
    quality_pages = quality_pages or {}
    year_start, months = _year_months(config, financial_year)
    if "received_at" not in file_status.columns:
        file_status = file_status.assign(received_at=None)
    owners: dict[str, list[str]] = {}
    for source in config.sources:
        owners.setdefault(source.owner, []).append(source.id)
    messages = []
    for person in config.stakeholders:
        if "data_quality_report" not in person.receives:
            continue
        owned = owners.get(person.id, []) if person.role == "data_owner" else [s.id for s in config.sources]
        if not owned:
            continue
        mine = file_status[file_status["source_id"].isin(owned)]
        files = files_to_report(mine, financial_year, year_start, months, _utc(last_reported.get(person.id)))
        problems = failures[failures["original_name"].isin(files["original_name"])
                            & failures["source_id"].isin(owned)]
        messages.append(_quality_message(config, financial_year, person, owned, files, problems,
                                         quality_pages.get(person.id)))
    return messages


def _quality_message(
    config: PartnershipConfig, financial_year: str, person: Stakeholder, owned: list[str], files: pd.DataFrame,
    problems: pd.DataFrame, page: bytes | None = None,
) -> Message:
    sources = {s.id: s for s in config.sources}
    blocked = files[files["status"] == "quarantined"]
    summary = rule_summary(files, problems)
    blocking, informational = summary[summary["severity"] == BLOCKING], summary[summary["severity"] != BLOCKING]
    # only a partner can send a corrected return, and only a blocked file needs one; a public archive cannot be
    # "corrected" by its owner, so they are told there is nothing to send
    corrections, public = [], []
    for source_id in owned:
        source, own_files = sources[source_id], files[files["source_id"] == source_id]
        if source.kind == PARTNER_RETURN:
            names = sorted(own_files[own_files["status"] == "quarantined"]["original_name"])
            if names:
                corrections.append({"source": source, "files": names})
        elif own_files["original_name"].isin(problems["original_name"]).any():
            public.append({"source": source, "files": sorted(own_files["original_name"])})
    per_source = [
        {"title": sources[sid].title, "files": int((files["source_id"] == sid).sum()),
         "names": sorted(files[files["source_id"] == sid]["original_name"]),
         "loaded": int(((files["source_id"] == sid) & (files["status"] == "loaded")).sum()),
         "quarantined": int(((files["source_id"] == sid) & (files["status"] == "quarantined")).sum())}
        for sid in owned if (files["source_id"] == sid).any()
    ]
    csv_name = f"data-quality-{person.id}-{financial_year.replace('/', '-')}.csv"
    files_attached = {}
    if len(problems):
        listing = problems[list(CSV_COLUMNS)].rename(columns=CSV_COLUMNS)
        files_attached[csv_name] = csv_text(listing).encode("utf-8")
    page_name = f"data-quality-{person.id}-{financial_year.replace('/', '-')}.html"
    if page is not None:
        files_attached[page_name] = page  # self-contained: opens from the attachment without a network
    values = {
        "person": person, "financial_year": financial_year, "per_source": per_source,
        "file_count": len(files), "blocked": blocked[["original_name", "reason"]].to_dict("records"),
        "blocking": _lines(blocking), "informational": _lines(informational), "problem_rows": len(problems),
        "csv_name": csv_name if csv_name in files_attached else None, "corrections": corrections, "public": public,
        "page_name": page_name if page is not None else None, "own_page": person.role == "data_owner",
    }
    text, html = render_parts(STAGE, "data_quality_report", config.partnership, **values)
    verdict = (f"{len(blocked)} file(s) blocked" if len(blocked)
               else "warnings to review" if len(problems) else "all clear")
    return Message(
        kind="data_quality_report",
        recipient=person,
        subject=f"[{config.partnership.name}] Data-quality report {financial_year}: {verdict}",
        body=text,
        html=html,
        summary=f"Data-quality report {financial_year}: {len(files)} file(s), {verdict}.",
        files=files_attached,
    )


def metric_pack_messages(
    config: PartnershipConfig, financial_year: str, published: pd.DataFrame, attachments: list[str],
    not_computed: pd.DataFrame | None = None, part_year: list[str] | None = None,
) -> list[Message]:
    """The board and partner leads receive the year's published measures (never exact small counts): a short
    summary of the partnership's figures as the disclosure policy publishes them, what covers only part of the year,
    the measures that could not be computed with why, and the full report attached."""
    columns = ["title", "age_band", "count", "value", "value_unit", "lower_ci_95", "upper_ci_95",
               "change_on_previous_year_percent", "note"]
    headline = published[
        (published["financial_year"] == financial_year) & (published["area_code"] == config.partnership.id)
    ][[c for c in columns if c in published.columns]]
    missing = not_computed if not_computed is not None else pd.DataFrame(columns=["title", "reason"])
    # every value printed with its unit: a percentage or a ratio is never read as a rate per 100,000
    rows = [{**r, "value_text": value_text(str(r.get("value", "")), str(r.get("value_unit", ""))),
             "is_rate": str(r.get("value_unit", "")).startswith("per ") or not r.get("value_unit")}
            for r in headline.fillna("").to_dict("records")]
    values = {"financial_year": financial_year, "rows": rows,
              "attachments": [a.rsplit("/", 1)[-1] for a in attachments], "part_year": part_year or [],
              "not_computed": missing[["title", "reason"]].fillna("").to_dict("records")}
    messages = []
    for person in config.stakeholders:
        if "metric_pack" not in person.receives:
            continue
        text, html = render_parts(STAGE, "metric_pack", config.partnership, person=person, **values)
        messages.append(
            Message(
                kind="metric_pack",
                recipient=person,
                subject=f"[{config.partnership.name}] Serious violence measures {financial_year}",
                body=text,
                html=html,
                summary=f"The {financial_year} serious violence measures for {config.partnership.name} are "
                f"published: {len(headline)} partnership figures; the report was sent by e-mail.",
                attachments=attachments,
            )
        )
    return messages


def how_to_send(config: PartnershipConfig, source: Source) -> dict[str, Any]:
    """Where and in what shape a partner sends a return: the inbox folder, the upload command, the columns."""
    template = source.template
    columns = []
    if template is not None:
        columns = [template.period.column, template.area.column]
        columns += [template.age_band.column] if template.age_band else []
        columns += [value.column for value in template.values]
    return {"folder": str(source.location), "patterns": source.patterns,
            "command": f"dutycycle upload FILE --source {source.id} --partnership {config.partnership.id}",
            "columns": columns, "partner_return": source.kind == PARTNER_RETURN}


def data_request_messages(config: PartnershipConfig, financial_year: str, to_chase: pd.DataFrame) -> list[Message]:
    """Each data owner is asked, once per distinct list, for their overdue, partial or unusable returns:
    what, which period, how to send it and by when."""
    messages = []
    sources = {s.id: s for s in config.sources}
    for person in config.stakeholders:
        if "data_request" not in person.receives:
            continue
        owed = to_chase[to_chase["owner"] == person.id]
        if owed.empty:
            continue
        requests = []
        for source_id, periods in owed.groupby("source", sort=False):
            source = sources[source_id]
            requests.append({
                "title": source.title, "id": source.id, **how_to_send(config, source),
                "periods": [{"period": r.period, "due": _date_text(r.due), "status": r.status}
                            for r in periods.itertuples(index=False)],
            })
        overdue = (owed["status"] == "overdue").any()
        text, html = render_parts(STAGE, "data_request", config.partnership, person=person,
                                  financial_year=financial_year, requests=requests)
        messages.append(
            Message(
                kind="data_request",
                recipient=person,
                subject=f"[{config.partnership.name}] {'Overdue: d' if overdue else 'D'}ata needed for "
                f"{financial_year}, {len(owed)} period(s)",
                body=text,
                html=html,
                summary=f"{len(owed)} period(s) of {financial_year} data still needed from {person.organisation}.",
            )
        )
    return messages


def _date_text(value: Any) -> str:
    if isinstance(value, (dt.date, pd.Timestamp)):
        return f"{value:%A %d %B %Y}"
    try:
        return f"{dt.date.fromisoformat(str(value)):%A %d %B %Y}"
    except ValueError:
        return str(value)
