"""Fetch: API answers written unchanged into a source's folder, so collection stores, checks and loads them
like any file that arrived there.

data.police.uk can take several answers for one area-month (a 503 splits the polygon), so each area-month also
gets a small manifest listing its answers by checksum: the manifest is what collection parses, and every crime
traces to it and, through it, to the raw answers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from tasks.collect.sources import fingertips_api, nomis
from tasks.collect.sources.police_api import (
    PoliceApiClient,
    months_available,
    polygon_from_config,
)
from tasks.shared.completeness import expected_periods
from tasks.shared.config import Source
from tasks.shared.context import CycleContext
from tasks.shared.http import build_session

NOMIS_YEARS = 5  # the reviewed year's mid-year estimate and the four before it (the series compute draws)


@dataclass
class FetchReport:
    """What a fetch wrote (new files only) and what it could not get."""

    source_id: str
    written: list[Path] = field(default_factory=list)
    skipped: int = 0
    problems: list[str] = field(default_factory=list)


def _write_once(folder: Path, stem: str, suffix: str, content: bytes, report: FetchReport) -> Path:
    """Write an answer under a name carrying its checksum: the same answer twice is one file."""
    digest = hashlib.sha256(content).hexdigest()[:12]
    path = folder / f"{stem}-{digest}{suffix}"
    if path.exists():
        report.skipped += 1
    else:
        path.write_bytes(content)
        report.written.append(path)
    return path


def fetch_fingertips(ctx: CycleContext, source: Source, report: FetchReport) -> None:
    """The indicator export for the configured area type, as the API sends it."""
    session = build_session(ctx.settings)
    content = fingertips_api.fetch_indicator_csv(
        session, ctx.settings.fingertips_api_url, source.indicator_ids, source.api_area_type_id
    )
    ids = "-".join(str(i) for i in source.indicator_ids)
    _write_once(ctx.config.source_folder(source), f"fingertips-{ids}-{source.api_area_type_id}", ".csv", content, report)


def fetch_nomis(ctx: CycleContext, source: Source, report: FetchReport) -> None:
    """Mid-year estimates by single year of age for the member authorities, one file per year and page."""
    session = build_session(ctx.settings)
    folder = ctx.config.source_folder(source)
    codes = ctx.config.partnership.local_authority_codes
    for year in range(ctx.financial_year - NOMIS_YEARS + 1, ctx.financial_year + 1):
        stem = f"nomis-{nomis.DATASET}-mid-{year}"
        if any(folder.glob(f"{stem}-*.csv")):
            report.skipped += 1
            continue
        try:
            pages = nomis.fetch_population_pages(session, ctx.settings.nomis_api_url, codes, [year])
        except nomis.NomisApiError as exc:
            report.problems.append(f"mid-{year}: {exc}")
            continue
        for index, page in enumerate(pages):
            _write_once(folder, f"{stem}-page{index + 1}", ".csv", page.content, report)


def fetch_police_api(ctx: CycleContext, source: Source, report: FetchReport) -> None:
    """Street crimes of each member authority's area for every month of the year the API holds."""
    client = PoliceApiClient.from_settings(ctx.settings)
    folder = ctx.config.source_folder(source)
    available = set(months_available(client.crimes_street_dates()))
    months = sorted(m for p in expected_periods(source, ctx.year_start) for m in p.months if m in available)
    for authority in ctx.config.partnership.local_authorities:
        if authority.boundary is None:
            report.problems.append(f"{authority.code}: no boundary configured, so its area cannot be asked for")
            continue
        boundary = authority.boundary
        if isinstance(boundary, Path) and not boundary.is_absolute():
            boundary = ctx.config.folder / boundary
        polygons = polygon_from_config(boundary if isinstance(boundary, Path) else [list(p) for p in boundary])
        wanted = [m for m in months if not (folder / f"{m}-{authority.code}.manifest.json").exists()]
        report.skipped += len(months) - len(wanted)
        # the months at once, on threads sharing the host's rate limit
        for month, result in client.fetch_area_months(polygons, wanted, source.api_category).items():
            manifest = folder / f"{month}-{authority.code}.manifest.json"
            month_folder = folder / month
            month_folder.mkdir(parents=True, exist_ok=True)
            answers = []
            for index, response in enumerate(result.responses):
                path = _write_once(month_folder, f"{authority.code}-{index + 1:03d}", ".json", response.content, report)
                answers.append(
                    {
                        "file": f"{month}/{path.name}",
                        "sha256": hashlib.sha256(response.content).hexdigest(),
                        "method": response.method,
                        "url": response.url,
                        "body": response.body,
                        "status": response.status,
                        "fetched_at": response.fetched_at.isoformat(),
                    }
                )
            document = {
                "source": "data.police.uk crimes-street",
                "category": source.api_category,
                "month": month,
                "local_authority": authority.code,
                "polygons": [
                    {"outer": [list(pt) for pt in p.outer], "holes": [[list(pt) for pt in h] for h in p.holes]}
                    for p in polygons
                ],
                "splits": result.splits,
                "answers": answers,
            }
            manifest.write_text(json.dumps(document, indent=2, sort_keys=True), encoding="utf-8")
            report.written.append(manifest)


FETCHERS = {"fingertips": fetch_fingertips, "nomis_population": fetch_nomis, "police_api": fetch_police_api}


def fetch_source(ctx: CycleContext, source: Source) -> FetchReport | None:
    """Fetch a source's new answers into its folder, if it is fetched from an API; problems are reported, not
    raised, so one unreachable service never stops the other sources."""
    if source.kind not in FETCHERS or (source.kind == "fingertips" and source.api_area_type_id is None):
        return None
    report = FetchReport(source_id=source.id)
    ctx.config.source_folder(source).mkdir(parents=True, exist_ok=True)
    try:
        FETCHERS[source.kind](ctx, source, report)
    except Exception as exc:  # noqa: BLE001 - any failure of a remote service is reported with the source
        report.problems.append(f"{type(exc).__name__}: {exc}")
    return report
