"""The data-quality building block: every suite accepts good data and rejects bad data, row by row."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tasks.shared.suites import (
    ExpectationOutcome,
    SuiteDefinitionError,
    SuiteOutcome,
    SuiteParameterError,
    load_suite_definition,
    suite_parameter_names,
    validate_frame,
)

ROOT = Path(__file__).resolve().parents[3]
EXPECTATIONS = ROOT / "expectations"
DEMO_INPUTS = ROOT / "config" / "partnerships" / "castle-point-rochford" / "inputs"

LSOAS = ["E01021476", "E01021477", "E01021919"]
LA_CODES = ["E07000069", "E07000075"]
SUBMISSION_PARAMETERS = {"area_codes": LA_CODES + ["castle-point-rochford", "E92000001"],
                         "published_count_regex": r"^(?:\*|0|\d*[05])$"}
LA_NAMES = ["Castle Point", "Rochford"]
AGES = [str(a) for a in range(90)] + ["90+"]


def raw(rows: list[dict], raw_file_id: int = 7) -> pd.DataFrame:
    """A frame as the parsers hand it over: strings, plus the raw file id and the CSV line of each row."""
    frame = pd.DataFrame(rows, dtype=str)
    frame["raw_file_id"] = raw_file_id
    frame["source_row"] = range(2, len(frame) + 2)
    return frame


def street_row(**overrides: str) -> dict:
    row = {
        "Crime ID": "048ce51986aa28d93c45ea78282933dc194560420b9068fdbecf43fc6cdf0437",
        "Month": "2022-12",
        "Reported by": "Essex Police",
        "Falls within": "Essex Police",
        "Longitude": "0.589123",
        "Latitude": "51.557800",
        "Location": "On or near High Street",
        "LSOA code": "E01021476",
        "LSOA name": "Castle Point 003A",
        "Crime type": "Violence and sexual offences",
        "Last outcome category": "Unable to prosecute suspect",
        "Context": "",
    }
    return {**row, **overrides}


def street_frame() -> pd.DataFrame:
    return raw(
        [
            street_row(),
            street_row(**{"Crime ID": "a" * 64, "LSOA code": "E01021919", "Crime type": "Robbery",
                          "Longitude": "-0.1", "Latitude": "55.81"}),
            street_row(**{"Crime ID": "", "Crime type": "Anti-social behaviour", "Last outcome category": ""}),
            street_row(**{"Crime ID": "", "Crime type": "Anti-social behaviour", "Last outcome category": ""}),
        ]
    )


def population_row(code: str, name: str) -> dict:
    row = {"Code": code, "Name": name, "Geography": "Non-metropolitan District", "All ages": "90,784"}
    row.update({age: "1,001" if age == "30" else "997" for age in AGES})
    return row


def observations_frame() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "partnership": "castle-point-rochford",
            "dataset": "police_knife_crime",
            "measure": "knife_sharp_instrument_offences",
            "area_type": "lad",
            "area_code": ["E07000069", "E07000069", "E07000075"],
            "period_start": ["2022-10-01", "2022-11-01", "2022-10-01"],
            "period_type": "month",
            "age_band": ["0-24", "25+", "unknown"],
            "sex": "all",
            "value": [6.0, 0.0, 2.0],
            "raw_file_id": 3,
        }
    )
    return frame


def metric_values_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "metric_id": "knife_crime_rate",
            "metric_version": 1,
            "area_code": ["E07000069", "E07000075", "E07000069"],
            "period": ["2022/23", "2022/23", "2021/22"],
            "age_band": "0-24",
            "numerator": [12, 0, 9],
            "denominator": [25000.0, 24000.0, None],
            "value": [48.0, 0.0, None],
            "lower_ci_95": [24.8, 0.0, None],
            "upper_ci_95": [83.8, 15.4, None],
        }
    )


def submission_frame() -> pd.DataFrame:
    base = {"measure": "hospital_sharp_object_admissions", "title": "Admissions for assault by a sharp object",
            "area_name": "Castle Point", "area_code": "E07000069", "age_band": "0-24", "note": "",
            "value_unit": "per 100,000"}
    return raw(
        [
            {**base, "financial_year": "2022/23", "count": "15", "value": "60.1", "lower_ci_95": "33.6",
             "upper_ci_95": "99.1", "change_on_previous_year_percent": "-12.5"},
            {**base, "financial_year": "2021/22", "count": "*", "value": "", "lower_ci_95": "",
             "upper_ci_95": "", "change_on_previous_year_percent": ""},
            {**base, "financial_year": "2020/21", "count": "0", "value": "0", "lower_ci_95": "0",
             "upper_ci_95": "14.8", "change_on_previous_year_percent": ""},
        ]
    )


FINGERTIPS_COLUMNS = [
    "Indicator ID", "Indicator Name", "Parent Code", "Parent Name", "Area Code", "Area Name", "Area Type", "Sex",
    "Age", "Category Type", "Category", "Time period", "Value", "Lower CI 95.0 limit", "Upper CI 95.0 limit",
    "Lower CI 99.8 limit", "Upper CI 99.8 limit", "Count", "Denominator", "Value note", "Recent Trend",
    "Compared to England value or percentiles", "Compared to Region value or percentiles", "Time period Sortable",
    "New data", "Compared to goal",
]


def fingertips_row(**overrides: str) -> dict:
    row = dict.fromkeys(FINGERTIPS_COLUMNS, "")
    row.update({"Indicator ID": "11201", "Indicator Name": "Hospital admissions for violence", "Area Code": "E07000069",
                "Area Name": "Castle Point", "Sex": "Persons", "Age": "All ages", "Time period": "2018/19 - 20/21",
                "Value": "38.7", "Lower CI 95.0 limit": "31.2", "Upper CI 95.0 limit": "47.4", "Count": "95",
                "Denominator": "270000", "Time period Sortable": "20180000"})
    return {**row, **overrides}


# suite -> (good frame factory, parameters, how to break one row, expected failure)
# The failure is (expectation type, column, severity, source_row, bad value) of the broken cell.
def _set(frame: pd.DataFrame, row: int, column: str, value: object) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[frame.index[row], column] = value
    return frame


CASES = {
    "police_street.raw": (
        street_frame,
        {"expected_months": ["2022-12"], "lsoa_codes": LSOAS},
        lambda f: _set(f, 1, "Crime type", "Burglery"),
        ("expect_column_values_to_be_in_set", "Crime type", "critical", 3, "Burglery"),
    ),
    "police_knife_crime.raw": (
        lambda: raw([
            {"Month": "2022-10", "Local Authority Code": "E07000069", "Local Authority Name": "Castle Point",
             "Victim Age Group": g, "Knife or Sharp Instrument Offences": n}
            for g, n in [("Under 25", "6"), ("25 and over", "5"), ("Unknown", "0")]
        ]),
        {"local_authority_codes": LA_CODES, "latest_month": "2022-12"},
        lambda f: _set(f, 2, "Month", "2023-01"),  # a month after the return's last month
        ("expect_column_values_to_be_in_set", "Month", "critical", 4, "2023-01"),
    ),
    "police_homicides.raw": (
        lambda: raw([
            {"Month": "2021-04", "Local Authority Code": la, "Victims Under 25": "0", "Victims 25 and Over": "1",
             "Of Which Knife or Sharp Instrument": "1", "Domestic": d}
            for la in LA_CODES for d in ("N", "Y")
        ]),
        {"local_authority_codes": LA_CODES, "latest_month": "2022-03"},
        lambda f: _set(f, 1, "Victims Under 25", "*"),
        ("expect_column_values_to_match_regex", "Victims Under 25", "critical", 3, "*"),
    ),
    "hospital_sharp_object_admissions.raw": (
        lambda: raw([
            {"Admission Month": "Apr-20", "LAD Code": "E07000069", "Age Band": band, "ICD10 Cause": "X99",
             "Admissions": "1"}
            for band in ("0-17", "18-24", "25-44", "45+")
        ]),
        {"local_authority_codes": LA_CODES},
        lambda f: _set(f, 3, "Admission Month", "2020-04"),
        ("expect_column_values_to_match_regex", "Admission Month", "critical", 5, "2020-04"),
    ),
    "ae_assault_attendances.raw": (
        lambda: raw([
            {"Month": "2022-07", "Emergency Department": ed, "Patient LAD Code": "E07000069", "Age Group": g,
             "Assault Attendances": "6"}
            for ed in ("Southend University Hospital", "Basildon University Hospital") for g in ("Under 25", "25+")
        ]),
        {"local_authority_codes": LA_CODES, "latest_month": "2023-03"},
        lambda f: _set(f, 3, "Age Group", "25 and over"),
        ("expect_column_values_to_be_in_set", "Age Group", "critical", 5, "25 and over"),
    ),
    "yj_first_time_entrants.raw": (
        lambda: raw([
            {"Quarter": q, "Local Authority": la, "First Time Entrants (10-17)": "3"}
            for q in ("2022/23 Q1", "2022/23 Q2") for la in LA_NAMES
        ]),
        {"local_authority_names": LA_NAMES},
        lambda f: _set(f, 0, "Local Authority", "Southend-on-Sea"),
        ("expect_column_values_to_be_in_set", "Local Authority", "critical", 2, "Southend-on-Sea"),
    ),
    "population_lsoa.raw": (
        lambda: raw([
            {"LSOA code (2011)": code, "LSOA name (2011)": f"Castle Point 0{i}A",
             "Local Authority District code (2019)": "E07000069",
             "Total population: mid 2015 (excluding prisoners)": "1,632"}
            for i, code in enumerate(LSOAS)
        ]),
        {"lsoa_codes": LSOAS},
        lambda f: _set(f, 1, "Total population: mid 2015 (excluding prisoners)", "-"),
        ("expect_column_values_to_match_regex", "Total population: mid 2015 (excluding prisoners)", "critical", 3, "-"),
    ),
    "population_nomis.raw": (
        lambda: raw([
            {"DATE_NAME": "2021", "GEOGRAPHY_CODE": la, "C_AGE_NAME": "Age 0", "OBS_VALUE": "812"} for la in LA_CODES
        ]),
        {"local_authority_codes": LA_CODES},
        lambda f: _set(f, 1, "GEOGRAPHY_CODE", "E07000070"),
        ("expect_column_values_to_be_in_set", "GEOGRAPHY_CODE", "critical", 3, "E07000070"),
    ),
    "police_api.raw": (
        lambda: raw([
            {"Crime ID": f"{i:064x}", "Month": "2023-01", "Longitude": "0.559", "Latitude": "51.54",
             "Location": "On or near High Street", "Crime type": "Robbery", "Last outcome category": "",
             "local_authority": "E07000069"}
            for i in range(3)
        ]),
        {"expected_months": ["2023-01"], "local_authority_codes": LA_CODES},
        lambda f: _set(f, 2, "Latitude", "40.1"),
        ("expect_column_values_to_match_regex", "Latitude", "critical", 4, "40.1"),
    ),
    "population.raw": (
        lambda: raw([population_row("E92000001", "ENGLAND"), population_row("E07000069", "Castle Point"),
                     population_row("E07000075", "Rochford")]),
        {"local_authority_codes": LA_CODES},
        lambda f: _set(f, 1, "17", "1.5k"),
        ("expect_column_values_to_match_regex", "17", "critical", 3, "1.5k"),
    ),
    "fingertips.raw": (
        lambda: raw([fingertips_row(), fingertips_row(**{"Area Code": "E07000075", "Area Name": "Rochford"}),
                     fingertips_row(**{"Area Code": "E12000006", "Value": "", "Lower CI 95.0 limit": "",
                                       "Upper CI 95.0 limit": ""})]),
        {"indicator_ids": ["11201"]},
        lambda f: _set(f, 1, "Count", "-4"),
        ("expect_column_values_to_match_regex", "Count", "critical", 3, "-4"),
    ),
    "observations.normalised": (
        observations_frame,
        {"area_codes": LA_CODES + LSOAS, "latest_period_start": "2023-03-01"},
        lambda f: _set(f, 1, "value", -1.0),
        # no source_row column: the index label + 2 stands in
        ("expect_column_values_to_be_between", "value", "critical", 3, "-1.0"),
    ),
    "metric_values.computed": (
        metric_values_frame,
        {},
        lambda f: _set(f, 0, "lower_ci_95", 50.0),  # lower limit above the value
        ("expect_column_pair_values_a_to_be_greater_than_b", "value, lower_ci_95", "critical", 2, "50.0"),
    ),
    "submission_package.published": (
        submission_frame,
        SUBMISSION_PARAMETERS,
        lambda f: _set(f, 0, "count", "13"),  # not rounded to 5: a disclosure risk
        ("expect_column_values_to_match_regex", "count", "critical", 2, "13"),
    ),
}


def run(frame: pd.DataFrame, suite: str, parameters: dict | None = None) -> SuiteOutcome:
    return validate_frame(frame, suite, expectations_dir=EXPECTATIONS, parameters=parameters)


def failed(outcome: SuiteOutcome, expectation_type: str, column: str | None) -> ExpectationOutcome:
    matches = [o for o in outcome.outcomes if not o.success and o.expectation_type == expectation_type
               and o.column == column]
    assert matches, f"no failed {expectation_type} on {column}: {[o for o in outcome.outcomes if not o.success]}"
    return matches[0]


def test_every_suite_file_has_a_test_case():
    assert sorted(p.name.removesuffix(".json") for p in EXPECTATIONS.glob("*.json")) == sorted(CASES)


@pytest.mark.parametrize("suite", sorted(CASES))
def test_suite_passes_good_data_and_rejects_a_bad_row(suite: str):
    make_good, parameters, break_it, (type_, column, severity, source_row, value) = CASES[suite]
    assert suite_parameter_names(load_suite_definition(suite, EXPECTATIONS)) == set(parameters)

    good = make_good()
    outcome = run(good, suite, parameters)
    assert outcome.status == "passed", outcome.summary_markdown()
    assert outcome.rows_checked == len(good)
    assert outcome.row_failures(good).empty

    bad = break_it(good)
    outcome = run(bad, suite, parameters)
    assert outcome.status == "failed" and outcome.blocking
    rule = failed(outcome, type_, column)
    assert rule.severity == severity
    assert rule.unexpected_count >= 1
    failures = outcome.row_failures(bad)
    assert list(failures.columns) == ["raw_file_id", "source_row", "column", "value", "rule", "severity"]
    hit = failures[(failures["source_row"] == source_row) & (failures["column"] == column.split(", ")[-1])]
    assert value in hit["value"].tolist(), failures.to_string()
    assert rule.description in hit["rule"].tolist()
    assert set(hit["severity"]) == {severity}


def test_police_street_rules_on_location_and_duplicates():
    params = CASES["police_street.raw"][1]
    frame = street_frame()
    frame = _set(frame, 0, "LSOA code", "E01099999")  # a real-looking LSOA outside the partnership
    frame = _set(frame, 1, "Crime ID", frame.loc[0, "Crime ID"])  # the same crime twice
    frame = _set(frame, 2, "Month", "2022-11")
    outcome = run(frame, "police_street.raw", params)
    assert failed(outcome, "expect_column_values_to_be_in_set", "LSOA code").unexpected_values_sample == ["E01099999"]
    dup = failed(outcome, "expect_column_values_to_be_unique", "Crime ID")
    assert dup.severity == "warning"  # data.police.uk repeats Crime IDs routinely: reported, never blocking
    assert dup.unexpected_count == 2  # the two blank (anti-social behaviour) Crime IDs are not duplicates
    month = failed(outcome, "expect_column_values_to_be_in_set", "Month")
    assert month.unexpected_index == [2]


def test_warning_only_failure_does_not_block():
    frame = street_frame()
    frame = _set(frame, 3, "LSOA code", "")
    frame = _set(frame, 3, "Longitude", "-7.2")  # west of England and Wales
    frame = _set(frame, 1, "Latitude", "60.1")  # north of England and Wales
    outcome = run(frame, "police_street.raw", CASES["police_street.raw"][1])
    assert outcome.status == "warning"
    assert not outcome.blocking and not outcome.failed_critical
    assert {o.column for o in outcome.failed_warnings} == {"LSOA code", "Longitude", "Latitude"}
    failures = outcome.row_failures(frame)
    assert set(failures["severity"]) == {"warning"}
    cells = {tuple(row) for row in failures[["source_row", "column", "value"]].values.tolist()}
    assert cells == {(5, "LSOA code", ""), (5, "Longitude", "-7.2"), (3, "Latitude", "60.1")}
    summary = outcome.summary_markdown()
    assert "Passed with 3 warnings" in summary and '"-7.2"' in summary


@pytest.mark.parametrize("value, ok", [("-6.5", True), ("-6.42", True), ("1.76", True), ("2.0", True),
                                       ("-6.51", False), ("2.01", False), ("abc", False), ("", True)])
def test_longitude_bounds(value: str, ok: bool):
    outcome = run(_set(street_frame(), 0, "Longitude", value), "police_street.raw", CASES["police_street.raw"][1])
    assert outcome.status == ("passed" if ok else "warning")


def test_table_level_failures_are_reported():
    frame = CASES["police_knife_crime.raw"][0]().drop(columns=["Victim Age Group"])
    outcome = run(frame, "police_knife_crime.raw", CASES["police_knife_crime.raw"][1])
    columns = failed(outcome, "expect_table_columns_to_match_set", None)
    assert "'Victim Age Group'" in columns.description
    assert columns.observed == "missing columns: Victim Age Group"
    # rules on the missing column fail with the reason, not with a Python exception
    on_missing = [o for o in outcome.outcomes if o.column and "Victim Age Group" in o.column]
    assert on_missing and all(not o.success and "Victim Age Group" in o.error for o in on_missing)

    population = CASES["population.raw"][0]().iloc[[0, 1]]  # Rochford missing
    outcome = run(population, "population.raw", CASES["population.raw"][1])
    rule = failed(outcome, "expect_column_distinct_values_to_contain_set", "Code")
    assert rule.unexpected_values_sample == ["E07000075"] and "E07000075" in rule.observed
    assert "E07000075" in outcome.summary_markdown()


def test_rule_that_raises_inside_gx_is_a_failure_with_the_exception_text():
    frame = observations_frame()
    frame["value"] = frame["value"].astype(str)  # numbers as text: GX cannot compare them with 0
    outcome = run(frame, "observations.normalised", CASES["observations.normalised"][1])
    rule = failed(outcome, "expect_column_values_to_be_between", "value")
    assert "must either be None or of the same type" in rule.error
    assert outcome.blocking and rule.error in outcome.summary_markdown()
    assert [r["error"] for r in outcome.as_records() if r["error"]] == [rule.error]


def test_compound_key_duplicates_name_every_row_and_key_cell():
    frame = CASES["yj_first_time_entrants.raw"][0]()
    frame = _set(frame, 3, "Quarter", "2022/23 Q1")  # lines 3 and 5 are now both 2022/23 Q1, Rochford
    outcome = run(frame, "yj_first_time_entrants.raw", CASES["yj_first_time_entrants.raw"][1])
    rule = failed(outcome, "expect_compound_columns_to_be_unique", "Quarter, Local Authority")
    assert rule.unexpected_count == 2
    failures = outcome.row_failures(frame)
    assert sorted(failures["source_row"].unique()) == [3, 5]
    assert set(failures["column"]) == {"Quarter", "Local Authority"}
    assert set(failures["raw_file_id"]) == {7}


def test_period_after_latest_and_key_duplicates_in_observations():
    frame = observations_frame()
    frame = _set(frame, 2, "period_start", "2023-04-01")
    frame = _set(frame, 0, "area_type", None)
    outcome = run(frame, "observations.normalised", CASES["observations.normalised"][1])
    assert failed(outcome, "expect_column_values_to_be_in_set", "period_start").unexpected_index == [2]
    assert failed(outcome, "expect_column_values_to_not_be_null", "area_type").unexpected_index == [0]


def test_metric_value_warning_for_implausible_rate():
    frame = _set(metric_values_frame(), 1, "value", 150000.0)
    frame = _set(frame, 1, "upper_ci_95", 160000.0)
    outcome = run(frame, "metric_values.computed")
    assert outcome.status == "warning"
    assert [o.column for o in outcome.failed_warnings] == ["value"]


def test_suppressed_count_must_not_publish_a_rate():
    frame = _set(submission_frame(), 1, "value", "12.0")
    outcome = run(frame, "submission_package.published", SUBMISSION_PARAMETERS)
    assert outcome.blocking
    failures = outcome.row_failures(frame)
    assert failures[["source_row", "column", "value"]].values.tolist() == [[3, "value", "12.0"]]


def test_published_value_must_say_its_unit():
    frame = _set(submission_frame(), 0, "value_unit", "percent per 100,000")
    outcome = run(frame, "submission_package.published", SUBMISSION_PARAMETERS)
    rule = failed(outcome, "expect_column_values_to_match_regex", "value_unit")
    assert outcome.blocking and rule.unexpected_values_sample == ["percent per 100,000"]


def test_published_area_must_belong_to_the_partnership():
    frame = _set(submission_frame(), 0, "area_code", "E07000070")
    outcome = run(frame, "submission_package.published", SUBMISSION_PARAMETERS)
    rule = failed(outcome, "expect_column_values_to_be_in_set", "area_code")
    assert rule.severity == "critical" and rule.unexpected_values_sample == ["E07000070"]


def test_duplicate_index_is_renumbered_and_rows_still_traced():
    frame = CASES["police_knife_crime.raw"][0]().drop(columns=["source_row", "raw_file_id"])
    frame.index = [0, 0, 1]
    frame = _set(frame, 2, "Knife or Sharp Instrument Offences", "")
    outcome = run(frame, "police_knife_crime.raw", CASES["police_knife_crime.raw"][1])
    rule = failed(outcome, "expect_column_values_to_match_regex", "Knife or Sharp Instrument Offences")
    assert rule.unexpected_index == [2]
    failures = outcome.row_failures(frame)
    assert failures[["raw_file_id", "source_row", "value"]].values.tolist() == [[None, 4, ""]]


def test_records_and_summary_for_the_database_and_the_data_owner():
    make_good, parameters, break_it, _ = CASES["hospital_sharp_object_admissions.raw"]
    outcome = run(break_it(make_good()), "hospital_sharp_object_admissions.raw", parameters)
    records = outcome.as_records()
    assert len(records) == len(outcome.outcomes)
    assert set(records[0]) == {"suite", "expectation_type", "column", "severity", "success", "unexpected_count",
                               "description", "observed", "error"}
    json.dumps(records)  # storable as-is
    bad = [r for r in records if not r["success"]]
    assert bad == [{"suite": "hospital_sharp_object_admissions.raw", "expectation_type": "expect_column_values_to_match_regex",
                    "column": "Admission Month", "severity": "critical", "success": False, "unexpected_count": 1,
                    "description": bad[0]["description"], "observed": "1 of 4 rows failed", "error": None}]
    summary = outcome.summary_markdown()
    assert "4 rows checked against 7 rules" in summary
    assert "Failed: 1 critical problem" in summary
    assert bad[0]["description"] in summary and '"2020-04"' in summary


def test_unknown_expectation_type_is_refused(tmp_path: Path):
    suite = {"name": "broken", "expectations": [
        {"type": "expect_column_to_exist", "kwargs": {"column": "a"},
         "meta": {"severity": "critical", "description": "Column a exists."}},
        {"type": "expect_column_values_to_be_purple", "kwargs": {"column": "a"},
         "meta": {"severity": "warning", "description": "a is purple."}},
    ]}
    (tmp_path / "broken.json").write_text(json.dumps(suite))
    with pytest.raises(SuiteDefinitionError, match="expect_column_values_to_be_purple") as caught:
        validate_frame(pd.DataFrame({"a": ["x"]}), "broken", expectations_dir=tmp_path)
    assert "broken.json" in str(caught.value) and "1 of 2" in str(caught.value)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "not found"),
        ("{not json", "invalid JSON"),
        ({"name": "s", "expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "a"},
                                         "meta": {"description": "a exists"}}]}, "severity"),
        ({"name": "s", "expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "a"},
                                         "meta": {"severity": "info", "description": "a exists"}}]}, "severity"),
        ({"name": "s", "expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "a"},
                                         "meta": {"severity": "critical"}}]}, "description"),
    ],
)
def test_bad_suite_files_are_refused_naming_the_file(tmp_path: Path, content, message: str):
    if content is not None:
        (tmp_path / "s.json").write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(SuiteDefinitionError, match=message) as caught:
        load_suite_definition("s", tmp_path)
    assert isinstance(caught.value, ValueError) and "s.json" in str(caught.value)


def test_missing_parameter_is_refused_before_running():
    with pytest.raises(SuiteParameterError, match="lsoa_codes"):
        run(street_frame(), "police_street.raw", {"expected_months": ["2022-12"]})


@pytest.mark.skipif(not DEMO_INPUTS.is_dir(), reason="demo partnership inputs not present")
def test_real_format_demo_files_pass():
    """Committed demo inputs (the real Dec-2022 Essex street file and partner-return layouts) pass their suites."""

    def read(path: Path | zipfile.ZipExtFile) -> pd.DataFrame:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")

    with zipfile.ZipFile(DEMO_INPUTS / "police-archive" / "2022-12.zip") as archive:
        street = read(archive.open(archive.namelist()[0]))
    import yaml

    partnership = yaml.safe_load((DEMO_INPUTS.parent / "partnership.yaml").read_text())
    lsoas = [lsoa["code"] for lsoa in partnership["lsoas"]]
    street = street[street["LSOA code"].isin(lsoas) | (street["LSOA code"] == "")]
    outcome = run(street, "police_street.raw", {"expected_months": ["2022-12"], "lsoa_codes": lsoas})
    assert not outcome.blocking, outcome.summary_markdown()

    returns = DEMO_INPUTS / "partner-returns"
    for suite, path, parameters in [
        ("police_knife_crime.raw", returns / "essex-police" / "knife-crime-FY2022-23-Q4.csv",
         {"local_authority_codes": LA_CODES, "latest_month": "2023-03"}),
        ("police_homicides.raw", returns / "essex-police" / "homicides-FY2022-23.csv",
         {"local_authority_codes": LA_CODES, "latest_month": "2023-03"}),
        ("hospital_sharp_object_admissions.raw", returns / "mse-icb" / "sharp-object-admissions-FY2022-23.csv",
         {"local_authority_codes": LA_CODES}),
        ("ae_assault_attendances.raw", returns / "mse-icb" / "ae-assault-attendances-2023-03.csv",
         {"local_authority_codes": LA_CODES, "latest_month": "2023-03"}),
        ("yj_first_time_entrants.raw", returns / "essex-youth-justice" / "first-time-entrants-FY2022-23.csv",
         {"local_authority_names": LA_NAMES}),
        ("fingertips.raw", DEMO_INPUTS / "fingertips" / "indicator-11201-hospital-admissions-for-violence.csv",
         {"indicator_ids": ["11201"]}),
    ]:
        outcome = run(read(path), suite, parameters)
        assert outcome.status == "passed", outcome.summary_markdown()


def test_importing_the_module_does_not_import_great_expectations():
    code = "import sys, tasks.shared.suites; print('great_expectations' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
