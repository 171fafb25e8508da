"""Collect: keep every input unchanged, parse it, check it against its suite, then load or quarantine it."""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError
from prefect.futures import as_completed

from tasks.collect.fetching import fetch_source
from tasks.collect.personal_data import (
    PersonalDataFinding,
    describe_findings,
    findings_as_failures,
    scan_for_personal_data,
)
from tasks.collect.sources import (
    fingertips,
    nomis,
    partner_returns,
    police_api,
    police_archive,
    population,
)
from tasks.collect.sources.common import (
    DiscoveredFile,
    InputFileError,
    discover_files,
    read_csv_strings,
    refuse_formulas,
)
from tasks.collect.sources.street_cache import StreetParseCache, frames_in_memory
from tasks.shared.artifacts import Progress, artifact_scope
from tasks.shared.completeness import covers
from tasks.shared.config import Source
from tasks.shared.context import CycleContext
from tasks.shared.periods import financial_year_label
from tasks.shared.raw_store import store_bytes
from tasks.shared.storage import repository
from tasks.shared.storage.models import RawFile
from tasks.shared.storage.session import session_scope
from tasks.shared.suites import SuiteOutcome, load_suite_definition, validate_frames


@dataclass
class FileOutcome:
    """What happened to one input file, for the register, the artifacts and the data owner's report."""

    source_id: str
    dataset: str
    original_name: str
    raw_file_id: int
    sha256: str
    period: str | None
    financial_year: str
    status: str  # loaded | quarantined
    reason: str | None
    rows_read: int = 0
    rows_loaded: int = 0
    observations: int = 0
    rows_without_location: int = 0
    rows_outside_area: int = 0
    rows_repeating_crime_id: int = 0  # counted, as data.police.uk counts them, and reported
    rows_in_unlisted_lsoas: int = 0  # 2021 LSOA codes recognised by name, counted at authority level
    rows_unattributable: int = 0  # 2021 LSOA codes of a district several members share: reported, not counted
    validation_status: str = "not run"
    failures: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def as_row(self) -> dict:
        return {
            "source": self.source_id,
            "file": self.original_name,
            "period": self.period or "",
            "status": self.status,
            "checks": self.validation_status,
            "rows read": self.rows_read,
            "rows loaded": self.rows_loaded,
            "no location": self.rows_without_location,
            "outside area": self.rows_outside_area,
            "repeated crime IDs": self.rows_repeating_crime_id,
            "LSOAs by name (2021 codes)": self.rows_in_unlisted_lsoas,
            "not attributable": self.rows_unattributable,
            "observations": self.observations,
            "reason": self.reason or "",
        }


class PersonalDataFound(InputFileError):
    """A file that carries personal data: refused whole and kept in quarantine, never loaded."""

    def __init__(self, file: str, findings: list[PersonalDataFinding]):
        self.findings = findings
        super().__init__(file, describe_findings(findings))


def guard_frame(frame: pd.DataFrame, name: str) -> None:
    """Checks every parsed file must pass before its suite: no personal data, no spreadsheet formulas."""
    findings = scan_for_personal_data(frame, name)
    if findings:
        raise PersonalDataFound(name, findings)
    refuse_formulas(frame, name)


@dataclass
class ParsedFile:
    """A raw file turned into the frame its suite checks, plus how to build observations from it."""

    frame: pd.DataFrame
    suite_parameters: dict
    period: str | None
    financial_year: int | None
    rows_read: int
    rows_in_area: int | None = None  # street files: crimes in the partnership's area, counted from the parsed rows
    rows_without_location: int = 0
    rows_outside_area: int = 0
    rows_repeating_crime_id: int = 0
    rows_in_unlisted_lsoas: int = 0
    rows_unattributable: int = 0
    # street files: LSOAs of the 2021 set the partnership's 2011 list lacks, recognised by name -> member authority
    authority_of_unlisted_lsoa: dict[str, str] = field(default_factory=dict)
    raw_bytes: bytes | None = None  # for parsers that read the file again themselves (Nomis)


def suite_parameters(ctx: CycleContext) -> dict:
    """Values the suites refer to as {"$PARAMETER": name}: the partnership's areas and today's limits."""
    partnership = ctx.config.partnership
    today = dt.date.today()
    return {
        "lsoa_codes": partnership.lsoa_codes,
        "local_authority_codes": partnership.local_authority_codes,
        "local_authority_names": [la.name for la in partnership.local_authorities],
        "latest_month": today.strftime("%Y-%m"),
        "latest_period_start": today.isoformat(),
    }


