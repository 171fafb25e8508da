"""A real HTTP receiver on 127.0.0.1 standing in for Teams and Slack incoming webhooks: it records every POST,
answers from a script (e.g. 429 then 200, or 500 after acting on the post), and, like a receiver that honours
idempotency keys, acts on each Idempotency-Key once."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Step:
    """One scripted answer: the status, extra headers, and whether the receiver acted on the post first."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    acted: bool = False


@dataclass
class WebhookReceiver:
    script: list[Step] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    posted: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key -> the payload acted on
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def __enter__(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers.get("Idempotency-Key", "")
                with receiver._lock:
                    step = receiver.script.pop(0) if receiver.script else Step(200, acted=True)
                    receiver.requests.append({"path": self.path, "key": key, "body": body, "status": step.status})
                    if step.acted:
                        receiver.posted.setdefault(key, {"path": self.path, "body": body})
                self.send_response(step.status)
                for name, value in step.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
