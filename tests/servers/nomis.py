"""A local Nomis API serving dataset NM_2002_1 (population estimates by single year of age) as CSV pages.

Columns, order and names follow the real ``data.csv`` output (each dimension as X, X_NAME, X_CODE, X_TYPE,
X_TYPECODE, X_SORTORDER; then MEASURES, MEASURES_NAME, OBS_VALUE, OBS_STATUS, OBS_STATUS_NAME, OBS_CONF,
OBS_CONF_NAME, URN, RECORD_OFFSET, RECORD_COUNT), ``select=`` picks columns, and a guest answer holds at most
25,000 rows: the rest is reached with ``RecordOffset``. Population values are synthetic and deterministic."""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any

from tests.servers import FakeServer, Reply, Request

GUEST_ROW_LIMIT = 25_000
DATASET_PATH = "/api/v01/dataset/NM_2002_1.data.csv"
LAD_TYPE = ("local authorities: district / unitary (as of April 2023)", 424)
GENDERS = {0: "Total", 1: "Male", 2: "Female"}
AGE_CODES = {code: (f"Age {code - 101}" if code < 191 else "Aged 90+") for code in range(101, 192)} | {200: "All Ages"}
DIMENSIONS = ["DATE", "GEOGRAPHY", "GENDER", "C_AGE"]
ALL_COLUMNS = [
    f"{dimension}{suffix}"
    for dimension in DIMENSIONS
    for suffix in ("", "_NAME", "_CODE", "_TYPE", "_TYPECODE", "_SORTORDER")
] + ["MEASURES", "MEASURES_NAME", "OBS_VALUE", "OBS_STATUS", "OBS_STATUS_NAME", "OBS_CONF", "OBS_CONF_NAME", "URN",
     "RECORD_OFFSET", "RECORD_COUNT"]


def expand(text: str) -> list[int]:
    """Nomis value lists: '101...191' ranges and comma lists."""
    values: list[int] = []
    for part in text.split(","):
        if "..." in part:
            low, high = part.split("...")
            values.extend(range(int(low), int(high) + 1))
        elif part:
            values.append(int(part))
    return values


def population(area: str, year: int, gender: int, age_code: int) -> int:
    """A deterministic, plausible population of one area, year, sex and single year of age."""
    if age_code == 200:
        return sum(population(area, year, gender, code) for code in range(101, 192))
    if gender == 0:
        return population(area, year, 1, age_code) + population(area, year, 2, age_code)
    seed = int(hashlib.sha256(f"{area}|{year}|{gender}|{age_code}".encode()).hexdigest()[:8], 16)
    age = age_code - 101
    base = 600 if age < 65 else max(60, 600 - (age - 65) * 22)
    return base + seed % 250 + (900 if age == 90 else 0)


class NomisFake(FakeServer):
    """Nomis on 127.0.0.1 holding NM_2002_1 for the given local authorities (GSS code -> name) and years."""

    def __init__(self, areas: dict[str, str], years: list[int], *, row_cap: int = GUEST_ROW_LIMIT) -> None:
        super().__init__()
        self.areas = dict(areas)
        self.years = sorted(years)
        self.row_cap = row_cap
        self.nomis_ids = {code: 1_946_157_000 + index for index, code in enumerate(self.areas)}  # synthetic ids

    @property
    def base_url(self) -> str:
        return f"{self.origin}/api/v01/"

    def handle(self, request: Request) -> tuple[Reply, dict[str, Any]]:
        fault = self.next_fault()
        if isinstance(fault, int):
            return Reply(fault, b"", "text/html"), {"injected": True}
        if request.path.upper() != DATASET_PATH.upper():
            return Reply(404, b"", "text/html"), {}
        params = {key.lower(): value for key, value in request.params.items()}  # Nomis parameters ignore case
        try:
            rows = self._rows(params)
        except (KeyError, ValueError) as exc:
            return Reply(400, f"bad query: {exc}".encode(), "text/plain"), {}
        offset = int(params.get("recordoffset", "0"))
        limit = min(int(params.get("recordlimit", str(self.row_cap))), self.row_cap)
        page = rows[offset : offset + limit]
        columns = [c.strip().upper() for c in params["select"].split(",")] if "select" in params else ALL_COLUMNS
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        writer.writerow(columns)
        for number, row in enumerate(page, start=offset):
            full = {**row, "RECORD_OFFSET": number, "RECORD_COUNT": len(rows)}
            writer.writerow([full[column] for column in columns])
        return Reply(200, out.getvalue().encode(), "text/csv"), {"offset": offset, "rows": len(page), "count": len(rows)}

    def _rows(self, params: dict[str, str]) -> list[dict[str, Any]]:
        if "geography" not in params:
            raise KeyError("geography")
        codes: list[str] = []
        for part in params["geography"].split(","):
            if part.upper().startswith("TYPE"):
                codes.extend(self.areas)
            elif part in self.areas:
                codes.append(part)
        if not codes:
            raise ValueError("no geography matched")
        date = params.get("date") or params.get("time") or "latest"
        years = [self.years[-1]] if date == "latest" else [int(y) for y in date.split(",")]
        genders = expand(params.get("gender", "0"))
        ages = expand(params.get("c_age", "200"))
        if params.get("measures", "20100") != "20100":
            raise ValueError("only measures=20100 is served")
        rows = []
        for year in years:
            for area_order, code in enumerate(codes):
                for gender in genders:
                    for age_order, age in enumerate(ages):
                        value = population(code, year, gender, age)
                        nomis_id = self.nomis_ids[code]
                        rows.append(
                            {
                                "DATE": year, "DATE_NAME": str(year), "DATE_CODE": str(year), "DATE_TYPE": "date",
                                "DATE_TYPECODE": 0, "DATE_SORTORDER": 0,
                                "GEOGRAPHY": nomis_id, "GEOGRAPHY_NAME": self.areas[code], "GEOGRAPHY_CODE": code,
                                "GEOGRAPHY_TYPE": LAD_TYPE[0], "GEOGRAPHY_TYPECODE": LAD_TYPE[1],
                                "GEOGRAPHY_SORTORDER": area_order,
                                "GENDER": gender, "GENDER_NAME": GENDERS[gender], "GENDER_CODE": gender,
                                "GENDER_TYPE": "gender", "GENDER_TYPECODE": 0, "GENDER_SORTORDER": gender,
                                "C_AGE": age, "C_AGE_NAME": AGE_CODES[age], "C_AGE_CODE": age, "C_AGE_TYPE": "c_age",
                                "C_AGE_TYPECODE": 0, "C_AGE_SORTORDER": age_order,
                                "MEASURES": 20100, "MEASURES_NAME": "Value", "OBS_VALUE": value,
                                "OBS_STATUS": "A", "OBS_STATUS_NAME": "Normal Value",
                                "OBS_CONF": "F", "OBS_CONF_NAME": "Free (free for publication)",
                                "URN": f"Nm-2002d1d{year}d{nomis_id}d{gender}d{age}d20100",
                            }
                        )
        return rows
