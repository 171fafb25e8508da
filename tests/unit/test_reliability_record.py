"""The reliability record says "Lost: nothing" only for a complete run where every case passed and every kept count
matched; anything lost, doubled, failed, skipped or not run is listed as such, never left out."""

from __future__ import annotations

import random

import pytest
import yaml

from tests.reliability import MANIFEST, Case, Record, fault_modules, render

FILES = [entry["file"] for entry in yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["files"]]


def _complete(messages_arrived: int = 1, skip: str | None = None, order: int = 0) -> Record:
    """A record of one fault case (one message expected at the server) and one passed case per corpus file."""
    record = Record()
    record.fault_modules_run = set(fault_modules())
    cases = [("tests/faults/test_x.py::test_kill", None)] + [(f"tests/c.py::test_file[{f}]", f) for f in FILES]
    random.Random(order).shuffle(cases)  # the order tests ran in must not change the document
    for nodeid, file in cases:
        case = record.case(nodeid)
        if file is None:
            case.fault("sender killed", injected="SIGKILL", where="outbox")
            try:
                case.kept("messages at the SMTP server", messages_arrived, 1)
                case.verdict = "passed"
            except AssertionError as error:
                case.verdict, case.detail = "failed", str(error)
            continue
        if file == skip:
            case.verdict, case.detail = "skipped", "no driver"
            continue
        case.bad_input(file, where="collect_source")
        case.outcome("quarantined")
        case.kept("file kept unchanged in the raw store", 1, 1)
        case.verdict = "passed"
    return record


def test_a_complete_run_with_nothing_lost_says_so_and_lists_every_corpus_file() -> None:
    text = render(_complete(), "tests/faults tests/c.py")
    assert "**Lost: nothing.** 1 faults, " in text and "Complete run" in text and "Partial" not in text
    assert all(f"| {name} |" in text for name in FILES)
    assert "| sender killed | SIGKILL | outbox | - | messages at the SMTP server: 1 | passed |" in text


def test_the_document_does_not_depend_on_the_order_tests_ran_in() -> None:
    assert render(_complete(order=1), "s") == render(_complete(order=2), "s")


@pytest.mark.parametrize(("arrived", "words"), [(2, "doubled 1 messages at the SMTP server"),
                                                (0, "lost 1 messages at the SMTP server")])
def test_a_message_doubled_or_lost_is_named_and_nothing_is_claimed(arrived: int, words: str) -> None:
    text = render(_complete(messages_arrived=arrived), "s")
    assert "Lost: nothing" not in text
    assert f"**{words}**" in text and f"messages at the SMTP server: **{arrived}, expected 1**" in text
    assert "**failed**: messages at the SMTP server" in text
    assert "1 lost or doubled something; 1 did not pass" in text


def test_a_skipped_corpus_case_is_listed_as_skipped() -> None:
    text = render(_complete(skip=FILES[3]), "s")
    assert "Lost: nothing" not in text
    assert "| **skipped**: no driver |" in text


def test_a_corpus_file_no_test_tried_makes_the_run_partial() -> None:
    record = _complete()
    del record.cases[f"tests/c.py::test_file[{FILES[0]}]"]
    text = render(record, "s")
    assert "**Partial run**" in text and f"1 of {len(FILES)} corpus files not tried" in text
    assert f"| {FILES[0]} |" in text and "| **not run** |" in text
    assert "Lost: nothing" not in text


def test_a_fault_module_left_out_makes_the_run_partial_even_if_all_else_passed() -> None:
    record = _complete()
    record.fault_modules_run.discard("faults/test_disk_full.py")
    text = render(record, "s")
    assert "fault modules not run: faults/test_disk_full.py" in text
    assert "Lost: nothing" not in text and "a partial run makes no claim for the rest" in text


@pytest.mark.parametrize("module", ["unit/shared/test_http.py", "flows/test_sign_off_and_delivery.py"])
def test_a_fault_module_outside_tests_faults_left_out_makes_the_run_partial(module: str) -> None:
    record = _complete()
    record.fault_modules_run.discard(module)
    text = render(record, "s")
    assert f"fault modules not run: {module}" in text and "Lost: nothing" not in text


def test_a_fault_test_that_records_nothing_is_not_counted_as_proof() -> None:
    record = _complete()
    record.case("tests/faults/test_y.py::test_silent").verdict = "passed"
    text = render(record, "s")
    assert "| test_silent |" in text and "**recorded nothing**" in text and "Lost: nothing" not in text


def test_a_measure_is_recorded_before_it_is_asserted() -> None:
    case = Case("t")
    case.fault("f", injected="i", where="w")
    with pytest.raises(AssertionError, match="rows: 9, expected 10"):
        case.kept("rows", 9, 10)
    assert case.lost == ["lost 1 rows"]
    with pytest.raises(AssertionError, match="outcome 'vanished' is not one of"):
        case.outcome("vanished")


def test_a_local_server_port_in_a_message_does_not_change_the_document() -> None:
    texts = []
    for port in (35481, 44805):
        record = _complete()
        case = record.case("tests/faults/test_z.py::test_500")
        case.fault("HTTP 500", injected="local server", where="client")
        case.message(f"GET http://127.0.0.1:{port}/api/x answered 500")
        case.verdict = "passed"
        texts.append(render(record, "s"))
    assert texts[0] == texts[1] and "“GET http://127.0.0.1:…/api/x answered 500”" in texts[0]


def test_a_postgresql_only_case_skipped_on_sqlite_is_named_and_outside_the_claim() -> None:
    record = _complete()
    case = record.case("tests/faults/test_pg.py::test_wrong_password")
    case.verdict, case.detail = "PostgreSQL only", "needs a database URL with a password"
    text = render(record, "s")
    assert "**Lost: nothing.** 1 faults, " in text  # the claim counts only the cases run
    assert "Not in this claim: 1 fault case(s) that need PostgreSQL" in text
    assert "`tests/faults/test_pg.py::test_wrong_password`" in text
    assert "| **PostgreSQL only**: needs a database URL with a password |" in text


def test_a_postgresql_only_case_does_not_hide_a_failure_elsewhere() -> None:
    record = _complete(messages_arrived=2)
    record.case("tests/faults/test_pg.py::test_wrong_password").verdict = "PostgreSQL only"
    assert "Lost: nothing" not in render(record, "s")
