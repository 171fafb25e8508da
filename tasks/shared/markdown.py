"""Markdown for Prefect artifacts and plain-text messages (pure)."""

from __future__ import annotations

import pandas as pd


def markdown_table(frame: pd.DataFrame, max_rows: int = 50) -> str:
    """A small DataFrame as a GitHub-style markdown table (for artifacts and e-mails)."""
    if frame.empty:
        return "_(nothing to show)_"
    # pandas 3 keeps missing values as NaN through astype(str): blank them first, then write everything as text
    head = frame.head(max_rows)
    shown = head.astype(object).where(head.notna(), "").map(str)
    header = "| " + " | ".join(shown.columns) + " |"
    rule = "| " + " | ".join("---" for _ in shown.columns) + " |"
    lines = ["| " + " | ".join(v.replace("|", "\\|") for v in row) + " |" for row in shown.itertuples(index=False)]
    more = [f"\n_… and {len(frame) - max_rows} more rows_"] if len(frame) > max_rows else []
    return "\n".join([header, rule, *lines, *more])
