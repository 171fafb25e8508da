"""The reliability record: what each fault test injected and each bad input tried, and what the test measured.

A pytest plugin (registered in tests/conftest.py). A test asks for the ``reliability`` fixture, names its case
(``reliability.fault(...)`` or ``reliability.bad_input(...)``) and then states what it measured through it:
``kept(what, observed, expected)`` for things that must all survive exactly once (rows, messages, deliveries,
files, bytes: fewer is "lost", more is "doubled"), ``check(what, observed, expected)`` for any other count
(temporary files left, answers served, exit code), and ``outcome(word)`` for the observed fate (kept, refused,
quarantined, retried, lost). Each of these asserts what it records, so the record holds the test's own numbers.

With ``--reliability-report PATH`` the session writes PATH at its end: a table of faults, a table of the bad-input
corpus (every file of tests/bad_inputs/MANIFEST.yaml, run or not) and one summary line, which says "Lost: nothing"
only when every case ran, passed and lost nothing. Sorted, without times, so the same run writes the same file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

TESTS = Path(__file__).resolve().parent
MANIFEST = TESTS / "bad_inputs" / "MANIFEST.yaml"
FAULT_MODULES = TESTS / "faults"
# Fault tests that live beside the code they test rather than in tests/faults/: a complete run must include them too.
RECORDED_ELSEWHERE = (
    "unit/shared/test_http.py",  # HTTP 429, 5xx and timeouts in the shared client
    "unit/collect/test_fingertips_api.py",  # 5xx from the Fingertips API
    "unit/collect/test_police_api.py",  # 503 splits and 500s from data.police.uk
    "unit/collect/test_nomis.py",  # 500s from Nomis
    "unit/shared/test_outbox_exactly_once.py",  # sender killed, database locked, SMTP and webhooks failing
    "flows/test_sign_off_and_delivery.py",  # the submission's upload killed mid-body
)
OUTCOMES = ("kept", "refused", "quarantined", "retried", "lost")

FAULT, BAD_INPUT = "fault", "bad input"


@dataclass
class Measure:
    """One quantity a test measured and asserted: ``kept`` quantities count as lost or doubled when they differ."""

    what: str
    observed: object
    expected: object
    kept: bool

    @property
    def ok(self) -> bool:
        return self.observed == self.expected

    def text(self) -> str:
        if self.ok:
            return f"{self.what}: {self.observed}"
        return f"{self.what}: **{self.observed}, expected {self.expected}**"


@dataclass
class Case:
    """A fault injected or a bad input tried by one test, with what that test observed and its verdict."""

    nodeid: str
    kind: str = ""
    name: str = ""
    injected: str = ""
    where: str = ""
    outcomes: list[str] = field(default_factory=list)
    measures: list[Measure] = field(default_factory=list)
    said: str = ""
    verdict: str = "not run"
    detail: str = ""

    # --- the API a test calls ------------------------------------------------------------------------------------

    def fault(self, name: str, injected: str, where: str) -> Case:
        """Name the fault this test injects: what it is, how it is injected, where in the product it lands."""
        return self._name(FAULT, name, injected, where)

    def bad_input(self, file: str, where: str, injected: str = "") -> Case:
        """Name the corpus file (as listed in tests/bad_inputs/MANIFEST.yaml) this test feeds to ``where``."""
        return self._name(BAD_INPUT, file, injected, where)

    def kept(self, what: str, observed: object, expected: object) -> object:
        """Record and assert a quantity that must survive exactly once: fewer is lost, more is doubled."""
        return self._measure(what, observed, expected, kept=True)

    def check(self, what: str, observed: object, expected: object, detail: object = None) -> object:
        """Record and assert any other measured quantity (leftover files, answers served, exit code); ``detail``
        goes into the assertion message only (e.g. which files leaked)."""
        return self._measure(what, observed, expected, kept=False, detail=detail)

    def outcome(self, observed: str, expected: str | None = None) -> str:
        """Record the fate the test observed (one of OUTCOMES); with ``expected``, assert it."""
        self.outcomes.append(observed)
        if expected is not None:
            assert observed == expected, f"outcome: {observed}, expected {expected}"
        assert observed in OUTCOMES, f"outcome {observed!r} is not one of {', '.join(OUTCOMES)}"
        return observed

    def message(self, text: str | None) -> None:
        """Record the one-line message the product gave (a refusal, a quarantine reason), as the reader sees it."""
        self.said = " ".join((text or "").split())

    # --- derived -------------------------------------------------------------------------------------------------

    @property
    def lost(self) -> list[str]:
        """What the test found missing or doubled, in words; empty when every kept quantity matched."""
        found = []
        for m in self.measures:
            if m.kept and not m.ok:
                try:
                    short = int(m.expected) - int(m.observed)  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    found.append(f"{m.what} differ")
                    continue
                found.append(f"lost {short} {m.what}" if short > 0 else f"doubled {-short} {m.what}")
        if "lost" in self.outcomes:
            found.append("lost")
        return found

    @property
    def sound(self) -> bool:
        """Passed, named, and nothing lost or doubled: the only state that lets the record say 'Lost: nothing'."""
        return self.verdict == "passed" and bool(self.kind) and not self.lost and all(m.ok for m in self.measures)

    def _name(self, kind: str, name: str, injected: str, where: str) -> Case:
        if self.kind:
            raise RuntimeError(f"{self.nodeid}: one case per test (already {self.kind} {self.name!r})")
        self.kind, self.name, self.injected, self.where = kind, name, injected, where
        return self

    def _measure(self, what: str, observed: object, expected: object, kept: bool, detail: object = None) -> object:
        if not self.kind:
            raise RuntimeError(f"{self.nodeid}: name the case (fault or bad_input) before measuring")
        self.measures.append(Measure(what, observed, expected, kept))
        assert observed == expected, f"{what}: {observed}, expected {expected}" + (f" ({detail})" if detail else "")
        return observed


class Record:
    """Every case of the session, by test id, and what the selection left out."""

    def __init__(self) -> None:
        self.cases: dict[str, Case] = {}
        self.deselected: list[str] = []
        self.fault_modules_run: set[str] = set()  # paths relative to tests/

    def case(self, nodeid: str) -> Case:
        return self.cases.setdefault(nodeid, Case(nodeid))

    def bad_inputs(self) -> dict[str, Case]:
        return {c.name: c for c in self.cases.values() if c.kind == BAD_INPUT}


def fault_modules() -> list[str]:
    """Every module a complete run must include, relative to tests/: tests/faults/ and RECORDED_ELSEWHERE."""
    return sorted([f"faults/{p.name}" for p in FAULT_MODULES.glob("test_*.py")] + list(RECORDED_ELSEWHERE))


RECORD = pytest.StashKey[Record]()
# the verdict of a case marked `postgresql` in a run on SQLite: not a failure, and not a claim either (the summary
# names these cases; .ci/run's PostgreSQL pass runs them)
POSTGRESQL_ONLY = "PostgreSQL only"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("dutycycle").addoption(
        "--reliability-report", metavar="PATH", default=None,
        help="write the reliability record (faults injected, bad inputs tried, what was lost) to PATH")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RECORD] = Record()


def _is_case(item: pytest.Item) -> bool:
    return item.get_closest_marker("faults") is not None or "reliability" in getattr(item, "fixturenames", ())


@pytest.hookimpl(trylast=True)  # after -m / -k / --deselect have removed their items
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    record = config.stash[RECORD]
    for item in items:
        if _is_case(item):
            record.case(item.nodeid)  # listed even if it never runs (-x, a crash) or never records
            module = Path(item.path).resolve().relative_to(TESTS).as_posix()
            if Path(item.path).parent == FAULT_MODULES or module in RECORDED_ELSEWHERE:
                record.fault_modules_run.add(module)


@pytest.hookimpl(trylast=True)
def pytest_deselected(items: list[pytest.Item]) -> None:
    for item in items:
        if _is_case(item):
            item.config.stash[RECORD].deselected.append(item.nodeid)


@pytest.fixture
def reliability(request: pytest.FixtureRequest) -> Case:
    """This test's case in the reliability record: name it, then record (and assert) what was measured."""
    return request.config.stash[RECORD].case(request.node.nodeid)


