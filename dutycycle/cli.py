"""The `dutycycle` command: run the yearly cycle, check configuration, inspect the database, serve deployments."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="dutycycle: the Serious Violence Duty's yearly cycle (collect, validate, compute, notify, submit).",
    no_args_is_help=True,
    add_completion=False,
    # main() turns a database that cannot be used into one line; a traceback must never print local variables
    # (one of them may be the database URL with its password)
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
)
config_app = typer.Typer(help="Check the partnership configuration in config/.", no_args_is_help=True)
db_app = typer.Typer(help="The dutycycle database (SQLite by default, DUTYCYCLE_DATABASE_URL to change).", no_args_is_help=True)
outbox_app = typer.Typer(
    help="The outbox: queued, sent and failed messages; retry or cancel one.", invoke_without_command=True
)
partnership_app = typer.Typer(help="Create a partnership from the ONS lookups.", no_args_is_help=True)
source_app = typer.Typer(help="Add a data source to a partnership.", no_args_is_help=True)
cache_app = typer.Typer(help="The parse cache of var/parsed/ (street files parsed once for all partnerships).",
                        no_args_is_help=True)
app.add_typer(cache_app, name="cache")
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(outbox_app, name="outbox")
app.add_typer(partnership_app, name="partnership")
app.add_typer(source_app, name="source")

DEMO = "castle-point-rochford"
STAGES = ["collect", "validate", "compute", "notify", "submit"]


# Prefect waits 20 s for the local API it starts when no PREFECT_API_URL is set; a fresh Prefect home on a busy
# 2-core machine took about 40 s (migrating its database), and the run then failed. The environment still wins.
EPHEMERAL_STARTUP_TIMEOUT_SECONDS = "180"


def _quiet_prefect_defaults() -> None:
    """Prefect defaults for dutycycle's commands, each kept when the environment already sets it."""
    # the local server's telemetry heartbeat causes "database is locked" noise and reaches for the internet
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", EPHEMERAL_STARTUP_TIMEOUT_SECONDS)


def one_root_certificate(folder: Path) -> Path:
    """A file holding one root certificate of certifi's bundle (Prefect's own), written once into ``folder``."""
    import certifi

    bundle = Path(certifi.where()).read_text(encoding="ascii")
    end = "-----END CERTIFICATE-----"
    first = bundle[bundle.index("-----BEGIN CERTIFICATE-----"):bundle.index(end) + len(end)] + "\n"
    path = folder / "dutycycle-local-api-ca.pem"
    if not path.is_file() or path.read_text(encoding="ascii") != first:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(first, encoding="ascii")
        temporary.replace(path)
    return path


