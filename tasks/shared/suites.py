"""Data-quality checks: run a named expectation suite on a frame and explain the result in plain English.

Each dataset and stage has a suite in ``expectations/<name>.json``. Every expectation carries
``meta.severity`` (``critical`` blocks loading, ``warning`` is reported only) and ``meta.description``
(the rule in words a data owner understands). Great Expectations (GX) does the checking; severity,
row-level reporting and the summary are ours, because GX fails a suite on warnings too.

GX is imported lazily (it costs seconds to import), so importing this module stays cheap.

Suite parameters: a kwarg written ``{"$PARAMETER": "name"}`` takes its value from ``parameters`` at
validation time. GX 1.24 substitutes such references only at the top level of an expectation's kwargs,
so references nested deeper (inside a ``row_condition``) are substituted here before GX sees them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    import pandas as pd

Severity = Literal["critical", "warning"]
SuiteStatus = Literal["passed", "warning", "failed"]

SEVERITIES: tuple[str, ...] = ("critical", "warning")
MAX_SAMPLE_VALUES = 20
ROW_FAILURE_COLUMNS = ["raw_file_id", "source_row", "column", "value", "rule", "severity"]

_PARAMETER_KEY = "$PARAMETER"
_INDEX_META_KEY = "dutycycle_index"  # ties each GX result back to the expectation in the file: GX reorders results
_GX_LOCK = threading.Lock()  # one shared GX context; tasks may run in threads


class SuiteDefinitionError(ValueError):
    """An expectation suite file is missing, malformed, or holds an expectation GX cannot load."""


class SuiteParameterError(ValueError):
    """The caller did not supply a parameter the suite refers to with ``{"$PARAMETER": name}``."""


@dataclass(frozen=True)
class ExpectationOutcome:
    """The result of one rule of a suite."""

    expectation_type: str
    column: str | None
    severity: Severity
    success: bool
    description: str
    unexpected_count: int
    unexpected_index: list[Any]
    unexpected_values_sample: list[Any]
    observed: str | None
    error: str | None
    # The frame columns whose cells are reported by row_failures (several for pair/compound rules).
    columns: tuple[str, ...] = ()

    @property
    def is_row_level(self) -> bool:
        """True when the failure points at individual rows of the frame."""
        return bool(self.unexpected_index) and bool(self.columns)


@dataclass(frozen=True)
class SuiteOutcome:
    """The result of running one suite on one frame, with severity applied."""

    suite_name: str
    rows_checked: int
    outcomes: list[ExpectationOutcome] = field(default_factory=list)

    @property
    def failed_critical(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "critical"]

    @property
    def failed_warnings(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "warning"]

    @property
    def blocking(self) -> bool:
        """True when a critical rule failed: the data must not be loaded."""
        return bool(self.failed_critical)

    @property
    def status(self) -> SuiteStatus:
        if self.failed_critical:
            return "failed"
        if self.failed_warnings:
            return "warning"
        return "passed"

    def row_failures(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One row per failing cell of the row-level rules, traceable to the raw file and its line.

        ``frame`` must be the frame that was validated. ``source_row`` and ``raw_file_id`` come from the
        frame's columns of those names when present; otherwise ``source_row`` is the index label + 2
        (header line plus 1-based numbering) and ``raw_file_id`` is empty.
        """
        import pandas as pd

        checked = _frame_for_validation(frame)
        parts: list[pd.DataFrame] = []
        for outcome in self.outcomes:
            if outcome.success or not outcome.is_row_level:
                continue
            labels = [label for label in outcome.unexpected_index if label in checked.index]
            if not labels:
                continue
            rows = checked.loc[labels]
            if "source_row" in checked.columns:
                source_row = rows["source_row"].tolist()
            else:
                source_row = [_fallback_source_row(checked, label) for label in labels]
            raw_file_id = rows["raw_file_id"].tolist() if "raw_file_id" in checked.columns else [None] * len(labels)
            for column in outcome.columns:
                values = rows[column].tolist() if column in checked.columns else [None] * len(labels)
                parts.append(
                    pd.DataFrame(
                        {
                            "raw_file_id": raw_file_id,
                            "source_row": source_row,
                            "column": column,
                            "value": [_cell_text(v) for v in values],
                            "rule": outcome.description,
                            "severity": outcome.severity,
                        },
                        columns=ROW_FAILURE_COLUMNS,
                    )
                )
        if not parts:
            return pd.DataFrame({name: pd.Series(dtype=object) for name in ROW_FAILURE_COLUMNS})
        return pd.concat(parts, ignore_index=True)

    def summary_markdown(self) -> str:
        """A plain-English summary for the data owner: what was checked and what failed, with examples."""
        critical_rules = sum(1 for o in self.outcomes if o.severity == "critical")
        warning_rules = len(self.outcomes) - critical_rules
        verdict = {
            "passed": "**Passed.** Every check was met; the data can be loaded.",
            "warning": (
                f"**Passed with {_plural(len(self.failed_warnings), 'warning')}.** The data can be loaded, "
                "but the points below should be reviewed with the data owner."
            ),
            "failed": (
                f"**Failed: {_plural(len(self.failed_critical), 'critical problem')}.** The data cannot be "
                "loaded until the points below are corrected."
            ),
        }[self.status]
        scope = (
            f"{_plural(self.rows_checked, 'row')} checked against {_plural(len(self.outcomes), 'rule')} "
            f"({critical_rules} critical, {warning_rules} {'warning' if warning_rules == 1 else 'warnings'})."
        )
        lines = [f"## Data quality check: {self.suite_name}", "", scope, "", verdict]
        for heading, failed in (
            ("Critical problems (these stop the data being loaded)", self.failed_critical),
            ("Warnings (the data is loaded, but please check)", self.failed_warnings),
        ):
            if not failed:
                continue
            lines += ["", f"### {heading}", ""]
            lines += [f"- {_failure_sentence(o)}" for o in failed]
        lines += ["", "### Everything that was checked", "", "| Result | Rule | Importance |", "|---|---|---|"]
        for o in self.outcomes:
            mark = "passed" if o.success else ("FAILED" if o.severity == "critical" else "warning")
            lines.append(f"| {mark} | {_md_cell(o.description)} | {o.severity} |")
        return "\n".join(lines) + "\n"

    def as_records(self) -> list[dict[str, Any]]:
        """One flat dict per rule, for storing in the database."""
        return [
            {
                "suite": self.suite_name,
                "expectation_type": o.expectation_type,
                "column": o.column,
                "severity": o.severity,
                "success": o.success,
                "unexpected_count": o.unexpected_count,
                "description": o.description,
                "observed": o.observed,
                "error": o.error,
            }
            for o in self.outcomes
        ]


