"""`partnership new` and `source add`: a partnership folder written from the real ONS lookups, valid as written, and
partner returns added one by one; `config check` refuses a missing inbox and reports files no source takes."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dutycycle.cli import app
from tasks.shared.config import ConfigError, load_partnership_config
from tasks.shared.inboxes import discover_unmatched, inbox_problems
from tasks.shared.onboarding import (
    OnboardingError,
    PartnerReturn,
    add_partner_return,
    force_id,
    read_lookups,
    resolve_area,
    write_partnership,
)
from tasks.shared.settings import PROJECT_ROOT, reset_settings_cache

CONFIG = PROJECT_ROOT / "config"
LOOKUPS = CONFIG / "lookups"
POLICE_STREET = PROJECT_ROOT.parent / "shared" / "data" / "police_street"


def _rows(name: str) -> list[dict]:
    """A lookup read with the csv module, independently of the code under test."""
    [path] = LOOKUPS.glob(name)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG, target, ignore=shutil.ignore_patterns("inputs"))
    monkeypatch.setenv("DUTYCYCLE_CONFIG_DIR", str(target))
    reset_settings_cache()
    yield target
    reset_settings_cache()


@pytest.mark.parametrize(
    ("force_area", "expected"),
    [("Devon & Cornwall", "devon-and-cornwall"), ("Thames Valley", "thames-valley"), ("Dyfed-Powys", "dyfed-powys"),
     ("London, City of", "city-of-london"), ("Metropolitan Police", "metropolitan"), ("Durham", "durham")],
)
def test_force_ids_follow_data_police_uk(force_area: str, expected: str) -> None:
    assert force_id(force_area) == expected


def test_every_force_id_of_the_real_street_files_is_a_force_area_of_the_lookup() -> None:
    if not POLICE_STREET.is_dir():
        pytest.skip(f"real data.police.uk files not found at {POLICE_STREET} (../shared/data is outside the clone)")
    in_files = {re.match(r"\d{4}-\d{2}-(.+)-street\.csv$", p.name).group(1) for p in POLICE_STREET.glob("*-street.csv")}
    ids = {force_id(row["PFA17NM"]) for row in _rows("Local_Authority_District_to_Community_Safety_*.csv")}
    assert len(in_files) == 9
    assert in_files <= ids
    assert len(ids) == 43  # one id per force area, none colliding


def test_a_csp_gives_its_districts_their_lsoas_and_force_as_the_lookups_say(config_dir: Path) -> None:
    districts = [r for r in _rows("Local_Authority_District_to_Community_Safety_*.csv") if r["CSP17CD"] == "E22000365"]
    lsoas = {r["LSOA11CD"]: r["LSOA11NM"] for r in _rows("Lower_Layer_Super_Output_Area_*.csv")
             if r["LAD20CD"] in {d["LAD17CD"] for d in districts}}

    area = write_partnership(config_dir, "county-durham", ["E22000365"])

    config = load_partnership_config(config_dir, "county-durham")
    assert [(la.code, la.name) for la in config.partnership.local_authorities] == [
        (d["LAD17CD"], d["LAD17NM"]) for d in districts
    ] == [("E06000047", "County Durham")]
    assert {lsoa.code: lsoa.name for lsoa in config.partnership.lsoas} == lsoas
    assert len(lsoas) == 324
    assert [(f.id, f.name) for f in config.partnership.police_forces] == [("durham", "Durham")]
    assert config.partnership.name == "County Durham Community Safety Partnership"
    assert {s.kind for s in config.sources} == {"police_archive", "ons_mye2", "ons_lsoa_population"}
    assert all(config.source_folder(s).is_dir() for s in config.sources)
    assert not list((config_dir / "partnerships" / "county-durham" / "inputs").rglob("*.csv"))  # no demo files
    stakeholders = (config_dir / "partnerships" / "county-durham" / "stakeholders.yaml").read_text()
    assert "PLACEHOLDERS" in stakeholders and "# - id: police-analyst" in stakeholders
    assert area.notes == ["E22000365 County Durham (CSP 2017): districts E06000047"]


def test_a_welsh_csp_code_is_taken_as_the_lookup_writes_it(config_dir: Path) -> None:
    # the ONS lookup codes the Welsh partnerships W14...: Cwm Taf is Rhondda Cynon Taf and Merthyr Tydfil
    rows = [r for r in _rows("Local_Authority_District_to_Community*.csv") if r["CSP17NM"] == "Cwm Taf"]
    lsoas = {r["LSOA11CD"] for r in _rows("Lower_Layer_Super_Output_Area*.csv")
             if r["LAD20CD"] in {row["LAD17CD"] for row in rows}}

    area = resolve_area([rows[0]["CSP17CD"]], read_lookups(config_dir))

    assert rows[0]["CSP17CD"].startswith("W14")
    assert sorted(area.members) == sorted((r["LAD17CD"], r["LAD17NM"]) for r in rows) and len(rows) == 2
    assert {code for code, _, _ in area.lsoas} == lsoas
    assert area.forces == [("south-wales", "South Wales")]


def test_a_merged_2017_district_keeps_its_own_lsoas_and_says_what_it_became(config_dir: Path) -> None:
    # Aylesbury Vale (2017) is part of Buckinghamshire E06000060 since 2020: its LSOAs carry its mid-2017 name
    names_2017 = {r["Code"] for r in _rows("Mid-2017 Population Density.csv") if r["Name"][:-5] == "Aylesbury Vale"}

    area = resolve_area(["E07000004"], read_lookups(config_dir))

    assert area.members == [("E07000004", "Aylesbury Vale")]
    assert {code for code, _, _ in area.lsoas} == names_2017 and len(names_2017) == 115
    assert area.forces == [("thames-valley", "Thames Valley")]
    assert "part of E06000060 Buckinghamshire" in area.notes[0]


def test_a_2020_district_and_a_renamed_one(config_dir: Path) -> None:
    lookups = read_lookups(config_dir)
    bucks = resolve_area(["E06000060"], lookups)
    assert len(bucks.lsoas) == sum(1 for r in _rows("Lower_Layer_Super_Output_Area_*.csv") if r["LAD20CD"] == "E06000060")
    assert bucks.forces == [("thames-valley", "Thames Valley")]
    assert "Aylesbury Vale, Chiltern, South Bucks, Wycombe" in bucks.notes[0]
    renamed = resolve_area(["E07000112"], lookups)
    assert renamed.members == [("E07000112", "Folkestone and Hythe")]
    assert renamed.notes == ["E07000112 was named Shepway in 2017; it is Folkestone and Hythe since"]


def test_an_unknown_code_and_an_existing_folder_are_refused(config_dir: Path) -> None:
    with pytest.raises(OnboardingError, match="E09999999 is neither a local authority district"):
        write_partnership(config_dir, "nowhere", ["E09999999"])
    assert not (config_dir / "partnerships" / "nowhere").exists()
    with pytest.raises(OnboardingError, match="exists already"):
        write_partnership(config_dir, "castle-point-rochford", ["E07000069"])


KNIFE = PartnerReturn(
    id="police-knife-crime", dataset="police_knife_crime", title="Knife offences", owner="public-data",
    patterns=["knife-crime-*.csv", "knife-crime-*.xlsx"], cadence="quarter", period_column="Month",
    period_format="%Y-%m", area_column="Local Authority Code",
    values=[("Knife or Sharp Instrument Offences", "knife_sharp_instrument_offences")],
    age_band_column="Victim Age Group",
)


def test_a_partner_return_is_added_with_the_comments_kept_and_its_inbox_created(config_dir: Path) -> None:
    write_partnership(config_dir, "knowsley", ["E08000011"])
    sources = config_dir / "partnerships" / "knowsley" / "sources.yaml"
    before = sources.read_text()

    inbox = add_partner_return(config_dir, "knowsley", KNIFE)

    assert sources.read_text().startswith(before)  # comments and earlier sources untouched
    source = load_partnership_config(config_dir, "knowsley").source("police-knife-crime")
    assert source.template.values[0].column == "Knife or Sharp Instrument Offences"
    assert source.template.age_band.column == "Victim Age Group"
    assert source.patterns == ["knife-crime-*.csv", "knife-crime-*.xlsx"]
    assert inbox == config_dir / "partnerships" / "knowsley" / "inputs" / "police-knife-crime" and inbox.is_dir()


def test_a_source_the_models_refuse_leaves_sources_yaml_unchanged(config_dir: Path) -> None:
    write_partnership(config_dir, "knowsley", ["E08000011"])
    sources = config_dir / "partnerships" / "knowsley" / "sources.yaml"
    before = sources.read_text()
    with pytest.raises(ConfigError, match=r"sources\[3\]\.owner.*'nobody' is not in stakeholders.yaml"):
        add_partner_return(config_dir, "knowsley", PartnerReturn(**{**KNIFE.__dict__, "owner": "nobody"}))
    assert sources.read_text() == before
    with pytest.raises(ConfigError, match="source ids must be unique"):
        add_partner_return(config_dir, "knowsley", PartnerReturn(**{**KNIFE.__dict__, "id": "ons-population"}))
    assert sources.read_text() == before


# `source add` options that give the demo's hand-written templates (maps, a filter, columns of one age band)
DEMO_RETURNS = {
    "police-knife-crime": [
        "--dataset", "police_knife_crime", "--owner", "csp-analyst", "--pattern", "knife-crime-*.csv",
        "--period-column", "Month", "--area-column", "Local Authority Code", "--age-band-column", "Victim Age Group",
        "--age-band-map", "Under 25=0-24", "--age-band-map", "25 and over=25+", "--age-band-map", "Unknown=unknown",
        "--value", "Knife or Sharp Instrument Offences=knife_sharp_instrument_offences",
    ],
    "police-homicides": [
        "--dataset", "police_homicides", "--owner", "csp-analyst", "--pattern", "homicides-*.csv",
        "--cadence", "financial_year", "--period-column", "Month", "--area-column", "Local Authority Code",
        "--where", "Domestic=N", "--value", "Victims Under 25=homicide_non_domestic:0-24",
        "--value", "Victims 25 and Over=homicide_non_domestic:25+",
        "--value", "Of Which Knife or Sharp Instrument=homicide_non_domestic_knife:all",
    ],
    "yj-first-time-entrants": [
        "--dataset", "yj_first_time_entrants", "--owner", "csp-analyst", "--pattern", "first-time-entrants-*.csv",
        "--cadence", "financial_year", "--period-column", "Quarter", "--period-format", "financial_quarter",
        "--area-column", "Local Authority", "--area-map", "Castle Point=E07000069", "--area-map", "Rochford=E07000075",
        "--value", "First Time Entrants (10-17)=first_time_entrants:10-17",
    ],
}


@pytest.mark.parametrize("source_id", sorted(DEMO_RETURNS))
def test_source_add_writes_the_demos_maps_filters_and_fixed_age_bands(config_dir: Path, source_id: str) -> None:
    write_partnership(config_dir, "cpr", ["E07000069", "E07000075"])
    result = CliRunner().invoke(app, ["source", "add", source_id, "--partnership", "cpr", "--title", "t",
                                      *DEMO_RETURNS[source_id]])
    assert result.exit_code == 0, result.output
    written = load_partnership_config(config_dir, "cpr").source(source_id).template
    # the expected template is the demo's, written by hand in config/partnerships/castle-point-rochford/sources.yaml
    assert written == load_partnership_config(CONFIG, "castle-point-rochford").source(source_id).template


def test_source_add_refuses_a_value_with_an_empty_age_band(config_dir: Path) -> None:
    write_partnership(config_dir, "cpr", ["E07000069", "E07000075"])
    result = CliRunner().invoke(app, ["source", "add", "x", "--partnership", "cpr", "--title", "t", "--dataset", "d",
                                      "--owner", "csp-analyst", "--pattern", "x-*.csv", "--period-column", "M",
                                      "--area-column", "A", "--value", "Victims=homicide_non_domestic:"])
    assert result.exit_code != 0 and "write COLUMN=measure or COLUMN=measure:age_band" in result.output


def test_unmatched_files_are_found_as_collection_globs_them(tmp_path: Path) -> None:
    for name in ("knife-crime-2023.csv", "Knife-Crime-2023.csv", "notes.docx", ".hidden", "README.md"):
        (tmp_path / name).write_text("x")
    (tmp_path / "sub").mkdir()
    assert discover_unmatched(tmp_path, ["knife-crime-*.csv"]) == ["Knife-Crime-2023.csv", "notes.docx"]
    assert discover_unmatched(tmp_path / "absent", ["*"]) == []


def test_config_check_refuses_a_missing_inbox_and_reports_stray_files(config_dir: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(app, ["partnership", "new", "knowsley", "--from", "E08000011"])
    assert created.exit_code == 0, created.output
    assert "98 (98 in E08000011)" in created.output and "merseyside (Merseyside)" in created.output
    folder = config_dir / "partnerships" / "knowsley"
    assert runner.invoke(app, ["config", "check", "--partnership", "knowsley"]).exit_code == 0

    (folder / "inputs" / "police-archive" / "2024-01-merseyside-outcomes.csv").write_text("x")
    shutil.rmtree(folder / "inputs" / "population-lsoa")
    problems = inbox_problems(load_partnership_config(config_dir, "knowsley"))
    result = runner.invoke(app, ["config", "check", "--partnership", "knowsley"])

    assert result.exit_code == 2
    assert problems.errors == [
        f"knowsley: source 'ons-lsoa-population': inbox folder {folder / 'inputs' / 'population-lsoa'} does not "
        "exist (create it, or correct 'location' in sources.yaml)"
    ]
    assert problems.errors[0] in result.output
    assert len(problems.warnings) == 1
    assert "2024-01-merseyside-outcomes.csv: matches no source's pattern" in problems.warnings[0]
    assert "police-street-archive takes *.zip or *-street.csv" in problems.warnings[0]
    assert "warning: " + problems.warnings[0] in result.output


def test_the_demo_passes_config_check_without_warnings() -> None:
    problems = inbox_problems(load_partnership_config(CONFIG, "castle-point-rochford"))
    assert problems.errors == [] and problems.warnings == []


def test_a_whole_merged_district_recognises_its_2021_lsoas_by_the_new_name_and_a_part_of_it_does_not() -> None:
    # Aylesbury Vale, Chiltern, South Bucks and Wycombe became Buckinghamshire (E06000060) in 2020 (lookup)
    bucks_2017 = sorted({r["LAD17CD"] for r in _rows("Local_Authority_District_to_Community*.csv")
                         if r["LAD17NM"] in ("Aylesbury Vale", "Chiltern", "South Bucks", "Wycombe")})
    assert len(bucks_2017) == 4
    lookups = read_lookups(CONFIG)
    whole = resolve_area(bucks_2017, lookups)
    assert whole.lsoa_name_prefixes == {code: ["Buckinghamshire"] for code in bucks_2017}
    part = resolve_area(bucks_2017[:1], lookups)
    assert part.lsoa_name_prefixes == {}  # its 2021 LSOAs cannot be told from the other three's by name
