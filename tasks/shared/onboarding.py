"""Onboarding: a new partnership's folder written from the ONS lookups, and partner-return sources added to it.

The area comes from district (LAD 2017 or 2020) or Community Safety Partnership (CSP 2017) codes: the member
districts, their LSOAs (2011 codes), and the police force area(s) they lie in, whose data.police.uk id names the
archive files. The YAML is written as text, so its comments guide the user; every file written is then validated
by the same models the cycle uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from tasks.shared.config import SLUG, ConfigError, load_partnership_config, read_lookup

# CSP (2017) codes: E22 in England; the Welsh partnerships are W14 in the ONS lookup
CSP_CODE = re.compile(r"^(?:E22|W14)\d{6}$")
LSOA_SUFFIX = re.compile(r"\s+\d{3}[A-Z]$")  # "Aylesbury Vale 012C" -> "Aylesbury Vale"
# data.police.uk force ids that do not follow from the force area's name
FORCE_ID_EXCEPTIONS = {"London, City of": "city-of-london", "Metropolitan Police": "metropolitan"}
INBOX_README = "README.md"  # the note in each inbox saying what to drop there (not an input file)


class OnboardingError(ValueError):
    """A code that is no district or CSP, or a partnership that cannot be written; the message says which."""


def force_id(force_area_name: str) -> str:
    """The data.police.uk force id of a police force area (PFA 2017 name): 'Devon & Cornwall' -> 'devon-and-cornwall'."""
    if force_area_name in FORCE_ID_EXCEPTIONS:
        return FORCE_ID_EXCEPTIONS[force_area_name]
    return re.sub(r"\s+", "-", force_area_name.strip().lower().replace("&", "and"))


@dataclass(frozen=True)
class Lookups:
    """The three ONS lookups onboarding joins."""

    districts: pd.DataFrame  # LAD17CD, LAD17NM, CSP17CD, CSP17NM, PFA17CD, PFA17NM
    lsoas: pd.DataFrame  # LSOA11CD, LSOA11NM, LAD20CD, LAD20NM
    lsoa_names_2017: pd.DataFrame  # Code, Name

    @cached_property
    def geography(self) -> pd.DataFrame:
        """lsoa_geography of these lookups, worked out once (read it, do not change it)."""
        return lsoa_geography(self)


def read_lookups(config_dir: Path) -> Lookups:
    """The lookups shipped in config/lookups."""
    return Lookups(
        districts=read_lookup(config_dir, "lad17_csp17_pfa17"),
        lsoas=read_lookup(config_dir, "lsoa11_lad20"),
        lsoa_names_2017=read_lookup(config_dir, "lsoa11_names_2017"),
    )


def lsoa_geography(lookups: Lookups) -> pd.DataFrame:
    """Every LSOA (2011) with its 2020 district, its 2017 district and the police force area of that district.

    A 2020 district that existed in 2017 keeps its code; the LSOAs of districts merged since 2017 (Bournemouth,
    Aylesbury Vale...) are placed in their 2017 district by their mid-2017 name, '<LAD17 name> NNNX'.
    """
    lsoas = lookups.lsoas.copy()
    districts = lookups.districts.set_index("LAD17CD")
    names_2017 = dict(zip(lookups.lsoa_names_2017["Code"],
                          lookups.lsoa_names_2017["Name"].str.replace(LSOA_SUFFIX, "", regex=True), strict=True))
    code_of_2017_name = dict(zip(lookups.districts["LAD17NM"], lookups.districts["LAD17CD"], strict=True))
    lsoas["LAD17CD"] = [
        lad20 if lad20 in districts.index else code_of_2017_name.get(names_2017.get(lsoa, ""), "")
        for lsoa, lad20 in zip(lsoas["LSOA11CD"], lsoas["LAD20CD"], strict=True)
    ]
    unplaced = lsoas[lsoas["LAD17CD"] == ""]
    if len(unplaced):
        raise OnboardingError(f"{len(unplaced)} LSOA(s) have no 2017 district in the lookups, e.g. "
                              f"{unplaced['LSOA11CD'].iloc[0]}: check config/lookups against its SOURCES.md")
    lsoas["LAD17NM"] = lsoas["LAD17CD"].map(districts["LAD17NM"])
    lsoas["PFA17NM"] = lsoas["LAD17CD"].map(districts["PFA17NM"])
    return lsoas


@dataclass
class Area:
    """A partnership's geography as the lookups give it, with what the user should know about how it was read."""

    members: list[tuple[str, str]] = field(default_factory=list)  # (district code, name)
    lsoas: list[tuple[str, str, str]] = field(default_factory=list)  # (LSOA code, name, member district code)
    forces: list[tuple[str, str]] = field(default_factory=list)  # (data.police.uk id, force area name)
    csp_names: list[str] = field(default_factory=list)
    codes_given: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # 2020 district names a member's LSOAs now carry (merged districts), so 2021 LSOA codes are recognised by name
    lsoa_name_prefixes: dict[str, list[str]] = field(default_factory=dict)


