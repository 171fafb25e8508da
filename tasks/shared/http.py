"""The one HTTP client of every external API: user agent, timeouts, a per-host rate limit shared by the whole
process, and retries with exponential backoff and full jitter on 429, 5xx, timeouts and dropped connections."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from tasks.shared.settings import Settings

USER_AGENT = "dutycycle/0.1"
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
# Transport failures worth another try: the request may never have reached the server, or its answer was cut off.
RETRY_EXCEPTIONS = (
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
)

log = logging.getLogger(__name__)

Sleep = Callable[[float], None]
Clock = Callable[[], float]


class RateLimiter:
    """Token bucket shared by every thread: ``burst`` calls at once, then ``rate`` calls per second."""

    def __init__(
        self,
        rate: float = 15.0,
        burst: int = 30,
        *,
        headroom: int = 1,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self._lock = threading.Lock()
        self._clock, self._sleep = clock, sleep
        self._configure(rate, burst, headroom)
        self._tokens = self.capacity
        self._updated = clock()

    def _configure(self, rate: float, burst: int, headroom: int) -> None:
        self.rate, self.burst, self.headroom = float(rate), int(burst), int(headroom)
        # The server meters arrivals, we meter departures: network jitter can bunch two of our calls closer than we
        # sent them. Keeping `headroom` tokens back absorbs up to headroom/rate seconds of jitter without lowering
        # the long-run rate at all (it only shortens the opening burst).
        self.capacity = float(max(1, self.burst - self.headroom))

    def reconfigure(self, rate: float, burst: int, headroom: int = 1) -> None:
        """Change the limit in place, so every session already holding this limiter follows it."""
        with self._lock:
            self._refill()
            self._configure(rate, burst, headroom)
            self._tokens = min(self._tokens, self.capacity)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def reserve(self) -> float:
        """Take the next slot and return how long to wait for it (0 when a token is free now)."""
        with self._lock:
            self._refill()
            # A negative balance is a queue of reservations: the k-th waiter is due k/rate seconds from now,
            # so waiting threads are served in order without a herd retrying the lock.
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self) -> float:
        """Block until this caller may send one request; returns the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait

    def hold(self, seconds: float) -> None:
        """Make every caller wait at least ``seconds`` from now (the server asked us to, with Retry-After)."""
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, 1.0 - seconds * self.rate)


_LIMITERS: dict[str, RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def host_key(url: str) -> str:
    """The registry key of a URL: host and port, so two local test servers never share a bucket."""
    parts = urlsplit(url)
    return parts.netloc.lower() or parts.path.lower()


def rate_limiter_for(url_or_host: str, rate: float, burst: int) -> RateLimiter:
    """The process-wide limiter of a host, created on first use; every session and thread shares it."""
    key = host_key(url_or_host) if "//" in url_or_host else url_or_host.lower()
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(key)
        if limiter is None:
            limiter = _LIMITERS[key] = RateLimiter(rate, burst)
        elif (limiter.rate, limiter.burst) != (float(rate), int(burst)):
            limiter.reconfigure(rate, burst, limiter.headroom)
        return limiter


def registered_limiter(url: str) -> RateLimiter | None:
    """The limiter of the URL's host, if that host has a published limit."""
    with _LIMITERS_LOCK:
        return _LIMITERS.get(host_key(url))


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a call that failed for a reason that may pass."""

    max_attempts: int = 6
    base_seconds: float = 0.5
    cap_seconds: float = 30.0
    # A Retry-After longer than this means "come back much later": give the answer to the caller instead.
    max_retry_after_seconds: float = 300.0
    statuses: frozenset[int] = RETRY_STATUSES

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))], so retrying clients spread out."""
        return rng.uniform(0.0, min(self.cap_seconds, self.base_seconds * 2 ** (attempt - 1)))


def retry_after_seconds(response: requests.Response) -> float | None:
    """The Retry-After header as seconds (it may be a number of seconds or an HTTP date); None if absent/unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


class ApiSession(requests.Session):
    """A ``requests.Session`` whose every call waits for its host's rate limit and retries transient failures."""

    def __init__(
        self,
        *,
        timeout: float,
        retry: RetryPolicy,
        sleep: Sleep = time.sleep,
        rng: random.Random | None = None,
        pool_size: int = 32,
    ) -> None:
        super().__init__()
        self.headers["User-Agent"] = USER_AGENT
        self.timeout = timeout
        self.retry = retry
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._stats_lock = threading.Lock()
        self.stats: Counter[str] = Counter()
        # Enough pooled connections for the concurrent fetches of a flow; the default (10) would reconnect per call.
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def _count(self, key: str) -> None:
        with self._stats_lock:
            self.stats[key] += 1

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, retry_statuses: Collection[int] | None = None, **kwargs: Any
    ) -> requests.Response:
        """Send one call, waiting for the host's limit first and retrying what may pass; returns the last answer."""
        kwargs.setdefault("timeout", self.timeout)
        statuses = self.retry.statuses if retry_statuses is None else frozenset(retry_statuses)
        limiter = registered_limiter(url)
        attempt = 0
        while True:
            attempt += 1
            if limiter is not None:
                limiter.acquire()
            self._count("sent")
            try:
                response = super().request(method, url, *args, **kwargs)
            except RETRY_EXCEPTIONS as exc:
                self._count(type(exc).__name__)
                if attempt >= self.retry.max_attempts:
                    raise
                delay = self.retry.backoff(attempt, self._rng)
                log.warning("%s %s failed (%s); retry %d in %.2fs", method, url, type(exc).__name__, attempt, delay)
                self._sleep(delay)
                continue
            self._count(str(response.status_code))
            if response.status_code not in statuses or attempt >= self.retry.max_attempts:
                return response
            delay = self.retry.backoff(attempt, self._rng)
            server_wait = retry_after_seconds(response) if response.status_code in (429, 503) else None
            if server_wait is not None and server_wait > self.retry.max_retry_after_seconds:
                return response
            response.close()
            log.warning("%s %s answered %d; retry %d", method, url, response.status_code, attempt)
            if server_wait is not None and limiter is not None:
                # The server spoke for the whole host: hold every thread, not just this one.
                limiter.hold(server_wait)
                self._sleep(delay)
            else:
                self._sleep(max(delay, server_wait or 0.0))


def build_session(
    settings: Settings,
    *,
    backoff_base_seconds: float = 0.5,
    backoff_cap_seconds: float = 30.0,
    sleep: Sleep = time.sleep,
    rng: random.Random | None = None,
) -> ApiSession:
    """The HTTP client every API client uses, configured from settings (timeouts, attempts, the police rate limit)."""
    rate_limiter_for(settings.police_api_url, settings.police_api_rate_per_second, settings.police_api_burst)
    policy = RetryPolicy(
        max_attempts=settings.http_max_attempts, base_seconds=backoff_base_seconds, cap_seconds=backoff_cap_seconds
    )
    return ApiSession(timeout=settings.http_timeout_seconds, retry=policy, sleep=sleep, rng=rng)
