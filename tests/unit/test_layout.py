"""The layout rule: each stage's code lives in the package named after its flow, a stage package imports only the
shared package (never another stage's), the shared package imports no stage, and nothing in tasks imports flows."""

from __future__ import annotations

import ast

import pytest

from tasks.shared.settings import PROJECT_ROOT

TASKS = PROJECT_ROOT / "tasks"
FLOWS = PROJECT_ROOT / "flows"
SHARED = "shared"


def stage_packages() -> set[str]:
    """The stage packages: every package under tasks/ but the shared one."""
    return {p.name for p in TASKS.iterdir() if (p / "__init__.py").is_file() and p.name != SHARED}


def imported_modules(source: str) -> list[tuple[int, list[str]]]:
    """Every import statement of a piece of Python source (at the top or inside functions): its line and the
    modules it may bring in ("from tasks import compute" brings in the package tasks.compute)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, [alias.name]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]))
    return found


def _breach(package: str, module: str, stages: set[str]) -> str | None:
    parts = module.split(".")
    if parts[0] == "flows":
        return f"imports {module} (tasks never import flows)"
    if parts[0] == "tasks" and len(parts) > 1 and parts[1] in stages and parts[1] != package:
        who = "the shared package" if package == SHARED else f"stage package {package}"
        return f"{who} imports stage package {parts[1]} ({module})"
    return None


def rule_breaches(package: str, source: str, stages: set[str]) -> list[str]:
    """What a module of ``package`` (a stage name or 'shared') imports that the layout rule forbids."""
    breaches = []
    for line, modules in imported_modules(source):
        found = next((b for b in (_breach(package, m, stages) for m in modules) if b), None)
        if found:
            breaches.append(f"line {line}: {found}")
    return breaches


def test_every_stage_flow_has_its_package() -> None:
    # annual_review chains the stages and national chains annual reviews: neither is a stage with steps of its own
    flows = {p.stem for p in FLOWS.glob("*.py") if p.stem not in ("__init__", "annual_review", "national")}
    assert flows <= stage_packages(), f"flows without a stage package in tasks/: {sorted(flows - stage_packages())}"


def test_no_module_sits_loose_in_tasks() -> None:
    loose = [p.name for p in TASKS.glob("*.py") if p.name != "__init__.py"]
    assert loose == [], f"put these in a stage package or in tasks/{SHARED}/: {loose}"


def test_stage_packages_import_only_the_shared_package_and_tasks_never_import_flows() -> None:
    stages = stage_packages()
    breaches = []
    for path in sorted(TASKS.rglob("*.py")):
        relative = path.relative_to(TASKS)
        package = relative.parts[0] if len(relative.parts) > 1 else None
        if package is None:
            continue
        breaches += [f"tasks/{relative}: {b}" for b in rule_breaches(package, path.read_text(encoding="utf-8"), stages)]
    assert breaches == [], "\n".join(breaches)


@pytest.mark.parametrize(
    ("package", "source", "expected"),
    [
        ("compute", "from tasks.notify.messages import Message\n", "stage package compute imports stage package notify"),
        ("collect", "def f():\n    import tasks.validate.steps\n", "stage package collect imports stage package validate"),
        ("submit", "from tasks import compute\n", "stage package submit imports stage package compute"),
        (SHARED, "from tasks.collect.steps import collect_file\n", "the shared package imports stage package collect"),
        ("notify", "from flows.collect import collect\n", "tasks never import flows"),
    ],
)
def test_the_rule_catches_each_kind_of_breach(package: str, source: str, expected: str) -> None:
    breaches = rule_breaches(package, source, {"collect", "validate", "compute", "notify", "submit"})
    assert len(breaches) == 1 and expected in breaches[0]


def test_the_rule_allows_the_shared_package_and_a_stage_itself() -> None:
    source = "from tasks.shared.config import Source\nfrom tasks.compute.statistics import crude_rate\nimport pandas\n"
    assert rule_breaches("compute", source, {"collect", "compute"}) == []
