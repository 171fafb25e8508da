"""A file every partnership reads (the national population estimates) has the rules about the file itself checked
once, kept in the parse cache; each partnership still gets the same verdict, stored rows and quality pages as when
it checks the file alone, and a changed suite or file is checked again."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import shutil
from importlib import metadata
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tasks.collect.sources.population import parse_mye2
from tasks.collect.sources.street_cache import StreetParseCache
from tasks.shared.settings import PROJECT_ROOT, reset_settings_cache
from tasks.shared.storage.session import dispose_engines
from tasks.shared.suites import gx_rules_run, gx_runs, validate_frames

SUITE = "population.raw"
EXPECTATIONS = PROJECT_ROOT / "expectations"
MYE2 = PROJECT_ROOT / "config" / "partnerships" / "castle-point-rochford" / "inputs" / "population" / \
    "mid-2022-MYE2-persons.csv"
YEAR = "2022/23"


def _suite_rules(folder: Path = EXPECTATIONS) -> tuple[int, int]:
    """The suite file's rules, and how many of them name a partnership parameter (read from the file itself)."""
    rules = json.loads((folder / f"{SUITE}.json").read_text(encoding="utf-8"))["expectations"]
    return len(rules), sum('"$PARAMETER"' in json.dumps(rule) for rule in rules)


def _check(data: bytes, raw_file_id: int, codes: list[str], cache: StreetParseCache | None, folder: Path = EXPECTATIONS):
    frame = parse_mye2(data, MYE2.name).assign(raw_file_id=raw_file_id)
    runs, rules = gx_runs(), gx_rules_run()
    [outcome] = validate_frames(
        [(frame, {"local_authority_codes": codes})], SUITE, expectations_dir=folder,
        file_keys=[hashlib.sha256(data).hexdigest()] if cache else None, verdicts=cache,
    )
    return frame, outcome, gx_runs() - runs, gx_rules_run() - rules


def test_the_file_s_own_rules_are_checked_once_and_every_partnership_gets_its_own_verdict(tmp_path: Path) -> None:
    # a bad count on one district's line: a failure of the file itself, which every partnership must see
    district = b"E07000069,Castle Point,Non-metropolitan District,"
    data = MYE2.read_bytes().replace(district + b'"91,084",', district + b'"-7",')
    assert data != MYE2.read_bytes()
    # the file's districts (Castle Point, Rochford): two partnerships, and one that names a district it lacks
    partnerships = [(11, ["E07000069", "E07000075"]), (12, ["E07000075"]), (13, ["E07000069", "E07999999"])]
    total, named = _suite_rules()
    cache = StreetParseCache(tmp_path / "parsed")
    for position, (raw_file_id, areas) in enumerate(partnerships):
        frame, alone, _, alone_rules = _check(data, raw_file_id, areas, None)
        _, shared, runs, rules = _check(data, raw_file_id, areas, cache)
        assert alone_rules == total
        assert (runs, rules) == ((1, total) if position == 0 else (1, named)), position
        assert shared == alone  # every rule's outcome: success, counts, failing rows, samples, wording
        assert shared.as_records() == alone.as_records() and shared.summary_markdown() == alone.summary_markdown()
        failures = shared.row_failures(frame)
        assert failures.equals(alone.row_failures(frame)) and set(failures["raw_file_id"]) == {raw_file_id}
        assert "-7" in set(failures["value"]) and shared.status == "failed"
    assert [o.success for o in shared.outcomes if not o.success and o.column == "Code"] == [False]  # E07999999
    # the same partnership again: everything is kept, nothing runs
    _, again, runs, rules = _check(data, 12, ["E07000075"], cache)
    assert (runs, rules) == (0, 0) and again == _check(data, 12, ["E07000075"], None)[1]
    kept = list(cache.folder.glob("*/*.verdict.pkl"))
    assert len(kept) == 1 and f".gx{metadata.version('great_expectations')}." in kept[0].name


def test_a_changed_suite_or_file_is_checked_again(tmp_path: Path) -> None:
    folder = tmp_path / "expectations"
    shutil.copytree(EXPECTATIONS, folder)
    data = MYE2.read_bytes()
    codes = list(parse_mye2(data, MYE2.name)["Code"])
    cache = StreetParseCache(tmp_path / "parsed")
    total, named = _suite_rules(folder)
    assert _check(data, 1, codes[:1], cache, folder)[3] == total
    assert _check(data, 2, codes[1:2], cache, folder)[3] == named
    suite = json.loads((folder / f"{SUITE}.json").read_text(encoding="utf-8"))
    suite["expectations"][1]["meta"]["description"] += " (reworded)"
    (folder / f"{SUITE}.json").write_text(json.dumps(suite), encoding="utf-8")
    _, outcome, _, rules = _check(data, 3, codes[2:3], cache, folder)
    assert rules == total and outcome.outcomes[1].description.endswith("(reworded)")
    changed = data.replace(b"\n", b"\r\n")  # other bytes, and the same rows: a new file is checked whole
    assert _check(changed, 4, codes[2:3], cache, folder)[3] == total
    # the same bytes parsed into another frame (a parser changed since): the frame's digest keeps them apart
    frame = parse_mye2(data, MYE2.name).assign(raw_file_id=5)
    frame.loc[1, "All ages"] = "x"
    before = gx_rules_run()
    [outcome] = validate_frames([(frame, {"local_authority_codes": codes[2:3]})], SUITE, expectations_dir=folder,
                                file_keys=[hashlib.sha256(data).hexdigest()], verdicts=cache)
    assert gx_rules_run() - before == total and outcome.status == "failed"