def load_suite_definition(name: str, expectations_dir: Path) -> dict:
    """Read and check ``expectations/<name>.json``; every rule must say its severity and describe itself."""
    path = Path(expectations_dir) / f"{name}.json"
    if not path.is_file():
        raise SuiteDefinitionError(f"{path}: expectation suite file not found")
    try:
        definition = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SuiteDefinitionError(f"{path}: invalid JSON: {exc}") from exc
    if not isinstance(definition, dict):
        raise SuiteDefinitionError(f"{path}: top level must be a JSON object")
    if definition.get("name") != name:
        raise SuiteDefinitionError(f"{path}: 'name' must be {name!r}, found {definition.get('name')!r}")
    expectations = definition.get("expectations")
    if not isinstance(expectations, list) or not expectations:
        raise SuiteDefinitionError(f"{path}: 'expectations' must be a non-empty list")
    for position, expectation in enumerate(expectations, start=1):
        where = f"{path}: expectation {position}"
        if not isinstance(expectation, dict):
            raise SuiteDefinitionError(f"{where}: must be a JSON object")
        type_ = expectation.get("type")
        if not isinstance(type_, str) or not type_:
            raise SuiteDefinitionError(f"{where}: missing 'type'")
        where = f"{where} ({type_})"
        if not isinstance(expectation.get("kwargs"), dict):
            raise SuiteDefinitionError(f"{where}: 'kwargs' must be a JSON object")
        meta = expectation.get("meta")
        if not isinstance(meta, dict):
            raise SuiteDefinitionError(f"{where}: missing 'meta' with severity and description")
        if meta.get("severity") not in SEVERITIES:
            raise SuiteDefinitionError(
                f"{where}: meta.severity must be one of {', '.join(SEVERITIES)}, found {meta.get('severity')!r}"
            )
        description = meta.get("description")
        if not isinstance(description, str) or not description.strip():
            raise SuiteDefinitionError(f"{where}: meta.description (the rule in plain English) is missing")
    return definition


def suite_parameter_names(definition: Mapping[str, Any]) -> set[str]:
    """The names of every ``{"$PARAMETER": name}`` the suite refers to."""
    names: set[str] = set()
    for expectation in definition["expectations"]:
        _collect_parameter_names(expectation["kwargs"], names)
    return names


def validate_frame(
    frame: pd.DataFrame,
    suite_name: str,
    *,
    expectations_dir: Path,
    parameters: Mapping[str, Any] | None = None,
) -> SuiteOutcome:
    """Run the named suite on ``frame`` and return every rule's outcome, severity applied.

    ``parameters`` supplies the values of the suite's ``{"$PARAMETER": name}`` references (for example
    the partnership's LSOA codes); a missing one raises SuiteParameterError before anything runs.
    """
    definition = load_suite_definition(suite_name, expectations_dir)
    path = Path(expectations_dir) / f"{suite_name}.json"
    values = _parameter_values(definition, suite_name, parameters)
    checked = _frame_for_validation(frame)
    result = _run_suite(suite_name, _gx_expectations(definition, values), path, checked, values)
    by_index = {r.expectation_config.meta[_INDEX_META_KEY]: r for r in result.results}
    return _suite_outcome(definition, suite_name, by_index, checked)


class VerdictStore(Protocol):
    """Where rule outcomes of a file's frame are kept for the next partnership that checks the same file (the
    collect stage's parse cache)."""

    def load_verdict(self, file_sha256: str, key: str) -> dict | None: ...

    def keep_verdict(self, file_sha256: str, key: str, verdict: dict) -> None: ...


