"""The database template ./run builds is Prefect's migrated schema, and a run on a home seeded with it (its local
API told to skip migrations and block registration) records its flow run and task run."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import prefect.server.database

from dutycycle.prefect_home import build_template

# the run: a flow with one task on the local API that Prefect starts for a process without PREFECT_API_URL
TINY_RUN = """
import sys
from pathlib import Path
from dutycycle.prefect_home import seeded_prefect_home

with seeded_prefect_home(template=Path(sys.argv[1])) as copied:
    assert copied, "the fresh home was not seeded"
    from prefect import flow, task

    @task
    def double(number):
        return 2 * number

    @flow(name="tiny-seeded")
    def tiny():
        return double(21)

    assert tiny() == 42
"""


def _sqlite_head() -> str:
    """Prefect's newest SQLite migration, read from its migration files (the revision no other one revises)."""
    versions = Path(prefect.server.database.__file__).parent / "_migrations" / "versions" / "sqlite"
    revisions, revised = set(), set()
    for path in versions.glob("*.py"):
        text = path.read_text()
        revisions.update(re.findall(r'^revision = "(\w+)"', text, re.M))
        revised.update(re.findall(r'^down_revision = "(\w+)"', text, re.M))
    heads = revisions - revised
    assert len(heads) == 1, heads
    return heads.pop()


def _rows(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(database) as db:
        rows = db.execute(sql).fetchall()
    db.close()
    return rows


def test_a_run_on_a_seeded_home_is_recorded(tmp_path: Path) -> None:
    template = build_template(tmp_path / "share" / "prefect-template.db")

    assert _rows(template, "SELECT version_num FROM alembic_version") == [(_sqlite_head(),)]
    assert _rows(template, "SELECT count(*) FROM block_type")[0][0] > 0  # registered once, in the template
    assert _rows(template, "SELECT count(*) FROM flow_run") == [(0,)]

    home = tmp_path / "home"
    env = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
    env.update({"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "300"})
    run = subprocess.run([sys.executable, "-c", TINY_RUN, str(template)], env=env, capture_output=True, text=True,
                         timeout=900, cwd=Path(__file__).resolve().parents[2])
    assert run.returncode == 0, run.stdout + run.stderr

    database = home / "prefect.db"
    assert _rows(database, "SELECT f.name, r.state_type FROM flow_run r JOIN flow f ON f.id = r.flow_id") == [
        ("tiny-seeded", "COMPLETED")]
    assert _rows(database, "SELECT task_key LIKE 'double-%', state_type FROM task_run") == [(1, "COMPLETED")]