def parse_file(ctx: CycleContext, source: Source, data: bytes, name: str, raw_file_id: int) -> ParsedFile:
    """Parse a raw file with its source's parser into the frame its raw suite checks."""
    parameters = suite_parameters(ctx)
    if source.kind == "police_archive":
        return parse_police_archive(ctx, data, name, raw_file_id, parameters)
    if source.kind == "ons_mye2":
        mid_year = population.mid_year_of(name)
        cache = StreetParseCache(ctx.settings.parse_cache_dir)  # the other partnerships parse and guard it no more
        frame = parse_shared_file(cache, data, name, population.parse_mye2, population.MYE2_PARSER)
        return ParsedFile(
            frame=frame.assign(raw_file_id=raw_file_id),
            suite_parameters=parameters,
            period=f"mid-{mid_year}",
            financial_year=mid_year,
            rows_read=len(frame),
        )
    if source.kind == "police_api":
        return parse_police_api_manifest(ctx, source, data, name, raw_file_id, parameters)
    if source.kind == "nomis_population":
        frame = read_csv_strings(data, name, ["DATE_NAME", "GEOGRAPHY_CODE", "OBS_VALUE"])
        guard_frame(frame, name)
        years = sorted({text[:4] for text in frame["DATE_NAME"]})
        return ParsedFile(
            frame=frame.assign(raw_file_id=raw_file_id),
            suite_parameters=parameters,
            period=f"mid-{years[0]}" if len(years) == 1 else None,
            financial_year=int(years[0]) if len(years) == 1 else None,
            rows_read=len(frame),
            raw_bytes=data,
        )
    if source.kind == "ons_lsoa_population":
        frame = population.parse_lsoa_denominators(data, name)
        guard_frame(frame, name)
        return ParsedFile(
            frame=frame.assign(raw_file_id=raw_file_id),
            suite_parameters=parameters,
            period=f"mid-{population.IOD_MID_YEAR}",
            financial_year=population.IOD_MID_YEAR,
            rows_read=len(frame),
        )
    if source.kind == "fingertips":
        frame = fingertips.parse_export(data, name)
        guard_frame(frame, name)
        parameters["indicator_ids"] = [str(i) for i in source.indicator_ids]
        return ParsedFile(
            frame=frame.assign(raw_file_id=raw_file_id),
            suite_parameters=parameters,
            period=None,
            financial_year=None,
            rows_read=len(frame),
        )
    frame = partner_returns.parse_return(data, name, source.template)
    guard_frame(frame, name)
    period = partner_returns.period_label(frame, source.template)
    first = dt.date.fromisoformat(period[:7] + "-01") if period else None
    return ParsedFile(
        frame=frame.assign(raw_file_id=raw_file_id),
        suite_parameters=parameters,
        period=period,
        financial_year=ctx.financial_year_of(first) if first else None,
        rows_read=len(frame),
    )


def parse_shared_file(
    cache: StreetParseCache, data: bytes, name: str, parse: Callable[[bytes, str], pd.DataFrame], parser: str
) -> pd.DataFrame:
    """A file every partnership reads (the national population estimates), parsed and guarded once: the first
    partnership to meet its bytes parses and guards them, the others read the kept frame. A file that cannot be
    read, or that the guards refuse, is never kept as passed: it fails again, with this partnership's file name."""
    kept = cache.get_or_parse(data, name, parse, parser=parser)
    if not kept.guarded:
        guard_frame(kept.frame, name)
        cache.mark_guarded(kept.sha256, parser)
    return kept.frame


