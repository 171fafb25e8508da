"""The board report's PDF is printed once per distinct HTML: the same HTML twice gives the same bytes (so a PDF
already printed from it can be kept), and the kept PDF is used only when its record, its bytes and the renderer
all still match."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tasks.compute.board_report import pdf_renderer, write_pdf
from tests.report_sample import sample_report_html

pytest.importorskip("weasyprint")


@pytest.fixture(scope="module")
def report() -> str:
    return sample_report_html()


def _identity(path: Path) -> tuple[int, int]:
    """The file object itself: a new print is written beside and renamed in, so it is a new inode."""
    stat = os.stat(path)
    return stat.st_ino, stat.st_mtime_ns


def test_two_prints_of_the_same_html_are_byte_identical(report: str, tmp_path: Path) -> None:
    # what makes keeping a printed PDF safe: printing again would give these very bytes
    assert write_pdf(report, tmp_path / "a.pdf") is None
    assert write_pdf(report, tmp_path / "b.pdf") is None
    first = (tmp_path / "a.pdf").read_bytes()
    assert first.startswith(b"%PDF") and first == (tmp_path / "b.pdf").read_bytes()


def test_the_same_html_is_not_printed_again(report: str, tmp_path: Path) -> None:
    pdf, record = tmp_path / "report.pdf", tmp_path / "internal" / "report-pdf-source.json"
    assert write_pdf(report, pdf, record) is None
    printed = pdf.read_bytes()
    kept = json.loads(record.read_text(encoding="utf-8"))
    assert kept["renderer"] == pdf_renderer() and kept["renderer"].startswith("weasyprint ")
    before = _identity(pdf)
    assert write_pdf(report, pdf, record) is None
    assert _identity(pdf) == before and pdf.read_bytes() == printed
    assert not list(tmp_path.glob(".*")), "no partial print left behind"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(pdf).st_mode) == 0o666 & ~umask, "readable as any file the stage writes"


def test_changed_html_is_printed_again(report: str, tmp_path: Path) -> None:
    pdf, record = tmp_path / "report.pdf", tmp_path / "report-pdf-source.json"
    write_pdf(report, pdf, record)
    first = pdf.read_bytes()
    changed = report.replace("Key messages</h2>", "Key messages, revised</h2>", 1)
    assert changed != report
    write_pdf(changed, pdf, record)
    assert pdf.read_bytes() != first
    write_pdf(changed.replace(", revised", "", 1), pdf, record)  # back to the first HTML: its bytes again
    assert pdf.read_bytes() == first


@pytest.mark.parametrize("spoil", ["pdf edited", "record of another renderer", "record unreadable", "pdf gone"])
def test_a_pdf_that_may_not_match_is_printed_again(report: str, tmp_path: Path, spoil: str) -> None:
    pdf, record = tmp_path / "report.pdf", tmp_path / "report-pdf-source.json"
    write_pdf(report, pdf, record)
    printed = pdf.read_bytes()
    if spoil == "pdf edited":
        pdf.write_bytes(printed[:-200])  # cut short: the record's sha256 no longer matches
    elif spoil == "record of another renderer":
        kept = json.loads(record.read_text(encoding="utf-8"))
        record.write_text(json.dumps({**kept, "renderer": "weasyprint 52.5"}), encoding="utf-8")
    elif spoil == "record unreadable":
        record.write_text("{not json", encoding="utf-8")
    else:
        pdf.unlink()
    before = _identity(pdf) if pdf.exists() else None
    assert write_pdf(report, pdf, record) is None
    assert _identity(pdf) != before
    assert pdf.read_bytes() == printed
    assert json.loads(record.read_text(encoding="utf-8"))["renderer"] == pdf_renderer()
