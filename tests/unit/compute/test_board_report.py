"""The board's annual review report: the key-message sentences, what the report must contain, and its PDF."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tasks.compute.board_report import Series, alt_text, chart_svg, key_message, write_pdf
from tasks.shared.config import DisclosurePolicy
from tests.report_sample import CONFIG, sample_report_html

POLICY = DisclosurePolicy(name="NHS", suppress_from=1, suppress_to=7, suppressed_symbol="*", round_to=5,
                          min_count_for_rate=10)
KNIFE = "Knife crime"


def test_sentence_rising_significantly_worse_with_england() -> None:
    row = {"count": "185", "value": "102.6", "change_on_previous_year_percent": "5.2",
           "compared_with_baseline": "Significantly higher", "trend": "Increasing", "compared_with_england": "Worse"}
    sentence = key_message(KNIFE, "all ages", "2022/23", row, policy=POLICY, england={"value": "95.0"})
    assert sentence == (
        "Knife crime (all ages): 102.6 per 100,000 in 2022/23 (185 recorded), up 5.2% on 2021/22; significantly "
        "higher than the three-year baseline (worse); a significant increasing five-year trend, getting worse; "
        "worse than England (95.0).")


def test_sentence_falling_not_significant_no_england() -> None:
    row = {"count": "60", "value": "131.4", "change_on_previous_year_percent": "-11.2",
           "compared_with_baseline": "No significant change", "trend": "No significant change",
           "compared_with_england": ""}
    assert key_message(KNIFE, "under 25", "2022/23", row, policy=POLICY) == (
        "Knife crime (under 25): 131.4 per 100,000 in 2022/23 (60 recorded), down 11.2% on 2021/22; not "
        "significantly different from the three-year baseline; no significant five-year trend; no England figure "
        "is published.")


def test_a_percentage_moves_in_percentage_points() -> None:
    # 20.0% of knife offences by under-25s last year, 25.0% this year: 5 points, a quarter more (25.0/20.0 = 1.25)
    row = {"count": "50", "value": "25.0", "value_unit": "%", "change_on_previous_year_percent": "25.0",
           "compared_with_baseline": "", "trend": ""}
    sentence = key_message("Share under 25", "all ages", "2022/23", row, policy=POLICY)
    assert sentence.startswith("Share under 25 (all ages): 25.0% in 2022/23 (50 recorded), up 5.0 percentage points "
                               "(+25.0%) on 2021/22;"), sentence
    falling = {**row, "value": "15.0", "change_on_previous_year_percent": "-25.0"}  # from 20.0%
    assert "down 5.0 percentage points (-25.0%) on 2021/22" in key_message("Share", "all ages", "2022/23", falling)


def test_sentence_polarity_higher_is_better_turns_a_fall_worse() -> None:
    row = {"count": "60", "value": "50.0", "change_on_previous_year_percent": "",
           "compared_with_baseline": "Significantly lower", "trend": "Decreasing"}
    assert key_message("Screening", "all ages", "2022/23", row, polarity="higher_is_better", policy=POLICY) == (
        "Screening (all ages): 50.0 per 100,000 in 2022/23 (60 recorded), no change on 2021/22 is published; "
        "significantly lower than the three-year baseline (worse); a significant decreasing five-year trend, "
        "getting worse; no England figure is published.")


def test_sentence_suppressed_rate_hidden_and_not_computed() -> None:
    assert key_message(KNIFE, "under 25", "2022/23", {"count": "*"}, policy=POLICY) == (
        "Knife crime (under 25): the 2022/23 count is suppressed to protect individuals (shown as *), so no rate or "
        "comparison is published.")
    assert key_message(KNIFE, "under 25", "2022/23", {"count": "10", "value": ""}, policy=POLICY) == (
        "Knife crime (under 25): 10 in 2022/23 (too few for a reliable rate); no rate or comparison is published.")
    assert key_message(KNIFE, "all ages", "2022/23", None, reason="no source supplies dataset x") == (
        "Knife crime (all ages): not computed for 2022/23: no source supplies dataset x.")


def test_alt_text_describes_each_series_and_suppressed_years() -> None:
    years = ["2018/19", "2019/20", "2020/21"]
    text = alt_text("Rate per 100,000", years, [
        Series("Area", [410.0, 450.0, 520.0], [False] * 3),
        Series("Rochford", [300.0, None, 280.0], [False, True, False]),
        Series("England", [None, None, 480.0], [False] * 3, england=True),
    ])
    assert text == ("Rate per 100,000 by financial year. Area: rate per 100,000 rose from 410.0 in 2018/19 to 520.0 "
                    "in 2020/21 (highest 520.0 in 2020/21). Rochford: rate per 100,000 fell from 300.0 in 2018/19 "
                    "to 280.0 in 2020/21; suppressed in 2019/20. England 480.0 in 2020/21.")


def test_chart_marks_each_published_value_and_bridges_no_gap() -> None:
    """Three years, the middle one not published: two dots (one path of arcs, at x 60 and 460 of the 400-wide plot
    from x 60; y of 1 and 3 on an axis to 3 x 1.15 = 3.45 over 240 from y 20: 190.4 and 51.3), no line at all (no
    two neighbouring years), and four grid lines plus the axis in one path."""
    svg = chart_svg("c", "Rate", ["2018/19", "2019/20", "2020/21"], [Series("Area", [1.0, None, 3.0], [False] * 3)],
                    "Rate by year.")
    dots = re.findall(r'<path d="([^"]*)" fill="#08519c"/>', svg)
    assert dots == ["M57.0,190.4a3,3 0 1,0 6,0a3,3 0 1,0 -6,0 M457.0,51.3a3,3 0 1,0 6,0a3,3 0 1,0 -6,0"]
    assert "<polyline" not in svg and "<circle" not in svg
    grid = re.findall(r'<path d="([^"]*)" stroke="#e5e5e5"/>', svg)
    assert grid == ["M60,260.0H460 M60,200.0H460 M60,140.0H460 M60,80.0H460 M60,20.0H460"]


class _Outline(HTMLParser):
    """Collects what an accessibility check looks at: tags, headings, captions, links, images."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.headings: list[int] = []
        self.urls: list[str] = []
        self.svg_without_label = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append(tag)
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        for name in ("href", "src"):
            if attributes.get(name):
                self.urls.append(attributes[name])
        if tag == "svg" and not (attributes.get("aria-labelledby") and attributes.get("role") == "img"):
            self.svg_without_label += 1


