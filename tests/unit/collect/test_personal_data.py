"""The personal-data guard: each kind is found (by header or by value) and masked, and no real input format
of the repository raises a single finding."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tasks.collect.personal_data import (
    KINDS,
    MAX_ROWS_PER_COLUMN,
    PersonalDataFinding,
    describe_findings,
    distinct_texts,
    findings_as_failures,
    header_kind,
    mask_value,
    nhs_check_digit_ok,
    scan_for_personal_data,
)
from tasks.collect.sources.common import read_csv_strings
from tasks.shared.settings import PROJECT_ROOT

INPUTS = PROJECT_ROOT / "config" / "partnerships" / "castle-point-rochford" / "inputs"
FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
TODAY = dt.date(2024, 6, 30)
KNIFE = {
    "Month": ["2022-04", "2022-04", "2022-05"],
    "Local Authority Code": ["E07000069", "E07000075", "E07000069"],
    "Local Authority Name": ["Castle Point", "Rochford", "Castle Point"],
    "Victim Age Group": ["Under 25", "25 and over", "Unknown"],
    "Knife or Sharp Instrument Offences": ["1", "6", "0"],
}


def knife_return(**extra: list[str]) -> pd.DataFrame:
    """A knife-crime return (as parsed: text cells and source_row) with extra columns."""
    frame = pd.DataFrame({**KNIFE, **extra}, dtype=str)
    frame.insert(0, "source_row", range(2, 2 + len(frame)))
    return frame


def scan(frame: pd.DataFrame) -> list[PersonalDataFinding]:
    return scan_for_personal_data(frame, "knife-crime-test.csv", today=TODAY)


def only(findings: list[PersonalDataFinding]) -> PersonalDataFinding:
    assert len(findings) == 1, findings
    return findings[0]


# --- each kind ---------------------------------------------------------------------------------------

KIND_CASES = [
    # (kind, header, value, basis)
    ("name", "Victim Name", "John Smith", "header"),
    ("name", "Surname", "Okonkwo", "header"),
    ("name", "Forename", "Aisha", "header"),
    ("name", "Name", "Jane Doe", "header"),  # bare Name, no ONS 'Code' column beside it
    ("name", "offender_first_name", "Tom", "header"),
    ("date_of_birth", "DOB", "12/03/2005", "header"),
    ("date_of_birth", "Date of Birth", "2005-03-12", "header"),
    ("date_of_birth", "DateOfBirth", "03/2005", "header"),  # a birth month under a birth header
    ("date_of_birth", "Notes", "15/08/2006", "value"),  # a full date with the day: returns carry months only
    ("date_of_birth", "Offence Date", "12 Mar 2021", "value"),
    ("nhs_number", "NHS Number", "450 557 7104", "header"),
    ("nhs_number", "Reference", "943 476 5919", "value"),
    ("nhs_number", "Reference", "4505577104", "value"),
    ("nhs_number", "Notes", "patient 943-476-5919 seen", "value"),
    ("postcode", "Postcode", "SS7 1AB", "header"),
    ("postcode", "Notes", "lives at SS7 1AB", "value"),
    ("postcode", "Notes", "ss71ab", "value"),
    ("street_address", "Address", "Flat 2", "header"),
    ("street_address", "Location", "14 Potash Road", "value"),
    ("street_address", "Notes", "Flat 2, 9 High St", "value"),
    ("email", "Email", "jane.smith@example.org", "header"),
    ("email", "Contact", "jane.smith@example.org", "value"),
    ("phone", "Mobile", "07700 900123", "header"),
    ("phone", "Notes", "Call back on 07700 900123", "value"),
    ("phone", "Notes", "+44 (0)1702 123456", "value"),
    ("phone", "Contact", "020 7946 0000", "value"),
    ("ni_number", "NI Number", "JG 10 37 59 A", "header"),
    ("ni_number", "Notes", "JG103759A", "value"),
]


@pytest.mark.parametrize(("kind", "header", "value", "basis"), KIND_CASES, ids=[f"{c[0]}:{c[1]}:{c[2]}" for c in KIND_CASES])
def test_each_kind_is_found_with_file_row_column_and_a_masked_sample(kind: str, header: str, value: str, basis: str) -> None:
    finding = only(scan(knife_return(**{header: ["", value, ""]})))
    assert (finding.file, finding.row, finding.column, finding.kind, finding.basis) == (
        "knife-crime-test.csv", 3, header, kind, basis
    )
    assert finding.kind in KINDS and finding.column_total == 1
    assert value not in finding.sample and "*" in finding.sample
    assert value not in describe_findings([finding])


def test_masks_keep_enough_to_recognise_the_value_and_no_more() -> None:
    assert mask_value("email", "j.bloggs@example.org") == "j***@e******.org"
    assert mask_value("nhs_number", "450 557 7104") == "4** *** **04"
    assert mask_value("phone", "07700 900123") == "0**** ****23"
    assert mask_value("name", "John Smith") == "J*** S****"
    assert mask_value("postcode", "SS7 1AB") == "S** ***"
    assert mask_value("date_of_birth", "12/03/2005") == "**/**/****"
    assert mask_value("street_address", "14 Potash Road") == "** P***** Road"
    assert mask_value("ni_number", "JG 10 37 59 A") == "J* ** ** ** *"


def test_describe_findings_tells_the_owner_where_and_what_to_do() -> None:
    text = describe_findings(scan(knife_return(Contact=["", "", "j.bloggs@example.org"])))
    assert text == (
        "Row 4, column 'Contact': looks like an e-mail address (j***@e******.org). Personal data must not be sent: "
        "remove these values from column 'Contact', and send the file again."
    )
    many = scan(knife_return(**{"Victim Name": ["A Smith", "B Jones", "C Brown"], "DOB": ["", "01/02/2003", ""]}))
    text = describe_findings(many)
    assert text.splitlines()[0] == "Row 2, column 'Victim Name': looks like a person's name (A S****)."
    assert text.splitlines()[-1] == (
        "Personal data must not be sent: remove the columns 'DOB', 'Victim Name', and send the file again."
    )
    assert describe_findings([]) == "No personal data found."


def test_findings_are_capped_per_column_with_the_total_kept() -> None:
    emails = [f"person{i}@example.org" for i in range(12)]
    frame = pd.DataFrame({"Contact": emails, "Count": [str(i) for i in range(12)]})  # no source_row: index + 2
    findings = scan(frame)
    assert len(findings) == MAX_ROWS_PER_COLUMN
    assert [f.row for f in findings] == [2, 3, 4, 5, 6]
    assert {f.column_total for f in findings} == {12}
    assert "Column 'Contact': 7 more rows look the same." in describe_findings(findings)


def test_findings_become_quarantine_rows_with_masked_values_only() -> None:
    findings = scan(knife_return(**{"NHS Number": ["450 557 7104", "", ""]}))
    failures = findings_as_failures(findings, raw_file_id=7)
    assert failures.to_dict("records") == [
        {
            "raw_file_id": 7,
            "source_row": 2,
            "column": "NHS Number",
            "value": "4** *** **04",
            "rule": "personal data must not be sent: looks like an NHS number",
            "severity": "critical",
        }
    ]


# --- what must pass ----------------------------------------------------------------------------------


def test_nhs_check_digit() -> None:
    assert nhs_check_digit_ok("4505577104") and nhs_check_digit_ok("9434765919")
    assert not nhs_check_digit_ok("4505577105") and not nhs_check_digit_ok("1234567890")  # 1234567890: check 10


# Check digit 0: the weighted sum is a multiple of 11, so 11 - remainder = 11, which the NHS rule maps to 0
# (NHS Connecting for Health, "NHS Number check digit" (tech_nn_check_digit): subtract the remainder from 11; a
# result of 11 gives check digit 0, a result of 10 is never a valid number). About one valid number
# in eleven ends so. Both numbers lie in NHS Digital's test range 999 000 0000 - 999 999 9999 (never issued).
#   999 000 0050: 9x10 + 9x9 + 9x8 + 0x7 + 0x6 + 0x5 + 0x4 + 0x3 + 5x2 = 90 + 81 + 72 + 10 = 253 = 23 x 11 -> 0
#   999 000 1200: 90 + 81 + 72 + 1x4 + 2x3 + 0x2 = 253 = 23 x 11 -> 0
# and, for contrast, 401 023 2137 (a check digit other than 0):
#   4x10 + 0x9 + 1x8 + 0x7 + 2x6 + 3x5 + 2x4 + 1x3 + 3x2 = 92 = 8 x 11 + 4 -> 11 - 4 = 7
def test_nhs_check_digit_zero_when_the_remainder_is_zero() -> None:
    assert nhs_check_digit_ok("9990000050") and nhs_check_digit_ok("9990001200")
    assert nhs_check_digit_ok("4010232137")
    # the same nine digits with any other check digit are not NHS numbers
    assert not any(nhs_check_digit_ok(f"999000005{d}") for d in "123456789")


@pytest.mark.parametrize("value", ["999 000 0050", "999-000-1200", "patient 999 000 0050 seen"])
def test_an_nhs_number_with_check_digit_zero_is_refused(value: str) -> None:
    findings = scan(knife_return(Reference=["", value, ""]))
    assert [f.kind for f in findings] == ["nhs_number"], findings


@pytest.mark.parametrize("value", ["4505577105", "450 557 7105", "943 476 5918", "1234567890"])
def test_ten_digits_with_a_wrong_check_digit_are_not_nhs_numbers(value: str) -> None:
    assert scan(knife_return(Reference=["", value, ""])) == []


def test_counts_are_not_nhs_numbers_even_with_a_valid_check_digit() -> None:
    counts = ["1234567890", "12", "4505577104", "0", "7", "31", "2", "5", "11", "3"]  # 4505577104 is a valid check
    frame = pd.DataFrame({"Month": ["2022-04"] * 10, "Count": counts})
    assert scan(frame) == []


@pytest.mark.parametrize(
    "header",
    ["Local Authority Name", "LSOA name", "Area Name", "Parent Name", "Indicator Name", "Location", "Reported by",
     "Falls within", "Emergency Department", "Country of Birth", "Postcode District", "Contact", "Crime ID"],
)
def test_headers_of_areas_indicators_and_organisations_are_not_personal(header: str) -> None:
    assert header_kind(header) is None


@pytest.mark.parametrize(
    "value",
    [
        "On or near Potash Road", "On or near A127", "On or near 1st Avenue", "On or near Petrol Station",
        "SS7", "SS7 1", "E07000069", "E01021237", "Castle Point 003A", "2022-04", "Apr-22", "2017/18 - 19/20",
        "20170000", "44.1998933686262", "-0.113767", "51.642710", "67,081,234", "25 and over", "0-17", "X99",
        "2022/23 Q1", "01/04/2022", "30/06/2022", "2099-03-15", "12/03/1890", "QQ 12 34 56 C",
        "048ce51986aa28d93c45ea4505577104ab9434765919f0", "Investigation complete; no suspect identified",
        "Awaiting court outcome", "Hospital admissions for violence (including sexual violence)",
    ],
)
def test_values_of_real_formats_are_not_personal(value: str) -> None:
    assert scan(knife_return(Notes=[value, value, value])) == []


def test_period_dates_with_a_day_pass_under_a_period_header() -> None:
    frame = knife_return(**{"Week Ending": ["08/04/2022", "15/04/2022", "22/04/2022"],
                            "Extract Date": ["14/07/2023"] * 3})
    assert scan(frame) == []


def test_one_date_on_every_row_is_an_attribute_of_the_file() -> None:
    assert scan(knife_return(Date=["14/07/2023"] * 3)) == []
    assert [(f.row, f.kind) for f in scan(knife_return(Date=["14/07/2023", "", "03/11/1999"]))] == [
        (2, "date_of_birth"), (4, "date_of_birth")
    ]


def test_a_youth_offending_team_name_is_not_a_person() -> None:
    assert header_kind("Youth Offending Team Name") is None and header_kind("Young Person Name") == "name"


def test_a_birth_header_flags_only_plausible_birth_dates() -> None:
    assert scan(knife_return(DOB=["Unknown", "2099-01-01", "01/01/1890"])) == []


def test_a_bare_name_beside_ons_area_codes_is_an_area_name() -> None:
    mye2 = pd.DataFrame({"Code": ["E07000069", "E07000075"], "Name": ["Castle Point", "Rochford"], "Geography": ["x", "y"]})
    assert scan(mye2) == []
    # ... but not beside any other code column: a knife-crime return with a 'Name' column holds people's names
    assert only(scan(knife_return(Name=["", "Jane Doe", ""]))).kind == "name"


def test_empty_and_placeholder_cells_of_a_personal_column_pass() -> None:
    assert scan(knife_return(**{"Victim Name": ["", "Unknown", "N/A"], "NHS Number": ["", "", "not recorded"]})) == []


def _real_frames():
    for path in sorted(INPUTS.rglob("*.csv")) + sorted(FIXTURES.glob("*.csv")):
        yield pytest.param(path, None, id=str(path.relative_to(PROJECT_ROOT)))
    for path in sorted(INPUTS.rglob("*.zip")):
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                yield pytest.param(path, member, id=f"{path.relative_to(PROJECT_ROOT)}:{member}")


@pytest.mark.parametrize(("path", "member"), list(_real_frames()))
def test_no_real_input_of_the_repository_raises_a_finding(path: Path, member: str | None) -> None:
    """Police street files (snap points, 64-hex Crime IDs), partner returns, Fingertips, ONS MYE2."""
    if member is None:
        data, name = path.read_bytes(), path.name
    else:
        with zipfile.ZipFile(path) as archive:
            data, name = archive.read(member), member
    frame = read_csv_strings(data, name)
    assert scan_for_personal_data(frame, name) == []


def test_real_input_files_were_all_scanned() -> None:
    names = {p.values[0].name for p in _real_frames()}
    assert {"2022-12.zip", "indicator-11201-hospital-admissions-for-violence.csv", "mid-2020-MYE2-persons.csv",
            "knife-crime-FY2022-23-Q1.csv", "sharp-object-admissions-FY2022-23.csv",
            "first-time-entrants-FY2022-23.csv", "2016-07-city-of-london-street.csv"} <= names


def test_a_200k_row_street_file_is_scanned_and_the_one_address_found() -> None:
    # how fast is a benchmark's business (benchmarks/), not a timed unit test: timing here fails on a busy machine
    rows = 200_000
    frame = pd.DataFrame(
        {
            "Crime ID": [f"{i:064x}"[::-1] for i in range(rows)],
            "Month": "2022-12",
            "Longitude": "0.586000",
            "Latitude": "51.560000",
            "Location": [f"On or near Road {i % 500}" for i in range(rows)],
            "LSOA code": "E01021476",
            "Crime type": "Violence and sexual offences",
        }
    )
    frame.loc[rows - 5, "Location"] = "27 Potash Road"
    findings = scan(frame)
    assert [(f.row, f.column, f.kind) for f in findings] == [(rows - 5 + 2, "Location", "street_address")]


def test_a_columns_distinct_values_are_judged_as_stripped_text_blanks_as_empty() -> None:
    # the guard's view of a column (plain Python since the pandas string methods cost ~1 ms a column)
    column = pd.Series([" Smith ", None, "Smith", float("nan"), b"Jones", 42, 2.5, "", "Smith "], dtype=object)
    assert distinct_texts(column) == ["Smith", "", "Jones", "42", "2.5"]
    assert distinct_texts(pd.Series(["a", None, " b"], dtype="str")) == ["a", "", "b"]


def test_placeholders_padded_with_spaces_under_a_personal_header_are_not_findings() -> None:
    frame = pd.DataFrame({"Surname": [" N/A ", "  unknown", "-  "], "Count": ["1", "2", "3"]})
    assert scan_for_personal_data(frame, "returns.csv", today=TODAY) == []
    frame.loc[1, "Surname"] = "  Bloggs "
    found = scan_for_personal_data(frame, "returns.csv", today=TODAY)
    assert [(f.row, f.column, f.kind, f.sample) for f in found] == [(3, "Surname", "name", "B*****")]
