"""stakeholders.yaml: channels per event, webhook secrets by name, and no header injection or bad address."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tasks.shared.config import ConfigError, load_partnership_config
from tasks.shared.settings import PROJECT_ROOT

DEMO = "castle-point-rochford"


def _config_with(tmp_path: Path, change) -> Path:
    root = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", root, ignore=shutil.ignore_patterns("inputs"))
    folder = root / "partnerships" / DEMO
    for name in ("stakeholders", "partnership"):
        path = folder / f"{name}.yaml"
        data = yaml.safe_load(path.read_text())
        change(name, data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return root


def test_channels_per_event_and_the_plain_list_means_email(tmp_path: Path) -> None:
    def change(name: str, data: dict) -> None:
        if name == "stakeholders":
            data["stakeholders"][0]["receives"] = {"metric_pack": ["email", "teams"], "deadline_reminder": ["slack"]}
            data["stakeholders"][0]["webhooks"] = {"teams": "csp-board", "slack": "csp-board-slack"}

    config = load_partnership_config(_config_with(tmp_path, change), DEMO)
    board = config.stakeholder("csp-board")
    assert board.channels_for("metric_pack") == ["email", "teams"] and board.channels_for("deadline_reminder") == ["slack"]
    assert board.channels_for("data_request") == []
    assert config.stakeholder("essex-police-analyst").channels_for("data_request") == ["email"]  # list form


@pytest.mark.parametrize(
    ("file", "path", "value", "key", "reason"),
    [
        ("stakeholders", ("stakeholders", 0, "email"), "board@example.org\r\nBcc: all@evil.example", "stakeholders[0].email", "single line"),
        ("stakeholders", ("stakeholders", 0, "email"), "not-an-address", "stakeholders[0].email", "not a valid e-mail address"),
        ("stakeholders", ("stakeholders", 0, "email"), "Board <board@example.org>", "stakeholders[0].email", "not a valid e-mail address"),
        ("stakeholders", ("stakeholders", 0, "name"), "Chair\nBcc: x@example.org", "stakeholders[0].name", "single line"),
        ("partnership", ("name",), "CSP\r\nX-Injected: 1", "name", "single line"),
        ("partnership", ("contact", "email"), "contact@@example.org", "contact.email", "not a valid e-mail address"),
        ("stakeholders", ("stakeholders", 0, "receives"), {"metric_pack": ["teams"]}, "stakeholders[0]",
         "webhooks.teams"),
        ("stakeholders", ("stakeholders", 0, "receives"), {"metric_pack": ["fax"]}, "stakeholders[0].receives.metric_pack[0]",
         "'email', 'teams' or 'slack'"),
    ],
)
def test_header_injection_bad_addresses_and_missing_webhooks_are_refused(
    tmp_path: Path, file: str, path: tuple, value: object, key: str, reason: str
) -> None:
    def change(name: str, data: dict) -> None:
        if name == file:
            target = data
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = value

    with pytest.raises(ConfigError) as error:
        load_partnership_config(_config_with(tmp_path, change), DEMO)
    assert error.value.path.name == f"{file}.yaml" and error.value.key == key and reason in error.value.reason