@contextmanager
def _one_shot_run() -> Iterator[None]:
    """Flow runs of a command that starts its own local Prefect API run without flow run heartbeats."""
    from prefect.settings import (
        PREFECT_API_SSL_CERT_FILE,
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_HOME,
        temporary_settings,
    )

    if PREFECT_API_URL.value():  # a real server: its heartbeats tell it when a run's process died
        yield
        return
    # The ephemeral API lives and dies with this process, so nothing can read a heartbeat after a crash; and at the
    # end of every flow run Prefect joins the heartbeat thread, which sleeps in 1 s steps (up to 1 s lost per run).
    # Only None switches heartbeats off: the environment variable accepts 30 or more.
    updates: dict = {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    if "PREFECT_API_SSL_CERT_FILE" not in os.environ and \
            PREFECT_API_SSL_CERT_FILE.value() in (None, os.environ.get("SSL_CERT_FILE")):
        # Every Prefect client (a dozen a partnership) builds an SSL context from its CA file (certifi's, or the
        # machine's SSL_CERT_FILE) even for the ephemeral API, which is plain http on 127.0.0.1 and never uses it:
        # ~120 roots take 27 ms a client, one root 0.5 ms. Only here, where no PREFECT_API_URL is set, and only for
        # Prefect's clients (SSL_CERT_FILE stays for everything else); one root of certifi's bundle trusts nothing
        # certifi would not, so an https server reached by some other Prefect client would be refused, never
        # accepted unverified. A CA file set for Prefect itself (PREFECT_API_SSL_CERT_FILE, a profile) is kept.
        updates[PREFECT_API_SSL_CERT_FILE] = str(one_root_certificate(PREFECT_HOME.value()))
    with temporary_settings(updates=updates):
        yield


@app.callback()
def _defaults() -> None:
    """Set the Prefect defaults before any command imports Prefect (its settings are read once, at import)."""
    _quiet_prefect_defaults()


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


@app.command()
def review(
    partnership: Annotated[str, typer.Option(help="Partnership id (folder under config/partnerships)")] = DEMO,
    financial_year: Annotated[str, typer.Option("--financial-year", "-y", help="Year under review, e.g. 2022/23")] = "2022/23",
    stage: Annotated[list[str] | None, typer.Option("--stage", "-s", help=f"Run only these stages: {', '.join(STAGES)}")] = None,
) -> None:
    """Run the annual review cycle (all five stages by default) for a partnership and financial year."""
    from tasks.shared.parameters import ParameterProblem, check_run, check_stages

    try:  # the flow checks the same again; checking here first answers without starting Prefect at all
        chosen = check_stages(stage)
        ctx = check_run(partnership, financial_year)
    except ParameterProblem as problem:
        _fail(f"refused: {problem}")
    from dutycycle.prefect_home import seeded_prefect_home

    with seeded_prefect_home():  # a fresh Prefect home gets a migrated database: its local API starts faster
        from flows.annual_review import annual_review

        with _one_shot_run():
            state = annual_review(partnership=partnership, financial_year=ctx.year_label, stages=chosen, return_state=True)
    settings = ctx.settings
    typer.echo("")
    typer.echo(f"Annual review {ctx.config.partnership.name} {ctx.year_label}: {state.name} ({state.message})")
    typer.echo(f"  database:  {settings.shown_database_url}")
    typer.echo(f"  outputs:   {settings.outputs_dir / ctx.partnership_id}")
    typer.echo(f"  outbox:    {settings.outbox_dir / ctx.partnership_id}")
    typer.echo(f"  packages:  {settings.submissions_dir / ctx.partnership_id}")
    typer.echo(f"  links in the Prefect UI open at {settings.files_url} while `dutycycle files` (or `serve`) runs")
    if not state.is_completed():
        raise typer.Exit(code=1)


@app.command()
def national(
    financial_year: Annotated[str, typer.Option("--financial-year", "-y", help="Year under review, e.g. 2022/23")] = "2022/23",
    partnership: Annotated[list[str] | None, typer.Option(
        "--partnership", "-p", help="Only these partnerships (repeatable; default: every configured one)")] = None,
    runner: Annotated[str, typer.Option(help="serial (one after another), dask (prefect-dask) or process (a Prefect "
                                             "process work pool with --workers workers)")] = "serial",
    workers: Annotated[int, typer.Option(min=1, help="dask: local cluster workers; process: pool workers")] = 2,
    dask_address: Annotated[str | None, typer.Option(help="dask: an existing scheduler, e.g. tcp://10.0.0.5:8786, "
                                                          "instead of a local cluster")] = None,
    stage: Annotated[list[str] | None, typer.Option("--stage", "-s", help=f"Run only these stages: {', '.join(STAGES)}")] = None,
) -> None:
    """Run the annual review for every configured partnership (or --partnership ones) for one financial year:
    one line per partnership, a summary, and exit 1 naming the partnerships that failed."""
    import time

    if runner not in ("serial", "dask", "process"):
        _fail(f"refused: --runner {runner!r}: choose serial, dask or process")
    if dask_address and runner != "dask":
        _fail("refused: --dask-address goes with --runner dask")
    # sign-offs are given afterwards with `dutycycle approve`: a national run must not pause in every partnership
    os.environ.setdefault("DUTYCYCLE_SIGN_OFF_WAIT", "record")
    from tasks.collect.sources.street_cache import StreetParseCache
    from tasks.shared.config import ConfigError, load_partnership_config, partnership_ids
    from tasks.shared.national import force_groups, national_year, run_order, summary_lines
    from tasks.shared.parameters import ParameterProblem, check_run, check_stages
    from tasks.shared.prefect_server import ServerError, prefect_api
    from tasks.shared.settings import get_settings, reset_settings_cache
    from tasks.shared.storage.session import get_engine

    reset_settings_cache()
    settings = get_settings()
    ids = partnership or partnership_ids(settings.config_dir)
    if not ids:
        _fail(f"no partnership configured under {settings.config_dir / 'partnerships'}")
    try:
        chosen = check_stages(stage)
        # the year as a label only: a partnership without data for it fails alone, in its own run
        check_run(ids[0], financial_year, require_data=False)
        configs = [load_partnership_config(settings.config_dir, pid) for pid in ids]
        year = national_year(configs, financial_year)
    except (ParameterProblem, ConfigError, ValueError) as problem:
        _fail(f"refused: {problem}")
    groups = force_groups(configs)
    order = run_order(groups)
    typer.echo(f"national run {year}: {len(order)} partnerships, {len(groups)} archive group(s), runner {runner}")
    for folders, members in groups.items():
        typer.echo(f"  {', '.join(str(f) for f in folders) or '(no police archive)'}: {', '.join(members)}")
    get_engine(settings.resolved_database_url)  # migrate once here, not in several processes at once
    cache = StreetParseCache(settings.parse_cache_dir)
    parses_before = len(cache.parses())
    started = time.monotonic()
    log_dir = settings.data_dir / "logs" / "national"
    from dutycycle.prefect_home import seeded_prefect_home

    with seeded_prefect_home():  # a fresh Prefect home gets a migrated database: its API starts faster
        try:
            if runner == "serial":
                from flows.national import run_serial

                with _one_shot_run():  # its own local API, as review: no heartbeat wait at each of ~6 runs' end
                    results = run_serial(order, year, chosen)
            else:
                # workers in other processes report to one real Prefect server (an ephemeral API is per process)
                with prefect_api(log_dir / "prefect-server.log"):
                    if runner == "dask":
                        from flows.national import run_on_dask

                        results = run_on_dask(order, year, chosen, workers, dask_address)
                    else:
                        from flows.national import run_on_process_pool

                        results = run_on_process_pool(order, year, chosen, workers, log_dir)
        except ServerError as exc:
            _fail(f"error: {exc}")
    typer.echo("")
    for line in summary_lines(results, runner, time.monotonic() - started, len(cache.parses()) - parses_before):
        typer.echo(line)
    pruned, freed = cache.prune(settings.parse_cache_days)
    if pruned:
        typer.echo(f"  parse cache: {pruned} file(s) unused for {settings.parse_cache_days:g} days pruned "
                   f"({freed / 1024**2:.1f} MiB)")
    if any(r.failed for r in results):
        raise typer.Exit(code=1)


@app.command()
def upload(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The partner's CSV or Excel return")],
    source: Annotated[str, typer.Option(help="Source id in sources.yaml, e.g. police-knife-crime")],
    partnership: Annotated[str, typer.Option(help="Partnership id")] = DEMO,
) -> None:
    """Receive a partner return: store it unchanged, check it and load it (or quarantine it), now."""
    from tasks.collect.sources.common import InputFileError
    from tasks.collect.steps import upload_file
    from tasks.shared.config import ConfigError
    from tasks.shared.context import open_cycle

    try:
        ctx = open_cycle(partnership, "current")
        chosen = ctx.config.source(source)
    except ConfigError as exc:
        _fail(f"configuration error: {exc}")
    except KeyError:
        _fail(f"no source '{source}' in {partnership}; sources: {', '.join(s.id for s in ctx.config.sources)}")
    try:
        outcomes = upload_file(ctx, chosen, file)
    except InputFileError as exc:
        _fail(str(exc))
    for outcome in outcomes:
        typer.echo(f"{outcome.original_name} (sha256 {outcome.sha256[:12]}, period {outcome.period or '-'}): "
                   f"{outcome.status}" + (f" - {outcome.reason}" if outcome.reason else ""))
        if len(outcome.failures):
            shown = outcome.failures.head(20)
            for row in shown.itertuples(index=False):
                typer.echo(f"  row {row.source_row}, column '{row.column}', value {row.value!r}: {row.rule} ({row.severity})")
            if len(outcome.failures) > len(shown):
                typer.echo(f"  ... and {len(outcome.failures) - len(shown)} more")
    if outcomes[-1].status == "quarantined":
        raise typer.Exit(code=1)


@cache_app.command("prune")
def cache_prune(
    unused_days: Annotated[float | None, typer.Option(
        "--unused-days", min=0, help="Delete what was not used for this many days (default: DUTYCYCLE_PARSE_CACHE_DAYS)")] = None,
) -> None:
    """Delete parsed street files and kept rule outcomes of var/parsed/ that no collection used lately (the cache
    only saves work: anything pruned is parsed and checked again when met)."""
    from tasks.collect.sources.street_cache import StreetParseCache
    from tasks.shared.settings import get_settings

    settings = get_settings()
    days = settings.parse_cache_days if unused_days is None else unused_days
    pruned, freed = StreetParseCache(settings.parse_cache_dir).prune(days)
    typer.echo(f"{settings.parse_cache_dir}: {pruned} file(s) unused for {days:g} days pruned ({freed / 1024**2:.1f} MiB)")


@config_app.command("check")
def config_check(
    partnership: Annotated[str | None, typer.Option(help="Only this partnership (default: every one)")] = None,
) -> None:
    """Validate config/*.yaml (a problem is reported with its file, key and reason) and every source's inbox: a
    missing inbox folder is refused, a file that no source's pattern takes is reported."""
    from tasks.shared.config import (
        ConfigError,
        load_partnership_config,
        partnership_ids,
    )
    from tasks.shared.inboxes import inbox_problems
    from tasks.shared.settings import get_settings

    settings = get_settings()
    ids = [partnership] if partnership else partnership_ids(settings.config_dir)
    if not ids:
        _fail(f"no partnership configured under {settings.config_dir / 'partnerships'}")
    refused: list[str] = []
    for pid in ids:
        try:
            config = load_partnership_config(settings.config_dir, pid)
        except ConfigError as exc:
            _fail(f"configuration error: {exc}")
        p = config.partnership
        typer.echo(
            f"{pid}: {p.name}; {len(p.local_authorities)} authorities, {len(p.lsoas)} LSOAs, "
            f"{len(config.sources)} sources, {len(config.metrics.metrics)} metric definitions, "
            f"{len(config.deadlines.deadlines)} deadlines, {len(config.stakeholders)} stakeholders"
        )
        inboxes = inbox_problems(config)
        for warning in inboxes.warnings:
            typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW)
        refused += inboxes.errors
    if refused:
        _fail("\n".join(f"configuration error: {error}" for error in refused))


