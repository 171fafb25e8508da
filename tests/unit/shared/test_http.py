"""The shared HTTP client against a local data.police.uk that enforces the real limit (15/s, burst 30, 429 beyond)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tasks.shared.http import (
    USER_AGENT,
    RateLimiter,
    RetryPolicy,
    build_session,
    rate_limiter_for,
    retry_after_seconds,
)
from tasks.shared.settings import Settings
from tests.servers.police_api import PoliceApiFake


@pytest.fixture
def police() -> Iterator[PoliceApiFake]:
    with PoliceApiFake(stall_seconds=3.0) as fake:  # well past the tests' 1 s timeouts, even on a loaded machine
        yield fake


def settings_for(fake: PoliceApiFake, **overrides: object) -> Settings:
    return Settings(police_api_url=fake.base_url, **overrides)


class FakeClock:
    """Simulated time for the bucket's arithmetic: sleeping advances the clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_bucket_allows_the_burst_then_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=15, burst=30, headroom=0, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(120):
        limiter.acquire()
        times.append(clock.now)
    assert times[:30] == [0.0] * 30
    # afterwards one call every 1/15 s, exactly
    assert times[30] == pytest.approx(1 / 15)
    assert times[119] == pytest.approx(90 / 15)
    # no window ever holds more than burst + rate * width calls
    for start in range(len(times)):
        for end in range(start, len(times)):
            assert end - start + 1 <= 30 + 15 * (times[end] - times[start]) + 1e-9


def test_headroom_shortens_only_the_opening_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=15, burst=30, clock=clock, sleep=clock.sleep)  # default headroom of one token
    times = []
    for _ in range(60):
        limiter.acquire()
        times.append(clock.now)
    assert times.count(0.0) == 29
    assert times[59] - times[29] == pytest.approx(30 / 15)  # long-run rate unchanged


def test_hold_makes_every_caller_wait() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=15, burst=30, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.hold(2.0)
    assert limiter.acquire() == pytest.approx(2.0)


def test_backoff_is_full_jitter_within_the_exponential_cap() -> None:
    policy = RetryPolicy(base_seconds=0.5, cap_seconds=4.0)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        delays = [policy.backoff(attempt, rng) for _ in range(200)]
        assert 0 <= min(delays) and max(delays) <= ceiling
        assert max(delays) > ceiling * 0.8  # spread over the whole range, not a fixed step


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    response = requests.Response()
    response.headers["Retry-After"] = "3"
    assert retry_after_seconds(response) == 3.0
    later = time.time() + 5
    response.headers["Retry-After"] = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(later))
    assert 3.0 <= retry_after_seconds(response) <= 5.0
    response.headers["Retry-After"] = "soon"
    assert retry_after_seconds(response) is None


def test_one_limiter_per_host_shared_by_every_session(police: PoliceApiFake) -> None:
    settings = settings_for(police)
    build_session(settings)
    build_session(settings)
    limiter = rate_limiter_for(police.base_url, 15, 30)
    assert limiter is rate_limiter_for(f"127.0.0.1:{police.port}", 15, 30)
    assert (limiter.rate, limiter.burst) == (15.0, 30)


def test_many_threads_stay_within_15_per_second_burst_30(police: PoliceApiFake) -> None:
    sessions = [build_session(settings_for(police)) for _ in range(2)]  # two sessions: the limit is per process
    url = police.base_url + "crime-last-updated"
    total = 90

    def call(index: int) -> int:
        return sessions[index % 2].get(url).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(call, range(total)))
    elapsed = time.monotonic() - started
    assert statuses == [200] * total
    assert police.count(429) == 0 and len(police.log) == total
    arrivals = sorted(entry.request.arrived for entry in police.log)
    # after the opening burst the server sees the full sustained rate (>= 90% of 15/s)
    sustained = (total - 30) / (arrivals[-1] - arrivals[29])
    assert 13.5 <= sustained <= 15.5
    assert elapsed >= (total - 29) / 15 - 0.1


def test_user_agent_and_timeout_come_from_the_factory(police: PoliceApiFake) -> None:
    session = build_session(settings_for(police, http_timeout_seconds=7))
    assert session.timeout == 7
    session.get(police.base_url + "crime-last-updated")
    assert police.log[0].request.headers["User-Agent"] == USER_AGENT == "dutycycle/0.1"