@pytest.fixture
def reliability_record(request: pytest.FixtureRequest) -> Record:
    """The whole session's record so far (for the test that every corpus file is in it)."""
    return request.config.stash[RECORD]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    record = item.config.stash[RECORD]
    if item.nodeid not in record.cases:
        return report
    case = record.cases[item.nodeid]
    decisive = report.when == "call" or (report.when == "setup" and not report.passed) or report.failed
    if decisive:
        if hasattr(report, "wasxfail"):
            case.verdict, case.detail = ("xfailed" if report.skipped else "xpassed"), str(report.wasxfail)
        elif report.skipped and item.get_closest_marker("postgresql") is not None:
            # a fault only PostgreSQL has (a password, a server dropping connections): the PostgreSQL pass runs it
            case.verdict, case.detail = POSTGRESQL_ONLY, _skip_reason(report)
        elif report.skipped:
            case.verdict, case.detail = "skipped", _skip_reason(report)
        elif report.failed:
            case.verdict = "failed" if report.when == "call" else f"error in {report.when}"
            case.detail = _failure_line(report)
        elif case.verdict == "not run":
            case.verdict = "passed"
    return report


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]).removeprefix("Skipped: ") if isinstance(longrepr, tuple) else str(longrepr)


# temporary paths, addresses and the ports local test servers were given: they differ run to run
TEMPORARY = re.compile(r"/tmp/[^\s)]+|0x[0-9a-f]{6,}|(?<=127\.0\.0\.1:)\d+")


