"""The database URL's password never appears in what dutycycle prints, logs or writes: not in the review's output,
not in Prefect's logs and artifacts (its database under PREFECT_HOME), not in any output, message or package."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tasks.shared.settings import PROJECT_ROOT
from tests.databases import on_postgresql

pytestmark = pytest.mark.flow
CANARY = "canary-pw-Zq81x"
DUTYCYCLE = str(Path(sys.executable).parent / "dutycycle")


def _command(args: list[str], env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([DUTYCYCLE, *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _environment(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API_")}
    # the run's own Prefect home: its database holds every log and artifact of the run, so it can be searched
    env.update(DUTYCYCLE_DATABASE_URL=database_url, PREFECT_HOME=str(tmp_path / "prefect-home"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false")
    return env


def _files_containing(secret: str, *folders: Path) -> list[str]:
    found = []
    needle = secret.encode()
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and needle in path.read_bytes():
                found.append(str(path))
    return found


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_or_malformed_database_url_is_reported_without_its_password(data_dir: Path,
                                                                                   tmp_path: Path) -> None:
    unreachable = f"postgresql+psycopg://dutycycle:{CANARY}@127.0.0.1:{_closed_port()}/dutycycle"
    malformed = f"postgresql+psycopg//dutycycle:{CANARY}@127.0.0.1:5432/dutycycle"  # no ":" after the scheme
    for url, args, said in ((unreachable, ["review", "--stage", "collect"], "Connection refused"),
                            (unreachable, ["db", "upgrade"], "Connection refused"),
                            (malformed, ["db", "counts"], "is not a valid SQLAlchemy URL")):
        done = _command(args, _environment(tmp_path, url), timeout=300)
        output = done.stdout + done.stderr
        assert done.returncode != 0, (args, output)
        assert said in " ".join(output.split()), (args, output)  # the failure is reported, only not its password
        assert CANARY not in output, (args, output)
    assert _files_containing(CANARY, tmp_path) == []


@pytest.mark.skipif(not on_postgresql(), reason="needs a database URL with a password: runs on PostgreSQL "
                    "(DUTYCYCLE_TEST_DATABASE_URL)")
def test_the_review_never_shows_the_database_password(data_dir: Path, tmp_path: Path) -> None:
    url = os.environ["DUTYCYCLE_DATABASE_URL"]  # the test's own database on the server, with the server's password
    password = make_url(url).password
    assert password and len(password) >= 12, "the test server's role must have a password (install-postgres)"
    done = _command(["review"], _environment(tmp_path, url))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert f"database:  {make_url(url).render_as_string(hide_password=True)}" in done.stdout
    assert "***" in make_url(url).render_as_string(hide_password=True)
    shown = password in output  # outside the assertion: a failing one must not print the password either
    assert not shown, "the review's output shows the database password"
    assert (tmp_path / "prefect-home").is_dir() and (data_dir / "outputs").is_dir()
    assert _files_containing(password, tmp_path) == []