def validate_frames(
    items: Sequence[tuple[pd.DataFrame, Mapping[str, Any] | None]],
    suite_name: str,
    *,
    expectations_dir: Path,
    file_keys: Sequence[str | None] | None = None,
    verdicts: VerdictStore | None = None,
) -> list[SuiteOutcome]:
    """Run the named suite over many files' frames of one dataset in as few Great Expectations runs as possible,
    and return each frame's outcome exactly as ``validate_frame`` gives it for that frame alone.

    GX costs about 10 ms per rule per run whatever the number of rows, so the files of a collection are checked
    together: frames with the same columns, types and suite are concatenated and validated once, and each rule's
    failing rows are split back to their file. What would differ over a concatenation is rewritten first, on a
    key naming the file: a value set that is a parameter differing by file (each file's month) is checked on
    "file + value" against "file + allowed value", uniqueness on "file + value", compound uniqueness with the file
    as one more column. A suite with a rule that cannot be split (an aggregate such as distinct values containing
    a set, a ``mostly``), a group where a rule errors, or a column that is not text where a rewrite needs text,
    falls back to one run per frame, so no verdict ever depends on which files came together.

    With ``verdicts`` and ``file_keys`` (each frame's file sha256, or None), the outcome of each rule on a frame is
    kept in ``verdicts`` and reused when the same file's frame is checked again (by the force's next partnership,
    or the next collection): see ``_reuse_verdicts``. Only the rules nothing reused answers go to GX.
    """
    definition = load_suite_definition(suite_name, expectations_dir)
    path = Path(expectations_dir) / f"{suite_name}.json"
    prepared = []
    for frame, parameters in items:
        values = _parameter_values(definition, suite_name, parameters)
        prepared.append((_frame_for_validation(frame), values))
    outcomes: list[SuiteOutcome | None] = [None] * len(prepared)
    shared: list[_SharedVerdict | None] = [None] * len(prepared)
    if verdicts is not None and file_keys is not None:
        shared = _reuse_verdicts(definition, suite_name, path, prepared, file_keys, verdicts, outcomes)
    if len(prepared) > 1 and _splittable(definition):
        groups: dict[Any, list[int]] = {}
        for position, (checked, values) in enumerate(prepared):
            if outcomes[position] is not None:
                continue
            groups.setdefault(_group_key(definition, checked, values, position), []).append(position)
        for members in groups.values():
            if len(members) > 1:
                split = _validate_group(definition, suite_name, path, [prepared[m] for m in members])
                for member, outcome in zip(members, split or [], strict=False):
                    outcomes[member] = outcome
    for position, outcome in enumerate(outcomes):
        if outcome is None:
            checked, values = prepared[position]
            result = _run_suite(suite_name, _gx_expectations(definition, values), path, checked, values)
            by_index = {r.expectation_config.meta[_INDEX_META_KEY]: r for r in result.results}
            outcomes[position] = _suite_outcome(definition, suite_name, by_index, checked)
    for entry, outcome in zip(shared, outcomes, strict=True):
        if entry is not None:
            entry.keep(outcome)
    return outcomes  # type: ignore[return-value]


# --- verdicts shared between partnerships ----------------------------------------------------------------

# Columns that differ between partnerships reading the same file (each registers the file under its own id): left
# out of a frame's digest, and a rule that reads one is never shared.
HOLDER_COLUMNS = frozenset({"raw_file_id"})
# what a kept verdict holds; an ExpectationOutcome with other fields (a code change) must not be read back
_VERDICT_FORMAT = hashlib.sha256(
    json.dumps(["v1", [f.name for f in dataclasses.fields(ExpectationOutcome)]]).encode()
).hexdigest()[:8]


@dataclass
class _SharedVerdict:
    """A frame's kept rule outcomes (rule index -> its parameter values as JSON -> outcome) and where they go."""

    store: VerdictStore
    file_sha256: str
    key: str
    kept: dict[int, dict[str, ExpectationOutcome]]
    parameters: dict[int, str]  # the shareable rules of this suite -> their parameter values for this frame
    changed: bool = False

    def keep(self, outcome: SuiteOutcome) -> None:
        for index, parameters in self.parameters.items():
            if outcome.outcomes[index].error is not None:
                continue  # a rule GX could not run is run again next time, never answered from here
            known = self.kept.setdefault(index, {})
            if known.get(parameters) != outcome.outcomes[index]:
                known[parameters] = outcome.outcomes[index]
                self.changed = True
        if self.changed:
            self.store.keep_verdict(self.file_sha256, self.key, self.kept)


def _reuse_verdicts(
    definition: Mapping[str, Any], suite_name: str, path: Path, prepared: list[tuple[pd.DataFrame, dict]],
    file_keys: Sequence[str | None], verdicts: VerdictStore, outcomes: list[SuiteOutcome | None],
) -> list[_SharedVerdict | None]:
    """Fill ``outcomes`` for frames whose rules were answered before, running only the rules that were not.

    A rule's outcome depends only on the frame it reads and the rule as GX receives it, so it is kept under the
    file's sha256, the suite file's sha256, the Great Expectations version and a digest of the frame (its columns,
    types, index and values, less the HOLDER_COLUMNS), and within that under the values of the parameters the rule
    names (a partnership's LSOAs, this month): a rule about a partnership's own areas is kept per partnership, a
    rule about the file alone is answered once for all. A rule that reads a HOLDER_COLUMN is never kept.
    """
    suite_sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    version = metadata.version("great_expectations")
    shareable = [
        index for index, expectation in enumerate(definition["expectations"])
        if not HOLDER_COLUMNS & set(_expectation_columns(expectation["kwargs"]))
        and not HOLDER_COLUMNS & set(_condition_columns(expectation["kwargs"].get("row_condition")))
    ]
    shared: list[_SharedVerdict | None] = [None] * len(prepared)
    for position, ((checked, values), file_sha256) in enumerate(zip(prepared, file_keys, strict=True)):
        digest = _frame_digest(checked) if file_sha256 else None
        if digest is None:
            continue
        key = f"{suite_name}.{suite_sha256[:16]}.gx{version}.{digest[:24]}.{_VERDICT_FORMAT}"
        kept = verdicts.load_verdict(file_sha256, key) or {}
        parameters = {index: _rule_parameters(definition["expectations"][index], values) for index in shareable}
        entry = shared[position] = _SharedVerdict(verdicts, file_sha256, key, kept, parameters)
        reused = {index: entry.kept[index][p] for index, p in parameters.items() if p in entry.kept.get(index, {})}
        if not reused:
            continue  # checked with the others, and kept afterwards
        missing = [index for index in range(len(definition["expectations"])) if index not in reused]
        by_index: dict[int, Any] = {}
        if missing:
            gx_expectations = _gx_expectations(definition, values)
            result = _run_suite(suite_name, [gx_expectations[i] for i in missing], path, checked, values)
            by_index = {r.expectation_config.meta[_INDEX_META_KEY]: r for r in result.results}
        outcomes[position] = SuiteOutcome(
            suite_name=suite_name,
            rows_checked=len(checked),
            outcomes=[
                reused[index] if index in reused else _outcome(
                    expectation, by_index.get(index), rows=len(checked), frame_columns=set(checked.columns)
                )
                for index, expectation in enumerate(definition["expectations"])
            ],
        )
    return shared