def parse_police_archive(ctx: CycleContext, data: bytes, name: str, raw_file_id: int, parameters: dict) -> ParsedFile:
    """A data.police.uk archive zip or street CSV: the partnership's forces' rows in its area (by its LSOA list, or
    by LSOA name for 2021 codes the list lacks) and those without a location; the whole force file is guarded."""
    partnership = ctx.config.partnership
    cache = StreetParseCache(ctx.settings.parse_cache_dir)  # the force's other partnerships parse it no more
    memory = frames_in_memory(int(ctx.settings.parse_memory_mib * 2**20))  # and in this process, within its budget
    months = police_archive.parse_archive(
        data, name, [force.id for force in partnership.police_forces], ctx.settings.max_zip_member_bytes, cache, memory
    )
    kept, read, no_location, outside, in_area, repeats, unlisted, unattributable = [], 0, 0, 0, 0, 0, 0, 0
    by_name: dict[str, str] = {}
    for month in months:
        if not month.guarded:  # the whole force file: it is all kept in the raw store
            guard_frame(month.frame, month.member)
            cache.mark_guarded(month.sha256)
        split = police_archive.split_by_area(
            month.frame, set(partnership.lsoa_codes), partnership.authority_of_lsoa_name, partnership.shared_lsoa_names
        )
        kept += [split.listed, split.by_name.drop(columns="local_authority"), split.no_location]
        by_name.update(zip(split.by_name["LSOA code"], split.by_name["local_authority"], strict=True))
        read += len(month.frame)
        no_location += len(split.no_location)
        outside += split.outside
        in_area += split.in_area
        repeats += police_archive.repeated_crime_ids(month.frame)
        unlisted += len(split.by_name)
        unattributable += split.unattributable
    period = months[0].month
    parameters["expected_months"] = sorted({m.month for m in months})
    parameters["lsoa_codes"] = [*parameters["lsoa_codes"], *sorted(by_name)]
    return ParsedFile(
        frame=pd.concat(kept, ignore_index=True).assign(raw_file_id=raw_file_id),
        suite_parameters=parameters,
        period=period,
        financial_year=ctx.financial_year_of(dt.date.fromisoformat(f"{period}-01")),
        rows_read=read,
        rows_in_area=in_area,
        rows_without_location=no_location,
        rows_outside_area=outside,
        rows_repeating_crime_id=repeats,
        rows_in_unlisted_lsoas=unlisted,
        rows_unattributable=unattributable,
        authority_of_unlisted_lsoa=by_name,
    )


