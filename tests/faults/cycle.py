"""The fault tests' cycle: a small copy of the demo partnership, its stages run as `dutycycle` subprocesses, and a
fingerprint of everything a run leaves behind (tables, outputs, outbox, raw store) to compare with a clean run's.
The tables are read through SQLAlchemy from the run's database: the SQLite file in its data directory, or its own
database on the PostgreSQL server of DUTYCYCLE_TEST_DATABASE_URL (tests/databases.py)."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.pool import NullPool

from tasks.shared.settings import PROJECT_ROOT

DEMO = "castle-point-rochford"
YEAR = "2022/23"
KEEP_MONTHS = ("2022-12", "2023-01", "2023-02", "2023-03")  # police months and A&E returns kept: small, still real

# columns that legitimately differ between two runs of the same cycle (times, run ids, claim tokens, attempts)
VOLATILE = {"id", "created_at", "updated_at", "started_at", "finished_at", "received_at", "loaded_at", "checked_at",
            "computed_at", "delivered_at", "claimed_at", "claimed_by", "flow_run_id", "run_id", "attempts",
            "last_error", "decided_at", "recorded_at", "built_at", "superseded_at", "stored_path", "path",
            "raw_file_id", "validation_id", "metric_value_id", "submission_id", "delivery_ref", "summary", "quarantined_at",
            # ids of raw files: sources are collected concurrently, so the same files get other ids in another run
            "raw_file_ids",
            # the package carries its build time, so its checksum and paths differ from run to run
            "package_sha256", "package_path"}


def small_config(target: Path) -> Path:
    """A copy of config/ whose demo partnership keeps only the last months of the year under review."""
    shutil.copytree(PROJECT_ROOT / "config", target, ignore=shutil.ignore_patterns("lookups"))
    (target / "lookups").symlink_to(PROJECT_ROOT / "config" / "lookups")
    inputs = target / "partnerships" / DEMO / "inputs"
    for path in inputs.rglob("*"):
        if not path.is_file():
            continue
        name = path.name
        if path.parent.name == "police-archive" or name.startswith("ae-assault"):
            keep = any(month in name for month in KEEP_MONTHS)
        else:
            keep = "FY" not in name or "FY2022-23" in name  # yearly and quarterly returns: the year under review
        if not keep:
            path.unlink()
    return target


def environment(data_dir: Path, config_dir: Path, prefect_home: Path, **extra: str) -> dict[str, str]:
    """The children's environment: their own data, config and Prefect home; no SMTP unless given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUTYCYCLE_", "PREFECT_"))}
    env.update(DUTYCYCLE_DATA_DIR=str(data_dir), DUTYCYCLE_CONFIG_DIR=str(config_dir), PREFECT_HOME=str(prefect_home),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", DUTYCYCLE_SIGN_OFF_WAIT="record",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="600", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def dutycycle(*args: str) -> list[str]:
    return [sys.executable, "-m", "dutycycle.cli", *args]


def run(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run a dutycycle command to its end (wide timeout: a loaded 2-core machine)."""
    return subprocess.run(dutycycle(*args), env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=timeout)


def kill_when(env: dict[str, str], args: tuple[str, ...], event: Callable[[], bool], timeout: float = 900,
              log: Path | None = None) -> bool:
    """Start a dutycycle command and SIGKILL its whole process group (it and the Prefect API it started) the
    moment ``event()`` turns true; True when it was killed, False when it ended first."""
    out = open(log, "wb") if log else subprocess.DEVNULL
    child = subprocess.Popen(dutycycle(*args), env=env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if child.poll() is not None:
                return False
            if event():
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(60)
                return True
            time.sleep(0.05)
        raise TimeoutError(f"{' '.join(args)}: the kill point never came in {timeout:.0f} s")
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(60)
        if log:
            out.close()


def database_url(data_dir: Path, server_url: str | None) -> str:
    """The database a child run with this data directory uses: the test's PostgreSQL database when there is one
    (tests/databases.py), else the SQLite file the settings put in the data directory."""
    return server_url or f"sqlite:///{data_dir / 'dutycycle.db'}"


@functools.lru_cache(maxsize=32)
def _reader(url: str) -> Engine:
    """An engine that reads without writing: SQLite opened read-only (reading must never create the file). No pool:
    every read is a new connection, as another process's would be; cached, as the kill points poll 20 times a
    second."""
    if url.startswith("sqlite:///"):
        return create_engine(f"sqlite:///file:{url.removeprefix('sqlite:///')}?mode=ro&uri=true", poolclass=NullPool,
                             connect_args={"timeout": 0.2})
    return create_engine(url, poolclass=NullPool)


def count(url: str, table: str, where: str = "1=1") -> int:
    """Rows of a table as another process sees them (0 when the table or file is not there yet, or is locked)."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return 0
    engine = _reader(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar_one()  # noqa: S608
    except OperationalError:  # SQLite: no such table, or locked
        return 0
    except ProgrammingError:  # PostgreSQL: the table is not there yet (the child has not migrated)
        return 0


def tables(url: str) -> dict[str, list[tuple]]:
    """Every table's rows without the columns that differ between two runs, sorted: equal for equal content."""
    result = {}
    engine = _reader(url)
    schema = inspect(engine)
    with engine.connect() as connection:
        for name in schema.get_table_names():
            if name.startswith(("sqlite_", "alembic")):
                continue
            quote = engine.dialect.identifier_preparer.quote  # `column` is a reserved word in PostgreSQL
            kept = [quote(c["name"]) for c in schema.get_columns(name) if c["name"] not in VOLATILE]
            rows = connection.execute(text(f"SELECT {', '.join(kept)} FROM {quote(name)}")).all()  # noqa: S608
            result[name] = sorted((tuple(r) for r in rows), key=repr)
    return result


def rows_containing(url: str, secret: str) -> list[str]:
    """'table row N' for every row whose text holds the secret (a server's database is no file to search)."""
    found = []
    engine = _reader(url)
    with engine.connect() as connection:
        for name in inspect(engine).get_table_names():
            for number, row in enumerate(connection.execute(text(f"SELECT * FROM {name}"))):  # noqa: S608
                if secret in repr(tuple(row)):
                    found.append(f"{name} row {number}")
    return found


def files(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under a folder (the database, its logs and the parse cache left out)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        # parsed/: the cache of parsed street files, whose log of parses records times and processes
        if path.is_file() and not relative.startswith(("dutycycle.db", "parsed/")):
            found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


# outputs that carry the build time or raw file ids (collected concurrently, so numbered differently): compared by
# name only; the identity-named copy of the package is named by a checksum that includes the build time
BY_NAME_ONLY = (".xlsx", ".zip", "internal/breakdowns-exact-values.csv")


# the data owners' quality pages print when each file was received and the page produced, and anchor each file by
# its raw file id (collected concurrently, so numbered differently): compared with those blanked
TIMES = re.compile(rb"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?( ?UTC|Z|[+-]\d{2}:?\d{2})?")
FILE_ANCHORS = re.compile(rb"file-\d+")


def comparable_files(folder: Path) -> dict[str, str]:
    """Relative path -> sha256, or '-' for files whose bytes legitimately differ between two equal runs."""
    result = {}
    for name, digest in files(folder).items():
        parts = name.split("/")
        # a data owner's quality page, in the outputs or attached to their e-mail (outbox/<p>/attachments/<content
        # digest>/data-quality-<owner>-<year>.html: the folder is named by the page's bytes, which hold its times)
        attached_page = len(parts) == 5 and parts[0] == "outbox" and parts[2] == "attachments" \
            and parts[4].startswith("data-quality-") and parts[4].endswith(".html")
        if ("/quality/" in name and name.endswith(".html")) or attached_page:
            page = FILE_ANCHORS.sub(b"file-<id>", TIMES.sub(b"<time>", (folder / name).read_bytes()))
            digest = hashlib.sha256(page).hexdigest()
        if attached_page:
            name = "/".join([*parts[:3], "<content>", parts[4]])
        if parts[0] == "submissions" and len(parts) == 4 and len(parts[2]) == 2:
            name = "/".join([*parts[:2], "<identity>.zip"])
        result[name] = "-" if name.endswith(BY_NAME_ONLY) else digest
    return result


def comparable_tables(url: str) -> dict[str, list[tuple]]:
    """The tables to compare with a clean run's; the outbox as one (kind, person, channel, status) per message,
    since a message's text names its run's own package checksum and paths."""
    found = tables(url)
    with _reader(url).connect() as connection:
        found["outbox"] = sorted(tuple(r) for r in connection.execute(
            text("SELECT kind, recipient_id, channel, status, delivery_channel FROM outbox")))
    return found


def rows(found: dict[str, list[tuple]]) -> int:
    """How many rows the tables hold in all."""
    return sum(len(table) for table in found.values())


def differing(found: dict[str, list], reference: dict[str, list]) -> int:
    """Rows (or files) that are in one but not the other, counted with repeats: 0 when the two are equal."""
    total = 0
    for name in set(found) | set(reference):
        got, want = found.get(name), reference.get(name)
        if isinstance(got, list) or isinstance(want, list):  # a table: its rows, with repeats
            have, need = Counter(map(repr, got or [])), Counter(map(repr, want or []))
            total += sum(((have - need) + (need - have)).values())
        else:  # a file: its digest
            total += got != want
    return total