@pytest.fixture(scope="module")
def report() -> str:
    return sample_report_html()


def test_report_reads_in_a_boards_order_with_every_measure(report: str) -> None:
    order = [report.index(f'id="{s}"') for s in ("key-messages", "legend", "police_knife_crime", "quality",
                                                  "definitions", "about")]
    assert order == sorted(order)
    for metric in CONFIG.metrics.metrics:  # every measure defined: in definitions, and its section if published
        assert f"({metric.id}, version {metric.version}" in report
    assert "The partnership&#39;s own words." in report and "a draft for sign-off when produced" in report
    assert "no source supplies dataset police_homicides" in report
    assert "community.safety@example.org" in report and "dutycycle 0.1.0" in report
    for words in ("Better", "Similar", "Worse", "Higher", "Lower", "Not compared"):
        assert 'class="marker' in report and f">{words}</span>" in report
    assert "a higher value is worse" in report
    assert "counts of 1 to 7 are shown as &ldquo;*&rdquo;" in report


def test_each_measure_is_labelled_in_its_own_unit(report: str) -> None:
    """A percentage is headed, charted and compared as a percentage, never as a rate per 100,000."""
    start = report.index('id="police_knife_crime_under_25_share"')
    section = report[start:report.index("</section>", start)]
    assert "Percentage (%)" in section and "percentage (%) (count below)" in section
    assert '<th scope="col">Percentage (%)</th>' in section  # the comparisons table's value column
    assert "per 100,000" not in section and "Rate" not in section
    knife = report[report.index('id="police_knife_crime"'):start]
    assert '<th scope="col">Rate per 100,000</th>' in knife


