"""The real monthly archive holds every force and many months: only the partnership's forces are read, each month
is registered, checked and loaded on its own, and a file whose name and contents disagree about the month is refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from tasks.collect.steps import collect_source
from tasks.shared.context import open_cycle
from tasks.shared.settings import reset_settings_cache
from tasks.shared.storage.models import Observation, RawFile
from tasks.shared.storage.session import session_scope
from tests.unit.collect.real_forces import STREET_FILES, write_force_partnership

pytestmark = pytest.mark.skipif(not STREET_FILES.is_dir(), reason="../shared/data/police_street is not beside the project")


def archive(members: dict[str, Path]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, path in members.items():
            zipped.writestr(name, path.read_bytes())
    return buffer.getvalue()


@pytest.fixture
def thames_valley(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config"
    config.mkdir()
    monkeypatch.setenv("DUTYCYCLE_CONFIG_DIR", str(config))
    reset_settings_cache()
    write_force_partnership(config, "thames-valley", "Thames Valley", [])
    (config / "partnerships" / "thames-valley" / "sources.yaml").write_text(
        (config / "partnerships" / "thames-valley" / "sources.yaml").read_text().replace("'*-street.csv'", "'*.zip'")
    )
    return config / "partnerships" / "thames-valley" / "inputs" / "police-archive"


def test_a_many_month_many_force_archive_is_collected_month_by_month(thames_valley: Path) -> None:
    (thames_valley / "latest.zip").write_bytes(archive({
        "2019-01/2019-01-thames-valley-street.csv": STREET_FILES / "2019-01-thames-valley-street.csv",
        "2024-01/2024-01-thames-valley-street.csv": STREET_FILES / "2024-01-thames-valley-street.csv",
        "2024-01/2024-01-kent-street.csv": STREET_FILES / "2024-01-kent-street.csv",  # another force: not read
    }))
    ctx = open_cycle("thames-valley", "2023/24")
    outcomes = collect_source.fn(ctx, ctx.config.source("police-street-archive"))
    assert [(o.original_name, o.period, o.status) for o in outcomes] == [
        ("latest.zip:2019-01", "2019-01", "loaded"), ("latest.zip:2024-01", "2024-01", "loaded")
    ]
    assert [o.rows_read for o in outcomes] == [14_993, 15_606]  # SOURCES.md: the two force-months' rows
    with session_scope(ctx.database_url) as session:
        container = session.scalars(select(RawFile).where(RawFile.original_name == "latest.zip")).one()
        assert (container.status, container.period) == ("expanded", "2019-01/2024-01")
        assert Path(container.stored_path).read_bytes() == (thames_valley / "latest.zip").read_bytes()
        months = {str(m) for m in session.scalars(select(Observation.period_start).distinct())}
    assert months == {"2019-01-01", "2024-01-01"}

    counts = len(outcomes)
    again = collect_source.fn(ctx, ctx.config.source("police-street-archive"))  # a re-run adds nothing
    assert len(again) == counts and all(o.status == "loaded" for o in again)
    with session_scope(ctx.database_url) as session:
        assert len(session.scalars(select(RawFile)).all()) == 3


def test_an_archive_named_for_one_month_holding_another_is_refused(thames_valley: Path) -> None:
    (thames_valley / "2019-02.zip").write_bytes(
        archive({"2019-01/2019-01-thames-valley-street.csv": STREET_FILES / "2019-01-thames-valley-street.csv"})
    )
    ctx = open_cycle("thames-valley", "2018/19")
    [outcome] = collect_source.fn(ctx, ctx.config.source("police-street-archive"))
    assert outcome.status == "quarantined"
    assert "named for 2019-02 but holds 2019-01/2019-01-thames-valley-street.csv" in outcome.reason
    with session_scope(ctx.database_url) as session:
        assert session.scalars(select(Observation)).all() == []
