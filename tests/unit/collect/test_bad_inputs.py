"""The bad-input corpus (tests/bad_inputs) through the real collection, one file per test.

For each entry of tests/bad_inputs/MANIFEST.yaml, a copy of the demo configuration whose source inbox holds
just that file is collected with ``collect_source``; then the file must either load, or be quarantined: kept
byte for byte in the raw store, nothing of it in observations, a quarantine entry at the manifest's row and
column, and the manifest's words in its reason. Entries with ``needs`` describe behaviour not wired yet:
they are strict xfails, so wiring the feature makes them fail until the ``needs`` key is removed.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from tasks.collect.steps import collect_source
from tasks.shared.context import open_cycle
from tasks.shared.settings import PROJECT_ROOT, reset_settings_cache
from tasks.shared.storage.models import Observation, QuarantineEntry, RawFile
from tasks.shared.storage.session import session_scope

DEMO = "castle-point-rochford"
CORPUS = PROJECT_ROOT / "tests" / "bad_inputs"
DEFAULT_SOURCE = "police-knife-crime"


def _load_make_corpus():
    spec = importlib.util.spec_from_file_location("bad_inputs_make_corpus", CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


make_corpus = _load_make_corpus()
MANIFEST = yaml.safe_load((CORPUS / "MANIFEST.yaml").read_text(encoding="utf-8"))
ENTRIES: list[dict] = MANIFEST["files"]


def _params():
    for entry in ENTRIES:
        marks = []
        if "needs" in entry:
            marks.append(pytest.mark.xfail(strict=True, reason=f"needs {entry['needs']}: not wired into collection yet"))
        yield pytest.param(entry, id=entry["file"], marks=marks)


@pytest.fixture
def config_copy(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the configuration without any inputs: each test puts its one file in its source's inbox."""
    config = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", config, ignore=shutil.ignore_patterns("inputs"))
    monkeypatch.setenv("DUTYCYCLE_CONFIG_DIR", str(config))
    reset_settings_cache()
    return config


@pytest.mark.parametrize("entry", list(_params()))
def test_collecting_the_file_does_what_the_manifest_says(entry: dict, config_copy: Path, reliability) -> None:
    source_id = entry.get("source", DEFAULT_SOURCE)
    reliability.bad_input(entry["file"], where=f"collect_source ({source_id})")
    data = getattr(make_corpus, entry["generated"])() if entry.get("generated") else (CORPUS / entry["file"]).read_bytes()
    ctx = open_cycle(DEMO, "2022/23")
    source = ctx.config.source(source_id)
    inbox = ctx.config.source_folder(source)
    assert config_copy in inbox.parents
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / entry["file"]).write_bytes(data)

    outcomes = collect_source.fn(ctx, source)

    assert [o.original_name for o in outcomes] == [entry["file"]]
    outcome = outcomes[0]
    with session_scope(ctx.database_url) as session:
        raw = session.get(RawFile, outcome.raw_file_id)
        stored = Path(raw.stored_path).read_bytes()
        status, status_reason = raw.status, raw.status_reason
        held = [
            (q.source_row, q.column, q.value, q.rule)
            for q in session.scalars(select(QuarantineEntry).where(QuarantineEntry.raw_file_id == raw.id))
        ]
        observations = len(session.scalars(select(Observation).where(Observation.raw_file_id == raw.id)).all())
    reliability.kept("file kept unchanged in the raw store", int(stored == data), 1)
    reliability.message(outcome.reason)
    fate = {"loaded": "kept"}.get(status, status) if outcome.status == status else f"{outcome.status}/{status}"

    if entry["outcome"] == "load":
        reliability.outcome(fate, expected="kept")
        assert observations > 0, "a loaded file with no observations"
        reliability.kept("observations", observations, outcome.observations)
        reliability.check("quarantine entries", len(held), 0)
        return

    reliability.outcome(fate, expected="quarantined")
    reliability.check("observations", observations, 0)
    assert status_reason == outcome.reason
    reliability.check(f"reason says '{entry['reason']}'", entry["reason"].lower() in (outcome.reason or "").lower(), True,
                      detail=outcome.reason)
    places = sorted({(row, column) for row, column, _, _ in held})
    reliability.check(f"entry at row {entry['row']}, column '{entry['column']}'", (entry["row"], entry["column"]) in places,
                      True, detail=f"quarantine holds {places[:10]}")
    if secret := entry.get("secret"):
        echoed = int(secret in (outcome.reason or "")) + sum(secret in (value or "") or secret in rule
                                                          for _, _, value, rule in held)
        reliability.check("personal value echoed in quarantine", echoed, 0)


# --- the corpus itself -------------------------------------------------------------------------------


def test_the_corpus_covers_at_least_thirty_files_with_a_complete_expectation_each() -> None:
    on_disk = {p.name for p in CORPUS.iterdir() if p.is_file() and p.name not in {"make_corpus.py", "MANIFEST.yaml"}}
    listed = [e["file"] for e in ENTRIES if not e.get("generated")]
    assert sorted(listed) == sorted(on_disk) and len(listed) == len(set(listed))
    assert len(ENTRIES) >= 30
    for entry in ENTRIES:
        assert entry["outcome"] in {"load", "quarantine"}
        if entry["outcome"] == "quarantine":
            assert isinstance(entry["row"], int) and isinstance(entry["column"], str) and entry["reason"]
        if "needs" in entry:
            assert entry["needs"] in MANIFEST["needs"], f"{entry['file']}: needs key not described in MANIFEST"
        assert entry.get("source", DEFAULT_SOURCE) in {DEFAULT_SOURCE, "police-street-archive"}
    assert {e["file"] for e in ENTRIES if e["outcome"] == "load"} >= {"knife-crime-utf8-bom.csv"}


def test_the_corpus_on_disk_is_exactly_what_make_corpus_writes() -> None:
    cases = make_corpus.cases()
    assert (CORPUS / "MANIFEST.yaml").read_text(encoding="utf-8") == make_corpus.manifest_text(cases)
    for case in cases:
        if case.byte_stable:  # the .xlsx depends on openpyxl's version; it is checked for content instead
            assert (CORPUS / case.file).read_bytes() == case.data, f"{case.file}: run tests/bad_inputs/make_corpus.py"
    assert make_corpus.cases()[0].data == cases[0].data


def test_the_excel_file_really_is_a_workbook_of_the_return() -> None:
    import io

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO((CORPUS / "knife-crime-xlsx-named-csv.csv").read_bytes())).active
    rows = [[str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert rows == [make_corpus.HEADER, *make_corpus.BASE]


def test_every_corpus_file_is_in_the_reliability_record(reliability_record, request: pytest.FixtureRequest) -> None:
    """Runs after the corpus tests above: each MANIFEST.yaml file they tried is in docs/reliability.md's record."""
    corpus_test = test_collecting_the_file_does_what_the_manifest_says.__name__
    selected = {i.callspec.params["entry"]["file"] for i in request.session.items if i.originalname == corpus_test}
    listed = {e["file"] for e in ENTRIES}
    if selected != listed:
        pytest.skip(f"partial selection: {len(selected)} of {len(listed)} corpus files")
    recorded = {name for name, case in reliability_record.bad_inputs().items() if case.measures}
    assert sorted(listed - recorded) == []