def parse_police_api_manifest(
    ctx: CycleContext, source: Source, data: bytes, name: str, raw_file_id: int, parameters: dict
) -> ParsedFile:
    """An area-month manifest: every answer it lists is checked against its checksum and kept in the raw store,
    then the answers are merged (each crime once, only inside the area) into archive-shaped rows."""
    try:
        manifest = json.loads(data)
        answers, month, authority = manifest["answers"], manifest["month"], manifest["local_authority"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputFileError(name, f"not a data.police.uk fetch manifest: {exc}") from exc
    folder = ctx.config.source_folder(source)
    batches = []
    for index, answer in enumerate(answers, start=1):
        path = folder / answer["file"]
        if not path.is_file():
            raise InputFileError(name, f"answer {answer['file']} listed in the manifest is missing", row=index)
        content = path.read_bytes()
        if hashlib.sha256(content).hexdigest() != answer["sha256"]:
            raise InputFileError(name, f"answer {answer['file']} does not match its checksum", row=index)
        store_bytes(ctx.settings.raw_store_dir, content, ".json")  # the raw answer itself, unchanged
        batches.append(json.loads(content))
    polygons = [police_api.Polygon.of(p["outer"], p.get("holes", [])) for p in manifest["polygons"]]
    merged = []
    for polygon in polygons:
        crimes, _, _ = police_api.merge_crimes(batches, polygon, was_split=manifest.get("splits", 0) > 0)
        merged += crimes
    unique = list({crime["id"]: crime for crime in merged}.values())
    force = ctx.config.partnership.police_forces[0].name
    frame = police_api.street_crimes_to_archive_frame(unique, force_name=force)
    frame.insert(0, "source_row", range(2, 2 + len(frame)))
    frame["local_authority"] = authority
    parameters["expected_months"] = [month]
    return ParsedFile(
        frame=frame.assign(raw_file_id=raw_file_id),
        suite_parameters=parameters,
        period=month,
        financial_year=ctx.financial_year_of(dt.date.fromisoformat(f"{month}-01")),
        rows_read=len(frame),
    )


def build_observations(ctx: CycleContext, source: Source, parsed: ParsedFile, name: str, raw_file_id: int) -> pd.DataFrame:
    """The canonical observations of a file that passed its checks."""
    partnership = ctx.config.partnership
    if source.kind == "police_archive":
        lsoa = parsed.frame["LSOA code"].str.strip()
        listed = parsed.frame[lsoa.isin(partnership.lsoa_codes)]
        by_name = parsed.frame[lsoa.isin(parsed.authority_of_unlisted_lsoa.keys())]
        by_name = by_name.assign(local_authority=by_name["LSOA code"].map(parsed.authority_of_unlisted_lsoa))
        return pd.concat(
            [
                police_archive.to_observations(listed, partnership.id, raw_file_id),
                # an LSOA the 2011 list lacks has no LSOA population: it counts towards its authority
                police_archive.to_observations(by_name, partnership.id, raw_file_id, "local_authority", "lad"),
            ],
            ignore_index=True,
        )
    if source.kind == "ons_mye2":
        return population.to_observations(
            parsed.frame, partnership.local_authority_codes, partnership.id, parsed.financial_year, raw_file_id
        )
    if source.kind == "ons_lsoa_population":
        return population.lsoa_observations(parsed.frame, partnership.lsoa_codes, partnership.id, raw_file_id)
    if source.kind == "nomis_population":
        rows = nomis.to_population_observations(parsed.raw_bytes, partnership.id, raw_file_id)
        return rows[rows["area_code"].isin(partnership.local_authority_codes)]
    if source.kind == "police_api":
        return police_archive.to_observations(
            parsed.frame, partnership.id, raw_file_id, area_column="local_authority", area_type="lad"
        )
    if source.kind == "fingertips":
        return fingertips.to_observations(
            parsed.frame, partnership.local_authority_codes, source.indicator_ids, partnership.id, raw_file_id, name
        )
    return partner_returns.to_observations(
        parsed.frame, source.template, source.dataset, partnership.id, raw_file_id, name
    )


def table_level_failures(outcome: SuiteOutcome, frame: pd.DataFrame, ctx: CycleContext, source: Source) -> pd.DataFrame:
    """Quarantine entries for failed critical rules about the file as a whole, which name no row: a missing
    column is reported on the header (row 1), any other whole-file rule on row 0."""
    entries = []
    definition = load_suite_definition(source.suite_name, ctx.settings.expectations_dir)
    for index, rule in enumerate(outcome.outcomes):
        if rule.success or rule.severity != "critical" or rule.is_row_level:
            continue
        if rule.expectation_type == "expect_table_columns_to_match_set":
            required = definition["expectations"][index]["kwargs"].get("column_set", [])
            for column in [c for c in required if c not in frame.columns]:
                entries.append({"source_row": 1, "column": column, "value": None, "rule": rule.description,
                                "severity": rule.severity})
        else:
            entries.append({"source_row": 0, "column": rule.column or "", "value": rule.observed,
                            "rule": rule.description, "severity": rule.severity})
    return pd.DataFrame(entries, columns=["source_row", "column", "value", "rule", "severity"])


def partner_row_refusals(ctx: CycleContext, source: Source, parsed: ParsedFile) -> pd.DataFrame:
    """A partner return's rows that must never load, whatever its suite says (periods out of range or not yet
    over, areas outside the partnership, implausible counts); nothing for other sources."""
    if source.kind != "partner_return":
        return pd.DataFrame(columns=partner_returns.REFUSAL_COLUMNS)
    return partner_returns.row_refusals(
        parsed.frame,
        source.template,
        first_month=dt.date.fromisoformat(f"{source.first_month}-01") if source.first_month else None,
        today=dt.date.today(),
        member_codes=set(ctx.config.partnership.local_authority_codes),
        max_count=source.max_count,
    )


def refusal_records(refusals: pd.DataFrame) -> list[dict]:
    """The outcome of each of a partner return's row refusals, stored beside its suite's rules (so a refused
    file blocks its dataset as a failed critical rule does)."""
    records = []
    for prefix in partner_returns.REFUSAL_RULES:
        hits = refusals[refusals["rule"].str.startswith(prefix)]
        records.append({
            "expectation_type": "partner_return_rows_acceptable",
            "column": hits["column"].iloc[0] if len(hits) else None,
            "severity": "critical",
            "success": hits.empty,
            "unexpected_count": len(hits),
            "description": hits["rule"].iloc[0] if len(hits) else f"No row where {prefix}",
            "observed": ", ".join(sorted({str(v) for v in hits["value"]})[:20]) or None,
            "error": None,
        })
    return records


def _unreadable(error: InputFileError) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "source_row": error.row or 0,
                "column": error.column or "",
                "value": None,
                "rule": f"file must be readable: {error.reason}",
                "severity": "critical",
            }
        ]
    )


