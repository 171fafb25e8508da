"""Small builders for the stage-report tests: the demo's cycle context and suite outcomes."""

from __future__ import annotations

from tasks.shared.context import CycleContext, open_cycle
from tasks.shared.suites import ExpectationOutcome, SuiteOutcome

DEMO = "castle-point-rochford"


def demo_context() -> CycleContext:
    return open_cycle(DEMO, "2022/23")


def rule(description: str, *, severity: str = "critical", success: bool = False) -> ExpectationOutcome:
    return ExpectationOutcome(
        expectation_type="expect_column_values_to_not_be_null", column="value", severity=severity, success=success,
        description=description, unexpected_count=0 if success else 1, unexpected_index=[],
        unexpected_values_sample=[], observed=None, error=None,
    )


def suite(*rules: ExpectationOutcome, rows: int = 10) -> SuiteOutcome:
    return SuiteOutcome(suite_name="a.suite", rows_checked=rows, outcomes=list(rules))