@partnership_app.command("new")
def partnership_new(
    partnership_id: Annotated[str, typer.Argument(help="The new partnership's id, e.g. knowsley (lower case, dashes)")],
    from_codes: Annotated[list[str], typer.Option("--from", help="LAD (2017 or 2020) or CSP (2017) code(s), e.g. "
                                                  "E08000011 or E22000181; repeat or separate by commas")],
    name: Annotated[str | None, typer.Option(help="Partnership name (default: from the CSP or districts)")] = None,
) -> None:
    """Write config/partnerships/<id>/ from the ONS lookups: members, force(s), LSOAs, public sources, placeholder
    stakeholders and empty inboxes."""
    from tasks.shared.config import ConfigError
    from tasks.shared.onboarding import OnboardingError, write_partnership
    from tasks.shared.settings import get_settings

    config_dir = get_settings().config_dir
    codes = [code for item in from_codes for code in item.split(",") if code.strip()]
    try:
        area = write_partnership(config_dir, partnership_id, codes, name)
    except (OnboardingError, ConfigError) as exc:
        _fail(str(exc))
    folder = config_dir / "partnerships" / partnership_id
    typer.echo(f"{folder}: written and valid")
    typer.echo(f"  local authorities: {', '.join(f'{code} {la}' for code, la in area.members)}")
    typer.echo(f"  police forces:     {', '.join(f'{fid} ({force})' for fid, force in area.forces)}")
    lsoa_counts = ", ".join(f"{sum(1 for lsoa in area.lsoas if lsoa[2] == code)} in {code}" for code, _ in area.members)
    typer.echo(f"  LSOAs (2011):      {len(area.lsoas)} ({lsoa_counts})")
    for note in area.notes:
        typer.echo(f"  note: {note}")
    typer.echo("Next: put the stakeholders' names and addresses in stakeholders.yaml, drop data.police.uk files in "
               "inputs/police-archive/ and an ONS MYE2 file in inputs/population/, then `dutycycle config check` and "
               f"`dutycycle review --partnership {partnership_id} --financial-year <year>`.")


