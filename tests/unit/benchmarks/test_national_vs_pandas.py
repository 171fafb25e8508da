"""The national benchmark's checks (benchmarks/national_vs_pandas.py): it copies only the chosen forces'
partnerships and refuses an unknown force, and its comparison reports every police value that differs, is missing
from the pipeline or is only in the pipeline, and accepts float noise under 1e-6."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest

from benchmarks.national_vs_pandas import compare, subset_config

COLUMNS = ["partnership", "metric", "area", "count", "denominator", "rate", "lower", "upper"]
# Hartlepool's robbery in one row: 91 events over 92,571 people (rate and limits as written by hand, not computed)
ROW = ["hartlepool", "police_robbery", "E06000001", "91", "92571", "98.30508", "79.15", "120.69"]


def write_year(tmp_path: Path) -> Path:
    year = tmp_path / "year"
    for pid in ("hartlepool", "darlington"):
        folder = year / "config" / "partnerships" / pid
        folder.mkdir(parents=True)
        (folder / "partnership.yaml").write_text(f"id: {pid}\n", encoding="utf-8")
    (year / "config" / "lookups").mkdir()
    (year / "config" / "lookups" / "lookup.csv").write_text("code\n", encoding="utf-8")
    (year / "config" / "metrics.yaml").write_text("metrics: []\n", encoding="utf-8")
    (year / "MANIFEST.json").write_text(json.dumps({"financial_year": "2022/23", "partnership_list": [
        {"id": "hartlepool", "force": "cleveland"}, {"id": "darlington", "force": "durham"}]}), encoding="utf-8")
    return year


def test_subset_holds_only_the_chosen_forces(tmp_path):
    year = write_year(tmp_path)
    config, chosen, manifest = subset_config(year, ["durham"], tmp_path / "work")
    assert chosen == ["darlington"]
    assert sorted(p.name for p in (config / "partnerships").iterdir()) == ["darlington"]
    assert (config / "metrics.yaml").read_text(encoding="utf-8") == "metrics: []\n"
    assert (config / "lookups").is_symlink() and (config / "lookups" / "lookup.csv").is_file()
    assert not (config / "partnerships" / "darlington").is_symlink()  # a copy: runs never write into the year
    assert manifest["financial_year"] == "2022/23"


def test_subset_refuses_an_unknown_force(tmp_path):
    year = write_year(tmp_path)
    with pytest.raises(SystemExit, match="no force essex in this year"):
        subset_config(year, ["essex"], tmp_path / "work")


def write_pair(tmp_path: Path, baseline_rows: list[list[str]], stored: list[tuple]) -> tuple[Path, Path]:
    baseline_csv, database = tmp_path / "baseline.csv", tmp_path / "dutycycle.db"
    with baseline_csv.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([COLUMNS, *baseline_rows])
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE metric_values (partnership TEXT, metric_id TEXT, area_code TEXT, area_type TEXT,"
                   " period TEXT, age_band TEXT, numerator REAL, denominator INTEGER, value REAL, lower_ci_95 REAL,"
                   " upper_ci_95 REAL)")
        db.executemany("INSERT INTO metric_values VALUES (?, ?, ?, 'lad', '2022/23', 'all', ?, ?, ?, ?, ?)", stored)
    return baseline_csv, database


def test_equal_values_and_float_noise_pass(tmp_path):
    stored = [("hartlepool", "police_robbery", "E06000001", 91.0, 92571, 98.30508 + 1e-9, 79.15, 120.69)]
    assert compare(*write_pair(tmp_path, [ROW], stored), "2022/23") == (1, [])


@pytest.mark.parametrize(("stored", "expected"), [
    ((90.0, 92571, 98.30508, 79.15, 120.69), "count 91 (baseline) != 90.0 (pipeline)"),
    ((91.0, 92570, 98.30508, 79.15, 120.69), "denominator 92571 (baseline) != 92570 (pipeline)"),
    ((91.0, 92571, 98.30509, 79.15, 120.69), "rate 98.30508 (baseline) != 98.30509 (pipeline)"),
    ((91.0, 92571, 98.30508, None, 120.69), "lower 79.15 (baseline) != None (pipeline)"),
])
def test_a_differing_value_is_named(tmp_path, stored, expected):
    _, problems = compare(*write_pair(tmp_path, [ROW], [("hartlepool", "police_robbery", "E06000001", *stored)]),
                          "2022/23")
    assert problems == [f"('hartlepool', 'police_robbery', 'E06000001'): {expected}"]


def test_missing_and_extra_values_are_named(tmp_path):
    stored = [("hartlepool", "police_robbery", "E06000002", 91.0, 92571, 98.30508, 79.15, 120.69),
              ("hartlepool", "police_knife_crime", "E06000001", 3.0, 92571, 3.2, 0.6, 9.4)]  # not a police_street one
    _, problems = compare(*write_pair(tmp_path, [ROW], stored), "2022/23")
    assert problems == [
        "('hartlepool', 'police_robbery', 'E06000001'): computed by the baseline, absent from the pipeline's "
        "metric_values",
        "('hartlepool', 'police_robbery', 'E06000002'): in the pipeline's metric_values, not computed by the baseline",
    ]
