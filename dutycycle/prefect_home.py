"""A fresh Prefect home starts from a ready database: the local API's SQLite schema, migrated once per Prefect
version at install (`./run`), is copied instead of migrated again by every first run.

Why: on a fresh home, Prefect's local API runs its ~110 Alembic migrations and registers its block types before it
answers (about 7 s of CPU here, more than half of the API's whole start-up). The copy is the database those same
steps produce, made by the same installed Prefect, so the run that copies it tells its API to skip both steps.
Nothing is copied when the home already has a database, when the database or API is configured elsewhere
(environment or a profiles file), or when no template of the installed Prefect version exists: Prefect then
migrates as usual.

    python -m dutycycle.prefect_home build      # what ./run does once per lock: write the template
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path

# Settings that put the API or its database elsewhere: the local API's SQLite file in the home is then not the one used
ELSEWHERE = ("PREFECT_API_URL", "PREFECT_API_DATABASE_CONNECTION_URL", "PREFECT_SERVER_DATABASE_CONNECTION_URL",
             "PREFECT_PROFILES_PATH", "PREFECT_PROFILE")
# What the local API skips on the copied database: the migrations (the copy is at the installed version's head), the
# block types' registration and, before it, the loading of every installed Prefect collection (prefect-dask imports
# Dask) that the registration's memo needs (the copy holds the same installed blocks)
SKIP_ON_COPY = {
    "PREFECT_API_DATABASE_MIGRATE_ON_START": "false",
    "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
    "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
}


def prefect_home(environ: os._Environ | dict = os.environ) -> Path:
    """The Prefect home a process started with this environment uses (Prefect's default: ~/.prefect)."""
    return Path(environ.get("PREFECT_HOME", "").strip() or "~/.prefect").expanduser()


def template_path(prefix: Path | None = None) -> Path:
    """Where the installed Prefect version's migrated database is kept: inside the virtual environment, so a new
    lock (another Prefect) gets its own."""
    return Path(prefix or sys.prefix) / "share" / "dutycycle" / f"prefect-{version('prefect')}.db"


def reason_not_to_seed(home: Path, template: Path, environ: os._Environ | dict = os.environ) -> str | None:
    """Why a fresh database must not be copied into ``home`` (None: copy it)."""
    for name in ELSEWHERE:
        if environ.get(name, "").strip():
            return f"{name} is set"
    if (home / "profiles.toml").exists():
        return f"{home / 'profiles.toml'} may configure another API or database"
    if (home / "prefect.db").exists():
        return "the home has its database"
    if not template.is_file():
        return f"no template {template} (./run writes it)"
    return None


def seed_home(home: Path, template: Path, environ: os._Environ | dict = os.environ) -> bool:
    """Copy the template as ``home``'s database when it may be (see reason_not_to_seed); True when copied here."""
    if reason_not_to_seed(home, template, environ) is not None:
        return False
    home.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=home, prefix=".prefect.db.", delete=False) as partial:
        staged = Path(partial.name)
    try:
        shutil.copyfile(template, staged)
        try:
            # a link fails if the file exists: two first runs at once, one copies and the other migrates as usual
            os.link(staged, home / "prefect.db")
        except FileExistsError:
            return False
    finally:
        staged.unlink(missing_ok=True)
    return True


@contextmanager
def seeded_prefect_home(environ: os._Environ | dict = os.environ, template: Path | None = None) -> Iterator[bool]:
    """For the block: a fresh Prefect home gets the migrated database, and the local API this process starts skips
    what the copy already holds (restored afterwards, so a later API in the same process migrates as usual).
    Yields whether the database was copied."""
    copied = seed_home(prefect_home(environ), template or template_path(), environ)
    saved = {name: environ.get(name) for name in SKIP_ON_COPY}
    if copied:
        for name, value in SKIP_ON_COPY.items():
            environ.setdefault(name, value)
    try:
        yield copied
    finally:
        for name, value in saved.items():
            if value is None:
                environ.pop(name, None)
            else:
                environ[name] = value


def build_template(target: Path) -> Path:
    """Write ``target``: the database a fresh home's local API creates (migrations, block types), made by starting
    that API once on a temporary home, as a single file."""
    with tempfile.TemporaryDirectory(prefix="dutycycle-prefect-template-") as scratch:
        env = {name: value for name, value in os.environ.items()
               if not name.startswith("PREFECT_") or name == "PREFECT_SERVER_ANALYTICS_ENABLED"}
        env.update({"PREFECT_HOME": scratch, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300"})
        code = ("from prefect.server.api.server import SubprocessASGIServer\n"
                "server = SubprocessASGIServer(); server.start(timeout=300); server.stop()\n")
        import subprocess

        subprocess.run([sys.executable, "-c", code], env=env, check=True, stdout=subprocess.DEVNULL)
        made = Path(scratch) / "prefect.db"
        if not made.is_file():
            raise RuntimeError(f"Prefect's local API created no database in {scratch}")
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{target.name}.partial")
        staged.unlink(missing_ok=True)
        # the backup API folds the write-ahead log into one consistent file
        with sqlite3.connect(made) as source, sqlite3.connect(staged) as copy:
            source.backup(copy)
        source.close()
        copy.close()
        os.replace(staged, target)
    return target


def main(argv: list[str]) -> int:
    if argv != ["build"]:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    target = template_path()
    for old in target.parent.glob("prefect-*.db"):  # templates of earlier Prefect versions
        if old != target:
            old.unlink()
    print(f"Prefect database template: {build_template(target)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
