"""The fault tests' cycle: a small copy of the demo partnership, its stages run as `dutycycle` subprocesses, and a
fingerprint of everything a run leaves behind (tables, outputs, outbox, raw store) to compare with a clean run's."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

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


def count(database: Path, table: str, where: str = "1=1") -> int:
    """Rows of a table as another process sees them (0 when the table is not there yet or is locked)."""
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=0.2) as connection:
            return connection.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]  # noqa: S608
    except sqlite3.OperationalError:
        return 0


def tables(database: Path) -> dict[str, list[tuple]]:
    """Every table's rows without the columns that differ between two runs, sorted: equal for equal content."""
    result = {}
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        names = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for name in names:
            if name.startswith(("sqlite_", "alembic")):
                continue
            columns = [r[1] for r in connection.execute(f"PRAGMA table_info({name})")]
            kept = [c for c in columns if c not in VOLATILE]
            rows = connection.execute(f"SELECT {', '.join(kept)} FROM {name}").fetchall()  # noqa: S608
            result[name] = sorted(rows, key=repr)
    return result


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


def comparable_tables(database: Path) -> dict[str, list[tuple]]:
    """The tables to compare with a clean run's; the outbox as one (kind, person, channel, status) per message,
    since a message's text names its run's own package checksum and paths."""
    found = tables(database)
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        found["outbox"] = sorted(connection.execute(
            "SELECT kind, recipient_id, channel, status, delivery_channel FROM outbox").fetchall())
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