@source_app.command("add")
def source_add(
    source_id: Annotated[str, typer.Argument(help="Source id, e.g. police-knife-crime")],
    partnership: Annotated[str, typer.Option(help="Partnership id")],
    dataset: Annotated[str, typer.Option(help="Dataset its observations feed, e.g. police_knife_crime (metrics.yaml)")],
    title: Annotated[str, typer.Option(help="What the return is, in plain words")],
    owner: Annotated[str, typer.Option(help="Stakeholder id of the data owner (stakeholders.yaml)")],
    pattern: Annotated[list[str], typer.Option(help="File name pattern(s), e.g. 'knife-crime-*.csv'; repeat")],
    period_column: Annotated[str, typer.Option(help="Column holding the period")],
    area_column: Annotated[str, typer.Option(help="Column holding the ONS district code")],
    value: Annotated[list[str], typer.Option(help="COLUMN=measure, e.g. 'Offences=knife_sharp_instrument_offences', "
                                              "or COLUMN=measure:age_band for a column of one age band "
                                              "('Victims Under 25=homicide_non_domestic:0-24'); repeat")],
    period_format: Annotated[str, typer.Option(help="'%Y-%m', '%b-%y' or 'financial_quarter'")] = "%Y-%m",
    cadence: Annotated[str, typer.Option(help="month, quarter or financial_year")] = "quarter",
    age_band_column: Annotated[str | None, typer.Option(help="Column holding the age band, if any")] = None,
    location: Annotated[str | None, typer.Option(help="Inbox folder (default inputs/<source id>)")] = None,
    area_map: Annotated[list[str] | None, typer.Option(help="VALUE=CODE: the partner's area value (e.g. a name) -> "
                                                       "ONS district code, e.g. 'Castle Point=E07000069'; repeat")] = None,
    age_band_map: Annotated[list[str] | None, typer.Option(help="VALUE=BAND: the partner's age group -> our band, "
                                                           "e.g. 'Under 25=0-24'; repeat")] = None,
    where: Annotated[list[str] | None, typer.Option(help="COLUMN=VALUE: keep only rows where the column has the "
                                                    "value, e.g. 'Domestic=N'; repeat")] = None,
) -> None:
    """Add a partner-return source to sources.yaml (its comments kept) and create its inbox folder."""
    from tasks.shared.config import ConfigError
    from tasks.shared.onboarding import OnboardingError, PartnerReturn, add_partner_return
    from tasks.shared.settings import get_settings

    settings = get_settings()
    values: list[tuple[str, ...]] = []
    for item in value:
        column, _, measure = item.rpartition("=")
        measure, _, band = measure.partition(":")
        if not column or not measure or (":" in item.rpartition("=")[2] and not band):
            _fail(f"--value {item!r}: write COLUMN=measure or COLUMN=measure:age_band")
        values.append((column, measure, band) if band else (column, measure))

    def pairs(items: list[str] | None, option: str, form: str) -> dict[str, str] | None:
        mapping = {}
        for item in items or []:
            key, _, target = item.rpartition("=")
            if not key or not target:
                _fail(f"{option} {item!r}: write {form}")
            mapping[key] = target
        return mapping or None

    source = PartnerReturn(
        id=source_id, dataset=dataset, title=title, owner=owner, patterns=pattern, cadence=cadence,
        period_column=period_column, period_format=period_format, area_column=area_column, values=values,
        age_band_column=age_band_column, location=location,
        area_map=pairs(area_map, "--area-map", "VALUE=CODE"),
        age_band_map=pairs(age_band_map, "--age-band-map", "VALUE=BAND"),
        where=pairs(where, "--where", "COLUMN=VALUE"),
    )
    try:
        inbox = add_partner_return(settings.config_dir, partnership, source)
    except (OnboardingError, ConfigError) as exc:
        _fail(f"source not added: {exc}")
    typer.echo(f"{source_id}: added to {settings.config_dir / 'partnerships' / partnership / 'sources.yaml'}; "
               f"inbox {inbox}")
    suite = settings.expectations_dir / f"{dataset}.raw.json"
    if not suite.is_file():
        typer.secho(f"warning: {suite} does not exist: write the suite describing the file before collecting "
                    "(README: Add a partner return)", fg=typer.colors.YELLOW)


