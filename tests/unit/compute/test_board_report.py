"""The board's annual review report: the key-message sentences, what the report must contain, and its PDF."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tasks.compute.board_report import Series, alt_text, key_message, write_pdf
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
