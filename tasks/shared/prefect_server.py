"""A Prefect API server for commands that need a real one (workers, several processes): the one in
PREFECT_API_URL, or one started here on a free local port and stopped afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STARTUP_SECONDS = 180  # a fresh Prefect home migrates its database first: ~40 s on a busy 2-core machine


class ServerError(RuntimeError):
    """The Prefect server could not be started."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=5) as answer:
            return answer.status == 200
    except OSError:
        return False


@contextmanager
def prefect_api(log_path: Path) -> Iterator[str]:
    """The API URL of a running Prefect server: PREFECT_API_URL when set, else a `prefect server start` of our
    own (its output in ``log_path``) for as long as the block runs. Must be entered before Prefect is imported:
    Prefect reads PREFECT_API_URL once, at import."""
    given = os.environ.get("PREFECT_API_URL", "").strip()
    if given:
        yield given.rstrip("/")
        return
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PREFECT_SERVER_API_PORT": str(port), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    # the server's own SQLite database waits 10 s for a lock by default; several workers reporting at once on a
    # busy machine held it longer ("database is locked" in state validation and worker heartbeats)
    env.setdefault("PREFECT_SERVER_DATABASE_TIMEOUT", "60")
    with log_path.open("ab") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not healthy(url):
            if server.poll() is not None:
                raise ServerError(f"the Prefect server exited with code {server.returncode}: see {log_path}")
            if time.monotonic() > deadline:
                raise ServerError(f"the Prefect server did not answer at {url} within {STARTUP_SECONDS} s: see {log_path}")
            time.sleep(1)
        os.environ["PREFECT_API_URL"] = url  # for the processes started from here (Dask and Prefect workers)
        if "prefect" in sys.modules:  # already imported: its settings were read without the URL
            from prefect.settings import PREFECT_API_URL, temporary_settings

            with temporary_settings(updates={PREFECT_API_URL: url}):
                yield url
        else:
            yield url
    finally:
        _send_pending_logs()
        os.environ.pop("PREFECT_API_URL", None)
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _send_pending_logs() -> None:
    """Send this process's queued run logs and events while the server still answers: left for the exit, they
    are retried against a stopped server and the command takes minutes to end."""
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        try:
            worker.drain_all(timeout=30)
        except Exception:  # noqa: BLE001 - a log that cannot be sent must not turn the run's outcome into an error
            pass
