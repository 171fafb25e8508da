"""The national run: the yearly cycle for every partnership of a police force area, a region or the country, with
partnerships grouped by the force archive they read, one line per partnership and a summary."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

from tasks.shared.config import PartnershipConfig


@dataclass(frozen=True)
class PartnershipResult:
    """How one partnership's cycle ended in a national run."""

    partnership: str
    outcome: str  # completed | completed with warnings | failed | rejected | crashed | cancelled
    message: str
    figures: int  # metric values stored for the partnership and year
    seconds: float

    @property
    def failed(self) -> bool:
        return self.outcome not in ("completed", "completed with warnings")


def archive_folders(config: PartnershipConfig) -> tuple[Path, ...]:
    """The folder(s) a partnership's police archive source(s) read: partnerships sharing one read one force's
    files."""
    return tuple(sorted({config.source_folder(s) for s in config.sources if s.kind == "police_archive"}))


def force_groups(configs: list[PartnershipConfig]) -> dict[tuple[Path, ...], list[str]]:
    """Partnerships grouped by the archive folders they read (a group per force archive; no archive: its own)."""
    groups: dict[tuple[Path, ...], list[str]] = {}
    for config in configs:
        groups.setdefault(archive_folders(config), []).append(config.partnership.id)
    return groups


def run_order(groups: dict[tuple[Path, ...], list[str]]) -> list[str]:
    """One partnership of each force first, then the second of each, ...: parallel workers start on different
    forces' archives, so none waits for another's parse of the same file (the parse cache's lock)."""
    return [pid for batch in zip_longest(*groups.values()) for pid in batch if pid is not None]


def national_year(configs: list[PartnershipConfig], financial_year: str, today=None) -> str:
    """The one financial year every chosen partnership reviews: 'latest' and 'current' are worked out for each
    (a partnership's year may start in another month), and a word that names different years for different
    partnerships is refused rather than resolved from whichever partnership came first."""
    from tasks.shared.periods import financial_year_label, parse_financial_year

    by_year: dict[str, list[str]] = {}
    for config in configs:
        start = parse_financial_year(financial_year, today=today,
                                     start_month=config.partnership.financial_year_start.month)
        by_year.setdefault(financial_year_label(start), []).append(config.partnership.id)
    if len(by_year) > 1:
        named = "; ".join(f"{year} for {', '.join(ids)}" for year, ids in sorted(by_year.items()))
        raise ValueError(f"{financial_year!r} is not one year for these partnerships ({named}): "
                         "give the year, e.g. --financial-year 2022/23")
    return next(iter(by_year))


def outcome_of_state(state) -> str:
    """The partnership's outcome from its annual review run's final state."""
    from tasks.shared.runs import REJECTED_STATE, WARNINGS_STATE

    if state.is_completed():
        return "completed with warnings" if state.name == WARNINGS_STATE else "completed"
    if state.name == REJECTED_STATE:
        return "rejected"
    return state.type.value.lower()


def figures_of(database_url: str, partnership: str) -> int:
    """Metric values stored for the partnership (every year the review computed)."""
    from sqlalchemy import func, select

    from tasks.shared.storage.models import MetricValue
    from tasks.shared.storage.session import session_scope

    with session_scope(database_url) as session:
        return int(session.scalar(select(func.count()).where(MetricValue.partnership == partnership)) or 0)


def result_line(result: PartnershipResult) -> str:
    """One line per partnership: outcome, figures and time (and why, when it failed)."""
    why = f" - {result.message}" if result.failed else ""
    return f"{result.partnership:40s} {result.outcome:24s} {result.figures:6d} figures {result.seconds:8.1f} s{why}"


def summary_lines(results: list[PartnershipResult], runner: str, seconds: float, parses: int | None = None) -> list[str]:
    """The run's summary: how many completed, the failed ones by name, figures and wall time."""
    failed = [r.partnership for r in results if r.failed]
    lines = [
        f"national run ({runner}): {len(results) - len(failed)} of {len(results)} partnerships completed, "
        f"{sum(r.figures for r in results)} figures, {seconds:.1f} s",
    ]
    if parses is not None:
        lines.append(f"  street files parsed in this run: {parses} (each force's file once, whatever its partnerships)")
    if failed:
        lines.append(f"  failed: {', '.join(failed)}")
    return lines
