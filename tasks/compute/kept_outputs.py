"""Outputs kept while what they were made from is unchanged: the report's PDF and the PNG charts are deterministic
(same source, same bytes), so a re-run on the same figures keeps them instead of printing or drawing them again."""

from __future__ import annotations

import json
from pathlib import Path

from tasks.shared.raw_store import sha256_of


def still_kept(path: Path, record: Path, source: dict[str, str], output_key: str) -> bool:
    """Whether ``path`` is the output made from this very ``source``: its record says so and the file still has
    the bytes it was written with (an output edited, truncated or left by another run is made again)."""
    try:
        kept = json.loads(record.read_text(encoding="utf-8"))
        return (all(kept.get(key) == value for key, value in source.items())
                and kept.get(output_key) == sha256_of(path.read_bytes()))
    except (OSError, ValueError, AttributeError):
        return False


def keep_record(record: Path, source: dict[str, str], output_key: str, output: bytes) -> None:
    """Record what ``output`` was made from, beside its own sha256 under ``output_key``."""
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({**source, output_key: sha256_of(output)}, indent=1) + "\n", encoding="utf-8")