def _rule_parameters(expectation: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    """The values of the parameters a rule names, as the part of its kept outcome's key they decide."""
    names: set[str] = set()
    _collect_parameter_names(expectation["kwargs"], names)
    return json.dumps({name: values[name] for name in sorted(names)}, sort_keys=True, default=str)


def _frame_digest(checked: pd.DataFrame) -> str | None:
    """The sha256 of what GX reads of a frame: column names and types, the index and every value, the
    HOLDER_COLUMNS' values left out. Text columns are hashed as their strings with their lengths (fast, and exact:
    a column that is not all text is pickled instead, so 1 and "1" never meet). None when a value cannot be hashed
    (the frame's verdict is then never kept)."""
    import pickle

    import numpy as np
    import pandas as pd

    digest = hashlib.sha256(json.dumps([list(map(str, checked.columns)), list(map(str, checked.dtypes))]).encode())
    try:
        index = checked.index
        if isinstance(index, pd.RangeIndex):
            digest.update(f"range {index.start} {index.stop} {index.step}".encode())
        else:
            digest.update(pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL))
        for position, name in enumerate(checked.columns):
            if name in HOLDER_COLUMNS:
                continue
            values = checked.iloc[:, position]
            textual = values.dtype == object or pd.api.types.is_string_dtype(values.dtype)
            if textual and pd.api.types.infer_dtype(values, skipna=False) == "string":
                texts = values.tolist()
                digest.update(b"text" + np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)).tobytes())
                digest.update("".join(texts).encode("utf-8", "surrogatepass"))
            elif isinstance(values.dtype, np.dtype) and values.dtype != object:
                digest.update(b"array" + np.ascontiguousarray(values.to_numpy()).tobytes())
            else:
                digest.update(b"pickle" + pickle.dumps(values.to_list(), protocol=pickle.HIGHEST_PROTOCOL))
    except (TypeError, ValueError, pickle.PicklingError):
        return None
    return digest.hexdigest()


# --- one run over many frames ------------------------------------------------------------------------

_KEY_SEPARATOR = "\x1f"  # cannot occur in a file's position, so "position + separator + value" splits one way
_TABLE_LEVEL = {"expect_table_columns_to_match_set"}
_ROW_LEVEL = {
    "expect_column_values_to_match_regex",
    "expect_column_values_to_not_match_regex",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_null",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_unique",
    "expect_compound_columns_to_be_unique",
}
_PER_FILE_VALUE_SETS = {"expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"}
# about a file's distinct values as a whole: checked on "file + value", and only a run where every file passes is
# split (each file's distinct values are its own); a failure is judged again file by file
_DISTINCT = {"expect_column_distinct_values_to_contain_set"}


@dataclass(frozen=True)
class _FileResult:
    """One frame's share of a rule's result over a concatenation, shaped as the GX result _outcome reads."""

    success: bool
    result: dict
    exception_info: Any = None


def _splittable(definition: Mapping[str, Any]) -> bool:
    """Every rule of the suite is about rows one at a time (or uniqueness, or the columns), with no ``mostly``:
    then a concatenation's failing rows, split by file, are each file's own."""
    for expectation in definition["expectations"]:
        kwargs = expectation["kwargs"]
        if expectation["type"] not in _ROW_LEVEL | _TABLE_LEVEL | _DISTINCT or "mostly" in kwargs or "ignore_row_if" in kwargs:
            return False
        if expectation["type"] in _TABLE_LEVEL and kwargs.get("exact_match") is not False:
            return False  # the key columns added to the concatenation would count as unexpected columns
    return True


def _is_text(frame: pd.DataFrame, column: Any) -> bool:
    import pandas as pd

    if column not in frame.columns:
        return False
    series = frame[column]
    if isinstance(series, pd.DataFrame):  # a repeated column name
        return False
    if pd.api.types.is_string_dtype(series.dtype) and not isinstance(series.dtype, pd.CategoricalDtype):
        return bool(series.dropna().map(type).eq(str).all())
    return False


