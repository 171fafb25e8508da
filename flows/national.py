"""The national run: the annual review for many partnerships at once, one after another (serial), fanned out on
Dask (prefect-dask's DaskTaskRunner: a local cluster, or an existing scheduler), or as flow runs of a deployment on
a Prefect process work pool served by several workers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from flows.annual_review import annual_review
from tasks.shared.national import PartnershipResult, figures_of, outcome_of_state, result_line
from tasks.shared.settings import PROJECT_ROOT, get_settings

POOL = "dutycycle-national"
DEPLOYMENT = "national"
FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


@task(name="review-partnership", cache_policy=NO_CACHE, task_run_name="review-{partnership}")
def review_partnership(partnership: str, financial_year: str, stages: list[str]) -> PartnershipResult:
    """One partnership's yearly cycle inside the national run; whatever happens to it is its result, so one
    partnership's failure never stops the others."""
    started = time.monotonic()
    try:
        state = annual_review(partnership=partnership, financial_year=financial_year, stages=stages,
                              return_state=True)
        outcome, message = outcome_of_state(state), (state.message or state.name or "").splitlines()[0:1]
        message = message[0] if message else ""
    except Exception as exc:  # noqa: BLE001 - reported as this partnership's failure, the others carry on
        outcome, message = "failed", f"{type(exc).__name__}: {exc}".splitlines()[0]
    figures = figures_of(get_settings().resolved_database_url, partnership)
    return PartnershipResult(partnership, outcome, message, figures, time.monotonic() - started)


@flow(name="national-run")
def national_run(partnerships: list[str], financial_year: str, stages: list[str]) -> list[PartnershipResult]:
    """Every chosen partnership's annual review on this run's task runner, printed as each finishes."""
    futures = [review_partnership.submit(pid, financial_year, stages) for pid in partnerships]
    results = []
    for future in as_completed(futures):
        results.append(future.result())
        print(result_line(results[-1]), flush=True)
    return sorted(results, key=lambda r: partnerships.index(r.partnership))


def run_serial(partnerships: list[str], financial_year: str, stages: list[str]) -> list[PartnershipResult]:
    """The reference: one partnership after another."""
    return national_run.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))(partnerships, financial_year, stages)


def run_on_dask(partnerships: list[str], financial_year: str, stages: list[str], workers: int,
                address: str | None) -> list[PartnershipResult]:
    """Fan the partnerships out on Dask: a local cluster of ``workers`` single-threaded processes, or the
    scheduler at ``address`` (its workers need this project, its environment and the same data directory)."""
    from prefect_dask import DaskTaskRunner

    runner = DaskTaskRunner(address=address) if address else DaskTaskRunner(
        cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True, "dashboard_address": None}
    )
    return national_run.with_options(task_runner=runner)(partnerships, financial_year, stages)


def deploy_to_pool(pool: str = POOL) -> str:
    """The process work pool (created when missing) and the annual review deployed to it, from this checkout."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        except ObjectAlreadyExists:
            pass
    deployable = annual_review.from_source(source=str(PROJECT_ROOT), entrypoint="flows/annual_review.py:annual_review")
    return str(deployable.deploy(name=DEPLOYMENT, work_pool_name=pool, print_next_steps=False, ignore_warnings=True))


def start_workers(pool: str, count: int, log_dir: Path) -> list[subprocess.Popen]:
    """``count`` `prefect worker start` processes on the pool, each running one flow run at a time."""
    log_dir.mkdir(parents=True, exist_ok=True)
    # workers look for runs every 2 s instead of 10 (the national run waits for them)
    env = {**os.environ, "PREFECT_WORKER_QUERY_SECONDS": os.environ.get("PREFECT_WORKER_QUERY_SECONDS", "2")}
    workers = []
    for index in range(1, count + 1):
        with (log_dir / f"worker-{index}.log").open("ab") as log:
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--type", "process",
                 "--limit", "1", "--name", f"{pool}-{index}"],
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=PROJECT_ROOT, start_new_session=True,
            ))
    return workers


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def run_on_process_pool(partnerships: list[str], financial_year: str, stages: list[str], workers: int,
                        log_dir: Path, pool: str = POOL, poll_seconds: float = 2.0) -> list[PartnershipResult]:
    """Deploy the annual review to a process work pool, start ``workers`` workers, create one flow run per
    partnership, wait for every run to end, stop the workers."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    deploy_to_pool(pool)
    processes = start_workers(pool, workers, log_dir)
    try:
        runs = {
            pid: run_deployment(
                name=f"annual-review/{DEPLOYMENT}", timeout=0, tags=["national"],
                parameters={"partnership": pid, "financial_year": financial_year, "stages": stages},
            ).id
            for pid in partnerships
        }
        results: dict[str, PartnershipResult] = {}
        with get_client(sync_client=True) as client:
            while len(results) < len(runs):
                if all(p.poll() is not None for p in processes):
                    raise RuntimeError(f"every worker of pool {pool} exited: see {log_dir}")
                for pid, run_id in runs.items():
                    if pid in results:
                        continue
                    run = client.read_flow_run(run_id)
                    if run.state is None or run.state.type.value not in FINAL:
                        continue
                    seconds = (run.end_time - run.start_time).total_seconds() if run.start_time and run.end_time \
                        else 0.0
                    message = (run.state.message or run.state.name or "").splitlines()
                    results[pid] = PartnershipResult(
                        pid, outcome_of_state(run.state), message[0] if message else "",
                        figures_of(get_settings().resolved_database_url, pid), seconds,
                    )
                    print(result_line(results[pid]), flush=True)
                time.sleep(poll_seconds)
    finally:
        stop_workers(processes)
    return [results[pid] for pid in partnerships]