# --- a collection: stored rows and quality pages with and without the cache ------------------------------


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from benchmarks.national.generate import generate_national

    out = tmp_path_factory.mktemp("national") / "year"
    generate_national(out, YEAR, 0.0005, ["durham"], seed=1)
    return out


def _collect_force(data_dir: Path, config_dir: Path, monkeypatch: pytest.MonkeyPatch, *, cache: bool):
    """Collect the shared sources (population, street archives) of Durham's two partnerships, then write each
    one's quality pages; the rules GX checked for the population file, per partnership."""
    from tasks.collect.steps import collect_source
    from tasks.shared.checks import completeness
    from tasks.shared.context import open_cycle
    from tasks.validate.quality import quality_pages
    from tasks.validate.steps import stored_checks

    monkeypatch.setenv("DUTYCYCLE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DUTYCYCLE_CONFIG_DIR", str(config_dir))
    monkeypatch.delenv("DUTYCYCLE_DATABASE_URL", raising=False)  # SQLite in the data folder: two databases compared
    reset_settings_cache()
    data_dir.mkdir(parents=True)
    if not cache:
        (data_dir / "parsed").write_text("no cache: a file where its folder would be")  # as collect met it before
    rules, pages = {}, {}
    for partnership in ("county-durham", "darlington"):
        ctx = open_cycle(partnership, YEAR)
        for source in ctx.config.sources:
            if source.kind in ("ons_mye2", "police_archive"):
                before = gx_rules_run()
                assert all(o.status == "loaded" for o in collect_source.fn(ctx, source))
                if source.kind == "ons_mye2":
                    rules[partnership] = gx_rules_run() - before
        checks, files, problems = stored_checks(ctx)
        files["received_at"] = dt.datetime(2023, 5, 1, 9)  # when each run received the file: not a verdict
        produced = dt.datetime(2023, 5, 2, 9, tzinfo=dt.UTC)
        coverage = completeness(ctx, dt.date(2023, 5, 2))
        pages[partnership] = quality_pages(ctx.config, YEAR, files, checks, problems, coverage, produced).pages
    engine = create_engine(f"sqlite:///{data_dir / 'dutycycle.db'}")
    with engine.connect() as db:
        tables = {
            table: db.execute(text(f"SELECT {columns} FROM {table} ORDER BY id")).all()  # noqa: S608 - fixed names
            for table, columns in (
                ("validation_results", "partnership, financial_year, stage, dataset, suite, subject, raw_file_id, "
                 "expectation_index, expectation_type, \"column\", severity, success, unexpected_count, description"),
                ("quarantine", "partnership, raw_file_id, source_row, \"column\", value, rule, severity"),
                ("raw_files", "partnership, source_id, original_name, sha256, status, status_reason, period, "
                 "rows_read, rows_loaded"),
            )
        }
    engine.dispose()
    dispose_engines()
    reset_settings_cache()
    return rules, pages, tables


def test_a_force_s_partnerships_store_the_same_checks_and_pages_with_the_cache_as_without(
    year: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    shutil.copytree(year / "config", config, symlinks=True)
    with_rules, with_pages, with_tables = _collect_force(tmp_path / "with", config, monkeypatch, cache=True)
    without_rules, without_pages, without_tables = _collect_force(tmp_path / "without", config, monkeypatch,
                                                                  cache=False)
    total, named = _suite_rules()
    assert without_rules == {"county-durham": total, "darlington": total}
    assert with_rules == {"county-durham": total, "darlington": named}  # the national file's own rules: once
    # and the national file itself parsed once, by the first of the force's partnerships
    parsed = [p["file"] for p in StreetParseCache(tmp_path / "with" / "parsed").parses()]
    assert sum(name.endswith("MYE2-persons.csv") for name in parsed) == 1, parsed
    assert len(with_tables["validation_results"]) > 2 * total
    for table, rows in without_tables.items():
        assert with_tables[table] == rows, table
    for partnership, pages in without_pages.items():
        for name, page in pages.items():
            differing = [line for line in difflib.unified_diff(page.splitlines(), with_pages[partnership][name].splitlines(),
                                                                lineterm="", n=0)]
            assert not differing, (partnership, name, differing[:12])
    assert with_pages.keys() == without_pages.keys()


def test_a_rule_that_could_not_run_is_never_answered_from_the_cache(tmp_path: Path) -> None:
    data = MYE2.read_bytes()
    cache = StreetParseCache(tmp_path / "parsed")
    frame = parse_mye2(data, MYE2.name).drop(columns=["All ages"]).assign(raw_file_id=1)  # its rules cannot run
    total, named = _suite_rules()

    def check(codes: list[str]):
        before = gx_rules_run()
        [outcome] = validate_frames([(frame, {"local_authority_codes": codes})], SUITE, expectations_dir=EXPECTATIONS,
                                    file_keys=[hashlib.sha256(data).hexdigest()], verdicts=cache)
        return outcome, gx_rules_run() - before

    first, rules = check(["E07000069"])
    errored = sum(o.error is not None for o in first.outcomes)
    assert rules == total and errored >= 1
    second, rules = check(["E07000075"])
    assert rules == named + errored and sum(o.error is not None for o in second.outcomes) == errored
