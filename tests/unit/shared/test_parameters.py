"""The run form and the one judge of a run's parameters: every mistake is refused in one plain sentence."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from tasks.shared.coverage import months_in_name
from tasks.shared.parameters import (
    STAGES,
    ParameterProblem,
    check_run,
    check_stages,
    offered_years,
)
from tasks.shared.settings import PROJECT_ROOT, reset_settings_cache
from tests.databases import written_in

DEMO = "castle-point-rochford"
TODAY = dt.date(2026, 12, 1)


def _refusal(partnership: str, year: str) -> str:
    with pytest.raises(ParameterProblem) as caught:
        check_run(partnership, year, today=TODAY)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_a_misspelt_partnership_is_refused_with_the_likely_one(data_dir: Path) -> None:
    message = _refusal("castle-point-rochfrod", "2022/23")
    assert message == ("unknown partnership 'castle-point-rochfrod': the configured partnerships are "
                       "castle-point-rochford; did you mean castle-point-rochford?")
    assert not written_in(data_dir), "a refused run must not touch the database"


def test_a_year_in_the_future_is_refused(data_dir: Path) -> None:
    # the typo of the brief: 2031/32 for 2021/22
    assert _refusal(DEMO, "2031/32").startswith(
        "nothing run: financial year 2031/32 starts on 01 April 2031, after today (01 December 2026)")


@pytest.mark.parametrize("year", ["2022/24", "22/23", "last", "2022/23; drop table"])
def test_a_year_that_is_not_a_year_is_refused(data_dir: Path, year: str) -> None:
    assert year in _refusal(DEMO, year)


def test_latest_without_data_says_which_years_have_data(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # without the Fingertips export (its name says no year: it might hold any, so only collection can tell), the
    # demo's file names cover 2018/19 to 2022/23; on 1 December 2026 'latest' is 2025/26
    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config)
    for export in (config / "partnerships" / DEMO / "inputs" / "fingertips").glob("*.csv"):
        export.unlink()
    monkeypatch.setenv("DUTYCYCLE_CONFIG_DIR", str(config))
    reset_settings_cache()
    message = _refusal(DEMO, "latest")
    assert message.startswith("nothing run (latest): financial year 2025/26 has no data")
    assert message.endswith("(years with data: 2022/23, 2021/22, 2020/21, 2019/20, 2018/19)")


def test_a_year_with_data_opens_the_cycle(data_dir: Path) -> None:
    ctx = check_run(DEMO, "2022-23", today=TODAY)
    assert (ctx.partnership_id, ctx.year_label) == (DEMO, "2022/23")


def test_the_deadline_watch_needs_no_data_for_its_year(data_dir: Path) -> None:
    assert check_run(DEMO, "2026/27", today=TODAY, require_data=False).year_label == "2026/27"


def test_stages_are_put_in_cycle_order_and_an_empty_choice_is_refused() -> None:
    assert check_stages(["notify", "collect"]) == ["collect", "notify"]
    assert check_stages(None) == list(STAGES)
    with pytest.raises(ParameterProblem, match="^no stage chosen: choose at least one of collect, validate"):
        check_stages([])
    with pytest.raises(ParameterProblem, match="^unknown stage\\(s\\) 'publish': choose from collect"):
        check_stages(["publish", "collect"])


def test_the_form_offers_the_years_with_data_newest_first(data_dir: Path) -> None:
    assert offered_years(TODAY) == ["latest", "current", "2022/23", "2021/22", "2020/21", "2019/20", "2018/19"]


def test_the_form_never_offers_a_year_that_has_not_started(data_dir: Path) -> None:
    # on 1 March 2022 the demo's files of April 2022 onwards cannot be data of a year that has started
    assert offered_years(dt.date(2021, 6, 1)) == ["latest", "current", "2021/22", "2020/21", "2019/20", "2018/19"]


def test_the_run_form_is_typed_for_the_ui(data_dir: Path) -> None:
    from prefect.utilities.callables import parameter_schema

    from flows.annual_review import annual_review

    fields = parameter_schema(annual_review).model_dump()["properties"]
    assert fields["partnership"]["enum"] == [DEMO]
    assert fields["financial_year"]["default"] == "latest"
    assert fields["financial_year"]["enum"][:2] == ["latest", "current"]
    assert "2022/23" in fields["financial_year"]["enum"]
    assert fields["stages"]["items"]["enum"] == list(STAGES)
    assert fields["stages"]["minItems"] == 1
    for field in fields.values():
        assert field["description"] and "_" not in field["description"]


def test_served_deployments_label_the_form_in_plain_english(data_dir: Path) -> None:
    from deployments.serve import all_deployments

    review = next(d for d in all_deployments() if d.name.endswith("-annual-review"))
    titles = {k: v["title"] for k, v in review._parameter_openapi_schema.properties.items()}
    assert titles == {"partnership": "Partnership", "financial_year": "Financial year", "stages": "Stages"}


@pytest.mark.parametrize(("name", "first", "count"), [
    ("2022-05.zip", "2022-05", 1),  # data.police.uk's archive
    ("2019-01-kent-street.csv", "2019-01", 1),
    ("ae-assault-attendances-2018-04.csv", "2018-04", 1),
    ("knife-crime-FY2022-23-Q3.csv", "2022-04", 12),
    ("first-time-entrants-FY2018-19.csv", "2018-04", 12),
    ("homicides 2021_22.csv", "2021-04", 12),
    ("returns-fy2011-12.csv", "2011-04", 12),  # FY first: not December 2011
])
def test_a_file_name_says_its_months(name: str, first: str, count: int) -> None:
    months = months_in_name(name)
    assert months is not None and min(months) == first and len(months) == count


@pytest.mark.parametrize("name", ["indicator-11201-hospital-admissions-for-violence.csv", "export.csv",
                                  "returns-2018-2019.csv", "2018-13.csv"])
def test_a_name_that_says_no_period_might_hold_any_year(name: str) -> None:
    assert months_in_name(name) is None
