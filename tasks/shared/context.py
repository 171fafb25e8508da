"""What every stage of one cycle needs to know: the partnership's config, settings and the year."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tasks.shared.config import PartnershipConfig, load_partnership_config
from tasks.shared.periods import (
    financial_year_end,
    financial_year_label,
    parse_financial_year,
)
from tasks.shared.settings import Settings, get_settings


@dataclass(frozen=True)
class CycleContext:
    """One partnership, one financial year, one set of settings."""

    config: PartnershipConfig
    settings: Settings
    financial_year: int  # the calendar year the financial year starts in
    flow_run_id: str | None = None

    @property
    def partnership_id(self) -> str:
        return self.config.partnership.id

    @property
    def year_label(self) -> str:
        return financial_year_label(self.financial_year)

    @property
    def year_start(self) -> dt.date:
        start = self.config.partnership.financial_year_start
        return dt.date(self.financial_year, start.month, start.day)

    @property
    def year_end(self) -> dt.date:
        start = self.config.partnership.financial_year_start
        return financial_year_end(self.financial_year, start.month, start.day)

    @property
    def database_url(self) -> str:
        return self.settings.resolved_database_url

    def financial_year_of(self, day: dt.date) -> int:
        start = self.config.partnership.financial_year_start
        return day.year if (day.month, day.day) >= (start.month, start.day) else day.year - 1


def open_cycle(partnership: str, financial_year: str, flow_run_id: str | None = None) -> CycleContext:
    """Load settings and the partnership's configuration for one year (fails early on bad config)."""
    settings = get_settings()
    config = load_partnership_config(settings.config_dir, partnership)
    year = parse_financial_year(financial_year, start_month=config.partnership.financial_year_start.month)
    return CycleContext(config=config, settings=settings, financial_year=year, flow_run_id=flow_run_id)
