"""A fresh Prefect home gets the migrated database only when nothing else could be meant, never over one it has."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dutycycle.prefect_home import SKIP_ON_COPY, prefect_home, reason_not_to_seed, seed_home, seeded_prefect_home


@pytest.fixture
def template(tmp_path: Path) -> Path:
    path = tmp_path / "share" / "prefect-test.db"
    path.parent.mkdir()
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE alembic_version (version_num TEXT)")
        db.execute("INSERT INTO alembic_version VALUES ('template-head')")
    db.close()
    return path


def _version(database: Path) -> str:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_a_fresh_home_gets_a_copy_of_the_template(tmp_path: Path, template: Path) -> None:
    home = tmp_path / "home"

    assert seed_home(home, template, {}) is True

    assert _version(home / "prefect.db") == "template-head"
    assert [p.name for p in home.iterdir()] == ["prefect.db"]  # no staged copy left behind
    assert _version(template) == "template-head"  # the template is copied, not moved


def test_a_home_with_a_database_keeps_it(tmp_path: Path, template: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "prefect.db").write_bytes(b"the user's runs")

    assert seed_home(home, template, {}) is False

    assert (home / "prefect.db").read_bytes() == b"the user's runs"


@pytest.mark.parametrize("name", ["PREFECT_API_URL", "PREFECT_API_DATABASE_CONNECTION_URL",
                                  "PREFECT_SERVER_DATABASE_CONNECTION_URL", "PREFECT_PROFILES_PATH"])
def test_nothing_is_copied_when_the_api_or_its_database_is_elsewhere(tmp_path: Path, template: Path, name: str) -> None:
    home = tmp_path / "home"

    assert reason_not_to_seed(home, template, {name: "somewhere"}) == f"{name} is set"
    assert seed_home(home, template, {name: "somewhere"}) is False
    assert not (home / "prefect.db").exists()


def test_nothing_is_copied_into_a_home_with_profiles(tmp_path: Path, template: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "profiles.toml").write_text('[profiles.default]\nPREFECT_API_DATABASE_CONNECTION_URL = "postgresql://x"\n')

    assert seed_home(home, template, {}) is False
    assert not (home / "prefect.db").exists()


def test_nothing_is_copied_without_a_template(tmp_path: Path) -> None:
    home = tmp_path / "home"

    assert "no template" in reason_not_to_seed(home, tmp_path / "absent.db", {})
    assert seed_home(home, tmp_path / "absent.db", {}) is False
    assert not (home / "prefect.db").exists()


def test_the_home_is_prefects_default_unless_set(tmp_path: Path) -> None:
    assert prefect_home({"PREFECT_HOME": str(tmp_path)}) == tmp_path
    assert prefect_home({}) == Path("~/.prefect").expanduser()


def test_the_local_api_skips_migrations_only_for_the_copy_and_only_inside_the_block(
        tmp_path: Path, template: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dutycycle.prefect_home.template_path", lambda: template)
    environ = {"PREFECT_HOME": str(tmp_path / "home")}

    with seeded_prefect_home(environ) as copied:
        assert copied is True
        assert {name: environ[name] for name in SKIP_ON_COPY} == {
            "PREFECT_API_DATABASE_MIGRATE_ON_START": "false",
            "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
            "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
        }
    assert environ == {"PREFECT_HOME": str(tmp_path / "home")}  # a later API in the process migrates as usual

    with seeded_prefect_home(environ) as copied:  # the second run: the home has its database now
        assert copied is False
        assert environ == {"PREFECT_HOME": str(tmp_path / "home")}


def test_a_setting_given_by_the_environment_is_kept(tmp_path: Path, template: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dutycycle.prefect_home.template_path", lambda: template)
    environ = {"PREFECT_HOME": str(tmp_path / "home"), "PREFECT_API_DATABASE_MIGRATE_ON_START": "true"}

    with seeded_prefect_home(environ):
        assert environ["PREFECT_API_DATABASE_MIGRATE_ON_START"] == "true"
        assert environ["PREFECT_API_BLOCKS_REGISTER_ON_START"] == "false"
    assert environ == {"PREFECT_HOME": str(tmp_path / "home"), "PREFECT_API_DATABASE_MIGRATE_ON_START": "true"}