def collect_file(ctx: CycleContext, source: Source, found: DiscoveredFile) -> FileOutcome:
    """Store one file unchanged, parse and check it, then load its observations or quarantine it."""
    return collect_files(ctx, source, [found])[0]


def collect_files(ctx: CycleContext, source: Source, units: list[DiscoveredFile]) -> list[FileOutcome]:
    """Store every file of a source unchanged and parse it, check them all against the source's suite together
    (one Great Expectations run for many files, each file keeping its own verdict and failing rows), then load or
    quarantine each file in turn, as if it had been collected alone."""
    pending = [_receive(ctx, source, unit) for unit in units]
    to_check = [p for p in pending if p.parsed is not None]
    verdicts = validate_frames(
        [(p.parsed.frame, p.parsed.suite_parameters) for p in to_check],
        source.suite_name,
        expectations_dir=ctx.settings.expectations_dir,
        # a file read by many partnerships (the national population estimates) has its own rules checked once
        file_keys=[p.sha256 for p in to_check],
        verdicts=StreetParseCache(ctx.settings.parse_cache_dir),
    )
    for p, verdict in zip(to_check, verdicts, strict=True):
        p.suite_outcome = verdict
    return [_settle(ctx, source, p) for p in pending]


@dataclass
class _Received:
    """A file stored, registered and parsed (or refused while reading), waiting for its suite's verdict."""

    found: DiscoveredFile
    sha256: str
    outcome: FileOutcome
    parsed: ParsedFile | None = None
    error: InputFileError | None = None
    settled: bool = False  # superseded before anything was read: nothing more to do
    suite_outcome: SuiteOutcome | None = None


def _receive(ctx: CycleContext, source: Source, found: DiscoveredFile) -> _Received:
    """Keep the file's bytes and register it; parse and guard it unless it was superseded."""
    stored = store_bytes(ctx.settings.raw_store_dir, found.data, found.path.suffix)
    with session_scope(ctx.database_url) as session:
        raw, _ = repository.register_raw_file(
            session,
            partnership=ctx.partnership_id,
            source_id=source.id,
            dataset=source.dataset,
            original_name=found.name,
            sha256=stored.sha256,
            size_bytes=stored.size_bytes,
            stored_path=str(stored.path),
            synthetic=source.synthetic,
        )
        raw_file_id, status, reason, period = raw.id, raw.status, raw.status_reason, raw.period
    if status == "superseded":
        # a corrected version of this file was loaded after it: keep it as history, never load it again
        return _Received(found, stored.sha256, _superseded(ctx, source, found, raw_file_id, stored.sha256, reason,
                                                           period), settled=True)
    outcome = FileOutcome(
        source_id=source.id,
        dataset=source.dataset,
        original_name=found.name,
        raw_file_id=raw_file_id,
        sha256=stored.sha256,
        period=None,
        financial_year=ctx.year_label,
        status="quarantined",
        reason=None,
    )
    received = _Received(found, stored.sha256, outcome)
    try:
        if found.refusal:
            raise InputFileError(found.name, found.refusal)
        parsed = parse_file(ctx, source, found.data, found.name, raw_file_id)
        if len(parsed.frame) > ctx.settings.max_rows_per_file:
            raise InputFileError(
                found.name, f"{len(parsed.frame):,} rows, over the limit of {ctx.settings.max_rows_per_file:,} "
                "(DUTYCYCLE_MAX_ROWS_PER_FILE)"
            )
        outcome.period, outcome.rows_read = parsed.period, parsed.rows_read
        outcome.rows_without_location, outcome.rows_outside_area = parsed.rows_without_location, parsed.rows_outside_area
        outcome.rows_repeating_crime_id = parsed.rows_repeating_crime_id
        outcome.rows_in_unlisted_lsoas = parsed.rows_in_unlisted_lsoas
        outcome.rows_unattributable = parsed.rows_unattributable
        if parsed.financial_year is not None:
            outcome.financial_year = financial_year_label(parsed.financial_year)
        received.parsed = parsed
    except InputFileError as error:  # PersonalDataFound included
        received.error = error
    return received


