"""The parameters every flow takes: typed so that the Prefect UI's form offers only valid choices in plain English,
and checked again before any work starts, whichever way the run was created (UI with or without "Validate
parameters", API, CLI, schedule), so a mistake ends at once with one plain sentence and nothing sent.

The form's choices are read when a deployment is registered (``dutycycle serve`` or ``prefect deploy``): the
configured partnerships, and the financial years that have data plus 'latest' and 'current'. The types stay plain
strings so that Prefect's own validation never answers with a multi-line error: ``check_run`` is the one judge.
"""

from __future__ import annotations

import datetime as dt
import difflib
import time
from collections.abc import Callable
from typing import Annotated, Any

from tasks.shared.config import ConfigError, load_partnership_config, partnership_ids
from tasks.shared.context import CycleContext, open_cycle
from tasks.shared.coverage import year_refusal, years_with_data
from tasks.shared.periods import financial_year_label
from tasks.shared.settings import get_settings

DEMO_PARTNERSHIP = "castle-point-rochford"
DEFAULT_YEAR = "latest"
YEAR_WORDS = ("latest", "current")
STAGES = ("collect", "validate", "compute", "notify", "submit")


class ParameterProblem(ValueError):
    """A run's parameters cannot be used: the message is one plain sentence for the analyst."""


def _partnership_choices(schema: dict[str, Any]) -> None:
    try:
        ids = partnership_ids(get_settings().config_dir)
    except OSError:
        ids = []
    if ids:
        schema["enum"] = ids


def offered_years(today: dt.date | None = None) -> list[str]:
    """'latest', 'current', then every year some configured partnership has data for, newest first."""
    settings = get_settings()
    years: set[int] = set()
    for pid in partnership_ids(settings.config_dir):
        try:
            config = load_partnership_config(settings.config_dir, pid)
            years |= set(years_with_data(config, settings.resolved_database_url, today))
        except Exception:  # noqa: BLE001 - a broken partnership must not hide the others' years from the form
            continue
    return [*YEAR_WORDS, *(financial_year_label(year) for year in sorted(years, reverse=True))]


_YEAR_CHOICES_TTL_SECONDS = 60.0
_year_choices_cache: dict[tuple[str, str, dt.date], tuple[float, list[str]]] = {}


def _cached_offered_years() -> list[str]:
    """offered_years, read once a minute per configuration and database: Prefect builds every flow's form schema
    when the flow is defined, so without this each import of the flows read the database a dozen times."""
    settings = get_settings()
    key = (str(settings.config_dir), str(settings.resolved_database_url), dt.date.today())
    now = time.monotonic()
    cached = _year_choices_cache.get(key)
    if cached is None or now - cached[0] > _YEAR_CHOICES_TTL_SECONDS:
        cached = (now, offered_years())
        _year_choices_cache[key] = cached
    return list(cached[1])


def _year_choices(schema: dict[str, Any]) -> None:
    try:
        schema["enum"] = _cached_offered_years()
    except Exception:  # noqa: BLE001 - no database yet: the form takes free text, check_run still judges it
        schema["pattern"] = r"^(\d{4}/\d{2}|latest|current)$"


def _stage_choices(schema: dict[str, Any]) -> None:
    schema["items"] = {"type": "string", "enum": list(STAGES)}
    schema["minItems"] = 1
    schema["uniqueItems"] = True


class FormSchema:
    """Pydantic metadata that fills a parameter's JSON schema (the Prefect UI's form field) when the schema is made,
    so the choices are those of the moment a deployment is registered, not of the moment the module was imported.
    (Prefect sets each field's title to the parameter's name; deployments/serve.py gives the form plain labels.)"""

    def __init__(self, description: str, choices: Callable[[dict[str, Any]], None]):
        self.description, self.choices = description, choices

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        schema = handler(core_schema)
        schema["description"] = self.description
        self.choices(schema)
        return schema


PartnershipId = Annotated[
    str,
    FormSchema("The community safety partnership whose data this run works on.", _partnership_choices),
]
FinancialYear = Annotated[
    str,
    FormSchema(
        "The year under review, April to March. 'latest' is the last complete year; 'current' is the year in "
        "progress (the schedules use these two). The other choices are the years that have data.",
        _year_choices,
    ),
]
Stages = Annotated[
    list[str],
    FormSchema(
        "Which stages to run; they always run in cycle order (collect, validate, compute, notify, submit). For "
        "example only compute and notify to refresh the board's pack.",
        _stage_choices,
    ),
]
FORM_TITLES = {"partnership": "Partnership", "financial_year": "Financial year", "stages": "Stages",
               "as_of": "As of (date)"}


def _unknown_partnership(partnership: str, known: list[str]) -> str:
    close = difflib.get_close_matches(partnership, known, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return (f"unknown partnership {partnership!r}: the configured partnerships are "
            f"{', '.join(known) or 'none'}{hint}")


def check_stages(stages: list[str] | None) -> list[str]:
    """The stages asked for, in cycle order; an empty or unknown choice is refused."""
    chosen = [str(getattr(s, "value", s)) for s in (stages if stages is not None else STAGES)]
    unknown = [s for s in chosen if s not in STAGES]
    if unknown:
        raise ParameterProblem(f"unknown stage(s) {', '.join(map(repr, unknown))}: choose from {', '.join(STAGES)}")
    if not chosen:
        raise ParameterProblem(f"no stage chosen: choose at least one of {', '.join(STAGES)}")
    return [s for s in STAGES if s in chosen]


def check_partnership(partnership: str) -> None:
    """ParameterProblem unless the partnership is configured."""
    known = partnership_ids(get_settings().config_dir)
    if partnership not in known:
        raise ParameterProblem(_unknown_partnership(str(partnership), known))


def check_run(partnership: str, financial_year: str, flow_run_id: str | None = None,
              today: dt.date | None = None, require_data: bool = True) -> CycleContext:
    """The cycle's context for a run's partnership and year, or ParameterProblem saying in one sentence why the
    run cannot start (unknown partnership, broken configuration, a year that is not a year, in the future or
    without data; the daily deadline watch needs no data: ``require_data=False``)."""
    check_partnership(partnership)
    try:
        ctx = open_cycle(partnership, financial_year, flow_run_id=flow_run_id)
    except ConfigError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ParameterProblem(f"the configuration of {partnership} is broken ({first}); "
                               "`dutycycle config check` lists every problem") from None
    except ValueError as exc:
        raise ParameterProblem(str(exc)) from None
    refusal = year_refusal(ctx, today) if require_data else None
    if refusal:
        asked = f" ({financial_year})" if financial_year in YEAR_WORDS else ""
        years = [financial_year_label(y) for y in years_with_data(ctx.config, ctx.database_url, today)]
        offer = f" (years with data: {', '.join(years)})" if years else ""
        raise ParameterProblem(f"nothing run{asked}: {refusal}{offer}")
    return ctx
