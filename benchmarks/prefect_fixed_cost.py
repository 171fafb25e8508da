"""Benchmark: what Prefect itself costs the demo, item by item, each in a fresh process (CPU, children included).

- importing Prefect, then the server application that Prefect's client imports only to start its local API;
- the local API's start-up (a subprocess: its imports, then migrations and block registration on a fresh home),
  on a fresh home, on a home seeded with the migrated template (`dutycycle/prefect_home.py`, what `review` does),
  and on a home that already has its database;
- a skeleton of the demo's runs with no work in them, on a seeded home: the demo's shape as `dutycycle review`
  records it (one cycle flow run, five stage subflow runs, 32 task runs, 20 artifacts, 47 log lines), measured
  whole and for the API subprocess alone. Its flow and task run records are counted in the home's prefect.db.

Run (the template must exist: `./run` writes it):
    nice -n 5 uv run python benchmarks/prefect_fixed_cost.py [--repeat 3]
Medians of ``--repeat`` runs are printed.
"""

from __future__ import annotations

import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dutycycle.prefect_home import SKIP_ON_COPY, template_path  # noqa: E402

IMPORTS = """
import time
start = time.process_time()
import prefect, prefect.flows, prefect.tasks
middle = time.process_time()
import prefect.server.api.server
print(middle - start, time.process_time() - middle)
"""

SERVER = """
import os, time
from prefect.server.api.server import SubprocessASGIServer
server = SubprocessASGIServer()
server.start(timeout=600)
pid = server.server_process.pid
fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
print((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
server.stop()
"""

# the demo's shape: 6 flow runs (a cycle and 5 stage subflows), 32 task runs (5 of them the subflows' own), 20
# artifacts, 47 log lines (counted in prefect.db after `dutycycle review` on the demo partnership)
SKELETON = """
import os, threading, time
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

@task
def step(number):
    return number

def stage_body(name, tasks, artifacts):
    for number in range(tasks):
        step(number)
    for number in range(artifacts):
        create_markdown_artifact(key=f"{name}-{number}", markdown=f"# {name} {number}")
    for number in range(7):
        print(f"{name}: line {number}")

@flow(log_prints=True)
def collect():
    stage_body("collect", 10, 4)

@flow(log_prints=True)
def validate():
    stage_body("validate", 1, 4)

@flow(log_prints=True)
def compute():
    stage_body("compute", 5, 4)

@flow(log_prints=True)
def notify():
    stage_body("notify", 3, 3)

@flow(log_prints=True)
def submit():
    stage_body("submit", 8, 4)

@flow(log_prints=True)
def cycle():
    for stage in (collect, validate, compute, notify, submit):
        stage()
    create_markdown_artifact(key="cycle-summary", markdown="# cycle")

server_cpu = []

def watch():
    # the API subprocess's CPU, read from /proc until it ends (it is stopped at this process's exit)
    while True:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                stat = open(f"/proc/{pid}/stat").read()
                if int(stat.rsplit(")", 1)[1].split()[1]) != os.getpid():
                    continue
                if "uvicorn" not in open(f"/proc/{pid}/cmdline").read():
                    continue
                fields = stat.rsplit(")", 1)[1].split()
                server_cpu[:] = [(int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")]
            except OSError:
                pass
        time.sleep(0.2)

threading.Thread(target=watch, daemon=True).start()
start = time.process_time()
cycle()
print(time.process_time() - start, server_cpu[0] if server_cpu else float("nan"))
"""


def run(code: str, home: Path) -> tuple[list[float], float]:
    """Run ``code`` in a fresh Python with ``home`` as Prefect home: its printed figures and its CPU with children."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
    env.update({"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "600"})
    if (home / "prefect.db").exists() and (home / ".seeded").exists():
        env.update(SKIP_ON_COPY)  # what `review` sets for the API it starts on a home it has just seeded
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"failed:\n{out.stdout}\n{out.stderr}")
    figures = [float(x) for x in out.stdout.split()[-2:]] if code is not SERVER else [float(out.stdout.split()[-1])]
    return figures, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def home(kind: str, scratch: Path) -> Path:
    """A Prefect home: fresh (empty), seeded (the template copied), or existing (a database from an earlier start)."""
    path = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=scratch))
    if kind == "seeded":
        (path / "prefect.db").write_bytes(template_path().read_bytes())
        (path / ".seeded").touch()
    elif kind == "existing":
        run(SERVER, path)
    return path


def main() -> None:
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
    if not template_path().is_file():
        raise SystemExit(f"no template {template_path()}: run ./run once")
    rows: dict[str, list[float]] = {}
    counts = None
    with tempfile.TemporaryDirectory(prefix="prefect-fixed-cost-") as scratch_dir:
        scratch = Path(scratch_dir)
        for _ in range(repeat):
            (prefect_import, server_import), _ = run(IMPORTS, home("fresh", scratch))
            rows.setdefault("import prefect (flows, tasks)", []).append(prefect_import)
            rows.setdefault("then prefect.server.api.server (the client, to start its API)", []).append(server_import)
            for kind in ("fresh", "seeded", "existing"):
                (server,), _ = run(SERVER, home(kind, scratch))
                rows.setdefault(f"local API start-up, {kind} home (the subprocess)", []).append(server)
            seeded = home("seeded", scratch)
            (own, server), whole = run(SKELETON, seeded)
            rows.setdefault("skeleton run, seeded home: whole process and children", []).append(whole)
            rows.setdefault("  of which the API subprocess (start-up included)", []).append(server)
            rows.setdefault("  of which the flow runs in the run's own process (after imports)", []).append(own)
            with sqlite3.connect(seeded / "prefect.db") as db:
                counts = {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                          for table in ("flow_run", "task_run", "artifact", "log")}
            db.close()
    load = os.getloadavg()
    print(f"Prefect's fixed cost, CPU seconds, medians of {repeat} (load average {load[0]:.1f}, {time.strftime('%Y-%m-%d %H:%M')})")
    for name, values in rows.items():
        print(f"  {name:<75}{statistics.median(values):>7.2f}   ({', '.join(f'{v:.2f}' for v in values)})")
    print(f"  skeleton's records in prefect.db: {counts}")


if __name__ == "__main__":
    main()
