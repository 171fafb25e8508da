"""Benchmark: data.police.uk throughput through our client against a local fake that enforces the real limit.

300 crimes-street calls (25 cells x 12 months) from 8 threads through ``PoliceApiClient`` (shared token bucket,
retries with full jitter) against a fake answering 429 beyond 15 req/s burst 30 and a seeded 2% of random 500s;
compared in the same run with a plain baseline (8 threads of ``requests.get``, no limiter, no retries) on a fresh
fake. Then one month of 25,000 crimes against the 10,000-crime limit, split by the client. Every call's crimes
are checked against the fake's ground truth: none may be lost or duplicated.
Run: uv run python benchmarks/police_api_rate.py
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests

from tasks.collect.sources.police_api import PoliceApiClient, Polygon, format_poly
from tasks.shared.http import build_session
from tasks.shared.settings import Settings
from tests.servers.police_api import PoliceApiFake, months_back, synthetic_street_crimes

RATE, BURST = 15, 30
THREADS = 8
ERROR_RATE = 0.02
MONTHS = months_back("2024-06", 12)
# 5 x 5 cells whose edges avoid the synthetic snap-point grid (0.005 degrees), so every crime is in at most one cell
EDGES = [0.0025 + 0.099 * k for k in range(6)]
CELLS = [
    Polygon.of(
        [
            (51.25 + EDGES[i], -0.25 + EDGES[j]),
            (51.25 + EDGES[i + 1], -0.25 + EDGES[j]),
            (51.25 + EDGES[i + 1], -0.25 + EDGES[j + 1]),
            (51.25 + EDGES[i], -0.25 + EDGES[j + 1]),
        ]
    )
    for i in range(5)
    for j in range(5)
]
CALLS = [(cell, month) for month in MONTHS for cell in CELLS]  # 300


def fake() -> PoliceApiFake:
    return PoliceApiFake(synthetic_street_crimes(30_000, MONTHS, seed=21), rate=RATE, burst=BURST, error_rate=ERROR_RATE, seed=1)


def server_rates(server: PoliceApiFake, elapsed: float) -> tuple[float, float, float]:
    """(requests/s over the run, % of what the limit admits in that time, sustained rate after the burst)."""
    arrivals = sorted(entry.request.arrived for entry in server.log)
    total = len(arrivals)
    capacity = BURST + RATE * elapsed
    sustained = (total - BURST) / (arrivals[-1] - arrivals[BURST - 1]) if total > BURST else float("nan")
    return total / elapsed, 100 * total / capacity, sustained


def run_client() -> dict:
    with fake() as server:
        settings = Settings(police_api_url=server.base_url)
        client = PoliceApiClient(build_session(settings), settings.police_api_url)
        truth = {(id(cell), month): server.ids_in(cell.outer, month) for cell, month in CALLS}

        def call(job):
            cell, month = job
            return job, client.crimes_street("all-crime", cell, month)

        started = time.monotonic()
        lost_calls, results = 0, []
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [pool.submit(call, job) for job in CALLS]
            for future in futures:
                try:
                    results.append(future.result())
                except Exception:  # noqa: BLE001 - a call that gave up is what "lost" counts
                    lost_calls += 1
        elapsed = time.monotonic() - started
        duplicated = lost_crimes = crimes = 0
        for (cell, month), result in results:
            ids = [c["id"] for c in result.crimes]
            crimes += len(ids)
            duplicated += len(ids) - len(set(ids))
            lost_crimes += len(truth[(id(cell), month)] - set(ids))
        statuses = Counter(server.statuses())
        rate, percent, sustained = server_rates(server, elapsed)
        return {
            "calls": len(CALLS),
            "seconds": elapsed,
            "requests": sum(statuses.values()),
            "rate": rate,
            "percent": percent,
            "sustained": sustained,
            "calls_per_s": len(results) / elapsed,
            "429": statuses[429],
            "500": statuses[500],
            "lost_calls": lost_calls,
            "crimes": crimes,
            "lost_crimes": lost_crimes,
            "duplicated": duplicated,
        }


def run_baseline() -> dict:
    with fake() as server:
        url = server.base_url + "crimes-street/all-crime"

        def call(job):
            cell, month = job
            return requests.get(url, params={"poly": format_poly(cell.outer), "date": month}, timeout=30).status_code

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            statuses = Counter(pool.map(call, CALLS))
        elapsed = time.monotonic() - started
        return {
            "calls": len(CALLS),
            "seconds": elapsed,
            "requests": sum(statuses.values()),
            "200": statuses[200],
            "429": statuses[429],
            "500": statuses[500],
            "lost_calls": len(CALLS) - statuses[200],
        }


def run_split() -> dict:
    crimes = synthetic_street_crimes(25_000, ["2024-01"], seed=5)
    square = Polygon.of([(51.25, -0.25), (51.75, -0.25), (51.75, 0.25), (51.25, 0.25)])
    with PoliceApiFake(crimes, rate=RATE, burst=BURST) as server:
        settings = Settings(police_api_url=server.base_url)
        client = PoliceApiClient(build_session(settings), settings.police_api_url)
        started = time.monotonic()
        result = client.crimes_street("all-crime", square, "2024-01")
        elapsed = time.monotonic() - started
        truth = server.ids_in(square.outer, "2024-01")
    ids = [c["id"] for c in result.crimes]
    return {
        "seconds": elapsed,
        "requests": result.requests_made,
        "splits": result.splits,
        "crimes": len(ids),
        "duplicates_removed": result.duplicates_removed,
        "duplicated": len(ids) - len(set(ids)),
        "lost": len(truth - set(ids)),
    }


def main() -> None:
    logging.getLogger("tasks.shared.http").setLevel(logging.ERROR)  # the retries are counted below, not logged one by one
    baseline = run_baseline()
    ours = run_client()
    split = run_split()
    print(f"{len(CALLS)} crimes-street calls from {THREADS} threads; fake limit {RATE}/s burst {BURST}, {ERROR_RATE:.0%} random 500s")
    print()
    print("| run | wall time | server requests | 429s | 500s | calls lost | crimes lost | crimes duplicated |")
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| plain requests.get, no limiter | {baseline['seconds']:.2f} s | {baseline['requests']} | {baseline['429']} "
        f"| {baseline['500']} | {baseline['lost_calls']} | n/a | n/a |"
    )
    print(
        f"| dutycycle client | {ours['seconds']:.2f} s | {ours['requests']} | {ours['429']} | {ours['500']} "
        f"| {ours['lost_calls']} | {ours['lost_crimes']} | {ours['duplicated']} |"
    )
    print()
    print(
        f"dutycycle client: {ours['rate']:.2f} requests/s at the server over the run = {ours['percent']:.1f}% of what "
        f"the limit admits in that time (burst {BURST} + {RATE}/s x {ours['seconds']:.1f} s); sustained after the "
        f"burst {ours['sustained']:.2f}/s = {100 * ours['sustained'] / RATE:.1f}% of {RATE}/s; "
        f"{ours['calls_per_s']:.2f} completed calls/s; {ours['crimes']} crimes"
    )
    print(
        f"split of one 25,000-crime month (limit 10,000): {split['requests']} requests, {split['splits']} splits, "
        f"{split['seconds']:.2f} s, {split['crimes']} crimes, {split['duplicates_removed']} sent twice and merged, "
        f"lost {split['lost']}, duplicated {split['duplicated']}"
    )
    failures = [
        name
        for name, bad in [
            ("429 from our client", ours["429"] > 0),
            ("calls lost", ours["lost_calls"] > 0),
            ("crimes lost", ours["lost_crimes"] > 0 or split["lost"] > 0),
            ("crimes duplicated", ours["duplicated"] > 0 or split["duplicated"] > 0),
            ("below 90% of the limit", ours["percent"] < 90),
        ]
        if bad
    ]
    if failures:
        raise SystemExit("FAILED: " + ", ".join(failures))


if __name__ == "__main__":
    main()