def resolve_area(codes: list[str], lookups: Lookups) -> Area:
    """The districts, LSOAs and forces of the given LAD 2017, LAD 2020 or CSP 2017 codes."""
    geography = lookups.geography
    districts = lookups.districts
    lad20_names = dict(zip(geography["LAD20CD"], geography["LAD20NM"], strict=False))
    lad17_names = dict(zip(districts["LAD17CD"], districts["LAD17NM"], strict=True))
    area = Area()
    wanted: list[str] = []
    area.codes_given = [c.strip().upper() for c in codes if c.strip()]
    for code in area.codes_given:
        if CSP_CODE.match(code):
            rows = districts[districts["CSP17CD"] == code]
            if rows.empty:
                raise OnboardingError(f"{code} is not a Community Safety Partnership code of the 2017 lookup")
            area.csp_names.append(rows["CSP17NM"].iloc[0])
            area.notes.append(f"{code} {rows['CSP17NM'].iloc[0]} (CSP 2017): districts {', '.join(rows['LAD17CD'])}")
            wanted += list(rows["LAD17CD"])
        elif code in lad20_names or code in lad17_names:
            wanted.append(code)
        else:
            raise OnboardingError(
                f"{code} is neither a local authority district (2017 or 2020) nor a CSP (2017) code of the ONS lookups"
            )
    for code in dict.fromkeys(wanted):  # in order, once each
        if code in lad20_names:
            name = lad20_names[code]
            rows = geography[geography["LAD20CD"] == code]
            if code in lad17_names and lad17_names[code] != name:
                area.notes.append(f"{code} was named {lad17_names[code]} in 2017; it is {name} since")
            if code not in lad17_names:
                area.notes.append(f"{code} {name} is a 2020 district (formed from "
                                  f"{', '.join(sorted(set(rows['LAD17NM'])))})")
        else:
            name = lad17_names[code]
            rows = geography[geography["LAD17CD"] == code]
            merged = sorted(set(rows["LAD20CD"] + " " + rows["LAD20NM"]))
            area.notes.append(
                f"{code} {name} is a 2017 district, part of {', '.join(merged)} since: its LSOAs are listed under "
                f"{code}; population estimates for 2020 onwards are published for the new district, so give "
                "population files that carry this code or use the 2020 code instead"
            )
        area.members.append((code, name))
        area.lsoas += [(lsoa, lsoa_name, code) for lsoa, lsoa_name in
                       sorted(zip(rows["LSOA11CD"], rows["LSOA11NM"], strict=True))]
        for force_name in sorted(set(rows["PFA17NM"])):
            if force_id(force_name) not in {f[0] for f in area.forces}:
                area.forces.append((force_id(force_name), force_name))
    members = {code for code, _ in area.members}
    for code, name in area.members:
        successors = set(geography.loc[geography["LAD17CD"] == code, "LAD20NM"]) - {name}
        for successor in sorted(successors):
            # only when the whole merged district is in the partnership: its 2021 LSOAs cannot be told apart by name
            if set(geography.loc[geography["LAD20NM"] == successor, "LAD17CD"]) <= members:
                area.lsoa_name_prefixes.setdefault(code, []).append(successor)
    return area


