"""The published measures as Excel: numbers in numeric cells, blanks where suppressed, and a notes sheet."""

from __future__ import annotations

from openpyxl import load_workbook

from tasks.compute.metric_values import restate_from_counts
from tasks.shared.config import load_partnership_config
from tasks.shared.disclosure import published_table
from tasks.shared.settings import PROJECT_ROOT
from tasks.shared.workbook import notes_rows, write_workbook
from tests.unit.shared.test_disclosure_attack import MEMBERS, _values

CONFIG = load_partnership_config(PROJECT_ROOT / "config", "castle-point-rochford")


def test_workbook_has_numbers_blanks_and_notes(tmp_path) -> None:
    values = _values({("2022/23", "all"): {MEMBERS[0]: 3, MEMBERS[1]: 41}})
    table = published_table(values, CONFIG.partnership, CONFIG.metrics.disclosure_policies["hospital_episode"],
                            restate_from_counts)
    path = write_workbook(table, tmp_path / "m.xlsx", notes_rows(CONFIG.metrics, "Demo measures"))
    book = load_workbook(path)
    sheet = book["measures"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]
    by_area = {r["area_code"]: r for r in rows}
    assert by_area[MEMBERS[0]]["count"] is None and by_area[MEMBERS[0]]["count_flag"] == "suppressed"
    total = by_area[CONFIG.partnership.id]
    assert total["count"] == 45 and isinstance(total["value"], float)
    notes = {row[0].value: row[1].value for row in book["notes"].iter_rows() if row[0].value}
    assert "police_recorded" in notes and "data.police.uk" in notes["police_recorded"]
    assert "suppressed" in notes and "as published" in notes