def _failure_line(report: pytest.TestReport) -> str:
    """The failure's assertion line, one line, without temporary paths, addresses or ports (they differ run to run)."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    line = next((s for s in text.splitlines() if s.strip()), "")
    return TEMPORARY.sub("…", line)[:160]


# --- the document ------------------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _outcome_cell(case: Case) -> str:
    words = ", ".join(dict.fromkeys(case.outcomes)) or "-"
    if case.said:
        said = case.said if len(case.said) <= 200 else case.said[:199] + "…"
        words += f": “{TEMPORARY.sub('…', said)}”"
    return f"{words}; **{'; '.join(case.lost)}**" if case.lost else words


def _verdict_cell(case: Case) -> str:
    if case.verdict == "passed" and not case.kind:
        return "**recorded nothing**"
    verdict = case.verdict if case.verdict == "passed" else f"**{case.verdict}**"
    return f"{verdict}: {case.detail}" if case.detail else verdict


def _test_cell(nodeid: str) -> str:
    return f"`{nodeid.split('[')[0]}`"


def _manifest() -> list[dict]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["files"]


def render(record: Record, selection: str) -> str:
    """The reliability record as Markdown: deterministic for a given set of outcomes."""
    manifest = _manifest()
    listed = {entry["file"] for entry in manifest}
    faults = sorted((c for c in record.cases.values() if c.kind != BAD_INPUT), key=lambda c: c.nodeid)
    by_file: dict[str, list[Case]] = {}
    for case in record.cases.values():
        if case.kind == BAD_INPUT:
            by_file.setdefault(case.name, []).append(case)
    unlisted = sorted(set(by_file) - listed)
    not_run_files = sorted(listed - set(by_file))
    modules_missing = [m for m in fault_modules() if m not in record.fault_modules_run]
    not_run = sorted(c.nodeid for c in record.cases.values() if c.verdict == "not run")

    gaps = []
    if modules_missing:
        gaps.append(f"fault modules not run: {', '.join(modules_missing)}")
    if record.deselected:
        gaps.append(f"{len(record.deselected)} recorded tests deselected")
    if not_run_files:
        gaps.append(f"{len(not_run_files)} of {len(listed)} corpus files not tried")
    if not_run:
        gaps.append(f"{len(not_run)} selected tests never ran")

    elsewhere = sorted(c.nodeid for c in record.cases.values() if c.verdict == POSTGRESQL_ONLY)
    cases = [c for c in record.cases.values() if c.verdict != POSTGRESQL_ONLY]
    unsound = [c for c in cases if not c.sound]
    lost = [c for c in cases if c.lost]
    lines = [
        "# Reliability record",
        "",
        "Written by the test run, not by hand (`tests/reliability.py`; README, Tests). Each row is one test's case: the",
        "fault it injected or the bad input it tried, the outcome it observed and the counts it measured and asserted",
        "(observed value; **observed, expected** where they differ), and its verdict.",
        "",
        f"Test selection: `{selection}`.",
        "",
    ]
    if gaps:
        lines += [f"**Partial run**: {'; '.join(gaps)}. This record covers only the cases below.", ""]
    else:
        lines += ["Complete run: every module of tests/faults/, the fault tests kept beside their code "
                  f"({', '.join(f'tests/{m}' for m in RECORDED_ELSEWHERE)}) and every file of "
                  "tests/bad_inputs/MANIFEST.yaml.", ""]
    ran_faults = [c for c in faults if c.verdict != POSTGRESQL_ONLY]
    tally = f"{len(ran_faults)} faults, {sum(len(v) for v in by_file.values())} bad-input cases"
    if cases and not unsound and not not_run_files and not gaps:
        lines.append(f"**Lost: nothing.** {tally}; every case passed and every count matched.")
        if elsewhere:
            lines.append("")
            lines.append(f"Not in this claim: {len(elsewhere)} fault case(s) that need PostgreSQL, skipped on this "
                         "database and run by the PostgreSQL pass of `.ci/run`: "
                         + ", ".join(f"`{n}`" for n in elsewhere) + ".")
    elif cases and not unsound and not not_run_files:
        lines.append(f"Nothing lost in the {tally} run here; a partial run makes no claim for the rest.")
    else:
        problems = []
        if lost:
            problems.append(f"{len(lost)} lost or doubled something")
        failed = [c for c in unsound if c.verdict not in ("passed", "not run")]
        if failed:
            problems.append(f"{len(failed)} did not pass")
        silent = [c for c in cases if c.verdict == "passed" and not c.kind]
        if silent:
            problems.append(f"{len(silent)} recorded nothing")
        if not_run or not_run_files:
            problems.append(f"{len(not_run) + len(not_run_files)} not run")
        if not cases:
            problems.append("no case was recorded")
        lines.append(f"**Not proven that nothing was lost**: {tally}; {'; '.join(problems)}.")
    lines += ["", "## Faults injected", "",
              "| fault | injected | where | outcome | measured | verdict | test |", "|---|---|---|---|---|---|---|"]
    for c in faults:
        name = c.name or c.nodeid.split("::")[-1]
        lines.append("| " + " | ".join(_cell(x) for x in (
            name, c.injected, c.where, _outcome_cell(c), "; ".join(m.text() for m in c.measures) or "-",
            _verdict_cell(c), _test_cell(c.nodeid))) + " |")
    lines += ["", "## Bad inputs tried", "",
              "Every file of tests/bad_inputs/MANIFEST.yaml (its `defect` column) and any other file a test fed in.", "",
              "| file | defect | where | outcome | measured | verdict | test |", "|---|---|---|---|---|---|---|"]
    defects = {entry["file"]: entry.get("defect", "") for entry in manifest}
    for name in sorted(listed | set(unlisted)):
        runs = sorted(by_file.get(name, []), key=lambda c: c.nodeid)
        defect = defects.get(name, "(not in MANIFEST.yaml)")
        if not runs:
            lines.append("| " + " | ".join(_cell(x) for x in (name, defect, "-", "-", "-", "**not run**", "-")) + " |")
        for c in runs:
            lines.append("| " + " | ".join(_cell(x) for x in (
                name, defect, c.where, _outcome_cell(c), "; ".join(m.text() for m in c.measures) or "-",
                _verdict_cell(c), _test_cell(c.nodeid))) + " |")
    return "\n".join(lines) + "\n"


def _selection(config: pytest.Config) -> str:
    """The test selection as given on the command line, without the report's own option."""
    parts = [str(a) for a in config.args]
    for option, flag in (("markexpr", "-m"), ("keyword", "-k")):
        if value := getattr(config.option, option, ""):
            parts.append(f'{flag} "{value}"')
    for value in getattr(config.option, "deselect", None) or []:
        parts.append(f"--deselect {value}")
    if (config.option.maxfail or 0) > 0:
        parts.append(f"--maxfail {config.option.maxfail}")
    return " ".join(parts)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = session.config.getoption("reliability_report")
    if not target:
        return
    path = Path(target)
    if not path.is_absolute():
        path = session.config.invocation_params.dir / path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(session.config.stash[RECORD], _selection(session.config)), encoding="utf-8")


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if target := config.getoption("reliability_report"):
        terminalreporter.write_line(f"reliability record written to {target}")