def _group_key(definition: Mapping[str, Any], checked: pd.DataFrame, values: Mapping[str, Any], position: int) -> Any:
    """Frames that can share one run: the same columns and types, the same suite after parameters nested in
    row conditions are substituted, and the same value for every parameter a rewrite cannot make per file."""
    if not checked.columns.is_unique:
        return ("alone", position)
    parts: list[Any] = [tuple(map(str, checked.columns)), tuple(map(str, checked.dtypes))]
    for expectation in definition["expectations"]:
        kwargs = expectation["kwargs"]
        type_ = expectation["type"]
        column = kwargs.get("column")
        for key, value in kwargs.items():
            if _is_parameter_ref(value):
                rewritable = type_ in _PER_FILE_VALUE_SETS | _DISTINCT and key == "value_set" and _is_text(checked, column)
                resolved = values[str(value[_PARAMETER_KEY])]
                if rewritable and all(isinstance(v, str) for v in resolved):
                    continue
                parts.append(json.dumps(resolved, sort_keys=True, default=str))
            else:
                parts.append(json.dumps(_substitute_parameters(value, values), sort_keys=True, default=str))
        if type_ in _DISTINCT | {"expect_column_values_to_be_unique"} and not _is_text(checked, column):
            return ("alone", position)
    return tuple(parts)


def _validate_group(
    definition: Mapping[str, Any], suite_name: str, path: Path, members: list[tuple[pd.DataFrame, dict]]
) -> list[SuiteOutcome] | None:
    """One GX run over the members' concatenation, split back per member; None when a rule errored."""
    import numpy as np
    import pandas as pd

    frames = [checked for checked, _ in members]
    lengths = [len(f) for f in frames]
    starts = np.cumsum([0, *lengths])
    combined = pd.concat([f.reset_index(drop=True) for f in frames], ignore_index=True)
    prefix = pd.Series(np.repeat([f"{i}{_KEY_SEPARATOR}" for i in range(len(frames))], lengths), dtype="str")
    first_values = members[0][1]
    values: dict[str, Any] = dict(first_values)
    gx_expectations = _gx_expectations(definition, first_values)
    added: dict[int, str] = {}  # rule index -> the key column it is checked on
    for index, expectation in enumerate(definition["expectations"]):
        kwargs, type_ = expectation["kwargs"], expectation["type"]
        target = gx_expectations[index]["kwargs"]
        name = f"__dutycycle_file_key_{index}__"
        ref = kwargs.get("value_set")
        if type_ in _PER_FILE_VALUE_SETS and _is_parameter_ref(ref):
            sets = [member_values[str(ref[_PARAMETER_KEY])] for _, member_values in members]
            if all(s == sets[0] for s in sets):
                continue  # the same for every file: checked as it is
            combined[name] = prefix.values + combined[kwargs["column"]].astype("str")
            combined.loc[combined[kwargs["column"]].isna().to_numpy(), name] = None
            target["column"] = name
            target["value_set"] = sorted({f"{i}{_KEY_SEPARATOR}{v}" for i, s in enumerate(sets) for v in s})
            added[index] = name
        elif type_ in _DISTINCT:
            sets = [
                member_values[str(ref[_PARAMETER_KEY])] if _is_parameter_ref(ref) else ref
                for _, member_values in members
            ]
            combined[name] = prefix.values + combined[kwargs["column"]].astype("str")
            combined.loc[combined[kwargs["column"]].isna().to_numpy(), name] = None
            target["column"] = name
            target["value_set"] = sorted({f"{i}{_KEY_SEPARATOR}{v}" for i, s in enumerate(sets) for v in s})
            added[index] = name
        elif type_ == "expect_column_values_to_be_unique":
            combined[name] = prefix.values + combined[kwargs["column"]].astype("str")
            combined.loc[combined[kwargs["column"]].isna().to_numpy(), name] = None
            target["column"] = name
            added[index] = name
        elif type_ == "expect_compound_columns_to_be_unique":
            listed = [c for c in kwargs["column_list"] if c in combined.columns]
            # a row with every listed value missing is left out by GX: so must its key be, or it would count
            all_missing = combined[listed].isna().all(axis=1).to_numpy() if listed else np.zeros(len(combined), bool)
            combined[name] = pd.Series(np.repeat([str(i) for i in range(len(frames))], lengths), dtype="str")
            combined.loc[all_missing, name] = None
            target["column_list"] = [*kwargs["column_list"], name]
            added[index] = name
    result = _run_suite(suite_name, gx_expectations, path, combined, values)
    by_index = {r.expectation_config.meta[_INDEX_META_KEY]: r for r in result.results}
    if len(by_index) != len(definition["expectations"]) or any(_exception_text(r.exception_info) for r in result.results):
        return None  # the run could not say every rule's verdict: let each file be checked alone
    shares: list[dict[int, _FileResult]] = [{} for _ in members]
    extra = set(added.values())
    for index, expectation in enumerate(definition["expectations"]):
        gx_result = by_index[index]
        details = dict(gx_result.result or {})
        if expectation["type"] in _DISTINCT:
            if not gx_result.success:
                return None
            for member, share in enumerate(shares):
                share[index] = _FileResult(success=True, result=_distinct_share(details, member))
            continue
        if expectation["type"] in _TABLE_LEVEL:
            details = _without_columns(details, extra)
            for share in shares:
                share[index] = _FileResult(success=bool(gx_result.success), result=details)
            continue
        labels = details.get("unexpected_index_list") or []
        listed = details.get("unexpected_list") or []
        if len(labels) != int(details.get("unexpected_count") or 0) or len(listed) > len(labels):
            return None
        # GX lists at most a fixed number of failing values (200) however many rows fail: a file alone gets its
        # own first ones, so they are read from the file's rows, up to the same number
        cap = len(listed) if len(listed) < len(labels) else None
        per_member: list[list] = [[] for _ in members]
        for label in labels:
            member = int(np.searchsorted(starts, label, side="right")) - 1
            per_member[member].append(frames[member].index[label - starts[member]])
        for member, member_labels in enumerate(per_member):
            shares[member][index] = _FileResult(
                success=not member_labels,
                result={
                    **details,
                    "unexpected_index_list": member_labels,
                    "unexpected_list": _values_at(frames[member], expectation, member_labels[:cap]),
                    "unexpected_count": len(member_labels),
                },
            )
    return [_suite_outcome(definition, suite_name, share, checked) for share, checked in zip(shares, frames, strict=True)]


