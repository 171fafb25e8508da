"""Inboxes: each source's folder must exist, and a file no source's pattern takes is reported, not ignored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tasks.shared.config import PartnershipConfig

INBOX_NOTES = {"README.md", "README.txt"}  # the note onboarding leaves in each inbox is not an input


def inbox_files(folder: Path, patterns: list[str]) -> list[Path]:
    """The files of a folder that the patterns take (hidden files aside; symbolic links included, unfollowed, so
    collection can refuse them), unread: the one selection collection and the year checks both use."""
    if not folder.is_dir():
        return []
    found = {path for pattern in patterns for path in folder.glob(pattern) if path.is_symlink() or path.is_file()}
    return sorted(path for path in found if not path.name.startswith("."))


def discover_unmatched(folder: Path, patterns: list[str]) -> list[str]:
    """Names of the files in a folder that none of the patterns takes (hidden files and the inbox note aside),
    matched as collection matches them (Path.glob)."""
    if not folder.is_dir():
        return []
    taken = {path for pattern in patterns for path in folder.glob(pattern)}
    return sorted(
        path.name
        for path in folder.iterdir()
        if path.is_file() and path not in taken and not path.name.startswith(".") and path.name not in INBOX_NOTES
    )


@dataclass(frozen=True)
class InboxProblems:
    """Refusals (a source's folder is missing) and warnings (files that no source will collect)."""

    errors: list[str]
    warnings: list[str]


def inbox_problems(config: PartnershipConfig) -> InboxProblems:
    """Check every source's inbox; sources sharing a folder are checked together (a file one of them takes is
    not unmatched)."""
    pid = config.partnership.id
    errors, warnings = [], []
    shared: dict[Path, list] = {}
    for source in config.sources:
        folder = config.source_folder(source)
        if not folder.is_dir():
            errors.append(
                f"{pid}: source '{source.id}': inbox folder {folder} does not exist (create it, or correct "
                "'location' in sources.yaml)"
            )
        shared.setdefault(folder, []).append(source)
    for folder, sources in shared.items():
        patterns = [pattern for source in sources for pattern in source.patterns]
        takes = "; ".join(f"{s.id} takes {' or '.join(s.patterns)}" for s in sources)
        warnings += [
            f"{pid}: {folder / name}: matches no source's pattern, so it is not collected ({takes})"
            for name in discover_unmatched(folder, patterns)
        ]
    return InboxProblems(errors=errors, warnings=warnings)
