"""Reconciliation that can fail: crimes in the area as parsed from the street file must equal the crimes counted
into observations; a broken aggregation is caught."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from tasks.collect.sources import police_archive
from tasks.collect.steps import collect_source
from tasks.shared.context import open_cycle
from tasks.shared.settings import PROJECT_ROOT, reset_settings_cache
from tasks.validate.steps import reconciliation

DEMO = "castle-point-rochford"
DEMO_INPUTS = PROJECT_ROOT / "config" / "partnerships" / DEMO / "inputs"


@pytest.fixture
def demo_with_one_month(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch):
    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config, ignore=shutil.ignore_patterns("inputs"))
    inbox = config / "partnerships" / DEMO / "inputs" / "police-archive"
    inbox.mkdir(parents=True)
    shutil.copy(DEMO_INPUTS / "police-archive" / "2022-12.zip", inbox)  # the real Essex file
    monkeypatch.setenv("DUTYCYCLE_CONFIG_DIR", str(config))
    reset_settings_cache()
    ctx = open_cycle(DEMO, "2022/23")
    return ctx, ctx.config.source("police-street-archive")


def test_the_real_month_reconciles(demo_with_one_month) -> None:
    ctx, source = demo_with_one_month
    [outcome] = collect_source.fn(ctx, source)
    table = reconciliation(ctx)
    assert table.to_dict("records") == [{"file": "2022-12.zip", "rows read": 13_139, "crimes in area loaded": 873,
                                         "crimes counted in observations": 873, "reconciled": True}]


def test_an_aggregation_that_loses_a_crime_does_not_reconcile(demo_with_one_month, monkeypatch) -> None:
    ctx, source = demo_with_one_month
    honest = police_archive.to_observations

    def loses_one(rows: pd.DataFrame, *args, **kwargs) -> pd.DataFrame:  # a deliberate bug in the aggregation
        return honest(rows.iloc[1:], *args, **kwargs)

    monkeypatch.setattr(police_archive, "to_observations", loses_one)
    collect_source.fn(ctx, source)
    [row] = reconciliation(ctx).to_dict("records")
    assert row["crimes in area loaded"] == 873
    assert row["crimes counted in observations"] == 872
    assert row["reconciled"] is False