def test_429_waits_for_retry_after_and_holds_other_threads(police: PoliceApiFake, reliability) -> None:
    reliability.fault("HTTP 429 Too Many Requests, Retry-After: 1",
                      injected="local data.police.uk answers 429 once", where="shared HTTP client (tasks/shared/http.py)")
    police.retry_after = 1
    police.inject(429)
    session = build_session(settings_for(police), backoff_base_seconds=0.01)
    url = police.base_url + "crime-last-updated"
    first = session.get(url)
    reliability.check("final status", first.status_code, 200)
    reliability.check("answers served (429, 200)", police.statuses(), [429, 200])
    gap = police.log[1].request.arrived - police.log[0].request.arrived
    reliability.check("retry waited Retry-After (>= 1 s)", gap >= 1.0, True)
    reliability.outcome("retried")
    # the hold applies to the host: another thread asking right away also waits for it
    police.inject(429)
    results: list[float] = []

    def other() -> None:
        time.sleep(0.2)
        start = time.monotonic()
        session.get(url)
        results.append(time.monotonic() - start)

    thread = threading.Thread(target=other)
    thread.start()
    session.get(url)
    thread.join()
    reliability.check("other thread held by the 429 (>= 0.7 s)", results[0] >= 0.7, True)
    reliability.outcome("kept")


def test_5xx_are_retried_with_backoff_until_an_answer(police: PoliceApiFake, reliability) -> None:
    reliability.fault("HTTP 500, 502, 503, 504 in a row", injected="local data.police.uk answers four server errors",
                      where="shared HTTP client (tasks/shared/http.py)")
    police.inject(500, 502, 503, 504)
    session = build_session(settings_for(police), backoff_base_seconds=0.01)
    response = session.get(police.base_url + "crime-last-updated")
    reliability.check("final status", response.status_code, 200)
    reliability.check("answers served", police.statuses(), [500, 502, 503, 504, 200])
    reliability.check("requests sent", session.stats["sent"], 5)
    reliability.outcome("retried")
    reliability.outcome("kept")


def test_attempts_are_bounded_by_settings(police: PoliceApiFake, reliability) -> None:
    reliability.fault("HTTP 500 more times than attempts allowed", injected="local data.police.uk answers 500 four times",
                      where="shared HTTP client, http_max_attempts=3")
    police.inject(500, 500, 500, 500)
    session = build_session(settings_for(police, http_max_attempts=3), backoff_base_seconds=0.01)
    response = session.get(police.base_url + "crime-last-updated")
    reliability.check("status handed to the caller", response.status_code, 500)
    reliability.check("answers served (bounded at 3)", police.statuses(), [500, 500, 500])
    reliability.outcome("retried")
    reliability.outcome("refused")


def test_timeouts_are_retried(police: PoliceApiFake, reliability) -> None:
    reliability.fault("HTTP read timeout once", injected="local data.police.uk stalls 3 s past a 1 s timeout",
                      where="shared HTTP client (tasks/shared/http.py)")
    police.inject("stall")  # the fake stalls 3 s: a 1 s timeout fires on it, and not on a loaded machine's answer
    session = build_session(settings_for(police, http_timeout_seconds=1.0), backoff_base_seconds=0.01)
    response = session.get(police.base_url + "crime-last-updated")
    reliability.check("final status", response.status_code, 200)
    reliability.check("requests served", len(police.log), 2)
    assert police.log[0].info.get("stalled")
    reliability.check("read timeouts", session.stats["ReadTimeout"], 1)
    reliability.outcome("retried")
    reliability.outcome("kept")


def test_a_server_that_never_answers_in_time_raises_the_timeout(police: PoliceApiFake, reliability) -> None:
    reliability.fault("HTTP read timeout on every attempt", injected="local data.police.uk stalls 3 s, twice",
                      where="shared HTTP client, 1 s timeout, http_max_attempts=2")
    police.inject("stall", "stall")
    session = build_session(settings_for(police, http_timeout_seconds=1.0, http_max_attempts=2), backoff_base_seconds=0.01)
    with pytest.raises(requests.exceptions.Timeout) as raised:
        session.get(police.base_url + "crime-last-updated")
    reliability.check("requests served", len(police.log), 2)
    reliability.message(type(raised.value).__name__)
    reliability.outcome("retried")
    reliability.outcome("refused")  # the caller gets the timeout, not an empty answer


def test_no_retry_for_statuses_the_caller_handles(police: PoliceApiFake) -> None:
    police.inject(503)
    session = build_session(settings_for(police), backoff_base_seconds=0.01)
    response = session.request("GET", police.base_url + "crime-last-updated", retry_statuses={429, 500})
    assert response.status_code == 503 and len(police.log) == 1