def _superseded(
    ctx: CycleContext, source: Source, found: DiscoveredFile, raw_file_id: int, sha256: str, reason: str | None,
    period: str | None,
) -> FileOutcome:
    return FileOutcome(
        source_id=source.id, dataset=source.dataset, original_name=found.name, raw_file_id=raw_file_id,
        sha256=sha256, period=period, financial_year=ctx.year_label, status="superseded", reason=reason,
    )


def _settle(ctx: CycleContext, source: Source, received: _Received) -> FileOutcome:
    """Load a checked file's observations or quarantine it, and record its checks and status."""
    if received.settled:
        return received.outcome
    found, outcome, parsed = received.found, received.outcome, received.parsed
    raw_file_id = outcome.raw_file_id
    with session_scope(ctx.database_url) as session:
        raw = session.get(RawFile, raw_file_id)
        if raw.status == "superseded":  # by a file of this collection settled before it, as collected one by one
            return _superseded(ctx, source, found, raw_file_id, received.sha256, raw.status_reason, raw.period)
    suite_outcome = received.suite_outcome
    extra_records: list[dict] = []
    observations = None
    try:
        if received.error is not None:
            raise received.error
        refusals = partner_row_refusals(ctx, source, parsed)
        outcome.validation_status = "failed" if len(refusals) else suite_outcome.status
        outcome.failures = pd.concat(
            [
                suite_outcome.row_failures(parsed.frame),
                table_level_failures(suite_outcome, parsed.frame, ctx, source),
                refusals.assign(raw_file_id=raw_file_id),
            ],
            ignore_index=True,
        )
        extra_records = refusal_records(refusals) if source.kind == "partner_return" else []
        if suite_outcome.blocking or len(refusals):
            rules = [o.description for o in suite_outcome.failed_critical] + list(dict.fromkeys(refusals["rule"]))
            outcome.reason = f"failed critical checks: {'; '.join(rules)}"
        else:
            observations = build_observations(ctx, source, parsed, found.name, raw_file_id)
    except PersonalDataFound as error:
        outcome.reason = str(error)
        outcome.validation_status = "failed"
        outcome.failures = findings_as_failures(error.findings, raw_file_id)  # masked samples only
        observations = None
    except InputFileError as error:
        outcome.reason = str(error)
        outcome.validation_status = "failed"
        outcome.failures = _unreadable(error)
        observations = None

    with session_scope(ctx.database_url) as session:
        records = (
            suite_outcome.as_records() + extra_records if suite_outcome is not None else [_unreadable_record(outcome)]
        )
        repository.save_validation_results(
            session,
            partnership=ctx.partnership_id,
            financial_year=outcome.financial_year,
            stage="collect",
            dataset=source.dataset,
            suite=source.suite_name,
            subject=f"{found.name} ({received.sha256[:12]})",
            raw_file_id=raw_file_id,
            records=records,
            flow_run_id=ctx.flow_run_id,
        )
        repository.quarantine_rows(session, ctx.partnership_id, raw_file_id, outcome.failures)
        if observations is not None:
            # API manifests are one per member authority and month (several share a period) and are fetched once:
            # supersession is for a partner's corrected return, not for them
            replaced = [] if source.kind == "police_api" else repository.supersede_files(
                session,
                [
                    earlier
                    for earlier in repository.earlier_files_of_source(session, ctx.partnership_id, source.id, raw_file_id)
                    # a correction replaces the files whose months it covers; where it covers only part of an
                    # earlier file, its rows replace that file's rows for the shared months (upsert on the key)
                    if covers(outcome.period, earlier.period, ctx.year_start)
                ],
                raw_file_id,
            )
            if replaced:
                outcome.reason = f"supersedes raw file(s) {', '.join(map(str, replaced))} for the same period"
            outcome.observations = repository.load_observations(session, observations)
            # street files: the crimes in the area as parsed, so reconciliation compares them with the observations
            outcome.rows_loaded = parsed.rows_in_area if parsed.rows_in_area is not None else outcome.rows_read
            outcome.status = "loaded"
        repository.set_raw_file_status(
            session,
            raw_file_id,
            outcome.status,
            outcome.reason,
            period=outcome.period,
            rows_read=outcome.rows_read,
            rows_loaded=outcome.rows_loaded,
        )
    return outcome


