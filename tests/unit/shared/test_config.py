"""Configuration loads into models; every mistake names its file, key path and reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tasks.shared.config import ConfigError, load_partnership_config, partnership_ids
from tasks.shared.settings import PROJECT_ROOT

CONFIG = PROJECT_ROOT / "config"
DEMO = "castle-point-rochford"


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(CONFIG, target, ignore=shutil.ignore_patterns("inputs"))
    return target


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_demo_partnership_loads() -> None:
    config = load_partnership_config(CONFIG, DEMO)
    partnership = config.partnership
    assert partnership_ids(CONFIG) == [DEMO]
    assert [la.code for la in partnership.local_authorities] == ["E07000069", "E07000075"]
    assert len(partnership.lsoas) == 110
    assert partnership.police_forces[0].id == "essex"
    assert partnership.financial_year_start.month == 4
    assert {m.id for m in config.metrics.metrics if m.headline} == {
        "hospital_admissions_sharp_object", "police_knife_crime", "homicide_non_domestic"
    }


def test_misspelt_key_names_file_and_key(config_copy: Path) -> None:
    path = config_copy / "partnerships" / DEMO / "partnership.yaml"
    path.write_text(path.read_text().replace("\nname:", "\nnmae:"))
    with pytest.raises(ConfigError) as error:
        load_partnership_config(config_copy, DEMO)
    assert error.value.path == path
    assert error.value.key == "nmae"
    assert "partnership.yaml at key 'nmae': unknown key" in str(error.value)


def test_nested_bad_value_names_the_key_path(config_copy: Path) -> None:
    path = config_copy / "partnerships" / DEMO / "sources.yaml"
    _edit(path, lambda d: d["sources"][3]["template"]["period"].update(format="%d/%m/%Y"))
    with pytest.raises(ConfigError) as error:
        load_partnership_config(config_copy, DEMO)
    assert error.value.key == "sources[3].template.period.format"


def test_lsoa_of_a_non_member_authority_is_refused(config_copy: Path) -> None:
    path = config_copy / "partnerships" / DEMO / "partnership.yaml"
    _edit(path, lambda d: d["lsoas"][0].update(local_authority="E07000070"))
    with pytest.raises(ConfigError, match="not a member"):
        load_partnership_config(config_copy, DEMO)


def test_source_owner_must_be_a_stakeholder(config_copy: Path) -> None:
    path = config_copy / "partnerships" / DEMO / "sources.yaml"
    _edit(path, lambda d: d["sources"][0].update(owner="nobody"))
    with pytest.raises(ConfigError) as error:
        load_partnership_config(config_copy, DEMO)
    assert error.value.key == "sources[0].owner"


def test_invalid_yaml_reports_line(config_copy: Path) -> None:
    path = config_copy / "metrics.yaml"
    path.write_text("age_bands: [unclosed\n")
    with pytest.raises(ConfigError, match=r"metrics.yaml: not valid YAML: line \d+"):
        load_partnership_config(config_copy, DEMO)


def test_metric_versions_in_force_follow_valid_from(config_copy: Path) -> None:
    import datetime as dt

    path = config_copy / "metrics.yaml"

    def add_version(data: dict) -> None:
        newer = dict(data["metrics"][0], version=2, valid_from="2023-04-01", title="changed definition")
        data["metrics"].append(newer)

    _edit(path, add_version)
    metrics = load_partnership_config(config_copy, DEMO).metrics
    in_2022 = {m.id: m.version for m in metrics.in_force(dt.date(2023, 3, 31))}
    in_2023 = {m.id: m.version for m in metrics.in_force(dt.date(2024, 3, 31))}
    assert in_2022["hospital_admissions_sharp_object"] == 1
    assert in_2023["hospital_admissions_sharp_object"] == 2


def test_unknown_partnership_lists_the_configured_ones() -> None:
    with pytest.raises(ConfigError, match=f"configured: {DEMO}"):
        load_partnership_config(CONFIG, "nowhere")


def test_a_config_file_changed_on_disk_is_read_again(config_copy: Path) -> None:
    """A process keeps each file's validated model while the file is unchanged, and reads it again once changed."""
    path = config_copy / "partnerships" / DEMO / "partnership.yaml"
    first = load_partnership_config(config_copy, DEMO)
    assert load_partnership_config(config_copy, DEMO).partnership is first.partnership, "unchanged: kept"
    assert first.partnership.name == "Castle Point and Rochford Community Safety Partnership (demo)"
    # the same length, written at once: only the text tells the change apart (size and time may be the same)
    path.write_text(path.read_text().replace("Partnership (demo)", "Partnership (test)"))
    assert load_partnership_config(config_copy, DEMO).partnership.name == \
        "Castle Point and Rochford Community Safety Partnership (test)"
    metrics = config_copy / "metrics.yaml"
    _edit(metrics, lambda d: d["metrics"][0].update(title="Renamed metric"))
    assert load_partnership_config(config_copy, DEMO).metrics.metrics[0].title == "Renamed metric"
    # a mistake is reported every time, never answered by the model read before it
    path.write_text(path.read_text().replace("\nname:", "\nnmae:"))
    for _ in range(2):
        with pytest.raises(ConfigError, match="at key 'nmae': unknown key"):
            load_partnership_config(config_copy, DEMO)