def _values_at(frame: pd.DataFrame, expectation: Mapping[str, Any], labels: list) -> list:
    """The failing values GX lists for a rule, read from the file's own rows: the cell, or for a compound rule
    the row's listed columns by name."""
    if not labels:
        return []
    kwargs = expectation["kwargs"]
    if expectation["type"] == "expect_compound_columns_to_be_unique":
        rows = frame.loc[labels, list(kwargs["column_list"])]
        return rows.to_dict("records")
    return frame.loc[labels, kwargs["column"]].tolist()


def _distinct_share(details: dict, member: int) -> dict:
    """A file's part of a distinct-values result over the concatenation: its own values, without the key."""
    mark = f"{member}{_KEY_SEPARATOR}"

    def own(values: Any) -> Any:
        if not isinstance(values, list):
            return values
        kept = []
        for value in values:
            if isinstance(value, Mapping) and isinstance(value.get("value"), str):
                if value["value"].startswith(mark):
                    kept.append({**value, "value": value["value"][len(mark):]})
            elif isinstance(value, str) and value.startswith(mark):
                kept.append(value[len(mark):])
        return kept

    share = {key: own(value) for key, value in details.items()}
    if isinstance(details.get("details"), Mapping):
        share["details"] = {key: own(value) for key, value in details["details"].items()}
    return share


def _without_columns(details: dict, extra: set[str]) -> dict:
    """A table-level result as the file alone gives it: the key columns added for the run left out."""
    if not extra:
        return details
    cleaned = dict(details)
    if isinstance(cleaned.get("observed_value"), list):
        cleaned["observed_value"] = [c for c in cleaned["observed_value"] if c not in extra]
    inner = cleaned.get("details")
    if isinstance(inner, Mapping) and isinstance(inner.get("mismatched"), Mapping):
        mismatched = dict(inner["mismatched"])
        if isinstance(mismatched.get("unexpected"), list):
            mismatched["unexpected"] = [c for c in mismatched["unexpected"] if c not in extra]
            if not mismatched["unexpected"]:
                del mismatched["unexpected"]
        cleaned["details"] = {**inner, "mismatched": mismatched}
    return cleaned


# --- one run -----------------------------------------------------------------------------------------


def _parameter_values(definition: Mapping[str, Any], suite_name: str, parameters: Mapping[str, Any] | None) -> dict:
    values = {key: _plain_parameter(value) for key, value in (parameters or {}).items()}
    missing = sorted(suite_parameter_names(definition) - values.keys())
    if missing:
        raise SuiteParameterError(f"suite {suite_name!r} needs parameter(s) {', '.join(missing)}")
    return values


def _gx_expectations(definition: Mapping[str, Any], values: Mapping[str, Any]) -> list[dict]:
    """The suite as GX takes it: nested parameters substituted, each rule tagged with its index in the file."""
    gx_expectations = []
    for index, expectation in enumerate(definition["expectations"]):
        meta = expectation["meta"]
        gx_expectations.append(
            {
                "type": expectation["type"],
                "kwargs": {
                    key: value if _is_parameter_ref(value) else _substitute_parameters(value, values)
                    for key, value in expectation["kwargs"].items()
                },
                "meta": {**meta, _INDEX_META_KEY: index},
                "severity": meta["severity"],
                "description": meta["description"],
            }
        )
    return gx_expectations


# (suite name, its GX form as JSON) -> the GX suite built from it; a few kept, as a run of only the rules a kept
# verdict does not answer alternates with runs of the whole suite
_registered: OrderedDict[tuple[str, str], Any] = OrderedDict()
_REGISTERED_KEPT = 16
_runs = 0
_rules_run = 0


def gx_runs() -> int:
    """How many Great Expectations validation runs this process has made (benchmarks and tests read it)."""
    return _runs


def gx_rules_run() -> int:
    """How many rules those runs checked, all runs together (a rule answered by a kept verdict is not run)."""
    return _rules_run


def _run_suite(suite_name: str, gx_expectations: list[dict], path: Path, checked: pd.DataFrame, values: Mapping) -> Any:
    """Validate one frame with the suite; the suite is built once per process and content (building it again on
    every run cost a fifth of validation). Nothing is stored in the GX context: our own tables keep the results."""
    content = json.dumps(gx_expectations, sort_keys=True, default=str)
    with _GX_LOCK:
        gx, batch_definition = _gx_runtime()
        suite = _registered.get((suite_name, content))
        if suite is None:
            with _gx_logging_silenced():
                suite = gx.ExpectationSuite(name=suite_name, expectations=gx_expectations)
            _check_all_loaded(suite, gx_expectations, path)
            _registered[(suite_name, content)] = suite
            while len(_registered) > _REGISTERED_KEPT:
                _registered.popitem(last=False)
        _registered.move_to_end((suite_name, content))
        global _runs, _rules_run
        _runs += 1
        _rules_run += len(gx_expectations)
        # the validator of ValidationDefinition.run, without its store of every result (which only Data Docs read)
        from great_expectations.validator.v1_validator import Validator

        validator = Validator(batch_definition=batch_definition, batch_parameters={"dataframe": checked},
                              result_format="COMPLETE")
        return validator.validate_expectation_suite(suite, dict(values))


