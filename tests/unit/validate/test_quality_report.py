"""The data owners' quality report, built from a real collection: the real Essex Police street file of December 2022
(107 crimes without a location: a warning), a good knife-crime return, one with a negative count and one carrying an
NHS number (both held in quarantine). Every stored check must appear, named by source, file and period; a warning
must read as a warning, a failure as a failure; the page must fetch nothing and link nowhere outside itself."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import zipfile

import pandas as pd
import pytest

from tasks.collect.steps import collect_source
from tasks.shared.checks import completeness
from tasks.shared.context import CycleContext, open_cycle
from tasks.shared.settings import PROJECT_ROOT, reset_settings_cache
from tasks.validate.quality import QualityReport, quality_pages
from tasks.validate.steps import (
    check_month_collapses,
    observations_of_year,
    stored_checks,
    validate_datasets,
    write_quality_report,
)
from tests.unit.validate.quality_html import (
    PageReader,
    assert_every_check_shown,
    assert_offline_and_accessible,
    check_rows,
    find_row,
    read_page,
    stored,
)

DEMO = "castle-point-rochford"
DEMO_INPUTS = PROJECT_ROOT / "config" / "partnerships" / DEMO / "inputs"
BAD = PROJECT_ROOT / "tests" / "bad_inputs"
STREET = "2022-12.zip"  # real: data.police.uk's Essex street file of December 2022 (SOURCES.md)
NEGATIVE = "knife-crime-negative-count.csv"
NHS = "knife-crime-pd-nhs-number.csv"
GOOD = "knife-crime-FY2022-23-Q1.csv"
SECRET = "450 557 7104"  # the NHS number in row 6 of NHS (tests/bad_inputs/MANIFEST.yaml)


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> tuple[CycleContext, QualityReport]:
    """Collect and validate the four files once for the module (GX takes seconds), then write the report."""
    root = tmp_path_factory.mktemp("quality")
    patch = pytest.MonkeyPatch()
    config = root / "config"
    shutil.copytree(PROJECT_ROOT / "config", config, ignore=shutil.ignore_patterns("inputs"))
    patch.setenv("DUTYCYCLE_DATA_DIR", str(root / "data"))
    patch.setenv("DUTYCYCLE_CONFIG_DIR", str(config))
    for name in ("DUTYCYCLE_DATABASE_URL", "DUTYCYCLE_FILES_URL"):
        patch.delenv(name, raising=False)
    reset_settings_cache()
    try:
        ctx = open_cycle(DEMO, "2022/23")
        street, knife = ctx.config.source("police-street-archive"), ctx.config.source("police-knife-crime")
        for source, files in ((street, [DEMO_INPUTS / "police-archive" / STREET]),
                              (knife, [DEMO_INPUTS / "partner-returns/essex-police" / GOOD, BAD / NEGATIVE, BAD / NHS])):
            folder = ctx.config.source_folder(source)
            folder.mkdir(parents=True, exist_ok=True)
            for path in files:
                shutil.copy(path, folder)
            collect_source.fn(ctx, source)
        observations, in_year = observations_of_year(ctx)
        validate_datasets.fn(ctx, ["police_knife_crime", "police_street"], in_year)
        check_month_collapses(ctx, observations)
        report = write_quality_report(ctx, completeness(ctx))
        yield ctx, report
    finally:
        patch.undo()
        reset_settings_cache()


def test_every_check_of_every_file_appears_by_source_file_and_period(collected) -> None:
    ctx, report = collected
    page = read_page(report.index.read_text(encoding="utf-8"))
    assert_offline_and_accessible(page, report.index.parent)
    checks = stored(ctx)
    on_files = checks[checks["file"].notna()]
    # the street file, the good return and the two refused returns: each rule of each suite, stored and shown
    assert set(on_files["file"]) == {STREET, GOOD, NEGATIVE, NHS}
    sources_of = {"police_street": ["police-street-archive"], "police_knife_crime": ["police-knife-crime"],
                  "ae_assault_attendances": ["ae-assault-attendances"]}
    assert_every_check_shown(page, checks, sources_of)


def test_a_warning_reads_as_a_warning_with_the_real_file_figures(collected) -> None:
    ctx, report = collected
    page = read_page(report.index.read_text(encoding="utf-8"))
    # calibration from the real file itself: the crimes of the partnership's LSOAs plus those without a location
    # are what the suite checks; the rows without one are the warning's rows (header = row 1)
    with zipfile.ZipFile(DEMO_INPUTS / "police-archive" / STREET) as archive:
        street = pd.read_csv(io.BytesIO(archive.read(archive.namelist()[0])), dtype=str, keep_default_na=False)
    blank = street.index[street["LSOA code"] == ""]
    checked = int(street["LSOA name"].str.match(r"^(Castle Point|Rochford) \d{3}[A-Z]$").sum()) + len(blank)
    assert (len(blank), checked) == (107, 980)
    row = find_row(page, [STREET, "(police-street-archive)", "December 2022 (2022-12)"],
                   "Crime has a location (LSOA code is not blank); crimes without one cannot be mapped to an area.")
    assert "warning" in row.classes and "failed" not in row.classes and "passed" not in row.classes
    assert row.cells[2].text == "\u26a0 Warning" and "warning" in row.cells[2].classes
    assert row.cells[1].text.startswith("warning")
    assert row.cells[3].text == f"{len(blank)} of {checked} rows failed"
    first = [f"row {i + 2}, column LSOA code: (blank)" for i in blank[:5]]
    assert row.cells[4].text == " | ".join(first) + f" | and {len(blank) - 5} more"
    # the file itself is loaded, flagged as warned, not failed
    heading = next(text for tag, text in page.headings if tag == "h3" and text.startswith(STREET))
    assert heading.endswith("\u26a0 Warning")
    assert "Loaded" in page_text(page, STREET)


def page_text(page: PageReader, after: str) -> str:
    text = " ".join(" ".join(page.text).split())
    return text[text.index(after):][:3000]


def test_a_failure_reads_as_a_failure_and_a_held_file_says_why(collected) -> None:
    ctx, report = collected
    html = report.index.read_text(encoding="utf-8")
    page = read_page(html)
    checks = stored(ctx)
    period = checks.loc[checks["file"] == NEGATIVE, "period"].iloc[0]
    row = find_row(page, [NEGATIVE, "(police-knife-crime)", f"({period})"],
                   "Knife or Sharp Instrument Offences is a whole number, 0 or more (no blanks or symbols).")
    assert "failed" in row.classes and row.cells[2].text == "\u2717 Failed" and row.cells[1].text.startswith("critical")
    assert row.cells[4].text.startswith("row 8, column Knife or Sharp Instrument Offences: '-3'")
    heading = next(text for tag, text in page.headings if tag == "h3" and text.startswith(NEGATIVE))
    assert heading.endswith("\u2717 Failed")
    held = page_text(page, "Files held in quarantine")
    assert NEGATIVE in held and NHS in held and "personal data" in held.lower()
    # the personal data file: why it is held and where, never the NHS number itself
    assert "row 6, column NHS Number" in page_text(page, f"Other problems recorded for {NHS}")
    assert SECRET not in html and SECRET.replace(" ", "") not in html
    # the good return of the same source: every check passed
    good = [t for t in page.tables if GOOD in t.caption]
    assert len(good) == 1 and all("passed" in r.classes for r in check_rows(good[0])) and check_rows(good[0])


def test_each_data_owner_sees_only_their_own_sources(collected) -> None:
    ctx, report = collected
    index = read_page(report.index.read_text(encoding="utf-8"))
    owners = {s.owner for s in ctx.config.sources}
    assert set(report.owners) == owners
    links = {attrs["href"] for tag, attrs in index.tags if tag == "a" and not attrs["href"].startswith("#")}
    assert links == {f"{owner}.html" for owner in owners}
    police = report.owners["essex-police-analyst"].read_text(encoding="utf-8")
    assert_offline_and_accessible(read_page(police), report.index.parent)
    assert all(name in police for name in (STREET, GOOD, NEGATIVE, NHS))
    health = report.owners["mse-icb-intelligence"].read_text(encoding="utf-8")
    assert not any(name in health for name in (STREET, GOOD, NEGATIVE, NHS))
    assert "A&amp;E attendances for assault" in health and "Essex Police" not in health.split("<main>")[1]


def test_the_page_prints_without_fetching_anything(collected) -> None:
    """WeasyPrint (the board report's printer) lays the page out on A4 pages; every fetch it tries is refused and
    recorded, and there must be none (Great Expectations' Data Docs, which it replaces, fetched sixteen files from CDNs)."""
    try:
        import weasyprint
    except OSError as error:  # its native libraries (Pango) missing on this machine
        pytest.skip(f"WeasyPrint cannot load here: {error}")
    from weasyprint.urls import URLFetcher

    class Refuse(URLFetcher):
        """Records each URL WeasyPrint asks for and answers none."""

        def __init__(self) -> None:
            super().__init__()
            self.asked: list[str] = []

        def fetch(self, url: str, headers=None):
            self.asked.append(url)
            raise ValueError(f"the quality report must fetch nothing, asked for {url}")

    ctx, report = collected
    refuse = Refuse()
    owner = report.owners["essex-police-analyst"]
    document = weasyprint.HTML(string=owner.read_text(encoding="utf-8"), base_url=str(owner.parent),
                               url_fetcher=refuse).render()
    assert refuse.asked == []
    assert len(document.pages) >= 2 and document.pages[0].width == pytest.approx(210 / 25.4 * 96)  # A4, in CSS px


def test_a_file_without_a_period_appears_only_in_the_year_that_received_it(collected) -> None:
    """The NHS-number return is refused before any period is read: the 2022/23 collection received and checked it,
    so 2022/23's pages list it and a later year's pages do not (before, it was listed in every year's)."""
    ctx, report = collected
    checks = stored(ctx)
    periodless = set(checks.loc[checks["file"].notna() & checks["period"].isna(), "file"])
    assert NHS in periodless
    assert NHS in report.index.read_text(encoding="utf-8")
    later = open_cycle(DEMO, "2023/24")
    later_checks, files, problems = stored_checks(later)
    assert NHS not in set(files["original_name"])
    pages = quality_pages(later.config, later.year_label, files, later_checks, problems, completeness(later),
                          dt.datetime(2024, 6, 1, tzinfo=dt.UTC))
    for name, html in pages.pages.items():
        assert NHS not in html, name


def test_the_datasets_checked_together_store_what_each_gives_alone(collected) -> None:
    from sqlalchemy import select

    from tasks.shared.storage.models import ValidationResult
    from tasks.shared.storage.session import session_scope
    from tasks.shared.suites import validate_frame
    from tasks.validate.steps import OBSERVATION_SUITE, observation_parameters, observations_for_suite

    ctx, _ = collected
    _, in_year = observations_of_year(ctx)
    fields = ("expectation_type", "column", "severity", "success", "unexpected_count", "description", "observed")
    for dataset in ("police_knife_crime", "police_street"):
        frame = observations_for_suite(in_year[in_year["dataset"] == dataset].reset_index(drop=True))
        alone = validate_frame(frame, OBSERVATION_SUITE, expectations_dir=ctx.settings.expectations_dir,
                               parameters=observation_parameters(ctx))
        with session_scope(ctx.database_url) as session:
            rows = session.scalars(select(ValidationResult).where(
                ValidationResult.stage == "validate", ValidationResult.dataset == dataset,
                ValidationResult.suite == OBSERVATION_SUITE,
                ValidationResult.partnership == ctx.partnership_id).order_by(ValidationResult.expectation_index)).all()
            kept = [tuple(getattr(row, f) for f in fields) for row in rows]
        assert len(frame) and kept == [tuple(record[f] for f in fields) for record in alone.as_records()], dataset
