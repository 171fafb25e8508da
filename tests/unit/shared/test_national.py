"""The national run's plan and report: partnerships of one force archive are spread over the start of the run, and
the summary names the partnerships that failed."""

from __future__ import annotations

from pathlib import Path

from prefect.states import Completed, Failed

from tasks.shared.national import PartnershipResult, outcome_of_state, result_line, run_order, summary_lines


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