def _suite_outcome(
    definition: Mapping[str, Any], suite_name: str, by_index: Mapping[int, Any], checked: pd.DataFrame
) -> SuiteOutcome:
    outcomes = [
        _outcome(expectation, by_index.get(index), rows=len(checked), frame_columns=set(checked.columns))
        for index, expectation in enumerate(definition["expectations"])
    ]
    return SuiteOutcome(suite_name=suite_name, rows_checked=len(checked), outcomes=outcomes)


# --- GX runtime --------------------------------------------------------------------------------------


@cache
def _gx_runtime() -> tuple[Any, Any]:
    """The process-wide ephemeral GX context, reduced to the module and a whole-dataframe batch definition."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    # GX sets some of its own loggers to INFO explicitly, which overrides the parent's level
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.startswith("great_expectations.") and isinstance(logger, logging.Logger) and logger.level:
            logger.setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    asset = context.data_sources.add_pandas("dutycycle_frames").add_dataframe_asset("frame")
    return gx, asset.add_batch_definition_whole_dataframe("whole_frame")


@contextmanager
def _gx_logging_silenced() -> Iterator[None]:
    """GX logs a traceback for each expectation it drops; we raise our own, clearer error instead."""
    logger = logging.getLogger("great_expectations")
    previous = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _check_all_loaded(suite: Any, gx_expectations: list[dict], path: Path) -> None:
    """GX silently drops an expectation it cannot build (unknown type, bad kwargs): refuse the suite instead."""
    if len(suite.expectations) == len(gx_expectations):
        return
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    loaded = {e.meta.get(_INDEX_META_KEY) for e in suite.expectations}
    problems = []
    for spec in gx_expectations:
        index = spec["meta"][_INDEX_META_KEY]  # its place in the suite file (a run may take only some rules)
        if index in loaded:
            continue
        reason = "not loaded by Great Expectations"
        try:
            with _gx_logging_silenced():
                ExpectationConfiguration(type=spec["type"], kwargs=spec["kwargs"]).to_domain_obj()
        except Exception as exc:  # noqa: BLE001 - the reason is reported, not handled
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        problems.append(f"expectation {index + 1} {spec['type']} ({reason})")
    raise SuiteDefinitionError(
        f"{path}: {len(suite.expectations)} of {len(gx_expectations)} expectations loaded; dropped: "
        + "; ".join(problems)
    )


# --- results -----------------------------------------------------------------------------------------


def _outcome(expectation: dict, result: Any, *, rows: int, frame_columns: set[Any]) -> ExpectationOutcome:
    kwargs = expectation["kwargs"]
    meta = expectation["meta"]
    columns = _expectation_columns(kwargs)
    absent = [c for c in (*columns, *_condition_columns(kwargs.get("row_condition"))) if c not in frame_columns]
    base = {
        "expectation_type": expectation["type"],
        "column": ", ".join(columns) if columns else None,
        "severity": meta["severity"],
        "description": meta["description"],
        "columns": columns,
    }
    if result is None:  # not expected: every loaded expectation yields a result
        return ExpectationOutcome(
            **base, success=False, unexpected_count=0, unexpected_index=[], unexpected_values_sample=[],
            observed=None, error="Great Expectations returned no result for this rule",
        )
    error = _exception_text(result.exception_info)
    details = dict(result.result or {})
    if error:
        reason = error
        if absent:  # say it plainly first; the engine's own words follow for the engineer
            reason = f"column {', '.join(repr(c) for c in dict.fromkeys(absent))} is not in the data. Details: {error}"
        return ExpectationOutcome(
            **base, success=False, unexpected_count=0, unexpected_index=[], unexpected_values_sample=[],
            observed=None, error=f"The check could not run: {reason}",
        )

    unexpected_index = [_plain(v) for v in details.get("unexpected_index_list") or []]
    unexpected_values = details.get("unexpected_list") or []
    unexpected_count = int(details.get("unexpected_count") or 0)
    observed = None
    description = base["description"]
    missing_columns = ((details.get("details") or {}).get("mismatched") or {}).get("missing") or []
    if "element_count" in details:  # a row-level rule (element_count counts only the rows a row_condition kept)
        observed = f"{unexpected_count} of {rows} rows failed"
    if missing_columns:
        # table-level: name the missing columns in the rule's own text, so the owner sees them at once
        unexpected_values = list(missing_columns)
        unexpected_count = len(missing_columns)
        description = f"{description} Missing: {', '.join(repr(c) for c in missing_columns)}."
        observed = f"missing columns: {', '.join(missing_columns)}"
    elif details.get("partial_missing_list") is not None and not result.success:
        unexpected_values = list(details.get("partial_missing_list") or [])
        unexpected_count = int(details.get("missing_count") or len(unexpected_values))
        observed = f"missing values: {', '.join(str(v) for v in unexpected_values[:MAX_SAMPLE_VALUES])}"
    elif "observed_value" in details and observed is None:
        observed = _observed_text(details["observed_value"])
    elif not result.success and expectation["type"] == "expect_column_to_exist":
        observed = "column not found"

    return ExpectationOutcome(
        **{**base, "description": description},
        success=bool(result.success),
        unexpected_count=unexpected_count,
        unexpected_index=unexpected_index,
        unexpected_values_sample=_sample(unexpected_values),
        observed=observed,
        error=None,
    )


def _exception_text(exception_info: Any) -> str | None:
    """GX reports a failure to run either flat or keyed by metric; collect the messages of either shape."""
    if not exception_info:
        return None
    if isinstance(exception_info, Mapping) and "raised_exception" in exception_info:
        infos = [exception_info]
    elif isinstance(exception_info, Mapping):
        infos = [v for v in exception_info.values() if isinstance(v, Mapping)]
    else:
        return None
    messages: list[str] = []
    for info in infos:
        if info.get("raised_exception"):
            message = str(info.get("exception_message") or "error inside Great Expectations")
            message = message.removeprefix("Error: ").replace(" in BatchData", "")
            if message not in messages:
                messages.append(message)
    return "; ".join(messages) or None


def _expectation_columns(kwargs: Mapping[str, Any]) -> tuple[str, ...]:
    if isinstance(kwargs.get("column"), str):
        return (kwargs["column"],)
    if isinstance(kwargs.get("column_A"), str) and isinstance(kwargs.get("column_B"), str):
        return (kwargs["column_A"], kwargs["column_B"])
    if isinstance(kwargs.get("column_list"), list):
        return tuple(str(c) for c in kwargs["column_list"])
    return ()


def _condition_columns(condition: Any) -> list[str]:
    """Column names a GX row_condition (dict form) refers to."""
    if not isinstance(condition, Mapping):
        return []
    names = []
    column = condition.get("column")
    if isinstance(column, Mapping) and isinstance(column.get("name"), str):
        names.append(column["name"])
    for inner in condition.get("conditions") or []:
        names += _condition_columns(inner)
    return names


def _sample(values: list[Any]) -> list[Any]:
    """Up to MAX_SAMPLE_VALUES distinct values, in order of first appearance, as plain Python."""
    sample: list[Any] = []
    seen: set[str] = set()
    for value in values:
        plain = _plain(value)
        key = json.dumps(plain, sort_keys=True, default=str)
        if key in seen:
            continue
        seen.add(key)
        sample.append(plain)
        if len(sample) >= MAX_SAMPLE_VALUES:
            break
    return sample


def _plain(value: Any) -> Any:
    """numpy scalars, tuples and NaN from GX results made JSON-friendly."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _observed_text(value: Any) -> str | None:
    plain = _plain(value)
    if plain is None:
        return None
    if isinstance(plain, list):
        return ", ".join(str(v) for v in plain)
    return str(plain)


