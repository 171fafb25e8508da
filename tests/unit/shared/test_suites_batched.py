"""Checking a collection's files together gives each file exactly the verdict it gets alone.

The expected outcomes are not restated: they are what ``validate_frame`` says of each frame on its own (the
one-run-per-file path every other suite test covers); ``validate_frames`` must return the same objects, rule
by rule, failing rows and sampled values included, for the demo's every input file and for the bad-input
corpus mixed in among good files, where a bad file must fail alone and never stain its neighbours.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tasks.collect.sources.common import InputFileError, discover_files
from tasks.collect.steps import parse_file
from tasks.shared.context import open_cycle
from tasks.shared.settings import PROJECT_ROOT
from tasks.shared.suites import gx_runs, validate_frame, validate_frames

DEMO = "castle-point-rochford"
CORPUS = PROJECT_ROOT / "tests" / "bad_inputs"


def _parsed(ctx, source, name: str, data: bytes, raw_file_id: int):
    try:
        parsed = parse_file(ctx, source, data, name, raw_file_id)
    except InputFileError:  # refused before any suite runs (unreadable, personal data): not this test's matter
        return None
    return parsed.frame, parsed.suite_parameters


def _one_by_one(items, suite: str, expectations_dir: Path):
    return [validate_frame(f, suite, expectations_dir=expectations_dir, parameters=p) for f, p in items]


@pytest.fixture(scope="module")
def ctx():
    return open_cycle(DEMO, "2022/23")


def test_every_demo_source_checked_together_gives_each_file_its_own_verdict(ctx) -> None:
    checked, batched_runs = 0, 0
    for source in ctx.config.sources:
        items = []
        files = list(discover_files(ctx.config.source_folder(source), source.patterns))
        for number, found in enumerate(files[:6] + files[-6:] if len(files) > 12 else files):  # both ends of time
            if (item := _parsed(ctx, source, found.name, found.data, number + 1)) is not None:
                items.append(item)
        runs = gx_runs()
        together = validate_frames(items, source.suite_name, expectations_dir=ctx.settings.expectations_dir)
        batched_runs += gx_runs() - runs
        assert together == _one_by_one(items, source.suite_name, ctx.settings.expectations_dir), source.id
        checked += len(items)
    assert checked > 40
    assert batched_runs < checked / 3, "the files were not checked together"


def test_bad_returns_among_good_ones_fail_alone(ctx) -> None:
    manifest = yaml.safe_load((CORPUS / "MANIFEST.yaml").read_text(encoding="utf-8"))
    source = ctx.config.source("police-knife-crime")
    good = [_parsed(ctx, source, f.name, f.data, 1000 + n)
            for n, f in enumerate(discover_files(ctx.config.source_folder(source), source.patterns))]
    items = [item for item in good if item is not None]
    for number, entry in enumerate(manifest["files"]):
        if entry.get("source", "police-knife-crime") != source.id or entry.get("generated"):
            continue
        if (item := _parsed(ctx, source, entry["file"], (CORPUS / entry["file"]).read_bytes(), number + 1)) is not None:
            items.append(item)
    alone = _one_by_one(items, source.suite_name, ctx.settings.expectations_dir)
    assert sum(o.status == "failed" for o in alone) >= 5 and sum(o.status != "failed" for o in alone) >= 5
    runs = gx_runs()
    assert validate_frames(items, source.suite_name, expectations_dir=ctx.settings.expectations_dir) == alone
    assert gx_runs() - runs < len(items) / 2, "the files were not checked together"


def test_per_file_months_and_crime_ids_are_judged_within_their_file(ctx) -> None:
    """The same street month twice: its Crime IDs repeat across the two copies but not within either, so both
    pass; a copy whose rows claim another file's month fails that rule, and only that copy does."""
    source = ctx.config.source("police-street-archive")
    found = next(iter(discover_files(ctx.config.source_folder(source), source.patterns)))
    frame, parameters = _parsed(ctx, source, found.name, found.data, 1)
    month = parameters["expected_months"][0]
    moved = frame.assign(Month="2019-01")
    other = {**parameters, "expected_months": ["2019-01"]}
    items = [(frame, parameters), (frame.copy(), parameters), (frame.copy(), other), (moved, parameters)]
    together = validate_frames(items, source.suite_name, expectations_dir=ctx.settings.expectations_dir)
    assert together == _one_by_one(items, source.suite_name, ctx.settings.expectations_dir)
    unique = [[o for o in outcome.outcomes if o.expectation_type == "expect_column_values_to_be_unique"][0]
              for outcome in together]
    assert [u.success for u in unique] == [True] * 4, month
    month_rule = [o for o in together[2].outcomes if o.expectation_type == "expect_column_values_to_be_in_set"
                  and o.column == "Month"][0]
    assert not month_rule.success and month_rule.unexpected_count == len(frame)
    assert together[3].status == "failed"


def test_a_population_file_without_an_authority_fails_alone(ctx) -> None:
    """"Every member authority has a row" is about a file's distinct values as a whole: the file lacking one
    fails, the files beside it pass, as each does alone."""
    source = ctx.config.source("ons-population")
    items = [_parsed(ctx, source, f.name, f.data, n + 1)
             for n, f in enumerate(discover_files(ctx.config.source_folder(source), source.patterns))]
    frame, parameters = items[0]
    member = parameters["local_authority_codes"][0]
    items.insert(1, (frame[frame["Code"] != member], parameters))
    together = validate_frames(items, source.suite_name, expectations_dir=ctx.settings.expectations_dir)
    assert together == _one_by_one(items, source.suite_name, ctx.settings.expectations_dir)
    contains = [[o for o in outcome.outcomes if o.expectation_type == "expect_column_distinct_values_to_contain_set"][0]
                for outcome in together]
    assert [c.success for c in contains] == [True, False] + [True] * (len(items) - 2)
