"""The audit of a submission: for every figure it submitted, the run that computed it, the definition and version,
the raw files with their checksums and received times, the checks that applied to them, and who signed it off."""

from __future__ import annotations

import io
import zipfile
from collections import defaultdict

import pandas as pd
from sqlalchemy import select

from tasks.shared.signoff import decisions_of
from tasks.shared.storage.models import MetricValue, RawFile, Submission, ValidationResult
from tasks.shared.storage.session import session_scope

AUDIT_COLUMNS = [
    "submission", "package_sha256", "measure", "area_code", "financial_year", "age_band", "published_count",
    "definition", "compute_run", "submit_run", "raw_file_count", "raw_files", "checks", "approval",
]


class AuditError(LookupError):
    """No such submission, or its package file is gone (one line)."""


def _checks_sentence(results: list[ValidationResult]) -> str:
    """'police_knife_crime.raw: 240/240 passed; observations.normalised: 11/12 passed (failed: ...)' per suite."""
    by_suite: dict[str, list[ValidationResult]] = defaultdict(list)
    for result in results:
        by_suite[result.suite].append(result)
    parts = []
    for suite, rows in sorted(by_suite.items()):
        failed = sorted({f"{r.description} [{r.severity}]" for r in rows if not r.success})
        part = f"{suite}: {sum(r.success for r in rows)}/{len(rows)} passed"
        parts.append(part + (f" (failed: {'; '.join(failed)})" if failed else ""))
    return "; ".join(parts) or "no checks recorded"


def audit_table(url: str, submission_id: int) -> pd.DataFrame:
    """One row per figure of the submission's measures.csv (as submitted, read from the package itself)."""
    with session_scope(url) as session:
        submission = session.get(Submission, submission_id)
        if submission is None:
            raise AuditError(f"no submission {submission_id}")
        partnership, sha, path = submission.partnership, submission.package_sha256, submission.package_path
        submit_run = submission.flow_run_id or ""
        try:
            with zipfile.ZipFile(path) as archive:
                figures = pd.read_csv(io.BytesIO(archive.read("measures.csv")), dtype=str, keep_default_na=False)
        except (OSError, KeyError, zipfile.BadZipFile) as exc:
            raise AuditError(f"submission {submission_id}: its package {path} cannot be read ({exc})") from exc
        # a figure's period: its financial year, or the span of a pooled figure (e.g. 2020/21-2022/23)
        periods = figures.get("period", figures.get("financial_year", pd.Series(dtype=str)))
        figures = figures.assign(_period=[p or y for p, y in zip(periods, figures.get(
            "financial_year", periods), strict=True)])
        values = session.scalars(select(MetricValue).where(
            MetricValue.partnership == partnership,
            MetricValue.period.in_(sorted(set(figures["_period"]))),
        )).all()
        by_key: dict[tuple, MetricValue] = {}
        for value in sorted(values, key=lambda v: v.metric_version):  # the newest version of a figure wins
            by_key[(value.metric_id, value.area_code, value.period, value.age_band)] = value
        file_ids = sorted({i for v in by_key.values() for i in (v.raw_file_ids or [])})
        files = {f.id: f for f in session.scalars(select(RawFile).where(RawFile.id.in_(file_ids)))}
        datasets = sorted({f.dataset for f in files.values()})
        results = session.scalars(select(ValidationResult).where(
            ValidationResult.partnership == partnership,
            (ValidationResult.raw_file_id.in_(file_ids)) | (ValidationResult.dataset.in_(datasets)
                                                           & ValidationResult.raw_file_id.is_(None)),
        )).all()
        session.expunge_all()
    by_file: dict[int, list[ValidationResult]] = defaultdict(list)
    by_dataset_year: dict[tuple[str, str], list[ValidationResult]] = defaultdict(list)
    for result in results:
        if result.raw_file_id is not None:
            by_file[result.raw_file_id].append(result)
        else:
            by_dataset_year[(result.dataset, result.financial_year)].append(result)
    decisions = [d for d in decisions_of(url, "submission", [submission_id]) if d.package_sha256 == sha]
    approval = decisions[-1].sentence() if decisions else "not yet decided (awaiting approval)"
    rows = []
    for figure in figures.to_dict("records"):
        key = (figure.get("measure", ""), figure.get("area_code", ""), figure.get("_period", ""),
               figure.get("age_band", ""))
        value = by_key.get(key)
        ids = list(value.raw_file_ids or []) if value else []
        used = [files[i] for i in ids if i in files]
        applied = [r for i in ids for r in by_file.get(i, [])]
        for dataset in sorted({f.dataset for f in used}):
            applied += by_dataset_year.get((dataset, figure.get("financial_year", key[2])), [])
        rows.append({
            "submission": submission_id,
            "package_sha256": sha,
            "measure": key[0], "area_code": key[1], "financial_year": figure.get("financial_year", key[2]),
            "period": key[2], "age_band": key[3],
            "published_count": figure.get("count", ""),
            "definition": f"{value.metric_id}@v{value.metric_version}" if value else "not found in metric_values",
            "compute_run": (value.flow_run_id or "") if value else "",
            "submit_run": submit_run,
            "raw_file_count": len(used),
            "raw_files": "; ".join(
                f"{f.original_name} sha256 {f.sha256} received {f.received_at:%Y-%m-%d %H:%M}"
                for f in sorted(used, key=lambda f: (f.source_id, f.original_name))
            ),
            "checks": _checks_sentence(applied),
            "approval": approval,
        })
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS)