# --- parameters and frames ---------------------------------------------------------------------------


def _is_parameter_ref(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {_PARAMETER_KEY}


def _collect_parameter_names(value: Any, names: set[str]) -> None:
    if _is_parameter_ref(value):
        names.add(str(value[_PARAMETER_KEY]))
    elif isinstance(value, dict):
        for item in value.values():
            _collect_parameter_names(item, names)
    elif isinstance(value, list):
        for item in value:
            _collect_parameter_names(item, names)


def _substitute_parameters(value: Any, parameters: Mapping[str, Any]) -> Any:
    """Replace nested parameter references (GX resolves only top-level kwargs itself)."""
    if _is_parameter_ref(value):
        return parameters[str(value[_PARAMETER_KEY])]
    if isinstance(value, dict):
        return {key: _substitute_parameters(item, parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute_parameters(item, parameters) for item in value]
    return value


def _plain_parameter(value: Any) -> Any:
    """Sets and tuples become sorted lists, as GX value sets and row conditions expect."""
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, tuple):
        return list(value)
    return value


def _frame_for_validation(frame: pd.DataFrame) -> pd.DataFrame:
    """GX reports failing rows by index label, so labels must be unique; renumber them if not."""
    import pandas as pd

    if frame.index.is_unique and not isinstance(frame.index, pd.MultiIndex):
        return frame
    return frame.reset_index(drop=True)


def _fallback_source_row(frame: pd.DataFrame, label: Any) -> int:
    """Line number in a CSV with one header line: an integer index label + 2 (the label survives filtering),
    otherwise the row's position + 2."""
    if isinstance(label, int) and not isinstance(label, bool):
        return label + 2
    return int(frame.index.get_loc(label)) + 2


def _cell_text(value: Any) -> str | None:
    plain = _plain(value)
    return None if plain is None else str(plain)


# --- wording -----------------------------------------------------------------------------------------


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _failure_sentence(outcome: ExpectationOutcome) -> str:
    sentence = f"**{outcome.description}**"
    if outcome.error:
        return f"{sentence} {outcome.error.rstrip('.')}."
    if outcome.unexpected_index:
        sentence += f" {_plural(outcome.unexpected_count, 'row')} did not meet this rule"
    elif outcome.observed:
        sentence += f" Found: {outcome.observed}"
    examples = [_example(v) for v in outcome.unexpected_values_sample[:5]]
    if examples and outcome.unexpected_index:
        sentence += f", for example {', '.join(examples)}"
    return sentence + "."


def _example(value: Any) -> str:
    if value is None:
        return "(blank)"
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k} {v}" for k, v in value.items()) + ")"
    if isinstance(value, list):
        return "(" + ", ".join("(blank)" if v is None else str(v) for v in value) + ")"
    text = str(value)
    return '"" (blank)' if text == "" else f'"{text}"'