def test_report_is_self_contained_and_accessible(report: str) -> None:
    outline = _Outline()
    outline.feed(report)
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", report, re.IGNORECASE), "an external URL"
    assert all(url.startswith("#") for url in outline.urls)
    assert '<html lang="en">' in report
    assert {"header", "nav", "main", "footer"} <= set(outline.tags)
    assert outline.tags.count("table") == outline.tags.count("caption")
    assert outline.svg_without_label == 0 and outline.tags.count("svg") >= 3
    assert outline.headings[0] == 1 and all(b - a <= 1 for a, b in zip(outline.headings, outline.headings[1:]))
    assert "@page" in report and "counter(page)" in report and "break-inside: avoid" in report


def _rows_split(document) -> list[int]:
    """The body rows WeasyPrint laid out on more than one page (its layout API: each page's boxes); header rows
    are left out, since a repeated header is the same row on every page by design."""
    pages_of: dict[int, int] = {}
    for page in document.pages:
        for box in page._page_box.descendants():
            if box.element_tag == "tr" and any(str(child.tag).endswith("td") for child in box.element):
                pages_of[id(box.element)] = pages_of.get(id(box.element), 0) + 1
    return [key for key, count in pages_of.items() if count > 1]


def test_pdf_has_page_numbers_and_no_row_split(report: str, tmp_path) -> None:
    weasyprint = pytest.importorskip("weasyprint")
    skipped = write_pdf(report, tmp_path / "report.pdf")
    assert skipped is None, skipped
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    document = weasyprint.HTML(string=report).render()
    assert len(document.pages) >= 3
    for number, page in enumerate(document.pages, start=1):
        texts = [box.text for box in page._page_box.descendants() if hasattr(box, "text")]
        assert f"Page {number} of {len(document.pages)}" in " ".join(texts)
    assert not _rows_split(document), "a table row is split across pages"


def test_report_css_keeps_tall_rows_whole() -> None:
    weasyprint = pytest.importorskip("weasyprint")
    style = re.search(r"<style>.*?</style>", sample_report_html(), re.DOTALL).group(0)
    tall = "<table><thead><tr><th>h</th></tr></thead><tbody>" + "".join(
        f"<tr><td>{'line<br>' * 25}{n}</td></tr>" for n in range(8)) + "</tbody></table>"
    without = weasyprint.HTML(string=f"<html><body>{tall}</body></html>").render()
    assert _rows_split(without), "the check itself must see a split row when nothing prevents it"
    kept = weasyprint.HTML(string=f"<html><head>{style}</head><body>{tall}</body></html>").render()
    assert len(kept.pages) > 1 and not _rows_split(kept)
    header_pages = [page for page in kept.pages if any(
        getattr(box, "text", None) == "h" for box in page._page_box.descendants())]
    assert len(header_pages) == len(kept.pages), "the table header repeats on every page"


def test_report_compares_with_england_and_the_region(report: str) -> None:
    section = report[report.index('id="hospital_admissions_violence_fingertips"'):report.index('id="quality"')]
    assert '<th scope="row" class="text">East of England region</th>' in section  # its five-year row
    assert "East of England region" in section.split("<svg", 1)[1].split("</svg>", 1)[0]  # and chart line
    assert ">Against the region</th>" in section
    assert '<span class="marker better">Better</span></td><td class="text"><span class="marker similar">Similar' \
        in section  # Castle Point: against England, then against the region, as published


