"""Collect from the APIs: answers written unchanged, stored, checked and loaded, against local servers that speak
data.police.uk, Fingertips and Nomis; a second collection fetches and loads nothing new."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from tasks.collect.sources import police_archive
from tasks.collect.sources.police_api import CRIME_TYPES
from tasks.collect.steps import collect_source
from tasks.shared.context import open_cycle
from tasks.shared.settings import PROJECT_ROOT, reset_settings_cache
from tasks.shared.storage.models import Observation, RawFile
from tasks.shared.storage.session import session_scope, table_row_counts
from tests.servers.fingertips import FingertipsFake
from tests.servers.nomis import NomisFake
from tests.servers.police_api import PoliceApiFake, synthetic_street_crimes

DEMO = "castle-point-rochford"
MONTHS = ["2022-04", "2022-05", "2022-06"]
# two member authorities side by side inside the fake's crime grid
BOUNDARIES = {
    "E07000069": [[51.30, -0.20], [51.50, -0.20], [51.50, -0.01], [51.30, -0.01]],
    "E07000075": [[51.30, 0.01], [51.50, 0.01], [51.50, 0.20], [51.30, 0.20]],
}


@pytest.fixture
def api_partnership(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config, ignore=shutil.ignore_patterns("inputs"))
    folder = config / "partnerships" / DEMO
    partnership = yaml.safe_load((folder / "partnership.yaml").read_text())
    for authority in partnership["local_authorities"]:
        authority["boundary"] = BOUNDARIES[authority["code"]]
    (folder / "partnership.yaml").write_text(yaml.safe_dump(partnership, sort_keys=False))
    sources = [
        {"id": "police-api", "kind": "police_api", "dataset": "police_street", "title": "data.police.uk API",
         "owner": "essex-police-analyst", "location": "inputs/police-api", "pattern": "*.manifest.json",
         "cadence": "month"},
        {"id": "fingertips-api", "kind": "fingertips", "dataset": "fingertips", "title": "Fingertips API",
         "owner": "ons", "location": "inputs/fingertips", "pattern": "*.csv", "indicator_ids": [93356],
         "api_area_type_id": 102},
        {"id": "nomis", "kind": "nomis_population", "dataset": "population", "title": "Nomis NM_2002_1",
         "owner": "ons", "location": "inputs/nomis", "pattern": "nomis-*.csv"},
    ]
    (folder / "sources.yaml").write_text(yaml.safe_dump({"sources": sources}, sort_keys=False))
    monkeypatch.setenv("DUTYCYCLE_CONFIG_DIR", str(config))
    reset_settings_cache()
    return folder


def _point_api_at(monkeypatch: pytest.MonkeyPatch, **urls: str) -> None:
    for name, url in urls.items():
        monkeypatch.setenv(f"DUTYCYCLE_{name.upper()}_API_URL", url)
    reset_settings_cache()


def test_police_api_months_are_fetched_stored_and_counted_once(
    api_partnership: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crimes = synthetic_street_crimes(4_000, MONTHS)
    with PoliceApiFake(crimes, max_crimes=100) as fake:  # ~200 crimes an area-month: every one must be split
        _point_api_at(monkeypatch, police=fake.base_url)
        ctx = open_cycle(DEMO, "2022/23")
        source = ctx.config.source("police-api")
        outcomes = collect_source.fn(ctx, source)
        assert [o.status for o in outcomes] == ["loaded"] * 6  # 3 months x 2 authorities
        truth = {(code, month): fake.ids_in([tuple(p) for p in ring], month)
                 for code, ring in BOUNDARIES.items() for month in MONTHS}

        with session_scope(ctx.database_url) as session:
            rows = session.execute(select(Observation.area_code, Observation.period_start, Observation.measure,
                                          Observation.value)).all()
            manifests = session.scalars(select(RawFile).where(RawFile.original_name.like("%.manifest.json"))).all()
        by_crime = {c["id"]: c for c in crimes}
        for (code, month), ids in truth.items():
            expected = Counter(police_archive.crime_type_measure(CRIME_TYPES[by_crime[i]["category"]]) for i in ids)
            got = {m: v for a, p, m, v in rows if a == code and p.strftime("%Y-%m") == month}
            assert got == {k: float(v) for k, v in expected.items()}, (code, month)

        # every answer the manifest lists is in the raw store, byte for byte
        manifest = json.loads(Path(manifests[0].stored_path).read_bytes())
        assert manifest["splits"] > 0 and len(manifest["answers"]) > 1
        for answer in manifest["answers"]:
            stored = ctx.settings.raw_store_dir / answer["sha256"][:2] / f"{answer['sha256']}.json"
            assert stored.is_file()

        requests_before = len(fake.log)
        counts = table_row_counts(ctx.database_url)
        collect_source.fn(ctx, source)
        assert table_row_counts(ctx.database_url) == counts
        assert len(fake.log) - requests_before == 1  # only the months-available call: nothing re-fetched


def test_fingertips_and_nomis_answers_become_observations(api_partnership: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    areas = {"E07000069": "Castle Point", "E07000075": "Rochford"}
    with FingertipsFake() as fingertips, NomisFake(areas, [2018, 2019, 2020, 2021, 2022]) as nomis:
        _point_api_at(monkeypatch, fingertips=fingertips.base_url, nomis=nomis.base_url)
        ctx = open_cycle(DEMO, "2022/23")
        [export] = collect_source.fn(ctx, ctx.config.source("fingertips-api"))
        assert export.status == "loaded" and export.rows_read == 852  # the real recorded export
        pages = collect_source.fn(ctx, ctx.config.source("nomis"))
        assert [p.status for p in pages] == ["loaded"] * 5 and {p.period for p in pages} == {
            f"mid-{y}" for y in range(2018, 2023)
        }
        with session_scope(ctx.database_url) as session:
            population = session.execute(
                select(Observation.area_code, Observation.age_band).where(Observation.dataset == "population")
            ).all()
        assert len(population) == 5 * 2 * 91  # five years, two authorities, ages 0..89 and 90+
        counts = table_row_counts(ctx.database_url)
        collect_source.fn(ctx, ctx.config.source("fingertips-api"))
        collect_source.fn(ctx, ctx.config.source("nomis"))
        assert table_row_counts(ctx.database_url) == counts


def test_an_unreachable_service_is_reported_and_other_files_still_collect(
    api_partnership: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _point_api_at(monkeypatch, fingertips="http://127.0.0.1:9/api/")  # nothing listens on the discard port
    monkeypatch.setenv("DUTYCYCLE_HTTP_MAX_ATTEMPTS", "1")
    reset_settings_cache()
    ctx = open_cycle(DEMO, "2022/23")
    folder = ctx.config.source_folder(ctx.config.source("fingertips-api"))
    folder.mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "tests/fixtures/fingertips-93356-CountyUA.csv", folder / "earlier-export.csv")
    [outcome] = collect_source.fn(ctx, ctx.config.source("fingertips-api"))
    assert outcome.status == "loaded"