def default_name(area: Area) -> str:
    """'<CSP name> Community Safety Partnership', or the member districts' names joined."""
    if len(area.codes_given) == 1 and area.csp_names:
        return f"{area.csp_names[0]} Community Safety Partnership"
    names = [name for _, name in area.members]
    return (", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]) + " Community Safety Partnership"


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def partnership_yaml(partnership_id: str, name: str, area: Area, codes: list[str]) -> str:
    """partnership.yaml: members, forces and LSOAs as the lookups give them."""
    lines = [
        f"# Written by `dutycycle partnership new {partnership_id} --from {' '.join(codes)}` from the ONS lookups in",
        "# config/lookups (LAD 2017 -> CSP 2017 -> police force area; LSOA 2011 -> LAD 2020). Check the members and name.",
        f"id: {partnership_id}",
        f"name: {_quoted(name)}",
        "financial_year_start: {month: 4, day: 1}",
        "# who may approve each kind of output before it leaves (the Prefect UI's sign-off form or `dutycycle approve`):",
        "# a stakeholder of stakeholders.yaml or a named person with a role. TODO: check; the board's chair to start with",
        "approvers:",
        "  submission: [{stakeholder: csp-board}]",
        "  board_pack: [{stakeholder: csp-board}]",
        "  publication: [{stakeholder: csp-board}]",
        "local_authorities:",
        *[
            f"  - {{code: {code}, name: {_quoted(la_name)}"
            + (f", lsoa_name_prefixes: [{', '.join(_quoted(p) for p in area.lsoa_name_prefixes[code])}]"
               if code in area.lsoa_name_prefixes else "")
            + "}"
            for code, la_name in area.members
        ],
        "police_forces:",
        "  # id is the data.police.uk force id; it names the archive files (YYYY-MM-<id>-street.csv)",
        *[f"  - {{id: {fid}, name: {_quoted(force_name)}}}" for fid, force_name in area.forces],
        f"# {len(area.lsoas)} LSOA (2011) codes of the area, from the ONS LSOA11 -> LAD20 lookup",
        "lsoas:",
        *[f"  - {{code: {code}, name: {_quoted(lsoa_name)}, local_authority: {lad}}}" for code, lsoa_name, lad in area.lsoas],
    ]
    return "\n".join(lines) + "\n"


PUBLIC_OWNER = "public-data"

SOURCES_HEADER = """\
# The partnership's data sources. location is relative to this folder (or absolute: a partner's inbox share).
# Only public sources to start with: every national measure that rests on a partner return (hospital admissions,
# police knife crime, homicides...) is listed as "not computed" in the outputs until its return is added:
#   dutycycle source add <id> --partnership {pid} ...   (see README: "Add a partner return")
sources:
  - id: police-street-archive
    kind: police_archive
    dataset: police_street
    title: data.police.uk street-level crime (monthly archive)
    owner: {owner}
    location: inputs/police-archive
    # the monthly archive zips of https://data.police.uk/data/archive/, or their YYYY-MM-<force>-street.csv files
    pattern: ["*.zip", "*-street.csv"]
    cadence: month
    due_days_after_period: 60   # data.police.uk publishes a month about six to eight weeks after it ends

  - id: ons-population
    kind: ons_mye2
    dataset: population
    title: ONS mid-year population estimates by single year of age (MYE2 persons)
    owner: {owner}
    location: inputs/population
    pattern: "*.csv"   # the file name must say the mid-year, e.g. mid-2022-MYE2-persons.csv
    cadence: financial_year
    due_days_after_period: 0

  - id: ons-lsoa-population
    kind: ons_lsoa_population
    dataset: population
    title: ONS mid-2015 population by LSOA (IoD2019 denominators), for LSOA rates and the funnel plot
    owner: {owner}
    location: inputs/population-lsoa
    pattern: "*.csv"

  # With internet access, Nomis can supply the population instead of MYE2 files (fetched before collection):
  # - id: nomis-population
  #   kind: nomis_population
  #   dataset: population
  #   title: ONS mid-year population estimates from Nomis (NM_2002_1)
  #   owner: {owner}
  #   location: inputs/nomis-population
  #   pattern: "*.csv"
  #   cadence: financial_year
  #   due_days_after_period: 0
"""

STAKEHOLDERS_TEXT = """\
# Who the partnership informs. PLACEHOLDERS: replace each name and address before the first real run (with
# DUTYCYCLE_SMTP_HOST unset, messages are only written as .eml files under the data directory's outbox/).
# Every source's owner (sources.yaml) must be one of these ids.
stakeholders:
  - id: csp-board   # TODO: the chair of the partnership board
    name: Chair of the Community Safety Partnership Board
    organisation: {name}
    email: csp-board@example.invalid
    role: board
    receives: [metric_pack, submission_receipt, deadline_reminder]
  - id: csp-analyst   # TODO: the partnership's analyst
    name: Community Safety Analyst
    organisation: {name}
    email: csp-analyst@example.invalid
    role: analyst
    receives: [metric_pack, data_quality_report, deadline_reminder, submission_receipt]
  - id: {owner}   # TODO: who looks after the public sources (data.police.uk, ONS)
    name: Public statistics
    organisation: {name}
    email: public-data@example.invalid
    role: data_owner
    receives: [data_quality_report, data_request]
  # A data owner per partner return, e.g.:
  # - id: police-analyst
  #   name: Police Strategic Analyst
  #   organisation: <the force>
  #   email: analyst@<force domain>
  #   role: data_owner
  #   receives: [data_quality_report, data_request]
"""

INBOX_NOTES = {
    "inputs/police-archive": "data.police.uk monthly archive zips (YYYY-MM.zip, from https://data.police.uk/data/archive/) "
    "or the street files they hold (YYYY-MM-<force>-street.csv) for the force(s) in partnership.yaml.",
    "inputs/population": "ONS mid-year population estimates, MYE2 persons sheet saved as CSV; the file name says the "
    "mid-year, e.g. mid-2022-MYE2-persons.csv.",
    "inputs/population-lsoa": "MHCLG English Indices of Deprivation 2019, File 6 (population denominators) as CSV, for "
    "LSOA rates and the funnel plot (England only).",
}


def inbox_readme(what: str) -> str:
    return f"# What to drop in this folder\n\n{what}\n\nFiles are collected by `dutycycle review` (this note is not).\n"


def write_partnership(config_dir: Path, partnership_id: str, codes: list[str], name: str | None = None,
                      lookups: Lookups | None = None) -> Area:
    """Write config/partnerships/<id>/ (partnership, sources, stakeholders, empty inboxes) and validate it.
    ``lookups``: those of config_dir already read (a caller writing many partnerships reads them once)."""
    if not re.match(SLUG, partnership_id):
        raise OnboardingError(f"'{partnership_id}' is not a valid partnership id (lower case letters, digits, dashes)")
    folder = config_dir / "partnerships" / partnership_id
    if folder.exists():
        raise OnboardingError(f"{folder} exists already: choose another id or remove the folder")
    area = resolve_area(codes, lookups or read_lookups(config_dir))
    if not area.members:
        raise OnboardingError("give at least one district or CSP code with --from")
    title = name or default_name(area)
    folder.mkdir(parents=True)
    (folder / "partnership.yaml").write_text(partnership_yaml(partnership_id, title, area, codes), encoding="utf-8")
    (folder / "sources.yaml").write_text(SOURCES_HEADER.format(pid=partnership_id, owner=PUBLIC_OWNER), encoding="utf-8")
    (folder / "stakeholders.yaml").write_text(STAKEHOLDERS_TEXT.format(name=_quoted(title), owner=PUBLIC_OWNER),
                                              encoding="utf-8")
    for location, what in INBOX_NOTES.items():
        (folder / location).mkdir(parents=True)
        (folder / location / INBOX_README).write_text(inbox_readme(what), encoding="utf-8")
    load_partnership_config(config_dir, partnership_id)  # what was written must be what the cycle accepts
    return area


# ---------------------------------------------------------------- dutycycle source add


@dataclass(frozen=True)
class PartnerReturn:
    """What `dutycycle source add` asks for: a partner's return and how its columns map onto observations."""

    id: str
    dataset: str
    title: str
    owner: str
    patterns: list[str]
    cadence: str
    period_column: str
    period_format: str
    area_column: str
    values: list[tuple[str, ...]]  # (column, measure) or (column, measure, fixed age band)
    age_band_column: str | None = None
    location: str | None = None  # default inputs/<id>
    area_map: dict[str, str] | None = None  # the partner's area values (e.g. names) -> ONS district codes
    age_band_map: dict[str, str] | None = None  # the partner's age groups -> our bands ("Under 25" -> "0-24")
    where: dict[str, str] | None = None  # keep only the rows where column == value (e.g. Domestic: N)


def _flow_map(mapping: dict[str, str]) -> str:
    """A YAML flow mapping with every key and value quoted: {"Under 25": "0-24"}."""
    return "{" + ", ".join(f"{_quoted(key)}: {_quoted(value)}" for key, value in mapping.items()) + "}"


def partner_return_yaml(source: PartnerReturn) -> str:
    """The source as a YAML block for the end of sources.yaml's list."""
    area_map = f", map: {_flow_map(source.area_map)}" if source.area_map else ""
    lines = [
        "",
        f"  - id: {source.id}",
        "    kind: partner_return",
        f"    dataset: {source.dataset}",
        f"    title: {_quoted(source.title)}",
        f"    owner: {source.owner}",
        f"    location: {_quoted(source.location or f'inputs/{source.id}')}",
        f"    pattern: [{', '.join(_quoted(p) for p in source.patterns)}]",
        f"    cadence: {source.cadence}",
        "    template:",
        f"      period: {{column: {_quoted(source.period_column)}, format: {_quoted(source.period_format)}}}",
        f"      area: {{column: {_quoted(source.area_column)}{area_map}}}",
    ]
    if source.age_band_column:
        age_map = f", map: {_flow_map(source.age_band_map)}" if source.age_band_map else ""
        lines.append(f"      age_band: {{column: {_quoted(source.age_band_column)}{age_map}}}")
    if source.where:
        lines.append(f"      where: {_flow_map(source.where)}")
    lines.append("      values:")
    for column, measure, *band in source.values:
        fixed = f", age_band: {_quoted(band[0])}" if band else ""
        lines.append(f"        - {{column: {_quoted(column)}, measure: {measure}{fixed}}}")
    return "\n".join(lines) + "\n"


def add_partner_return(config_dir: Path, partnership_id: str, source: PartnerReturn) -> Path:
    """Append a partner-return source to sources.yaml (comments kept), create its inbox, and validate the whole
    partnership; a source the models refuse leaves sources.yaml as it was. Returns the inbox folder."""
    folder = config_dir / "partnerships" / partnership_id
    path = folder / "sources.yaml"
    before = path.read_text(encoding="utf-8") if path.is_file() else None
    if before is None:
        raise OnboardingError(f"{path} not found: create the partnership first (dutycycle partnership new)")
    path.write_text(before.rstrip("\n") + "\n" + partner_return_yaml(source), encoding="utf-8")
    try:
        config = load_partnership_config(config_dir, partnership_id)
    except ConfigError:
        path.write_text(before, encoding="utf-8")
        raise
    inbox = config.source_folder(config.source(source.id))
    inbox.mkdir(parents=True, exist_ok=True)
    if not (inbox / INBOX_README).exists():
        what = f"{source.title}: files named {' or '.join(source.patterns)}, sent by {source.owner}."
        (inbox / INBOX_README).write_text(inbox_readme(what), encoding="utf-8")
    return inbox