def _overflowing(document) -> list[str]:
    """Words or markers that stick out of their table cell's content box, as WeasyPrint laid them out."""
    from weasyprint.formatting_structure import boxes

    found = []

    def walk(box, cell) -> None:
        if isinstance(box, boxes.TableCellBox):
            cell = box
        elif cell is not None and isinstance(box, (boxes.TextBox, boxes.InlineBlockBox)):
            left, right = cell.content_box_x(), cell.content_box_x() + cell.width
            if box.position_x < left - 0.01 or box.position_x + box.margin_width() > right + 0.01:
                found.append(getattr(box, "text", None) or " ".join(
                    d.text for d in box.descendants() if hasattr(d, "text")))
        for child in getattr(box, "children", None) or []:
            walk(child, cell)

    for page in document.pages:
        walk(page._page_box, None)
    return found


def test_printed_tables_have_set_widths_that_hold_every_word(report: str) -> None:
    """Printed, every table lays out in fixed mode from the widths report.html sets (WeasyPrint then does not
    measure every cell first: the print's costliest step), and those widths hold the longest words the report uses
    ("Significantly" in a marker, "Percentage", "(reference" of a ratio) without breaking them: the check lays out
    with the break-word safety net switched off, so a column too narrow shows as text running over its border."""
    weasyprint = pytest.importorskip("weasyprint")
    assert report.count("overflow-wrap: break-word") == 1  # the safety net for a word longer than any foreseen
    unbroken = report.replace("overflow-wrap: break-word", "overflow-wrap: normal")
    ratio = unbroken.replace("<th scope=\"col\">Percentage (%)</th>", "<th scope=\"col\">Ratio (reference = 100)</th>")
    assert ratio != unbroken
    for html_text in (unbroken, ratio):
        document = weasyprint.HTML(string=html_text).render()
        tables = [box for page in document.pages for box in page._page_box.descendants()
                  if type(box).__name__ == "TableBox"]
        assert len(tables) >= 10 and all(table.style["table_layout"] == "fixed" for table in tables)
        assert not _overflowing(document), f"text runs over its cell's border: {_overflowing(document)[:5]}"
    # the check itself sees text over a border: the markers' columns too narrow for "Significantly"
    narrow = unbroken.replace(".comparisons col.baseline { width: 14%; }", ".comparisons col.baseline { width: 9%; }")
    assert narrow != unbroken
    assert "Significantly" in " ".join(_overflowing(weasyprint.HTML(string=narrow).render()))


# Two prints of the same HTML in one fresh process, a second apart, with the environment's SOURCE_DATE_EPOCH
# removed; "fontTools" makes WeasyPrint believe Debian's HarfBuzz subsetter is absent, as on a machine with pango
# but without chromium (fontTools then stamps every subset font with the time it was saved).
PRINT_TWICE = """
import hashlib, sys, time
from pathlib import Path
if sys.argv[2] == "fontTools":
    import weasyprint.pdf.fonts, weasyprint.text.ffi
    weasyprint.pdf.fonts.harfbuzz_subset = weasyprint.text.ffi.harfbuzz_subset = None
from tasks.compute.board_report import pin_font_timestamps, write_pdf
html = "<html><body><h1>Knife crime</h1><p>102.6 per 100,000 in 2022/23 (185 recorded)</p></body></html>"
folder = Path(sys.argv[1])
assert write_pdf(html, folder / "first.pdf") is None
time.sleep(1.1)  # fontTools' stamp counts whole seconds
assert write_pdf(html, folder / "second.pdf") is None
digests = {hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in ("first.pdf", "second.pdf")}
print(len(digests), pin_font_timestamps())
"""


@pytest.mark.parametrize("subsetter", ["as installed", "fontTools"])
def test_the_same_html_prints_the_same_pdf_bytes_a_second_later(subsetter: str, tmp_path) -> None:
    pytest.importorskip("weasyprint")
    env = {key: value for key, value in os.environ.items() if key != "SOURCE_DATE_EPOCH"}
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", PRINT_TWICE, str(tmp_path), subsetter], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    distinct, pinned = done.stdout.split()
    assert distinct == "1", f"two prints of the same HTML gave different bytes ({subsetter})"
    if subsetter == "fontTools":
        assert pinned == "True"  # the fallback's stamp was pinned, not left to the clock
