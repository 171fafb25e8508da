"""A small published table of the demo partnership, written by hand, for the board report's tests (unit and browser)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from tasks.compute.board_report import ReportFacts, report_html
from tasks.shared.config import load_partnership_config
from tasks.shared.disclosure import PUBLISHED_COLUMNS
from tasks.shared.settings import PROJECT_ROOT

CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")
PARTNERSHIP = CONFIG.partnership.id
CP, RO, ENGLAND, REGION = "E07000069", "E07000075", "E92000001", "E12000006"
YEARS = ["2018/19", "2019/20", "2020/21", "2021/22", "2022/23"]


def row(measure: str, area: str, year: str, band: str = "all", count: str = "", rate: str = "", **extra: str) -> dict:
    titles = {m.id: m.title for m in CONFIG.metrics.metrics}
    units = {m.id: m.value_unit for m in CONFIG.metrics.metrics}
    base = dict.fromkeys(PUBLISHED_COLUMNS, "")
    base.update(measure=measure, title=titles[measure], area_code=area, area_name=area, financial_year=year,
                age_band=band, count=count, value=rate, value_unit=units[measure])
    base.update(extra)
    return base


def sample_published() -> pd.DataFrame:
    """Knife crime rising over five years (all ages), suppressed under-25 sharp-object admissions, Fingertips with
    England and the region, the share of knife crime with a victim under 25 (a percentage); every other measure of
    the demo absent (it goes to the not-computed list)."""
    rows = []
    for i, year in enumerate(YEARS):
        rows.append(row("police_knife_crime", PARTNERSHIP, year, count=str(150 + 10 * i), rate=f"{83.1 + 5.5 * i:.1f}",
                        lower_ci_95="70.0", upper_ci_95="130.0"))
        rows.append(row("police_knife_crime", CP, year, count=str(70 + 5 * i), rate=f"{77.0 + 5 * i:.1f}"))
        rows.append(row("police_knife_crime", RO, year, count="*" if year == "2019/20" else str(80 + 5 * i),
                        rate="" if year == "2019/20" else f"{90.0 + 5 * i:.1f}"))
        rows.append(row("police_knife_crime", PARTNERSHIP, year, band="under_25", count="40", rate="87.6"))
        rows.append(row("hospital_admissions_sharp_object", PARTNERSHIP, year, count="10", rate="5.6"))
        rows.append(row("hospital_admissions_sharp_object", PARTNERSHIP, year, band="under_25", count="*",
                        note="rate not shown: count too small for a reliable rate"))
        rows.append(row("hospital_admissions_violence_fingertips", CP, year, count="65", rate="35.0",
                        lower_ci_95="28.2", upper_ci_95="43.0", compared_with_england="Better",
                        compared_with_region="Similar"))
        rows.append(row("hospital_admissions_violence_fingertips", ENGLAND, year, count="68510", rate="40.1"))
        rows.append(row("police_knife_crime_under_25_share", PARTNERSHIP, year, band="under_25", count="40",
                        rate=f"{26.7 - i:.1f}", denominator=str(150 + 10 * i), lower_ci_95="20.1",
                        upper_ci_95="34.4"))
        rows.append(row("hospital_admissions_violence_fingertips", REGION, year, count="5891", rate="31.2",
                        area_name="East of England region"))
    table = pd.DataFrame(rows, columns=PUBLISHED_COLUMNS)
    last = (table["financial_year"] == "2022/23") & (table["measure"] == "police_knife_crime") & (
        table["area_code"] == PARTNERSHIP) & (table["age_band"] == "all")
    table.loc[last, ["change_on_previous_year_percent", "compared_with_baseline", "trend"]] = [
        "5.2", "Significantly higher", "Increasing"]
    return table


NOT_COMPUTED = [{"measure": "homicide_non_domestic", "title": "Homicides (non-domestic)", "headline": "yes",
                 "reason": "no source supplies dataset police_homicides"}]


def sample_report_html() -> str:
    facts = ReportFacts(
        produced=dt.date(2023, 6, 30), software_version="0.1.0",
        extracts=[{"title": "Essex Police knife crime", "owner": "police-analyst", "latest_period": "2023-03",
                   "received": "2023-05-02"}],
        quality=[{"dataset": "police_knife_crime", "checks": 20, "passed": 19, "warnings": 1, "failures": 0,
                  "quarantined": 0}],
        completeness=[{"source": "Essex Police knife crime", "owner": "police-analyst", "expected": 4, "arrived": 3,
                       "missing": "Q4 (overdue)"}],
        commentary="The partnership's own words.\n\nA second paragraph.",
    )
    return report_html(sample_published(), partnership=CONFIG.partnership, metrics=CONFIG.metrics, year="2022/23",
                       not_computed=NOT_COMPUTED, facts=facts)