def _unreadable_record(outcome: FileOutcome) -> dict:
    return {
        "expectation_type": "file_is_readable",
        "column": None,
        "severity": "critical",
        "success": False,
        "unexpected_count": 1,
        "description": "The file can be read as the source's format",
        "observed": outcome.reason,
        "error": None,
    }


def upload_file(ctx: CycleContext, source: Source, path: Path) -> list[FileOutcome]:
    """Put a partner's file into the source's inbox and collect it at once.

    A different file already in the inbox under the same name is collected first, so its bytes reach the raw
    store before the new one replaces it in the inbox: nothing sent is ever lost.
    """
    if not any(fnmatch.fnmatch(path.name, pattern) for pattern in source.patterns):
        raise InputFileError(
            path.name, f"source {source.id} takes files named {' or '.join(source.patterns)}; rename the file"
        )
    folder = ctx.config.source_folder(source)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    data = path.read_bytes()
    outcomes = []
    if target.exists() and target.read_bytes() != data:
        outcomes.append(collect_file(ctx, source, DiscoveredFile(path=target, name=target.name, data=target.read_bytes())))
    if target.resolve() != path.resolve():
        shutil.copyfile(path, target)
    outcomes.append(collect_file(ctx, source, DiscoveredFile(path=target, name=target.name, data=data)))
    return outcomes


def _logger():
    """The run's logger inside Prefect (shown in the UI), the module's logger outside it."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


@task(name="collect-source", cache_policy=NO_CACHE)
def collect_source(ctx: CycleContext, source: Source) -> list[FileOutcome]:
    """Fetch a source's new API answers (if it has an API), then collect every file of its folder (files already
    stored are checked again, never duplicated)."""
    report = fetch_source(ctx, source)
    if report is not None:
        for problem in report.problems:
            _logger().warning("fetching %s: %s", source.id, problem)
    folder = ctx.config.source_folder(source)
    units = [
        unit
        for found in discover_files(folder, source.patterns, ctx.settings.max_file_bytes)
        for unit in months_of_archive(ctx, source, found)
    ]
    return collect_files(ctx, source, units)


def months_of_archive(ctx: CycleContext, source: Source, found: DiscoveredFile) -> list[DiscoveredFile]:
    """A data.police.uk archive that holds many months for the partnership's forces (the real monthly archive
    holds three years of every force) is kept unchanged and registered as expanded; then each month is collected
    on its own, as a zip of that month's members (bytes unchanged), so each month is checked, loaded, superseded
    and counted complete by itself. Any other file is collected as it is."""
    if source.kind != "police_archive" or found.refusal or found.name.lower().endswith(".csv"):
        return [found]
    forces = [force.id for force in ctx.config.partnership.police_forces]
    try:
        months = police_archive.months_in_archive(found.data, found.name, forces)
    except InputFileError:
        return [found]  # unreadable: collect_file quarantines it with the reason
    if len(months) <= 1:
        return [found]
    stored = store_bytes(ctx.settings.raw_store_dir, found.data, found.path.suffix)
    span = f"{min(months)}/{max(months)}"
    with session_scope(ctx.database_url) as session:
        raw, _ = repository.register_raw_file(
            session, partnership=ctx.partnership_id, source_id=source.id, dataset=source.dataset,
            original_name=found.name, sha256=stored.sha256, size_bytes=stored.size_bytes,
            stored_path=str(stored.path), synthetic=source.synthetic,
        )
        repository.set_raw_file_status(
            session, raw.id, "expanded",
            f"an archive of {len(months)} months ({span}): each month is collected on its own as '{found.name}:<month>'",
            period=span,
        )
    return [
        DiscoveredFile(path=found.path, name=f"{found.name}:{month}", data=police_archive.month_archive(found.data, members))
        for month, members in sorted(months.items())
    ]


def collect_every_source(ctx: CycleContext) -> list[FileOutcome]:
    """Collect every source of the partnership concurrently, advancing a progress bar as each finishes; the
    outcomes come back in a stable order (source, file name, raw file)."""
    progress = Progress(artifact_scope(ctx.partnership_id, ctx.year_label), "collect-progress", len(ctx.config.sources), "Sources collected")
    futures = [collect_source.submit(ctx, source) for source in ctx.config.sources]
    outcomes: list[FileOutcome] = []
    for future in as_completed(futures):
        outcomes += future.result()
        progress.advance()
    return sorted(outcomes, key=lambda o: (o.source_id, o.original_name, o.raw_file_id))
