"""A partnership for a whole police force area, built in the test from the ONS lookups alone (plain csv reading),
so collection of that force's real data.police.uk street files can be compared with a plain pandas filter."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import yaml

from tasks.shared.settings import PROJECT_ROOT

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
LOOKUPS = SHARED_DATA / "lookups"
CSP_LOOKUP = LOOKUPS / (
    "Local_Authority_District_to_Community_Safety_Partnerships_to_Police_Force_Areas__January_2017__Lookup_in_"
    "England_and_Wales_Version_2.csv"
)
LSOA_LOOKUP = LOOKUPS / "Lower_Layer_Super_Output_Area__2011__to_Ward__2020__Lookup_in_England_and_Wales.csv"
LSOA_2017_NAMES = SHARED_DATA / "ons_population" / "Mid-2017 Population Density.csv"
STREET_FILES = SHARED_DATA / "police_street"
SPECIAL_FORCE_IDS = {"London, City of": "city-of-london", "Metropolitan Police": "metropolitan"}


def force_id(pfa_name: str) -> str:
    """data.police.uk's force id of a police force area name ('Devon & Cornwall' -> 'devon-and-cornwall')."""
    return SPECIAL_FORCE_IDS.get(pfa_name) or re.sub(r"\s+", "-", pfa_name.lower().replace("&", "and"))


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def district(lsoa_name: str) -> str:
    return re.sub(r"\s+\d{3}[A-Z]$", "", lsoa_name)


def force_area(force: str) -> dict:
    """The force's 2017 districts, their 2011 LSOAs and the 2020 names their LSOAs carry where the district was
    renamed or merged. An LSOA belongs to the 2017 district whose code its 2020 district kept, else (a merged or
    renamed district's new code) to the 2017 district its mid-2017 name starts with."""
    members = {r["LAD17CD"]: r["LAD17NM"] for r in _rows(CSP_LOOKUP) if force_id(r["PFA17NM"]) == force}
    by_name = {name: code for code, name in members.items()}
    names_2017 = {r["Code"]: r["Name"] for r in _rows(LSOA_2017_NAMES)}
    lsoas, renamed = [], {}
    for r in _rows(LSOA_LOOKUP):
        member = r["LAD20CD"] if r["LAD20CD"] in members else by_name.get(district(names_2017.get(r["LSOA11CD"], "")))
        if member is None:
            continue
        lsoas.append({"code": r["LSOA11CD"], "name": r["LSOA11NM"], "local_authority": member})
        if r["LAD20NM"] != members[member]:
            renamed.setdefault(member, set()).add(r["LAD20NM"])
    return {"members": members, "lsoas": lsoas, "renamed": {k: sorted(v) for k, v in renamed.items()}}


def national_lsoa11_codes() -> set[str]:
    return {r["LSOA11CD"] for r in _rows(LSOA_LOOKUP)}


def write_force_partnership(config_dir: Path, force: str, pfa_name: str, files: list[Path]) -> dict:
    """A config folder (metrics and deadlines from the project) with one partnership: the whole force area, whose
    archive inbox holds the given street files."""
    shutil.copy(PROJECT_ROOT / "config" / "metrics.yaml", config_dir / "metrics.yaml")
    shutil.copy(PROJECT_ROOT / "config" / "deadlines.yaml", config_dir / "deadlines.yaml")
    area = force_area(force)
    folder = config_dir / "partnerships" / force
    inbox = folder / "inputs" / "police-archive"
    inbox.mkdir(parents=True)
    for path in files:
        shutil.copy(path, inbox / path.name)
    partnership = {
        "id": force,
        "name": f"{pfa_name} force area",
        "local_authorities": [
            {"code": code, "name": name, **({"lsoa_name_prefixes": area["renamed"][code]} if code in area["renamed"] else {})}
            for code, name in sorted(area["members"].items())
        ],
        "police_forces": [{"id": force, "name": pfa_name}],
        "lsoas": area["lsoas"],
    }
    (folder / "partnership.yaml").write_text(yaml.safe_dump(partnership, sort_keys=False), encoding="utf-8")
    sources = {"sources": [{
        "id": "police-street-archive", "kind": "police_archive", "dataset": "police_street",
        "title": "data.police.uk street-level crime", "owner": "analyst", "location": "inputs/police-archive",
        "pattern": "*-street.csv", "cadence": "month",
    }]}
    (folder / "sources.yaml").write_text(yaml.safe_dump(sources, sort_keys=False), encoding="utf-8")
    stakeholders = {"stakeholders": [{
        "id": "analyst", "name": "Analyst", "organisation": pfa_name, "email": "analyst@example.org",
        "role": "analyst", "receives": ["data_quality_report"],
    }]}
    (folder / "stakeholders.yaml").write_text(yaml.safe_dump(stakeholders, sort_keys=False), encoding="utf-8")
    return area