@app.command()
def partnerships() -> None:
    """List the configured partnerships."""
    from tasks.shared.config import partnership_ids
    from tasks.shared.settings import get_settings

    for pid in partnership_ids(get_settings().config_dir):
        typer.echo(pid)


@app.command()
def status(partnership: Annotated[str, typer.Option(help="Partnership id")] = DEMO) -> None:
    """Each year's stages as the runs register has them; a stage left `running` by a killed run is marked
    interrupted (with the time)."""
    from tasks.shared.orphans import stage_status
    from tasks.shared.settings import get_settings

    settings = get_settings()
    rows = stage_status(settings.resolved_database_url, settings.data_dir, partnership)
    if not rows:
        typer.echo(f"no stage of {partnership} has run yet")
    for row in rows:
        when = row["finished"] or row["started"]
        typer.echo(f"{row['year']}  {row['stage']:9s} {row['status']:24s} {when:%Y-%m-%d %H:%M:%S} UTC  "
                   f"attempts {row['attempts']}  flow run {row['flow_run_id'] or '-'}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema (also done automatically on first use)."""
    from tasks.shared.settings import get_settings
    from tasks.shared.storage.session import get_engine

    settings = get_settings()
    get_engine(settings.resolved_database_url)
    typer.echo(f"schema up to date: {settings.shown_database_url}")


@db_app.command("counts")
def db_counts() -> None:
    """Rows in every table (a re-run of the same year must leave these unchanged)."""
    from tasks.shared.settings import get_settings
    from tasks.shared.storage.session import table_row_counts

    for table, count in table_row_counts(get_settings().resolved_database_url).items():
        typer.echo(f"{table:20s} {count}")


@outbox_app.callback()
def outbox_list(
    ctx: typer.Context,
    partnership: Annotated[str | None, typer.Option(help="Only this partnership's messages")] = None,
    status: Annotated[list[str] | None, typer.Option(
        "--status", help="Only these statuses: pending, sending, sent, failed, cancelled (repeatable)")] = None,
) -> None:
    """List the outbox's messages with their status, attempts and last error."""
    if ctx.invoked_subcommand is not None:
        return
    from tasks.shared.outbox import STATUSES, outbox_listing
    from tasks.shared.settings import get_settings

    unknown = [s for s in status or [] if s not in STATUSES]
    if unknown:
        _fail(f"unknown status(es): {', '.join(unknown)}; choose from {', '.join(STATUSES)}")
    listing = outbox_listing(get_settings().resolved_database_url, partnership, status)
    if listing.empty:
        typer.echo("no messages")
        return
    for row in listing.itertuples(index=False):
        typer.echo(f"{row.id:>5}  {row.status:9s} attempts {row.attempts}  {row.channel:6s} {row.to}  "
                   f"{row.kind}: {row.subject}" + (f"\n       last error: {row.last_error}" if row.last_error else ""))
    counts = listing["status"].value_counts()
    typer.echo(", ".join(f"{count} {name}" for name, count in counts.items()))


def _outbox_act(action: str, message_id: int, done: str) -> None:
    from tasks.shared import outbox
    from tasks.shared.settings import get_settings

    try:
        getattr(outbox, f"{action}_message")(get_settings().resolved_database_url, message_id)
    except outbox.OutboxActionError as exc:
        _fail(str(exc))
    typer.echo(f"message {message_id} {done}")


@outbox_app.command("retry")
def outbox_retry(message_id: Annotated[int, typer.Argument(help="The message's id (see `dutycycle outbox`)")]) -> None:
    """Queue a failed or cancelled message again; the next notify run sends it (same Message-ID)."""
    _outbox_act("retry", message_id, "queued again; the next notify run sends it")


@outbox_app.command("cancel")
def outbox_cancel(message_id: Annotated[int, typer.Argument(help="The message's id (see `dutycycle outbox`)")]) -> None:
    """Withdraw a message that has not been sent (pending or failed)."""
    _outbox_act("cancel", message_id, "cancelled; it will not be sent")


def _file_server(*, required: bool):
    """Start the file server of the analyst's outputs in a daemon thread and say where; when it cannot start, fail
    in one line (required) or warn and carry on without it (None)."""
    from pydantic import ValidationError

    from tasks.shared.file_server import served_folders, start_file_server
    from tasks.shared.settings import get_settings

    try:
        settings = get_settings()
    except ValidationError as exc:
        _fail(f"settings: {exc.errors()[0]['msg']}")
    try:
        server = start_file_server(settings)
    except (OSError, ValueError) as exc:
        message = f"cannot serve files at {settings.files_url} (DUTYCYCLE_FILES_URL): {exc}"
        if required:
            _fail(message)
        typer.secho(f"{message}; carrying on without the file server", fg=typer.colors.YELLOW, err=True)
        return None
    folders = ", ".join(f"/{prefix}/ ({folder})" for prefix, folder in served_folders(settings).items())
    typer.echo(f"Files served at {settings.files_url}: {folders}")
    return server


@app.command()
def serve() -> None:
    """Serve the deployments and their calendar schedules (annual review, daily deadlines, stage flows) to a
    Prefect server, and the analyst's files (outputs, packages) at DUTYCYCLE_FILES_URL; keeps running
    until stopped."""
    # a taken port (e.g. an analyst's `dutycycle files`, which serves the same folders) must not stop the schedules
    _file_server(required=False)
    from deployments.serve import serve_all

    serve_all()


@app.command()
def files() -> None:
    """Serve only the analyst's files (outputs, packages) at DUTYCYCLE_FILES_URL, so the links of a run
    (e.g. `./run demo`) open from the Prefect UI; keeps running until stopped (Ctrl-C)."""
    import threading

    server = _file_server(required=True)
    try:
        threading.Event().wait()  # the server runs in its daemon thread until this process is stopped
    except KeyboardInterrupt:
        server.shutdown()


@app.command("deployments-yaml")
def deployments_yaml(
    output: Annotated[Path, typer.Option(help="Where to write it")] = Path("deployments/prefect.yaml"),
) -> None:
    """Write deployments/prefect.yaml (for workers) from the declaration that `serve` uses; rerun after changing
    config/deadlines.yaml, a partnership's board meetings or the partnerships."""
    from deployments.declaration import all_deployment_specs, prefect_yaml

    output.write_text(prefect_yaml(all_deployment_specs()), encoding="utf-8")
    typer.echo(f"wrote {output}")


@app.command()
def deadlines(
    partnership: Annotated[str, typer.Option(help="Partnership id")] = DEMO,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Day to look from, YYYY-MM-DD (default: today in London)")] = None,
) -> None:
    """The calendar of the coming twelve months with each deadline's status (what the daily deadlines run
    publishes); nothing is sent."""
    import datetime as dt

    from tasks.deadlines.report import calendar_table
    from tasks.deadlines.steps import calendar_of, inputs_at_risk, met_deadlines, statuses_on, year_on
    from tasks.shared.calendar import london_today
    from tasks.shared.config import ConfigError
    from tasks.shared.context import open_cycle

    try:
        day = dt.date.fromisoformat(as_of) if as_of else london_today()
        ctx = open_cycle(partnership, year_on(partnership, day))
    except (ConfigError, ValueError) as exc:
        _fail(f"error: {exc}")
    occurrences = calendar_of(ctx, day)
    table = calendar_table(statuses_on(occurrences, day, met_deadlines(ctx), inputs_at_risk(ctx, occurrences, day)), day)
    typer.echo(f"Deadlines of {ctx.config.partnership.name} as of {day:%A %d %B %Y} (Europe/London)")
    typer.echo(table.drop(columns=["submitted to"]).to_string(index=False))
    from tasks.submit.handover import delivered_versions

    versions = delivered_versions(ctx.database_url, ctx.partnership_id)
    if versions:
        typer.echo("Submissions delivered (which version went when):")
        for line in versions:
            typer.echo(f"  {line}")


@app.command("deadline-met")
def deadline_met(
    deadline: Annotated[str, typer.Argument(help="Deadline id, e.g. annual-review")],
    period: Annotated[str, typer.Argument(help="Its period, as the calendar shows it, e.g. 2022/23 or 2023-Q1")],
    partnership: Annotated[str, typer.Option(help="Partnership id")] = DEMO,
    on: Annotated[str | None, typer.Option(help="Day it was met, YYYY-MM-DD (default: today)")] = None,
    note: Annotated[str, typer.Option(help="What was delivered, e.g. a reference")] = "",
) -> None:
    """Record a deadline as met: it is no longer reminded or escalated."""
    import datetime as dt

    from tasks.deadlines.steps import mark_met
    from tasks.shared.calendar import london_today
    from tasks.shared.context import open_cycle

    day = dt.date.fromisoformat(on) if on else london_today()
    ctx = open_cycle(partnership, "current")
    if not mark_met(ctx, deadline, period, day, note):
        _fail(f"{deadline} {period} is not on the recorded calendar: run the deadlines flow first "
              f"(`dutycycle deadlines` lists the periods)")
    typer.echo(f"{deadline} {period}: met on {day.isoformat()}")


def _submission_context(submission: int):
    """The cycle context of a recorded submission (its partnership and year), or a one-line failure."""
    from tasks.shared.config import ConfigError
    from tasks.shared.context import open_cycle
    from tasks.shared.settings import get_settings
    from tasks.shared.storage.models import Submission
    from tasks.shared.storage.session import session_scope

    with session_scope(get_settings().resolved_database_url) as session:
        row = session.get(Submission, submission)
        if row is None:
            _fail(f"no submission {submission} (the submit stage's report names it)")
        partnership, year = row.partnership, row.financial_year
    try:
        return open_cycle(partnership, year)
    except (ConfigError, ValueError) as exc:
        _fail(f"error: {exc}")


def _board_pack_context(pack_id: int):
    """The cycle context of a recorded board pack (its partnership and year), or a one-line failure."""
    from tasks.notify.board_pack import BoardPackError, pack_row
    from tasks.shared.config import ConfigError
    from tasks.shared.context import open_cycle
    from tasks.shared.settings import get_settings

    try:
        row = pack_row(get_settings().resolved_database_url, pack_id)
        return open_cycle(row["partnership"], row["financial_year"])
    except (BoardPackError, ConfigError, ValueError) as exc:
        _fail(f"error: {exc}")


def _terminal_decision(ctx, noun: str, subject_id: int, answer, approve_from_terminal, refused: type[Exception],
                       then: str):
    """Record a sign-off given at the terminal and say so: None when the run waiting for it took it (and ``then``
    does the rest), else the decision, for the caller to act on now; a refusal ends the command with its line."""
    try:
        decision, why_not_resumed = approve_from_terminal(ctx, subject_id, answer)
    except refused as exc:
        _fail(str(exc))
    typer.echo(f"{noun} {subject_id} {decision.sentence()} (sha256 {decision.package_sha256[:12]})")
    if why_not_resumed is None:
        typer.echo(f"the run waiting for this decision has it and continues: {then}")
        return None
    return decision


def _approve_board_pack(pack_id: int, answer) -> None:
    """The board pack's sign-off at the terminal: recorded; a waiting run resumes with it, else an approved pack
    is released to the outbox and delivered now, a rejected one is told to the analysts (one message)."""
    from tasks.notify.board_pack import BoardPackError, HeldPack, approve_from_terminal, pack_row
    from tasks.notify.steps import settle_board_pack
    from tasks.shared.outbox import deliver_outbox

    ctx = _board_pack_context(pack_id)
    decision = _terminal_decision(ctx, "board pack", pack_id, answer, approve_from_terminal, BoardPackError,
                                  "it sends the pack (or not) and reports")
    if decision is None:
        return
    row = pack_row(ctx.database_url, pack_id)
    held = HeldPack(pack_id, row["status"], row["pack_sha256"], False, ())
    outcome = settle_board_pack(ctx, held, decision)
    delivered = deliver_outbox.fn(ctx)
    typer.echo(outcome.sentence)
    for item in delivered:
        typer.echo(f"  {item['status']}: {item['kind']} to {item['to']} by {item['channel']}")
    if outcome.status == "not sent":
        raise typer.Exit(code=1)


@app.command()
def approve(
    subject: Annotated[int, typer.Argument(help="The submission's id (the submit stage's report and receipt), or the "
                                                "board pack's with --kind board-pack (the notify stage's report)")],
    name: Annotated[str, typer.Option(help="Your full name, as partnership.yaml's approvers give it")],
    role: Annotated[str, typer.Option(help="The role you approve in, as the approvers list gives it")],
    reject: Annotated[bool, typer.Option("--reject", help="Reject it: nothing is sent")] = False,
    comment: Annotated[str, typer.Option(help="Your reason or remark (required with --reject)")] = "",
    kind: Annotated[str, typer.Option(help="What you sign off: submission (the Home Office package) or board-pack "
                                           "(the board's metric pack)")] = "submission",
) -> None:
    """Sign off a submission package or a board pack (the terminal's equivalent of the Prefect UI's form): the
    decision is recorded with the version's checksum; a run waiting for it resumes with it, else an approved
    package is delivered (an approved board pack sent) now."""
    from pydantic import ValidationError

    from tasks.shared.signoff import SignOffInput
    from tasks.submit.handover import HandoverError, approve_from_terminal, deliver_approved
    from tasks.submit.steps import tell_outcome

    if kind not in ("submission", "board-pack"):
        _fail(f"refused: --kind {kind!r}: choose submission or board-pack")
    try:
        answer = SignOffInput(approver_name=name, approver_role=role, decision="reject" if reject else "approve",
                              comment=comment)
    except ValidationError as exc:
        _fail(f"refused: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")
    if kind == "board-pack":
        _approve_board_pack(subject, answer)
        return
    submission = subject
    ctx = _submission_context(submission)
    decision = _terminal_decision(ctx, "submission", submission, answer, approve_from_terminal, HandoverError,
                                  "it delivers (or not) and reports")
    if decision is None:
        return
    delivery = None
    if decision.approved:
        try:
            delivery = deliver_approved(ctx, submission)
        except HandoverError as exc:
            _fail(f"{exc}")
    typer.echo(tell_outcome(ctx, submission, delivery))


@app.command()
def resubmit(
    submission: Annotated[int, typer.Argument(help="The held package's id, or the delivered one it corrects")],
    reason: Annotated[str, typer.Option(help="Why the corrected package replaces the delivered one (kept)")],
) -> None:
    """Make a corrected package (held because its deadline already has an approved or delivered one) the one to
    approve and deliver; the earlier delivery stays in history."""
    from tasks.shared.settings import get_settings
    from tasks.shared.storage.session import session_scope
    from tasks.submit.handover import approve_command
    from tasks.submit.submissions import ResubmitError
    from tasks.submit.submissions import resubmit as resubmit_package

    ctx = _submission_context(submission)
    try:
        with session_scope(get_settings().resolved_database_url) as session:
            new = resubmit_package(session, submission, reason)
            new_id, replaces = new.id, new.resubmits
    except ResubmitError as exc:
        _fail(str(exc))
    typer.echo(f"submission {new_id} now awaits approval as the resubmission of {replaces}: "
               f"{approve_command(new_id, ctx.partnership_id)}")


@app.command()
def audit(
    submission: Annotated[int, typer.Argument(help="The submission's id")],
    csv: Annotated[Path | None, typer.Option(help="Also write the full table to this CSV file")] = None,
) -> None:
    """For every figure a submission carries: the run, the definition and version, the raw files with checksums
    and received times, the checks that applied, and the approval."""
    from tasks.shared.exports import write_csv
    from tasks.shared.settings import get_settings
    from tasks.submit.audit import AuditError, audit_table

    try:
        table = audit_table(get_settings().resolved_database_url, submission)
    except AuditError as exc:
        _fail(str(exc))
    for row in table.itertuples(index=False):
        typer.echo(f"{row.measure} {row.area_code} {row.financial_year} {row.age_band}: count {row.published_count}")
        typer.echo(f"  definition {row.definition}, computed by run {row.compute_run}, submitted by run {row.submit_run}")
        typer.echo(f"  raw files ({row.raw_file_count}): {row.raw_files}")
        typer.echo(f"  checks: {row.checks}")
        typer.echo(f"  {row.approval}")
    typer.echo(f"{len(table)} figures of submission {submission} (package sha256 "
               f"{table['package_sha256'].iloc[0] if len(table) else '-'})")
    if csv is not None:
        write_csv(table, csv)
        typer.echo(f"wrote {csv}")


# PostgreSQL errors that are not OperationalErrors but still mean "this database cannot be written now": a
# read-only transaction (a hot standby, default_transaction_read_only) and a role without the right to write
UNWRITABLE_SQLSTATES = {"25006": "read_only_sql_transaction", "42501": "insufficient_privilege"}


def database_problem(error: BaseException) -> str | None:
    """One line for a database that cannot be used (locked, read-only, gone, unreachable), else None."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    unwritable = isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) in UNWRITABLE_SQLSTATES
    if not isinstance(error, OperationalError) and not unwritable:
        return None
    from tasks.shared.settings import get_settings

    safe = get_settings().shown_database_url  # never print a password from the URL
    reason = str(error.orig).splitlines()[0] if error.orig is not None else str(error).splitlines()[0]
    return (f"database error: {reason} ({safe}); what was recorded before this stays, nothing was lost: "
            "run the command again once the database can be written")


def main() -> None:  # pragma: no cover - console entry point
    try:
        sys.exit(app())
    except Exception as error:  # noqa: BLE001 - a database that cannot be used is one plain line; anything else raises
        line = database_problem(error)
        if line is None:
            raise
        typer.secho(line, fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
