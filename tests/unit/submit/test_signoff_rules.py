"""Who may approve: the configured approvers of each kind of output, names and roles compared plainly."""

from __future__ import annotations

import pytest

from tasks.shared.config import ConfigError, load_partnership_config
from tasks.shared.settings import PROJECT_ROOT
from tasks.shared.signoff import allowed_approvers, approver_refusal
from tests.unit.report_helpers import demo_context


def test_the_demo_names_its_approvers_per_kind() -> None:
    config = demo_context().config
    assert allowed_approvers(config, "submission") == [
        ("Chair of the Community Safety Partnership Board", "board"), ("Sam Taylor", "Head of Community Safety")]
    assert allowed_approvers(config, "board_pack") == [("Chair of the Community Safety Partnership Board", "board")]


def test_an_allowed_approver_is_accepted_whatever_the_case_and_spacing() -> None:
    config = demo_context().config
    assert approver_refusal(config, "submission", " sam  taylor", "HEAD of community safety", "approve", "") is None


@pytest.mark.parametrize(("kind", "name", "role", "decision", "comment", "says"), [
    ("submission", "Sam Taylor", "Analyst", "approve", "", "Sam Taylor (Analyst) may not approve a submission"),
    ("submission", "Someone Else", "Head of Community Safety", "approve", "", "may not approve"),
    ("board_pack", "Sam Taylor", "Head of Community Safety", "approve", "", "may not approve a board_pack"),
    ("submission", "Sam Taylor", "Head of Community Safety", "reject", " ", "a rejection needs a comment"),
])
def test_a_person_or_role_not_allowed_is_refused_in_one_line(kind, name, role, decision, comment, says) -> None:
    refusal = approver_refusal(demo_context().config, kind, name, role, decision, comment)
    assert refusal is not None and says in refusal and "\n" not in refusal


def test_an_approver_naming_an_unknown_stakeholder_is_a_config_error(tmp_path, monkeypatch) -> None:
    import shutil

    config_dir = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config_dir, ignore=shutil.ignore_patterns("inputs", "lookups"))
    path = config_dir / "partnerships" / "castle-point-rochford" / "partnership.yaml"
    path.write_text(path.read_text().replace("- {stakeholder: csp-board}\n    - {name: Sam",
                                             "- {stakeholder: csp-bored}\n    - {name: Sam", 1))
    with pytest.raises(ConfigError, match=r"approvers.submission\[0\].stakeholder.*'csp-bored' is not in stakeholders"):
        load_partnership_config(config_dir, "castle-point-rochford")
