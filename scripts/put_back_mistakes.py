"""Put each deliberate mistake of docs/mistakes.md back into the code, one at a time, run the tests that must catch
it, and restore the file: prints CAUGHT or SURVIVED per mistake (exit 1 if any survived).

Usage: .venv/bin/python scripts/put_back_mistakes.py [ID ...]   (no ID: every mistake; about 25 minutes)
Run from a clean checkout: a file with uncommitted changes is refused, as restoring means `git checkout -- FILE`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAT, CMP = "tasks/compute/statistics.py", "tasks/compute/comparisons.py"
TS = "tests/unit/compute/test_statistics.py"
TC = ("tests/unit/compute/test_comparisons.py", "tests/unit/compute/test_compute.py")
SCHEDULES = ("tests/unit/shared/test_schedules_statutory.py", "tests/flows/test_deployments.py")


@dataclass(frozen=True)
class Edit:
    file: str
    old: str
    new: str


def E(file: str, old: str, new: str) -> Edit:  # noqa: N802 - short, as the table below reads
    return Edit(file, old, new)


@dataclass(frozen=True)
class Mistake:
    id: str
    edits: list[Edit]
    tests: list[str]
    regen: bool = False  # config/deadlines.yaml changed: regenerate deployments/prefect.yaml as a developer would


MISTAKES = [
    Mistake(
        "disclosure-half-to-even",
        [
            E(
                "tasks/shared/disclosure.py",
                "int(math.floor(exact / policy.round_to + 0.5)) * policy.round_to",
                "int(round(exact / policy.round_to)) * policy.round_to",
            )
        ],
        ["tests/unit/shared/test_disclosure_rounding.py", "tests/unit/shared/test_disclosure.py"],
    ),
    Mistake(
        "nhs-check-digit-11-not-0",
        [E("tasks/collect/personal_data.py", "    if check == 11:\n        check = 0\n", "")],
        ["tests/unit/collect/test_personal_data.py"],
    ),
    Mistake(
        "outbox-key-without-recipient",
        [E("tasks/shared/outbox.py", "{self.kind}:{self.recipient.id}:{digest}", "{self.kind}:{digest}")],
        ["tests/unit/shared/test_outbox_dedupe.py"],
    ),
    Mistake(
        "outbox-key-without-content",
        [E("tasks/shared/outbox.py", "{self.kind}:{self.recipient.id}:{digest}", "{self.kind}:{self.recipient.id}")],
        ["tests/unit/shared/test_outbox_dedupe.py"],
    ),
    Mistake(
        "completeness-gt-for-ge",
        [E("tasks/shared/completeness.py", "if loaded >= expected.months:", "if loaded > expected.months:")],
        ["tests/unit/shared/test_completeness.py", "tests/unit/shared/test_completeness_properties.py"],
    ),
    Mistake(
        "reminders-off",
        [
            E(
                "tasks/deadlines/status.py",
                "    if met:\n        return []\n    due = occurrence.due",
                "    return []\n    due = occurrence.due",
            )
        ],
        ["tests/unit/deadlines"],
    ),
    Mistake(
        "completeness-overdue-on-the-due-day",
        [
            E(
                "tasks/shared/completeness.py",
                "status = OVERDUE if today > expected.due",
                "status = OVERDUE if today >= expected.due",
            )
        ],
        ["tests/unit/shared/test_completeness_properties.py"],
    ),
    Mistake(
        "deadline-watch-monthly",
        [
            E(
                "tasks/shared/schedules.py",
                'cron=f"0 {deadlines.deadline_watch_hour} * * *"',
                'cron=f"0 {deadlines.deadline_watch_hour} 1 * *"',
            )
        ],
        list(SCHEDULES),
        regen=True,
    ),
    Mistake(
        "schedule-s17a-moved",
        [
            E(
                "config/deadlines.yaml",
                "{slug: s17a-quarterly, days_before: 14,",
                "{slug: s17a-quarterly, days_before: 45,",
            )
        ],
        ["tests/unit/shared/test_schedules_statutory.py", "tests/flows/test_deployments.py"],
        regen=True,
    ),
    Mistake(
        "schedule-board-pack-without-compute",
        [
            E(
                "config/deadlines.yaml",
                "{slug: board-pack, days_before: 3, hour: 7, financial_year: current, stages: [collect, validate, compute, notify]}",
                "{slug: board-pack, days_before: 3, hour: 7, financial_year: current, stages: [collect, validate, notify]}",
            )
        ],
        ["tests/unit/shared/test_schedules_statutory.py", "tests/flows/test_deployments.py"],
        regen=True,
    ),
    Mistake(
        "schedule-monthly-without-validate",
        [
            E(
                "config/deadlines.yaml",
                "  hour: 6\n  stages: [collect, validate, notify]",
                "  hour: 6\n  stages: [collect, notify]",
            )
        ],
        ["tests/unit/shared/test_schedules_statutory.py", "tests/flows/test_deployments.py"],
        regen=True,
    ),
    Mistake(
        "trend-never-increasing",
        [
            E(
                "tasks/compute/comparisons.py",
                "marker = DECREASING if slope < 0 else INCREASING",
                "marker = DECREASING if slope < 0 else NO_SIGNIFICANT_CHANGE",
            )
        ],
        ["tests/unit/compute/test_comparisons.py", "tests/unit/compute/test_compute.py"],
    ),
    Mistake(
        "baseline-alpha-0.10",
        [E("tasks/compute/comparisons.py", "elif test.p_value < 1 - level:", "elif test.p_value < 0.10:")],
        ["tests/unit/compute/test_comparisons.py", "tests/unit/compute/test_compute.py"],
    ),
    Mistake(
        "baseline-alpha-fixed-0.05",
        [E("tasks/compute/comparisons.py", "elif test.p_value < 1 - level:", "elif test.p_value < 0.05:")],
        ["tests/unit/compute/test_comparisons.py", "tests/unit/compute/test_compute.py"],
    ),
    Mistake(
        "baseline-alpha-0.01",
        [E("tasks/compute/comparisons.py", "elif test.p_value < 1 - level:", "elif test.p_value < 0.01:")],
        ["tests/unit/compute/test_comparisons.py", "tests/unit/compute/test_compute.py"],
    ),
    Mistake(
        "baseline-alpha-half",
        [E("tasks/compute/comparisons.py", "elif test.p_value < 1 - level:", "elif test.p_value < (1 - level) / 2:")],
        ["tests/unit/compute/test_comparisons.py", "tests/unit/compute/test_compute.py"],
    ),
    Mistake(
        "exact-upper-2x+1-df",
        [
            E(
                "tasks/compute/statistics.py",
                "upper = chi2.ppf(1 - alpha / 2, 2 * (count + 1)) / 2",
                "upper = chi2.ppf(1 - alpha / 2, 2 * count + 1) / 2",
            )
        ],
        ["tests/unit/compute/test_statistics.py"],
    ),
    Mistake(
        "exact-alpha-not-halved",
        [
            E(
                "tasks/compute/statistics.py",
                "lower = 0.0 if count == 0 else chi2.ppf(alpha / 2, 2 * count) / 2",
                "lower = 0.0 if count == 0 else chi2.ppf(alpha, 2 * count) / 2",
            )
        ],
        ["tests/unit/compute/test_statistics.py"],
    ),
    Mistake(
        "byar-upper-on-count-not-count+1",
        [
            E(
                "tasks/compute/statistics.py",
                "upper = (count + 1) * (1 - 1 / (9 * (count + 1)) + z / (3 * math.sqrt(count + 1))) ** 3",
                "upper = count * (1 - 1 / (9 * count) + z / (3 * math.sqrt(count))) ** 3",
            )
        ],
        ["tests/unit/compute/test_statistics.py"],
    ),
    Mistake(
        "z-one-sided",
        [
            E(
                "tasks/compute/statistics.py",
                "return float(norm.ppf(level + (1 - level) / 2))",
                "return float(norm.ppf(level))",
            )
        ],
        ["tests/unit/compute/test_statistics.py"],
    ),
    Mistake(
        "z-rounded-1.96",
        [
            E(
                "tasks/compute/statistics.py",
                "return float(norm.ppf(level + (1 - level) / 2))",
                "return 1.96 if level == 0.95 else float(norm.ppf(level + (1 - level) / 2))",
            )
        ],
        ["tests/unit/compute/test_statistics.py"],
    ),
    Mistake(
        "exact-below-10-switch-at-11",
        [E("tasks/compute/statistics.py", "EXACT_BELOW = 10 ", "EXACT_BELOW = 11 ")],
        ["tests/unit/compute/test_statistics.py"],
    ),
    Mistake(
        "dsr-variance-weights-not-squared",
        [E("tasks/compute/statistics.py", "variance = sum(x * (w / n) ** 2 for", "variance = sum(x * (w / n) for")],
        ["tests/unit/compute/test_statistics.py"],
    ),
    Mistake(
        "dsr-min-count-9",
        [E("tasks/compute/statistics.py", "MIN_DSR_COUNT = 10 ", "MIN_DSR_COUNT = 9 ")],
        ["tests/unit/compute/test_statistics.py"],
    ),
    Mistake(
        "wilson-root-without-4",
        [
            E(
                "tasks/compute/statistics.py",
                "root = z * math.sqrt(z**2 + 4 * numerator * (1 - numerator / denominator))",
                "root = z * math.sqrt(z**2 + numerator * (1 - numerator / denominator))",
            )
        ],
        ["tests/unit/compute/test_statistics.py"],
    ),
    Mistake(
        "isr-always-byar",
        [
            E(
                "tasks/compute/statistics.py",
                "    lower, upper, method = poisson_interval(observed_total, level)\n    return RatioEstimate(",
                "    lower, upper = byar_interval(observed_total, level)\n    method = 'Byar'\n    return RatioEstimate(",
            )
        ],
        ["tests/unit/compute/test_statistics.py"],
    ),
    Mistake(
        "ratio-ci-one-sided-level",
        [
            E(
                "tasks/compute/comparisons.py",
                'interval = test.proportion_ci(confidence_level=level, method="exact")',
                'interval = test.proportion_ci(confidence_level=1 - (1 - level) * 2, method="exact")',
            )
        ],
        ["tests/unit/compute/test_comparisons.py", "tests/unit/compute/test_compute.py"],
    ),
    Mistake(
        "trend-threshold-95",
        [E("tasks/compute/comparisons.py", "TREND_CHI2_THRESHOLD = 9.5495", "TREND_CHI2_THRESHOLD = 3.8415")],
        ["tests/unit/compute/test_comparisons.py", "tests/unit/compute/test_compute.py"],
    ),
    Mistake(
        "trend-se-from-half-width-over-z-halved",
        [
            E(
                "tasks/compute/comparisons.py",
                "variances = [((hi - lo) / (2 * z)) ** 2",
                "variances = [((hi - lo) / z) ** 2",
            )
        ],
        ["tests/unit/compute/test_comparisons.py", "tests/unit/compute/test_compute.py"],
    ),
    Mistake(
        "prop-trend-drop-N-factor",
        [
            E(
                "tasks/compute/comparisons.py",
                "    statistic = total_n * (total_n * sum_xt",
                "    statistic = (total_n * sum_xt",
            )
        ],
        ["tests/unit/compute/test_comparisons.py", "tests/unit/compute/test_compute.py"],
    ),
    Mistake(
        "schedule-monthly-moved-one-day",
        [E("config/deadlines.yaml", "  day_of_month: 8\n", "  day_of_month: 9\n")],
        ["tests/unit/shared/test_schedules_statutory.py", "tests/flows/test_deployments.py"],
        regen=True,
    ),
]


def _dirty(paths: set[str]) -> list[str]:
    out = subprocess.run(["git", "status", "--porcelain", "--", *paths], cwd=ROOT, capture_output=True, text=True)
    return [line[3:] for line in out.stdout.splitlines()]


def put_back(mistake: Mistake) -> tuple[bool, str]:
    """Apply the mistake, run its tests, restore; (caught, pytest's failure lines)."""
    paths = {e.file for e in mistake.edits} | ({"deployments/prefect.yaml"} if mistake.regen else set())
    if dirty := _dirty(paths):
        raise SystemExit(f"{mistake.id}: uncommitted changes in {', '.join(dirty)}; commit or stash them first")
    try:
        for edit in mistake.edits:
            path = ROOT / edit.file
            text = path.read_text(encoding="utf-8")
            if text.count(edit.old) != 1:
                raise SystemExit(f"{mistake.id}: {edit.file} no longer holds the code this mistake changes once")
            path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")
        if mistake.regen:
            env = {**os.environ, "PREFECT_HOME": str(ROOT / ".prefect-home")}
            subprocess.run(
                [str(ROOT / ".venv/bin/dutycycle"), "deployments-yaml"],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
            )
        # -m "": a test marked slow that a mistake names still runs (pyproject deselects slow tests by default,
        # and pytest's exit 5, nothing ran, would pass for a caught mistake)
        run = subprocess.run(
            ["nice", "-n", "5", "./run", "tests", *mistake.tests, "-q", "-p", "no:cacheprovider", "-m", ""],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    finally:
        subprocess.run(["git", "checkout", "--", *sorted(paths)], cwd=ROOT, check=True)
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]
    return run.returncode != 0, "\n".join(lines[:8] + [run.stdout.strip().splitlines()[-1]] if run.stdout else lines)


def main(ids: list[str]) -> int:
    chosen = [m for m in MISTAKES if not ids or m.id in ids]
    survived = []
    for mistake in chosen:
        caught, failures = put_back(mistake)
        print(f"=== {mistake.id}: {'CAUGHT' if caught else 'SURVIVED'}\n{failures}", flush=True)
        if not caught:
            survived.append(mistake.id)
    print(f"{len(chosen) - len(survived)} of {len(chosen)} caught" + (f"; survived: {survived}" if survived else ""))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
