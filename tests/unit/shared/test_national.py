"""The national run's plan and report: partnerships of one force archive are spread over the start of the run, and
the summary names the partnerships that failed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from prefect.states import Completed, Failed

from tasks.shared.config import MonthDay, load_partnership_config
from tasks.shared.national import (
    PartnershipResult,
    national_year,
    outcome_of_state,
    result_line,
    run_order,
    summary_lines,
)
from tasks.shared.settings import PROJECT_ROOT

DEMO = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")


def _starting_in(month: int, pid: str):
    """The demo partnership under another id whose financial year starts on the 1st of ``month``."""
    partnership = DEMO.partnership.model_copy(update={"id": pid, "financial_year_start": MonthDay(month=month, day=1)})
    return DEMO.model_copy(update={"partnership": partnership})


def test_one_partnership_of_each_force_starts_before_a_second_of_any() -> None:
    durham, merseyside = (Path("/archives/durham"),), (Path("/archives/merseyside"),)
    groups = {durham: ["darlington", "county-durham"],
              merseyside: ["knowsley", "liverpool", "sefton"], (): ["no-archive"]}
    assert run_order(groups) == ["darlington", "knowsley", "no-archive", "county-durham", "liverpool", "sefton"]


def test_outcomes_lines_and_summary_name_the_failed_partnerships() -> None:
    assert outcome_of_state(Completed()) == "completed"
    assert outcome_of_state(Completed(name="Completed with warnings")) == "completed with warnings"
    assert outcome_of_state(Failed(message="x")) == "failed"
    assert outcome_of_state(Failed(name="Rejected")) == "rejected"
    results = [
        PartnershipResult("knowsley", "completed with warnings", "ok", 10, 61.25),
        PartnershipResult("wirral", "failed", "refused: nothing run", 0, 2.5),
        PartnershipResult("st-helens", "crashed", "worker died", 0, 3.0),
    ]
    assert result_line(results[0]) == f"{'knowsley':40s} {'completed with warnings':24s}     10 figures     61.2 s"
    assert result_line(results[1]).endswith(" 0 figures      2.5 s - refused: nothing run")
    assert summary_lines(results, "dask", 70.04, parses=1) == [
        "national run (dask): 1 of 3 partnerships completed, 10 figures, 70.0 s",
        "  street files parsed in this run: 1 (each force's file once, whatever its partnerships)",
        "  failed: wirral, st-helens",
    ]


def test_latest_is_one_year_for_partnerships_whose_years_start_alike_and_refused_when_they_differ() -> None:
    # 2 May 2026: for an April year the last complete year is 2025/26; for a June year, 2024/25 (its 2025/26
    # ends on 31 May 2026)
    today = dt.date(2026, 5, 2)
    april_a, april_b, june = _starting_in(4, "a"), _starting_in(4, "b"), _starting_in(6, "c")
    assert national_year([april_a, april_b], "latest", today=today) == "2025/26"
    assert national_year([june], "latest", today=today) == "2024/25"
    assert national_year([april_a, june], "2022/23", today=today) == "2022/23"
    with pytest.raises(ValueError) as refused:
        national_year([april_a, june, april_b], "latest", today=today)
    assert str(refused.value) == ("'latest' is not one year for these partnerships (2024/25 for c; 2025/26 for a, b): "
                                  "give the year, e.g. --financial-year 2022/23")
