"""Local stand-ins for the external APIs: real HTTP servers on 127.0.0.1 that answer in the real services' formats,
status codes and limits, and record every request, so the real clients are tested end to end without a network."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    """A request as the fake saw it: method, path, decoded query or form fields, and when it arrived."""

    method: str
    path: str
    target: str
    params: dict[str, str]
    headers: dict[str, str]
    arrived: float


@dataclass
class Reply:
    """What the fake answers."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Recorded:
    """One request and the status it got."""

    request: Request
    status: int
    body_bytes: int
    info: dict[str, Any]


class TokenBucket:
    """The server's own rate limit: ``burst`` requests at once, ``rate`` per second after that."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._tokens = float(burst)
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def take(self, now: float) -> bool:
        with self._lock:
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


class FakeServer:
    """A ThreadingHTTPServer in a daemon thread; subclasses implement ``handle``."""

    def __init__(self) -> None:
        self.log: list[Recorded] = []
        self._log_lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._faults: deque[int | str] = deque()
        self._fault_lock = threading.Lock()
        self._gate = threading.Event()  # set: answers go out; cleared by hold()
        self._gate.set()
        self.held = threading.Event()  # set once a request has arrived while answers are held

    def hold(self) -> None:
        """Keep every answer back until release(): a client stays inside its call for as long as a test needs."""
        self._gate.clear()

    def release(self) -> None:
        """Let held and later requests be answered."""
        self._gate.set()

    def inject(self, *faults: int | str) -> None:
        """Answer the next requests with these statuses, or 'stall' to hang past the client's timeout."""
        with self._fault_lock:
            self._faults.extend(faults)

    def next_fault(self) -> int | str | None:
        with self._fault_lock:
            return self._faults.popleft() if self._faults else None

    # -- subclass API -------------------------------------------------------------------------------------------
    def handle(self, request: Request) -> tuple[Reply, dict[str, Any]]:
        raise NotImplementedError

    # -- lifecycle ----------------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real services allow

            def _serve(self) -> None:
                arrived = time.monotonic()
                parts = urlsplit(self.path)
                params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    form = self.rfile.read(length).decode("utf-8", "replace")
                    params.update({k: v[-1] for k, v in parse_qs(form, keep_blank_values=True).items()})
                request = Request(self.command, parts.path, self.path, params, dict(self.headers.items()), arrived)
                if not fake._gate.is_set():
                    fake.held.set()
                    fake._gate.wait()
                reply, info = fake.handle(request)
                with fake._log_lock:
                    fake.log.append(Recorded(request, reply.status, len(reply.body), info))
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(reply.body)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test): nothing left to answer

            do_GET = _serve
            do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128  # many client threads connect at once

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()  # a held request is answered, not left hanging in its client
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what happened ------------------------------------------------------------------------------------------
    def statuses(self) -> list[int]:
        with self._log_lock:
            return [entry.status for entry in self.log]

    def count(self, status: int) -> int:
        return self.statuses().count(status)
