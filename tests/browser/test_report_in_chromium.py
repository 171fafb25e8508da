"""The board's report in a real browser: Debian's Chromium opens report.html from a file (no network) and axe-core,
vendored under tests/browser/vendor/, finds no accessibility violation; landmarks, captions and chart descriptions
are checked as a screen reader meets them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report_sample import sample_report_html

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"no {CHROMIUM}: run scripts/install-browser (Debian's chromium package)"
    ),
]


def test_report_passes_axe_and_needs_no_network(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    report = tmp_path / "report.html"
    report.write_text(sample_report_html(), encoding="utf-8")
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("request", lambda request: requests.append(request.url))
            page.goto(report.as_uri(), timeout=60_000)
            page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
            result = page.evaluate(
                "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
                "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
            )
            outline = page.evaluate(
                """() => ({
                    landmarks: ['header', 'nav', 'main', 'footer'].filter(t => document.querySelector(t)),
                    tables: document.querySelectorAll('table').length,
                    captions: document.querySelectorAll('table > caption').length,
                    charts: [...document.querySelectorAll('svg[role=img]')].map(
                        s => document.getElementById(s.getAttribute('aria-labelledby').split(' ')[1]).textContent),
                    lang: document.documentElement.lang,
                })"""
            )
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    violations = [f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes, e.g. {v['nodes'][0]['html'][:120]})"
                  for v in result["violations"]]
    assert not violations, "\n".join(violations)
    assert outline["landmarks"] == ["header", "nav", "main", "footer"] and outline["lang"] == "en"
    assert outline["tables"] == outline["captions"] > 0
    assert outline["charts"] and all("by financial year" in text for text in outline["charts"])
    assert [url for url in requests if not url.startswith("file://")] == []
